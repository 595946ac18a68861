// The trainer: schedule, resume = uninterrupted, stop/pause from another thread, NaN handling,
// checkpoints and run.h5.
#include <filesystem>
#include <fstream>
#include <thread>

#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include "app/common/experiment.h"
#include "core/error.h"
#include "core/io/model_io.h"
#include "core/probes/ablation.h"
#include "core/io/predictions.h"
#include "core/io/run_record.h"
#include "core/train/trainer.h"
#include "datasets/readers/procedural.h"
#include "datasets/subsets.h"
#include "tests/helpers.h"
#include "tests/suite.h"

using namespace vhmn;
namespace fs = std::filesystem;

namespace {

/// A small run: 16×16×3 procedural images (10 classes × 12), a 2-block model.
struct Setup {
    RunConfig cfg;
    data::Dataset data;
};

Setup small_setup(int64_t epochs, const std::string& recipe = "paper") {
    data::ProceduralOptions po;
    po.train_per_class = 12, po.test_per_class = 4, po.image_size = 16, po.seed = 5;
    Setup s{{}, data::make_procedural(po)};
    auto& c = s.cfg;
    c.preset = "test";
    c.model = preset("cpu-tiny");
    c.model.image_size = 16, c.model.dim = 16, c.model.latent = 16, c.model.depth = 2;
    c.model.local_slots = 40, c.model.global_slots = 20;
    c.train.epochs = epochs, c.train.batch = 32, c.train.log_every = 2, c.train.seed = 11;
    c.train.warmup_epochs = 1;
    c.augment = data::AugmentConfig::recipe(recipe);
    const auto st = data::channel_stats(s.data.train);
    c.data.mean = st.mean, c.data.std = st.std;
    c.data.class_names = s.data.class_names;
    c.data.train_size = s.data.train.size();
    return s;
}

std::unique_ptr<Trainer> make(const Setup& s, const std::string& dir, AugmentFn aug = nullptr) {
    if (!aug) aug = app::make_augment_fn(s.cfg.augment.get<data::AugmentConfig>(), 10);
    return std::make_unique<Trainer>(s.cfg, s.data.train, s.data.test, aug, dir);
}

void expect_same_state(const Model& a, const Model& b) {
    auto pa = a->named_parameters(), pb = b->named_parameters();
    for (const auto& kv : pa) QVERIFY2(torch::equal(kv.value(), *pb.find(kv.key())), kv.key().c_str());
    auto ba = a->named_buffers(), bb = b->named_buffers();
    for (const auto& kv : ba) QVERIFY2(torch::equal(kv.value(), *bb.find(kv.key())), kv.key().c_str());
}

}  // namespace

class TestTrainer : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void scheduleWarmupThenCosine() {
        TrainConfig t;
        t.epochs = 100, t.lr = 1e-3, t.warmup_epochs = 5, t.min_lr = 0;
        const int64_t spe = 10;  // warm-up = 50 steps, total 1000
        QVERIFY(std::abs(scheduled_lr(t, 0, spe) - 1e-3 / 50) < 1e-12);
        QVERIFY(std::abs(scheduled_lr(t, 49, spe) - 1e-3) < 1e-12);
        QVERIFY(std::abs(scheduled_lr(t, 50, spe) - 1e-3) < 1e-12);
        QVERIFY(std::abs(scheduled_lr(t, 525, spe) - 0.5e-3) < 1e-12);  // half-way through the cosine
        QVERIFY(scheduled_lr(t, 1000, spe) < 1e-12);
        // Short runs: warm-up capped at 10 % of training (4 epochs × 10 steps → 4 steps).
        t.epochs = 4;
        QVERIFY(std::abs(scheduled_lr(t, 3, spe) - 1e-3) < 1e-12);
    }

    void evaluationLeaksNoInferenceTensorIntoTraining() {
        // evaluate() runs in inference mode. The banks cache their normalised slots when first read,
        // and the cache made by an evaluation is what the next training step reads: it must be a
        // normal tensor, or backward cannot save it (train -> eval -> train).
        auto s = small_setup(1, "none");
        auto t = make(s, "");
        t->run();
        VHMN model = memory_of(t->model(), "test");
        const auto before = evaluate(model, s.data.test, s.cfg.data.mean, s.cfg.data.std, 16, torch::kCPU);
        for (int64_t b = 0; b < model->config().depth; ++b)
            for (Branch br : {Branch::Local, Branch::Global}) {
                auto view = model->bank(b, br)->view();
                QVERIFY(view.filled > 0);
                QVERIFY(!view.memory_hat.is_inference());
            }
        // A training step after the evaluation: forward, backward, step, bank commit.
        model->train();
        torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3));
        auto x = normalize_images(s.data.train.images.slice(0, 0, 8).to(torch::kFloat) / 255.0, s.cfg.data.mean, s.cfg.data.std);
        auto y = s.data.train.labels.slice(0, 0, 8);
        WriteContext ctx{y, s.data.train.index.slice(0, 0, 8), 99};
        auto loss = torch::nn::functional::cross_entropy(model->forward(x, &ctx), y);
        loss.backward();
        QVERIFY(model->blocks[0]->as<HMNBlockImpl>()->local_memory->query->weight.grad().defined());
        opt.step();
        QVERIFY(model->commit_memory() > 0);
        // Evaluation itself is unchanged by inference mode: the same numbers as without it.
        auto again = make(s, "");
        again->run();
        double loss_nograd = 0;
        {
            torch::NoGradGuard no_grad;
            again->model()->eval();
            auto xt = normalize_images(s.data.test.images.to(torch::kFloat) / 255.0, s.cfg.data.mean, s.cfg.data.std);
            loss_nograd = torch::nn::functional::cross_entropy(
                              again->model()->forward(xt), s.data.test.labels,
                              torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kMean)).item<double>();
        }
        QVERIFY2(std::abs(loss_nograd - before.loss) < 1e-5, (std::to_string(loss_nograd) + " vs " + std::to_string(before.loss)).c_str());
    }

    void stepsReadNothingBackBetweenLoggingSteps() {
        // The trainer's loop reads the device once per logging step (the window's loss and
        // accuracy) and never in other steps; the logged numbers still cover every step.
        auto s = small_setup(2, "paper");  // 120 images, batch 32: 4 steps per epoch
        s.cfg.train.log_every = 3;
        auto t = make(s, "");
        t->run();
        const auto& h = t->history();
        QCOMPARE(t->host_reads(), int64_t(h.steps.size()));
        QCOMPARE(int64_t(h.steps.size()), int64_t(4));  // steps 3 and 4 of epoch 1, 6 and 8 of epoch 2
        QCOMPARE(h.steps[0].step, int64_t(3));
        QCOMPARE(h.steps[1].step, int64_t(4));
        for (const auto& e : h.epochs) QVERIFY(std::isfinite(e.train_loss) && e.train_acc >= 0 && e.train_acc <= 100);
        // The logging step's β and retrieval entropies (read in one go) are the model's own.
        const auto& last = h.steps.back();
        const auto betas = memory_of(t->model(), "test")->betas();
        QCOMPARE(int64_t(last.beta_local.size()), s.cfg.model.depth);
        for (size_t i = 0; i < betas.size(); ++i) {
            QCOMPARE(last.beta_local[i], betas[i].first);
            QCOMPARE(last.beta_global[i], betas[i].second);
            QVERIFY2(last.entropy_local[i] > 0 && last.entropy_global[i] > 0, "retrieval entropy not recorded");
            QVERIFY(last.entropy_local[i] <= std::log(double(s.cfg.model.local_slots)) + 1e-6);
        }
    }

    void labelsOutsideTheModelsClassesAreRefused() {
        auto s = small_setup(1, "none");
        s.data.train.labels = s.data.train.labels.clone();
        s.data.train.labels[3] = 10;  // the model has 10 classes: 0..9
        try {
            make(s, "");
            QFAIL("a label of 10 for a 10-class model was accepted");
        } catch (const ConfigError& e) {
            QVERIFY2(QString(e.what()).contains("[0, 10]"), e.what());
        }
    }

    void resumeEqualsUninterrupted() {
        QTemporaryDir dir;
        const std::string full = dir.filePath("full").toStdString(), part = dir.filePath("part").toStdString();
        auto a = make(small_setup(3), full);
        QCOMPARE(a->run(), TrainOutcome::Finished);

        // The "interrupted" run: the same 3-epoch run stopped after its first epoch, then a new
        // trainer (as a new process would) resumes it from the checkpoint.
        auto b1 = make(small_setup(3), part);
        TrainControl control;
        TrainCallbacks cb;
        cb.on_epoch = [&](const EpochStats&) { control.stop(); };
        QCOMPARE(b1->run(cb, &control), TrainOutcome::Stopped);
        b1.reset();
        auto b2 = make(small_setup(3), part);
        b2->resume();
        QCOMPARE(b2->epochs_done(), int64_t(1));
        QCOMPARE(b2->run(), TrainOutcome::Finished);

        const auto& ha = a->history().epochs;
        const auto& hb = b2->history().epochs;
        QCOMPARE(ha.size(), size_t(3));
        QCOMPARE(hb.size(), size_t(3));
        for (size_t i = 0; i < 3; ++i) {
            QCOMPARE(hb[i].test_top1, ha[i].test_top1);
            QCOMPARE(hb[i].test_loss, ha[i].test_loss);
            QCOMPARE(hb[i].train_loss, ha[i].train_loss);
        }
        expect_same_state(a->model(), b2->model());
        QVERIFY(fs::exists(full + "/model.pt") && fs::exists(full + "/config.json"));
    }

    void stopBetweenStepsKeepsLastCheckpoint() {
        QTemporaryDir dir;
        const std::string run = dir.filePath("run").toStdString();
        auto t = make(small_setup(3), run);
        TrainControl control;
        TrainCallbacks cb;
        int64_t epochs_seen = 0;
        cb.on_epoch = [&](const EpochStats&) { ++epochs_seen; };
        cb.on_step = [&](const StepStats& s) {
            if (s.epoch == 1) control.stop();  // stop in the middle of the second epoch
        };
        QCOMPARE(t->run(cb, &control), TrainOutcome::Stopped);
        QCOMPARE(epochs_seen, int64_t(1));
        QVERIFY(!fs::exists(run + "/model.pt"));
        t.reset();
        auto again = make(small_setup(3), run);
        again->resume();
        QCOMPARE(again->epochs_done(), int64_t(1));
        QCOMPARE(again->run(), TrainOutcome::Finished);
        QCOMPARE(again->history().epochs.size(), size_t(3));
    }

    void pauseAndResumeFromAnotherThread() {
        auto t = make(small_setup(1), "");
        TrainControl control;
        control.pause();
        std::atomic<bool> done{false};
        std::thread worker([&] {
            t->run({}, &control);
            done = true;
        });
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        QVERIFY(!done);  // held at the first step while paused
        QCOMPARE(t->history().steps.size(), size_t(0));
        control.resume();
        worker.join();
        QVERIFY(done);
        QCOMPARE(t->epochs_done(), int64_t(1));
    }

    void nanLossIsAnErrorAndDiskStaysConsistent() {
        QTemporaryDir dir;
        const std::string run = dir.filePath("run").toStdString();
        auto s = small_setup(2, "none");
        auto plain = app::make_augment_fn(data::AugmentConfig::recipe("none"), 10);
        std::atomic<int> calls{0};
        const int64_t spe = (s.data.train.size() + 31) / 32;
        AugmentFn poisoned = [&](const torch::Tensor& x, const torch::Tensor& y, const torch::Tensor& i, at::Generator& g) {
            auto b = plain(x, y, i, g);
            if (++calls > spe) b.images = b.images * std::numeric_limits<float>::quiet_NaN();  // 2nd epoch
            return b;
        };
        auto t = make(s, run, poisoned);
        QVERIFY_THROWS_EXCEPTION(TrainingError, t->run());
        t.reset();
        // The checkpoint of epoch 1 is intact and resumable.
        auto again = make(small_setup(2, "none"), run);
        again->resume();
        QCOMPARE(again->epochs_done(), int64_t(1));
    }

    void runRecordHoldsMetricsModelAndBanks() {
        if (!run_record_available()) QSKIP("this build has no HDF5");
        QTemporaryDir dir;
        const std::string run = dir.filePath("run").toStdString();
        auto t = make(small_setup(2), run);
        t->run();
        const auto rec = read_run_record(run + "/run.h5");
        QCOMPARE(rec.history.epochs.size(), size_t(2));
        QCOMPARE(rec.history.epochs[1].test_top1, t->history().epochs[1].test_top1);
        QCOMPARE(rec.history.steps.size(), t->history().steps.size());
        QCOMPARE(rec.history.steps[0].beta_local.size(), size_t(2));
        QCOMPARE(rec.config.model.dim, int64_t(16));
        QVERIFY(rec.history.steps.back().entropy_global[1] > 0);
        // Memory over training, per epoch and block: round-trips through run.h5.
        for (size_t i = 0; i < 2; ++i) {
            QCOMPARE(rec.history.epochs[i].unused_local, t->history().epochs[i].unused_local);
            QCOMPARE(rec.history.epochs[i].age_global, t->history().epochs[i].age_global);
        }
        // Corrupt record: one clear error naming the file.
        const std::string bad = dir.filePath("bad.h5").toStdString();
        std::ofstream(bad) << "not hdf5";
        try {
            read_run_record(bad);
            QFAIL("corrupt record accepted");
        } catch (const FileError& e) {
            QVERIFY(QString(e.what()).contains("bad.h5"));
        }
    }

    void finalPredictionsAreStoredForOpening() {
        // The last epoch's evaluation keeps every test image's prediction and confidence in run.h5;
        // they equal a fresh forward pass of the final weights, and are recognised as stale for
        // another T, other weights (epochs) or another test split.
        if (!run_record_available()) QSKIP("this build has no HDF5");
        QTemporaryDir dir;
        const std::string run = dir.filePath("run").toStdString();
        const Setup s = small_setup(2);
        auto t = make(s, run);
        t->run();
        const std::string record = run + "/run.h5";
        const int64_t T = t->model()->config().iterations;
        const auto stored = read_predictions(record, s.data.test, 2, T);
        QVERIFY(stored.has_value());
        QCOMPARE(stored->prediction.numel(), s.data.test.size());
        torch::Tensor probs;
        {
            c10::InferenceMode inference;
            t->model()->eval();
            const ImageNormalizer normalize(s.cfg.data.mean, s.cfg.data.std, torch::kCPU);
            probs = torch::softmax(t->model()->forward(normalize(s.data.test.images.to(torch::kFloat).div(255.0))), 1).clone();
        }
        auto [conf, pred] = probs.max(1);
        QVERIFY(torch::equal(stored->prediction, pred));
        QVERIFY(torch::allclose(stored->confidence, conf.to(torch::kDouble), 1e-5, 1e-6));
        // Top-1 from the stored predictions is the epoch's reported top-1.
        const double top1 = 100.0 * stored->prediction.eq(s.data.test.labels).sum().item<double>() / double(s.data.test.size());
        QCOMPARE(top1, t->history().epochs.back().test_top1);
        QVERIFY(!read_predictions(record, s.data.test, 1, T).has_value());      // other weights
        QVERIFY(!read_predictions(record, s.data.test, 2, T + 1).has_value());  // another T
        auto other = s.data.test;
        other.labels = other.labels.roll(1);
        QVERIFY(!read_predictions(record, other, 2, T).has_value());  // another test split
        QVERIFY(!read_predictions(dir.filePath("missing.h5").toStdString(), s.data.test, 2, T).has_value());
    }

    void memoryOverTrainingIsMeasuredEachEpoch() {
        // 120 training images (all of them measured: fewer than kMemoryStatsImages), 4 steps/epoch.
        auto s = small_setup(2);
        auto t = make(s, "");
        t->run();
        VHMN m = memory_of(t->model(), "test");
        for (const auto& e : t->history().epochs) {
            QCOMPARE(e.unused_local.size(), size_t(2));
            QCOMPARE(e.age_global.size(), size_t(2));
            for (double u : e.unused_local) QVERIFY(u >= 0 && u <= 1);
            for (double a : e.age_local) QVERIFY(a >= 0 && a <= double(e.step));
        }
        // The last epoch's figures from the banks as they are now (nothing changed them since).
        ProbeInput in;
        in.model = t->model(), in.test = s.data.train, in.mean = s.cfg.data.mean, in.std = s.cfg.data.std;
        const auto usage = slot_usage(in);
        const auto& last = t->history().epochs.back();
        const int64_t step = last.step;
        QCOMPARE(step, int64_t(2 * 4));
        for (int64_t b = 0; b < 2; ++b) {
            for (Branch br : {Branch::Local, Branch::Global}) {
                auto bank = m->bank(b, br);
                const auto valid = bank->valid;
                const double filled = valid.sum().item<double>();
                const double unused = valid.logical_and(usage.of(b, br).eq(0)).sum().item<double>() / filled;
                const double age = (double(step) - bank->step.masked_select(valid).to(torch::kDouble)).mean().item<double>();
                const auto& u = br == Branch::Local ? last.unused_local : last.unused_global;
                const auto& a = br == Branch::Local ? last.age_local : last.age_global;
                QCOMPARE(u[size_t(b)], unused);
                QCOMPARE(a[size_t(b)], age);
            }
        }
    }

    void checkpointLoadsAsModel() {
        QTemporaryDir dir;
        const std::string run = dir.filePath("run").toStdString();
        auto t = make(small_setup(1), run);
        t->run();
        VHMN m = memory_of(load_model(run + "/checkpoint.pt"), "test");
        expect_same_state(m, t->model());
        QCOMPARE(m->bank(0, Branch::Global)->filled(), memory_of(t->model(), "test")->bank(0, Branch::Global)->filled());
        QVERIFY(m->bank(0, Branch::Global)->filled() > 0);
    }
};

VHMN_TEST_SUITE(TestTrainer);
#include "test_trainer.moc"
