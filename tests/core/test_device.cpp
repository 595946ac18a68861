// Device discipline without a GPU: the emulated device (core/emulated_device.h) refuses, like CUDA,
// any operation that mixes its tensors with CPU tensors. Training (more than 1,000 images, so the
// memory statistics take their evenly spaced subset), every probe and the inspector's queries run
// on it and agree with the CPU.
#include <torch/torch.h>

#include <filesystem>

#include <QTemporaryDir>
#include <QtTest>

#include "core/emulated_device.h"
#include "core/probes/framework.h"
#include "core/probes/cifar_c.h"
#include "datasets/corruptions/cifar_c.h"
#include "tests/device_parity.h"
#include "tests/helpers.h"
#include "tests/suite.h"

using namespace vhmn;

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

using test::split_on;

}  // namespace

class TestDevice : public QObject {
    Q_OBJECT

    // One model trained on the CPU, and its copy on the emulated device (tests/device_parity.h).
    QTemporaryDir dir_;
    test::ParityModels models_;

    static void expect(const test::Parity& p) {
        for (const auto& n : p.notes) qInfo("%s", n.c_str());
        QVERIFY2(p.failures.empty(), p.report().c_str());
    }

private Q_SLOTS:
    void initTestCase() { models_ = test::parity_models(dev(), dir_.path().toStdString()); }

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
        VHMN_NO_THROW(got = evenly_spaced(split_on(s, dev()), 7));  // the trainer's splits live on the device
        QVERIFY(got.images.device() == dev() && got.index.device() == dev());
        QVERIFY(torch::equal(got.index.to(torch::kCPU), want.index));
        QVERIFY(torch::equal(got.images.to(torch::kCPU), want.images));
        QCOMPARE(want.index[1].item<int64_t>(), int64_t(102));  // floor(1 · 20/7) = 2
    }

    // ---- everything on the device against the CPU (tests/device_parity.h) ---------------------
    // Each runs its body so that an exception (a device-mixing error) fails that test, not the suite.
    void trainingOfMoreThanAThousandImagesWithMemoryStatistics() {
        if (!emulated_backward_works()) QSKIP("training on the emulated device needs a build without CUDA (see emulated_backward_works())");
        QTemporaryDir run;
        VHMN_NO_THROW(expect(test::training_matches(dev(), "emulated", run.path().toStdString(), /*exact=*/true)));
    }
    void evaluationMatchesTheCpu() { VHMN_NO_THROW(expect(test::evaluation_matches(models_, /*exact=*/true))); }
    void memoryProbesMatchTheCpu() { VHMN_NO_THROW(expect(test::memory_probes_match(models_, /*exact=*/true))); }
    void inspectorQueriesMatchTheCpu() { VHMN_NO_THROW(expect(test::inspector_matches(models_, /*exact=*/true))); }
    void corruptionSuiteMatchesTheCpu() { VHMN_NO_THROW(expect(test::corruptions_match(models_, /*exact=*/true))); }

    // Released files (an export of 12 evenly spaced test images, so its marker lists them) scored
    // with the whole test split on the device: the clean images are picked there (issue 28).
    void releasedFilesPickTheirCleanImagesOnTheDevice() {
        if (!data::corruptions_available()) QSKIP("this build has no OpenCV");
        const std::string cdir = dir_.filePath("c10c").toStdString();
        data::GeneratedCorruptions gen(evenly_spaced(models_.data.test, 12), 1, "procedural");
        data::export_released(gen, cdir, {"contrast"});
        CorruptionsOptions o;
        o.severities = {3};
        auto run = [&](bool on_device) {
            auto in = models_.input(on_device, 0);
            if (on_device) in.test = split_on(in.test, dev());
            data::ReleasedSource source(cdir);
            return probe_corruptions(in, source, o);
        };
        CorruptionsReport c, e;
        VHMN_NO_THROW(c = run(false));
        VHMN_NO_THROW(e = run(true));
        QCOMPARE(e.clean_count, int64_t(12));
        QCOMPARE(e.clean_top1, c.clean_top1);
        QCOMPARE(e.cells.front().top1, c.cells.front().top1);
    }
};

VHMN_TEST_SUITE(TestDevice);
#include "test_device.moc"
