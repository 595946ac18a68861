#pragma once
// One model on the CPU and its copy on another device must give the same answers: training of more
// than 1,000 images with memory statistics, evaluation, every memory probe, the inspector's queries
// and the corruption suite. Plain C++ (no Qt), shared by TestDevice (the emulated device, CI) and
// the CUDA suite (tests/cuda: a GPU, or the emulated device in its self-check).
//
// Each check returns a Parity: the failures (empty when everything matched) and notes to print.
// `exact`: the other device computes with the CPU's arithmetic (the emulated device), so top-1
// counts must be equal; on a GPU a top-1 may move by one image (a near tie rounded the other way).
#include <cmath>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "app/common/experiment.h"
#include "core/io/model_io.h"
#include "core/probes/framework.h"
#include "core/probes/weights.h"
#include "core/probes/hits.h"
#include "core/probes/image.h"
#include "core/probes/robustness.h"
#include "core/probes/stability.h"
#include "core/probes/perturbations.h"
#include "core/probes/ablation.h"
#include "core/probes/cifar_c.h"
#include "core/probes/evidence.h"
#include "core/probes/memory_edit.h"
#include "core/probes/memory_map.h"
#include "core/io/run_record.h"
#include "core/train/trainer.h"
#include "datasets/readers/procedural.h"
#include "datasets/subsets.h"
#ifdef VHMN_WITH_OPENCV
#include "datasets/corruptions/cifar_c.h"
#endif

namespace vhmn::test {

struct Parity {
    std::vector<std::string> failures, notes;
    void check(bool ok, const std::string& what) {
        if (!ok) failures.push_back(what);
    }
    std::string report() const {
        std::string s;
        for (const auto& f : failures) s += f + "; ";
        return s;
    }
};

inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kCPU, torch::kDouble) - b.to(torch::kCPU, torch::kDouble)).abs().max().item<double>();
}

inline data::Split split_on(const data::Split& s, const torch::Device& d) {
    return {s.images.to(d), s.labels.to(d), s.index.to(d)};
}

/// Two blocks on 16×16×3 images: small enough to train 1,050 images in seconds.
inline ModelConfig parity_model() {
    ModelConfig c = preset("cpu-tiny");
    c.image_size = 16, c.dim = 32, c.latent = 32, c.depth = 2;
    c.local_slots = 60, c.global_slots = 30, c.tokens_per_image = 3, c.iterations = 2;
    return c;
}

inline data::Dataset parity_data(int64_t per_class) {
    data::ProceduralOptions po;
    po.train_per_class = per_class, po.test_per_class = 6, po.image_size = 16, po.seed = 5;
    return data::make_procedural(po);
}

inline RunConfig parity_run(const data::Dataset& d, const std::string& device) {
    RunConfig c;
    c.preset = "device-parity";
    c.model = parity_model();
    c.train.epochs = 1, c.train.batch = 150, c.train.log_every = 3, c.train.seed = 11;
    c.train.warmup_epochs = 1, c.train.device = device, c.train.grad_clip = 1.0;
    c.augment = data::AugmentConfig::recipe("paper");
    const auto st = data::channel_stats(d.train);
    c.data.mean = st.mean, c.data.std = st.std;
    c.data.class_names = d.class_names;
    c.data.train_size = d.train.size();
    return c;
}

/// Top-1 percentages that must agree: equal when exact, else within one image of n.
inline bool top1_agree(double a, double b, int64_t n, bool exact) {
    return exact ? a == b : std::abs(a - b) <= 100.0 / double(std::max<int64_t>(n, 1)) + 1e-9;
}

/// One epoch of 1,050 images on `device` (memory statistics run after it, on the splits the trainer
/// keeps there), its files, the same run on the CPU, and a resume on the device.
inline Parity training_matches(const torch::Device& device, const std::string& device_name, const std::string& dir,
                               bool exact) {
    Parity p;
    auto d = parity_data(105);  // 1,050 training images > Trainer::kMemoryStatsImages
    p.check(d.train.size() > Trainer::kMemoryStatsImages, "the training set is not larger than the memory statistics' slice");
    auto c = parity_run(d, device_name);
    auto aug = [] { return app::make_augment_fn(data::AugmentConfig::recipe("paper"), 10); };
    Trainer t(c, d.train, d.test, aug(), dir);
    p.check(t.device() == device, "the trainer is not on " + device.str());
    p.check(t.run({}) == TrainOutcome::Finished, "training did not finish");
    const auto& e = t.history().epochs.back();
    p.check(e.unused_local.size() == 2, "no memory statistics after the epoch");
    for (const char* f : {"checkpoint.pt", "model.pt", "run.h5", "config.json"})
        if (std::string(f) != "run.h5" || run_record_available())
            p.check(std::filesystem::exists(std::filesystem::path(dir) / f), std::string(f) + " was not written");
    // The final evaluation's predictions, kept on the device and stored from the host.
    if (run_record_available())
        p.check(read_predictions((std::filesystem::path(dir) / "run.h5").string(), d.test, int64_t(t.history().epochs.size()),
                                 t.model()->config().iterations)
                    .has_value(),
                "the final predictions were not stored in run.h5");
    Trainer ref(parity_run(d, "cpu"), d.train, d.test, aug(), "");
    ref.run({});
    const auto& r = ref.history().epochs.back();
    const double rel = exact ? 1e-3 : 2e-2;
    std::ostringstream loss;
    loss << "train loss " << e.train_loss << " on " << device << " vs " << r.train_loss << " on the CPU";
    p.notes.push_back(loss.str());
    p.check(std::abs(e.train_loss - r.train_loss) < rel * std::abs(r.train_loss), loss.str());
    auto bank = memory_of(t.model(), "t")->bank(1, Branch::Local), rbank = memory_of(ref.model(), "t")->bank(1, Branch::Local);
    // Provenance follows the data order, augmentation draws and token keys, which are the host's.
    p.check(torch::equal(bank->source.to(torch::kCPU), rbank->source), "bank sources differ from the CPU run's");
    if (exact) p.check(max_abs_diff(bank->memory, rbank->memory) < 1e-3, "bank vectors differ from the CPU run's");
    p.check(e.age_local == r.age_local, "mean slot age differs from the CPU run's");
    auto c2 = c;
    c2.train.epochs = 2;
    Trainer more(c2, d.train, d.test, aug(), dir);
    more.resume();
    p.check(more.run({}) == TrainOutcome::Finished && more.epochs_done() == 2, "the resumed run did not finish epoch 2");
    return p;
}

/// A model on the CPU and its copy on `device`, with the test split they are asked about.
struct ParityModels {
    Model cpu{nullptr}, dev{nullptr};
    torch::Device device{torch::kCPU};
    data::Dataset data;
    RunConfig cfg;
    ProbeInput input(bool on_device, int64_t n = 40) const {
        ProbeInput in;
        in.model = on_device ? dev : cpu;
        in.test = evenly_spaced(data.test, n), in.mean = cfg.data.mean, in.std = cfg.data.std;
        in.device = on_device ? device : torch::Device(torch::kCPU), in.batch = 16;
        return in;
    }
};

/// Trains a small model on the CPU and loads it on the CPU and on `device`.
inline ParityModels parity_models(const torch::Device& device, const std::string& dir) {
    ParityModels m;
    m.device = device;
    m.data = parity_data(12);
    m.cfg = parity_run(m.data, "cpu");
    Trainer t(m.cfg, m.data.train, m.data.test, app::make_augment_fn(data::AugmentConfig::recipe("paper"), 10), "");
    t.run({});
    const auto path = (std::filesystem::path(dir) / "parity-model.pt").string();
    save_model(t.model(), path);
    m.cpu = load_model(path, torch::kCPU);
    m.dev = load_model(path, device);
    m.cpu->eval(), m.dev->eval();
    return m;
}

inline Parity evaluation_matches(const ParityModels& m, bool exact) {
    Parity p;
    const auto& s = m.cfg.data;
    const auto a = evaluate(m.cpu, m.data.test, s.mean, s.std, 16, torch::kCPU);
    const auto b = evaluate(m.dev, m.data.test, s.mean, s.std, 16, m.device);
    const auto c = evaluate(m.dev, split_on(m.data.test, m.device), s.mean, s.std, 16, m.device);
    const int64_t n = m.data.test.size();
    p.check(top1_agree(a.top1, b.top1, n, exact) && top1_agree(a.top1, c.top1, n, exact), "top-1 differs from the CPU's");
    p.check(std::abs(a.loss - b.loss) < (exact ? 1e-4 : 1e-3), "test loss differs from the CPU's");
    return p;
}

inline Parity memory_probes_match(const ParityModels& m, bool exact) {
    Parity p;
    const double tol = exact ? 1e-5 : 1e-3;
    for (bool split_on_device : {false, true}) {
        auto ci = m.input(false), ei = m.input(true);
        const int64_t n = ci.test.size();
        if (split_on_device) ei.test = split_on(ei.test, m.device);
        const auto hc = probe_hits(ci), he = probe_hits(ei);
        for (size_t i = 0; i < hc.size(); ++i) p.check(top1_agree(hc[i].top1, he[i].top1, n, exact), "hits differ");
        const auto wc = probe_weights(ci, 1, Branch::Local), we = probe_weights(ei, 1, Branch::Local);
        p.check(max_abs_diff(wc.mean_alpha, we.mean_alpha) < tol, "weights differ");
        const auto rc = probe_robustness(ci, robustness_corruptions(), {0, 2}, 3);
        const auto re = probe_robustness(ei, robustness_corruptions(), {0, 2}, 3);
        for (size_t i = 0; i < rc.size(); ++i) p.check(top1_agree(rc[i].top1, re[i].top1, n, exact), "robustness differs");
        const auto sc = probe_stability(ci, 1, Branch::Global, stability_corruptions(), 3);
        const auto se = probe_stability(ei, 1, Branch::Global, stability_corruptions(), 3);
        for (size_t i = 0; i < sc.size(); ++i) p.check(std::abs(sc[i].cosine - se[i].cosine) < (exact ? 1e-4 : 1e-3), "stability differs");
        const auto uc = slot_usage(ci), ue = slot_usage(ei);
        if (exact)
            for (size_t i = 0; i < uc.top1.size(); ++i) p.check(torch::equal(uc.top1[i], ue.top1[i].to(torch::kCPU)), "slot usage differs");
        AblationOptions ao;
        ao.fractions = {0.0, 0.5, 1.0};
        const auto ac = probe_ablation(ci, uc, ao), ae = probe_ablation(ei, ue, ao);
        for (size_t i = 0; i < ac.size(); ++i) p.check(top1_agree(ac[i].top1, ae[i].top1, n, exact), "ablation differs");
        const auto lc = probe_leave_class_out(ci), le = probe_leave_class_out(ei);
        p.check(lc.top1.size() == le.top1.size(), "leave-class-out: a different number of classes");
        for (size_t i = 0; i < lc.top1.size() && i < le.top1.size(); ++i)
            p.check(top1_agree(lc.top1[i], le.top1[i], n, exact), "leave-class-out differs");
    }
    return p;
}

/// The inspector: an image's retrieval, its evidence, forgetting it (an edit's masks on the
/// device), the memory map and a trajectory on it.
inline Parity inspector_matches(const ParityModels& m, bool exact) {
    Parity p;
    const auto& s = m.cfg.data;
    const auto image = m.data.test.images[3];
    const int64_t label = m.data.test.labels[3].item<int64_t>();
    const auto pc = probe_image(m.cpu, image, label, s.mean, s.std, m.data.train, 5, -1, torch::kCPU);
    const auto pe = probe_image(m.dev, image, label, s.mean, s.std, split_on(m.data.train, m.device), 5, -1, m.device);
    p.check(pc.prediction == pe.prediction, "prediction differs");
    p.check(pc.blocks[1].local[0].hit.provenance.slot == pe.blocks[1].local[0].hit.provenance.slot, "top slot differs");
    p.check(pe.blocks[1].local[0].source.defined(), "no source image for the top slot");
    const auto ec = probe_evidence(m.cpu, image, label, s.mean, s.std, {}, torch::kCPU);
    const auto ee = probe_evidence(m.dev, image, label, s.mean, s.std, {}, m.device);
    p.check(ec.images.front().source == ee.images.front().source, "top evidence image differs");
    p.check(std::abs(ec.images.front().mass - ee.images.front().mass) < (exact ? 1e-5 : 1e-3), "evidence mass differs");
    auto vm = memory_of(m.dev, "the inspector");
    p.check(apply_edit(vm, forget_evidence_edit(ee, 1, 3, "forget")) > 0, "the forget edit masked nothing");
    const auto after = probe_evidence(m.dev, image, label, s.mean, s.std, {}, m.device);
    p.check(after.images.front().source != ee.images.front().source, "the forgotten image is still the top evidence");
    clear_edit(vm);
    const auto mc = memory_map(memory_of(m.cpu, "t"), 1, Branch::Global), me = memory_map(vm, 1, Branch::Global);
    p.check(max_abs_diff(mc.coords.abs(), me.coords.abs()) < (exact ? 1e-4 : 1e-2), "memory map differs");
    const auto tc = map_trajectory(m.cpu, mc, image, s.mean, s.std, -1, torch::kCPU);
    const auto te = map_trajectory(m.dev, me, image, s.mean, s.std, -1, m.device);
    p.check(max_abs_diff(tc.abs(), te.abs()) < (exact ? 1e-4 : 1e-2), "map trajectory differs");
    (void)label;
    return p;
}

/// The CIFAR-10-C suite (generated corruptions) on both; empty notes and no failures without OpenCV.
inline Parity corruptions_match(const ParityModels& m, bool exact) {
    Parity p;
#ifdef VHMN_WITH_OPENCV
    CorruptionsOptions o;
    o.corruptions = {"gaussian_noise", "contrast", "zoom_blur"};
    o.severities = {1, 5};
    auto run = [&](bool on_device) {
        auto in = m.input(on_device, 30);
        data::GeneratedCorruptions source(in.test, 1, "procedural");
        return probe_corruptions(in, source, o);
    };
    const auto c = run(false), e = run(true);
    p.check(c.cells.size() == e.cells.size(), "a different number of cells");
    for (size_t i = 0; i < c.cells.size() && i < e.cells.size(); ++i)
        p.check(top1_agree(c.cells[i].top1, e.cells[i].top1, 30, exact), "a corruption cell differs");
    for (const auto& [t, top1] : c.clean_top1) {
        const auto it = e.clean_top1.find(t);
        p.check(it != e.clean_top1.end() && top1_agree(top1, it->second, 30, exact), "clean top-1 differs");
    }
#else
    (void)m, (void)exact;
    p.notes.push_back("built without OpenCV: no CIFAR-10-C generator");
#endif
    return p;
}

}  // namespace vhmn::test
