#include "app/common/bench_data.h"

#include <chrono>
#include <tuple>

#include "app/common/experiment.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/train/train_config.h"
#include "datasets/readers/readers.h"

namespace vhmn::app {
namespace {

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

PhaseTimer::PhaseTimer() : wall0_(now_s()) { std::tie(user0_, sys0_) = process_cpu_seconds(); }

PhaseTime PhaseTimer::elapsed(int64_t images) const {
    PhaseTime t;
    const auto [user, sys] = process_cpu_seconds();
    t.wall_s = now_s() - wall0_, t.user_s = user - user0_, t.sys_s = sys - sys0_;
    t.images = images;
    return t;
}

DataBenchResult bench_on_data(const DataBenchRequest& r) {
    if (r.batch < 1 || r.eval_batch < 1) throw ConfigError("--batch and --eval-batch must be at least 1");
    if (r.train_images < 1) throw ConfigError("--train-images must be at least 1");
    if (r.eval_images < 0) throw ConfigError("--eval-images must be >= 0");
    const auto device = parse_device(r.device);
    DataBenchResult out;
    out.batch = r.batch, out.eval_batch = r.eval_batch;

    // Load: the dataset, normalisation statistics, and the run when one is given.
    PhaseTimer load_timer;
    PreparedData data = prepare_data(r.data, 1.0, 1.0, r.seed);
    RunConfig cfg;
    Model trained{nullptr};
    if (!r.run.empty()) {
        OpenedRun run = open_run(r.run, r.data, device);
        cfg = run.config;
        trained = run.model;
    } else {
        cfg.preset = r.preset;
        cfg.model = preset(r.preset, r.arch);
        cfg.model.image_size = data.dataset.image_size();
        cfg.model.channels = data.dataset.channels();
        cfg.model.classes = data.dataset.classes();
        cfg.model.validate();
        cfg.data = data.info;
    }
    out.arch = cfg.model.arch;
    out.dataset = data.dataset.name + " (" + data.dataset.format + ")";
    out.load = load_timer.elapsed(data.dataset.train.size() + data.dataset.test.size());

    // One training epoch over a seeded slice of the training split, end to end.
    RunConfig tc = cfg;
    tc.train = TrainConfig{};
    tc.train.epochs = 1, tc.train.batch = r.batch, tc.train.device = r.device, tc.train.seed = r.seed;
    tc.train.log_every = 1 << 30;
    const auto augment = data::AugmentConfig::recipe(r.augment);
    tc.augment = augment;
    data::Split slice = data.dataset.train;
    const int64_t n = std::min(r.train_images, slice.size());
    auto pick = torch::randperm(slice.size(), torch::TensorOptions().dtype(torch::kInt64)).slice(0, 0, n);
    slice.images = slice.images.index_select(0, pick), slice.labels = slice.labels.index_select(0, pick);
    slice.index = slice.index.index_select(0, pick);
    data::Split no_test;
    Trainer trainer(tc, slice, no_test, make_augment_fn(augment, tc.model.classes), "");
    out.train_steps = trainer.steps_per_epoch();
    PhaseTimer train_timer;
    trainer.run();
    out.train = train_timer.elapsed(n);

    // One evaluation pass over the test split (the run's model, else the one just trained).
    Model model = trained ? trained : trainer.model();
    data::Split test = data.dataset.test;
    if (r.eval_images > 0 && r.eval_images < test.size()) {
        test.images = test.images.slice(0, 0, r.eval_images), test.labels = test.labels.slice(0, 0, r.eval_images);
        test.index = test.index.slice(0, 0, r.eval_images);
    }
    PhaseTimer eval_timer;
    out.eval_result = evaluate(model, test, cfg.data.mean, cfg.data.std, r.eval_batch, device);
    out.eval = eval_timer.elapsed(test.size());
    out.max_rss_kib = peak_rss_kib();
    return out;
}

}  // namespace vhmn::app
