// Device discipline without a GPU: the emulated device (core/emulated_device.h) refuses, like CUDA,
// any operation that mixes its tensors with CPU tensors. Training (more than 1,000 images, so the
// memory statistics take their evenly spaced subset), every probe and the inspector's queries run
// on it and agree with the CPU.
#include <torch/torch.h>

#include <filesystem>

#include <QTemporaryDir>
#include <QtTest>

#include "app/experiment.h"
#include "core/emulated_device.h"
#include "core/model_io.h"
#include "core/probes.h"
#include "core/probes/ablation.h"
#include "core/probes/cifar_c.h"
#include "core/probes/evidence.h"
#include "core/probes/memory_edit.h"
#include "core/probes/memory_map.h"
#include "core/run_record.h"
#include "core/runtime.h"
#include "core/trainer.h"
#include "datasets/dataset.h"
#include "datasets/subsets.h"
#include "tests/helpers.h"
#include "tests/suite.h"
#ifdef VHMN_WITH_OPENCV
#include "datasets/corruptions/cifar_c.h"
#endif

using namespace vhmn;
namespace fs = std::filesystem;

namespace {

torch::Device dev() { return emulated_device(); }

bool mixing_error(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::exception& e) {
        // Ours, or libtorch's own (TensorIterator's check, the same message as on CUDA).
        const std::string what = e.what();
        return what.find("device mixing") != std::string::npos ||
               what.find("Expected all tensors to be on the same device") != std::string::npos;
    }
    return false;
}

data::Split on(const data::Split& s, const torch::Device& d) {
    return {s.images.to(d), s.labels.to(d), s.index.to(d)};
}

/// Two blocks on 16×16×3 images: small enough to train 1,050 images in seconds.
ModelConfig small_model() {
    ModelConfig c = preset("cpu-tiny");
    c.image_size = 16, c.dim = 32, c.latent = 32, c.depth = 2;
    c.local_slots = 60, c.global_slots = 30, c.tokens_per_image = 3, c.iterations = 2;
    return c;
}

data::Dataset procedural(int64_t per_class) {
    data::ProceduralOptions po;
    po.train_per_class = per_class, po.test_per_class = 6, po.image_size = 16, po.seed = 5;
    return data::make_procedural(po);
}

RunConfig small_run(const data::Dataset& d, const std::string& device) {
    RunConfig c;
    c.preset = "device-test";
    c.model = small_model();
    c.train.epochs = 1, c.train.batch = 150, c.train.log_every = 3, c.train.seed = 11;
    c.train.warmup_epochs = 1, c.train.device = device, c.train.grad_clip = 1.0;
    c.augment = data::AugmentConfig::recipe("paper");
    const auto st = data::channel_stats(d.train);
    c.data.mean = st.mean, c.data.std = st.std;
    c.data.class_names = d.class_names;
    c.data.train_size = d.train.size();
    return c;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kCPU, torch::kDouble) - b.to(torch::kCPU, torch::kDouble)).abs().max().item<double>();
}

}  // namespace

class TestDevice : public QObject {
    Q_OBJECT

    // One model trained on the CPU, and its copy on the emulated device; the probes compare them.
    QTemporaryDir dir_;
    data::Dataset data_;
    Model cpu_{nullptr}, emu_{nullptr};
    RunConfig cfg_;

    ProbeInput input(Model m, const torch::Device& d, int64_t n = 40) {
        ProbeInput in;
        in.model = m, in.test = evenly_spaced(data_.test, n), in.mean = cfg_.data.mean, in.std = cfg_.data.std;
        in.device = d, in.batch = 16;
        return in;
    }

private Q_SLOTS:
    void initTestCase() {
        data_ = procedural(12);
        cfg_ = small_run(data_, "cpu");
        auto t = std::make_unique<Trainer>(cfg_, data_.train, data_.test,
                                           app::make_augment_fn(data::AugmentConfig::recipe("paper"), 10), "");
        t->run({});
        cpu_ = t->model();
        const auto path = fs::path(dir_.path().toStdString()) / "model.pt";
        save_model(cpu_, path.string());
        cpu_ = load_model(path.string(), torch::kCPU);
        emu_ = load_model(path.string(), dev());
        cpu_->eval(), emu_->eval();
    }

    // ---- the emulator itself ----------------------------------------------------------------

    void mixingIsRefusedAsOnAGpu() {
        auto x = torch::arange(12, torch::kFloat).view({4, 3}).to(dev());
        QVERIFY(x.device() == dev());
        QVERIFY(mixing_error([&] { x.index_select(0, torch::tensor({2, 0}, torch::kLong)); }));
        QVERIFY(mixing_error([&] { (void)(x + torch::ones({4, 3})); }));
        QVERIFY(mixing_error([&] { torch::where(torch::ones({4, 3}, torch::kBool), x, x); }));
        // What CUDA allows: copies, 0-dim CPU scalars, CPU indices in advanced indexing.
        auto picked = x.index_select(0, torch::tensor({2, 0}, torch::kLong).to(dev())).to(torch::kCPU);
        QVERIFY(torch::equal(picked, torch::tensor({6.f, 7.f, 8.f, 0.f, 1.f, 2.f}).view({2, 3})));
        QCOMPARE((x * torch::tensor(2.f)).sum().item<float>(), 132.f);
        QVERIFY(torch::equal(x.index({torch::tensor({1}, torch::kLong)}).to(torch::kCPU),
                             torch::tensor({3.f, 4.f, 5.f}).view({1, 3})));
    }

    void viewsAndOutputsShareDeviceMemory() {
        auto x = torch::zeros({4, 3}, torch::TensorOptions().device(dev()));
        x.slice(0, 1, 3).fill_(2.0);                   // through a view
        x.select(1, 0).add_(1.0);                      // and another
        auto cpu = x.to(torch::kCPU);
        QCOMPARE(cpu.sum().item<float>(), 16.f);
        QCOMPARE(cpu[1][0].item<float>(), 3.f);
        auto out = torch::empty({0}, torch::TensorOptions().device(dev()));
        at::arange_out(out, 5);                        // an out= argument the kernel resizes
        QVERIFY(out.device() == dev());
        QVERIFY(torch::equal(out.to(torch::kCPU), torch::arange(5, torch::kFloat)));
        if (!emulated_backward_works()) QSKIP("backward on the emulated device needs a build without CUDA (see emulated_backward_works())");
        auto w = torch::randn({3, 2}, torch::requires_grad());
        auto wd = w.detach().to(dev()).requires_grad_();
        auto loss = x.mm(wd).pow(2).sum();
        loss.backward();
        VHMN_VERIFY_CLOSE(wd.grad().to(torch::kCPU), x.to(torch::kCPU).t().mm(x.to(torch::kCPU).mm(w.detach())) * 2, 1e-5);
    }

    // ---- the first-GPU-run bug and its class ----------------------------------------------------

    void evenlySpacedTakesItsIndexFromTheSplit() {
        data::Split s;
        s.images = torch::arange(20 * 3, torch::kLong).to(torch::kUInt8).view({20, 1, 1, 3});
        s.labels = torch::arange(20, torch::kLong).remainder(4);
        s.index = torch::arange(100, 120, torch::kLong);
        const auto want = evenly_spaced(s, 7);
        data::Split got;
        VHMN_NO_THROW(got = evenly_spaced(on(s, dev()), 7));  // the trainer's splits live on the device
        QVERIFY(got.images.device() == dev() && got.index.device() == dev());
        QVERIFY(torch::equal(got.index.to(torch::kCPU), want.index));
        QVERIFY(torch::equal(got.images.to(torch::kCPU), want.images));
        QCOMPARE(want.index[1].item<int64_t>(), int64_t(102));  // floor(1 · 20/7) = 2
    }

    // ---- bodies of the slots below -----------------------------------------------------------
private:
    void trainingOfMoreThanAThousandImagesWithMemoryStatistics_body() {
        auto d = procedural(105);  // 1,050 training images > Trainer::kMemoryStatsImages
        QVERIFY(d.train.size() > Trainer::kMemoryStatsImages);
        QTemporaryDir run;
        auto c = small_run(d, "emulated");
        Trainer t(c, d.train, d.test, app::make_augment_fn(data::AugmentConfig::recipe("paper"), 10),
                  run.path().toStdString());
        QVERIFY(t.device() == dev());
        QCOMPARE(t.run({}), TrainOutcome::Finished);
        const auto& e = t.history().epochs.back();
        QCOMPARE(int64_t(e.unused_local.size()), int64_t(2));
        for (const char* f : {"checkpoint.pt", "model.pt", "run.h5", "config.json"})
            if (std::string(f) != "run.h5" || run_record_available())
                QVERIFY2(fs::exists(fs::path(run.path().toStdString()) / f), f);
        // The same run on the CPU: the same data order, augmentation draws and bank provenance.
        Trainer ref(small_run(d, "cpu"), d.train, d.test, app::make_augment_fn(data::AugmentConfig::recipe("paper"), 10), "");
        ref.run({});
        const auto& r = ref.history().epochs.back();
        QVERIFY2(std::abs(e.train_loss - r.train_loss) < 1e-3 * std::abs(r.train_loss),
                 (std::to_string(e.train_loss) + " vs " + std::to_string(r.train_loss)).c_str());
        auto bank = memory_of(t.model(), "t")->bank(1, Branch::Local), rbank = memory_of(ref.model(), "t")->bank(1, Branch::Local);
        QVERIFY(torch::equal(bank->source.to(torch::kCPU), rbank->source));
        QVERIFY(max_diff(bank->memory, rbank->memory) < 1e-3);
        QCOMPARE(e.age_local, r.age_local);
        // And it resumes on the device from what it wrote.
        auto c2 = c;
        c2.train.epochs = 2;
        Trainer more(c2, d.train, d.test, app::make_augment_fn(data::AugmentConfig::recipe("paper"), 10),
                     run.path().toStdString());
        more.resume();
        QCOMPARE(more.run({}), TrainOutcome::Finished);
        QCOMPARE(more.epochs_done(), int64_t(2));
    }

    void evaluationMatchesTheCpu_body() {
        const auto a = evaluate(cpu_, data_.test, cfg_.data.mean, cfg_.data.std, 16, torch::kCPU);
        const auto b = evaluate(emu_, data_.test, cfg_.data.mean, cfg_.data.std, 16, dev());
        const auto c = evaluate(emu_, on(data_.test, dev()), cfg_.data.mean, cfg_.data.std, 16, dev());
        QCOMPARE(a.top1, b.top1);
        QCOMPARE(a.top1, c.top1);
        QVERIFY(std::abs(a.loss - b.loss) < 1e-4);
    }

    void memoryProbesMatchTheCpu_body() {
        for (bool split_on_device : {false, true}) {
            auto ci = input(cpu_, torch::kCPU), ei = input(emu_, dev());
            if (split_on_device) ei.test = on(ei.test, dev());
            const auto hc = probe_hits(ci), he = probe_hits(ei);
            for (size_t i = 0; i < hc.size(); ++i) QVERIFY(std::abs(hc[i].top1 - he[i].top1) < 1e-9);
            const auto wc = probe_weights(ci, 1, Branch::Local), we = probe_weights(ei, 1, Branch::Local);
            QVERIFY(max_diff(wc.mean_alpha, we.mean_alpha) < 1e-5);
            const auto rc = probe_robustness(ci, robustness_corruptions(), {0, 2}, 3);
            const auto re = probe_robustness(ei, robustness_corruptions(), {0, 2}, 3);
            for (size_t i = 0; i < rc.size(); ++i) QCOMPARE(rc[i].top1, re[i].top1);
            const auto sc = probe_stability(ci, 1, Branch::Global, stability_corruptions(), 3);
            const auto se = probe_stability(ei, 1, Branch::Global, stability_corruptions(), 3);
            for (size_t i = 0; i < sc.size(); ++i) QVERIFY(std::abs(sc[i].cosine - se[i].cosine) < 1e-4);
            const auto uc = slot_usage(ci), ue = slot_usage(ei);
            for (size_t i = 0; i < uc.top1.size(); ++i) QVERIFY(torch::equal(uc.top1[i], ue.top1[i].to(torch::kCPU)));
            AblationOptions ao;
            ao.fractions = {0.0, 0.5, 1.0};
            const auto ac = probe_ablation(ci, uc, ao), ae = probe_ablation(ei, ue, ao);
            for (size_t i = 0; i < ac.size(); ++i) QCOMPARE(ac[i].top1, ae[i].top1);
            const auto lc = probe_leave_class_out(ci), le = probe_leave_class_out(ei);
            QCOMPARE(lc.top1, le.top1);
        }
    }

    void inspectorQueriesMatchTheCpu_body() {
        const auto image = data_.test.images[3];
        const int64_t label = data_.test.labels[3].item<int64_t>();
        const auto pc = probe_image(cpu_, image, label, cfg_.data.mean, cfg_.data.std, data_.train, 5, -1, torch::kCPU);
        const auto pe = probe_image(emu_, image, label, cfg_.data.mean, cfg_.data.std, on(data_.train, dev()), 5, -1, dev());
        QCOMPARE(pc.prediction, pe.prediction);
        QCOMPARE(pc.token, pe.token);
        QCOMPARE(pc.blocks[1].local[0].hit.provenance.slot, pe.blocks[1].local[0].hit.provenance.slot);
        QVERIFY(pe.blocks[1].local[0].source.defined());
        const auto ec = probe_evidence(cpu_, image, label, cfg_.data.mean, cfg_.data.std, {}, torch::kCPU);
        const auto ee = probe_evidence(emu_, image, label, cfg_.data.mean, cfg_.data.std, {}, dev());
        QCOMPARE(ec.images.front().source, ee.images.front().source);
        QVERIFY(std::abs(ec.images.front().mass - ee.images.front().mass) < 1e-5);
        // Forgetting the top image (an edit's masks on the device), then the map and a trajectory.
        auto vm = memory_of(emu_, "t");
        const auto edit = forget_evidence_edit(ee, 1, 3, "forget");
        QVERIFY(apply_edit(vm, edit) > 0);
        const auto after = probe_evidence(emu_, image, label, cfg_.data.mean, cfg_.data.std, {}, dev());
        QVERIFY(after.images.front().source != ee.images.front().source);
        clear_edit(vm);
        const auto mc = memory_map(memory_of(cpu_, "t"), 1, Branch::Global), me = memory_map(vm, 1, Branch::Global);
        QVERIFY(max_diff(mc.coords.abs(), me.coords.abs()) < 1e-4);
        const auto tc = map_trajectory(cpu_, mc, image, cfg_.data.mean, cfg_.data.std, -1, torch::kCPU);
        const auto te = map_trajectory(emu_, me, image, cfg_.data.mean, cfg_.data.std, -1, dev());
        QVERIFY(max_diff(tc.abs(), te.abs()) < 1e-4);
    }

    void corruptionSuiteMatchesTheCpu_body() {
#ifdef VHMN_WITH_OPENCV
        CorruptionsOptions o;
        o.corruptions = {"gaussian_noise", "contrast", "zoom_blur"};
        o.severities = {1, 5};
        auto run = [&](Model m, const torch::Device& d) {
            auto in = input(m, d, 30);
            data::GeneratedCorruptions source(in.test, 1, "procedural");
            return probe_corruptions(in, source, o);
        };
        const auto c = run(cpu_, torch::kCPU), e = run(emu_, dev());
        QCOMPARE(c.cells.size(), e.cells.size());
        for (size_t i = 0; i < c.cells.size(); ++i) QCOMPARE(c.cells[i].top1, e.cells[i].top1);
        QCOMPARE(c.clean_top1, e.clean_top1);
#else
        QSKIP("built without OpenCV: no CIFAR-10-C generator");
#endif
    }

private Q_SLOTS:
    // Each runs its body so that an exception (a device-mixing error) fails that test, not the suite.
    void trainingOfMoreThanAThousandImagesWithMemoryStatistics() {
        if (!emulated_backward_works()) QSKIP("training on the emulated device needs a build without CUDA (see emulated_backward_works())");
        VHMN_NO_THROW(trainingOfMoreThanAThousandImagesWithMemoryStatistics_body());
    }
    void evaluationMatchesTheCpu() { VHMN_NO_THROW(evaluationMatchesTheCpu_body()); }
    void memoryProbesMatchTheCpu() { VHMN_NO_THROW(memoryProbesMatchTheCpu_body()); }
    void inspectorQueriesMatchTheCpu() { VHMN_NO_THROW(inspectorQueriesMatchTheCpu_body()); }
    void corruptionSuiteMatchesTheCpu() { VHMN_NO_THROW(corruptionSuiteMatchesTheCpu_body()); }
};

VHMN_TEST_SUITE(TestDevice);
#include "test_device.moc"
