// The CIFAR-10-C suite (issue 14): every corruption of our generator (severity order, seeding,
// known answers), the released .npy layout as a source, and the probe's aggregates (mean over the
// reference cells, families, mCE) checked by hand.
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <QTemporaryDir>
#include <QtTest>

#include "core/error.h"
#include "core/probes/framework.h"
#include "core/probes/perturbations.h"
#include "core/probes/cifar_c.h"
#include "core/train/trainer.h"
#include "datasets/corruptions/cifar_c.h"
#include "datasets/readers/procedural.h"
#include "datasets/readers/npy.h"
#include "tests/helpers.h"
#include "tests/suite.h"

#ifdef VHMN_WITH_OPENCV
#include <opencv2/imgcodecs.hpp>
#endif

using namespace vhmn;
namespace fs = std::filesystem;

namespace {

const std::string kDatasets = VHMN_DATASETS_DIR;

/// Mean PSNR (dB, peak 255) of corrupted against clean uint8 images.
double mean_psnr(const torch::Tensor& clean, const torch::Tensor& corrupted) {
    auto mse = (clean.to(torch::kDouble) - corrupted.to(torch::kDouble)).pow(2).mean({1, 2, 3});
    auto psnr = 10.0 * torch::log10(255.0 * 255.0 / mse.clamp_min(1e-10));
    return psnr.mean().item<double>();
}

/// 32 CIFAR-10 test images (uint8 [32, 3, 32, 32]) when the dataset is here, else undefined.
torch::Tensor cifar_images() {
#ifdef VHMN_WITH_OPENCV
    const fs::path test = fs::path(kDatasets) / "cifar10" / "test";
    if (!fs::is_directory(test)) return {};
    std::vector<torch::Tensor> out;
    for (const auto& cls : fs::directory_iterator(test)) {
        std::vector<fs::path> files;
        for (const auto& f : fs::directory_iterator(cls.path())) files.push_back(f.path());
        std::sort(files.begin(), files.end());
        for (size_t k = 0; k < std::min<size_t>(3, files.size()); ++k) {
            cv::Mat bgr = cv::imread(files[k].string(), cv::IMREAD_COLOR);
            if (bgr.empty() || bgr.rows != 32 || bgr.cols != 32) continue;
            auto t = torch::from_blob(bgr.data, {32, 32, 3}, torch::kUInt8).clone().flip({2}).permute({2, 0, 1});
            out.push_back(t.contiguous());
        }
    }
    return out.empty() ? torch::Tensor() : torch::stack(out);
#else
    return {};
#endif
}

torch::Tensor procedural_images(int64_t n, int64_t size = 32, int64_t channels = 3) {
    data::ProceduralOptions po;
    po.train_per_class = 1, po.test_per_class = (n + 9) / 10, po.image_size = size, po.channels = channels;
    return data::make_procedural(po).test.images.slice(0, 0, n);
}

/// A hand-made report: corruptions × severities 1-2 at T = 1 with the given top-1 (and baseline).
CorruptionsReport hand_report() {
    CorruptionsReport r;
    r.iterations = {1};
    r.clean_top1[1] = 90;
    r.baseline_clean_top1 = 80;
    r.clean_count = 10;
    auto cell = [&](const std::string& c, int s, double top1, double base) {
        r.cells.push_back({c, s, 1, top1, base, 10});
    };
    cell("gaussian_noise", 1, 60, 50), cell("gaussian_noise", 2, 40, 30);  // noise
    cell("contrast", 1, 80, 70), cell("contrast", 2, 70, 50);               // digital
    cell("frost", 1, 10, 10), cell("frost", 2, 10, 10);                     // ours: out of every mean
    cell("saturate", 1, 0, 0), cell("saturate", 2, 0, 0);                   // an extra: out of the mean
    r.ours = {"frost"};
    return r;
}

}  // namespace

class TestCorruptions : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void catalogue() {
        const auto& all = c_corruptions();
        QCOMPARE(all.size(), size_t(19));
        QCOMPARE(std::count_if(all.begin(), all.end(), [](const CCorruption& c) { return c.reference; }), 15L);
        std::map<std::string, int> families;
        for (const auto& c : all) ++families[c.family];
        QCOMPARE(families["noise"], 3);
        QCOMPARE(families["blur"], 4);
        QCOMPARE(families["weather"], 4);
        QCOMPARE(families["digital"], 4);
        QCOMPARE(families["extra"], 4);
        for (const auto& c : all) QVERIFY2(c.monotone || !c.non_monotone_reason.empty(), c.name.c_str());
        QVERIFY_THROWS_EXCEPTION(ConfigError, c_corruption("fire"));
    }

    void psnrFallsWithSeverity_data() {
        QTest::addColumn<QString>("name");
        for (const auto& c : c_corruptions()) QTest::newRow(c.name.c_str()) << QString::fromStdString(c.name);
    }
    // Mean PSNR is non-increasing with severity wherever the reference parameters grow harsher at
    // every step (the exceptions and why are in the catalogue), on procedural images and, when the
    // dataset is here, on 30 CIFAR-10 test images. Every severity changes the images.
    void psnrFallsWithSeverity() {
        if (!data::corruptions_available()) QSKIP("this build has no OpenCV");
        QFETCH(QString, name);
        const auto& c = c_corruption(name.toStdString());
        std::vector<torch::Tensor> sets{procedural_images(40)};
        if (auto real = cifar_images(); real.defined()) sets.push_back(real);
        bool rises = false;  // some severity step moves the images less than the one before
        for (const auto& images : sets) {
            const auto index = torch::arange(images.size(0), torch::kLong);
            std::vector<double> psnr;
            for (int s = 1; s <= 5; ++s) {
                auto out = data::corrupt_batch(images, index, c.name, s, 7);
                QCOMPARE(out.sizes(), images.sizes());
                QCOMPARE(out.scalar_type(), torch::kUInt8);
                psnr.push_back(mean_psnr(images, out));
            }
            QString line = name + ":";
            for (double p : psnr) line += QString(" %1").arg(p, 0, 'f', 2);
            qDebug("%s", qPrintable(line));
            for (double p : psnr) QVERIFY2(std::isfinite(p) && p < 80, qPrintable("unchanged: " + line));
            for (int s = 1; s < 5; ++s) {
                if (!c.monotone) rises = rises || psnr[size_t(s)] > psnr[size_t(s - 1)] + 0.05;
                else QVERIFY2(psnr[size_t(s)] <= psnr[size_t(s - 1)] + 0.05, qPrintable(line));
            }
        }
        // The listed exceptions are real ones.
        if (!c.monotone) QVERIFY2(rises, qPrintable(name + " is listed as an exception but its PSNR falls at every step"));
    }

    // A fixed seed gives identical output; another seed other output (for the random ones); an
    // image's output depends on its index only, not on its batch or its neighbours; the random
    // draws are the same at every severity (Gaussian noise: the same field, scaled).
    void seedAndIndexFixTheOutput() {
        if (!data::corruptions_available()) QSKIP("this build has no OpenCV");
        const auto images = procedural_images(6);
        const auto index = torch::arange(100, 106, torch::kLong);
        const std::set<std::string> deterministic{"defocus_blur", "zoom_blur", "brightness", "contrast",
                                                  "pixelate", "jpeg_compression", "gaussian_blur", "saturate"};
        for (const auto& c : c_corruptions()) {
            const auto a = data::corrupt_batch(images, index, c.name, 3, 11);
            QVERIFY2(torch::equal(a, data::corrupt_batch(images, index, c.name, 3, 11)), c.name.c_str());
            const auto b = data::corrupt_batch(images, index, c.name, 3, 12);
            QVERIFY2(torch::equal(a, b) == (deterministic.count(c.name) == 1), c.name.c_str());
            // Image 4 alone, and the batch reversed, give the same pixels for that image.
            QVERIFY2(torch::equal(a[4], data::corrupt_image(images[4], c.name, 3, 11, 104)), c.name.c_str());
            const auto rev = data::corrupt_batch(images.flip({0}), index.flip({0}), c.name, 3, 11);
            QVERIFY2(torch::equal(a, rev.flip({0})), c.name.c_str());
        }
        // Gaussian noise at σ = .04 and .10 (severities 1 and 5) is one noise field, scaled, where
        // nothing clipped: differences to the clean image in the ratio 2.5 (to uint8 truncation).
        const auto mid = torch::full({3, 8, 8}, 128, torch::kUInt8);
        const auto n1 = data::corrupt_image(mid, "gaussian_noise", 1, 4, 9).to(torch::kDouble) - 128;
        const auto n5 = data::corrupt_image(mid, "gaussian_noise", 5, 4, 9).to(torch::kDouble) - 128;
        QVERIFY(((n5 - 2.5 * n1).abs() <= 3.6).all().item<bool>());
        QVERIFY(n1.abs().sum().item<double>() > 0);
        // Grey images go through RGB and back.
        const auto grey = procedural_images(3, 28, 1);
        const auto g = data::corrupt_batch(grey, torch::arange(3, torch::kLong), "fog", 5, 0);
        QCOMPARE(g.sizes(), grey.sizes());
        QVERIFY(!torch::equal(g, grey));
        QVERIFY_THROWS_EXCEPTION(ConfigError, data::corrupt_image(images[0], "gaussian_noise", 6, 0, 0));
        QVERIFY_THROWS_EXCEPTION(ConfigError, data::corrupt_image(images[0], "fire", 1, 0, 0));
    }

    // Contrast: (x − m)·c + m per channel, m the channel's mean. R = (0, 100, 200, 100, …) has
    // mean 100: at c = .5 (severity 2) it becomes (50, 100, 150, 100, …).
    void contrastKnownAnswer() {
        if (!data::corruptions_available()) QSKIP("this build has no OpenCV");
        auto img = torch::zeros({3, 4, 4}, torch::kUInt8);
        const uint8_t r[4] = {0, 100, 200, 100};
        for (int i = 0; i < 16; ++i) img[0][i / 4][i % 4] = r[i % 4];
        img[1].fill_(30);   // flat: unchanged
        img[2][0].fill_(255);  // B: mean 63.75 → 255 → (255 − 63.75)·.5 + 63.75 = 159.375 → 159; 0 → 31.875 → 31
        const auto out = data::corrupt_image(img, "contrast", 2, 0, 0);
        const uint8_t want_r[4] = {50, 100, 150, 100};
        for (int i = 0; i < 16; ++i) QCOMPARE(out[0][i / 4][i % 4].item<int>(), int(want_r[i % 4]));
        QVERIFY(torch::equal(out[1], img[1]));
        QCOMPARE(out[2][0][0].item<int>(), 159);
        QCOMPARE(out[2][3][3].item<int>(), 31);
    }

    // Brightness: V of HSV + c, hue and saturation kept. (200, 100, 0) at c = .05: V' = 200/255 + .05,
    // ×255 = 212.75, and G scales alike to 106.375 → (212, 106, 0); black → 12.75 grey → 12; a
    // near-white at c = .3 clips to 255.
    void brightnessKnownAnswer() {
        if (!data::corruptions_available()) QSKIP("this build has no OpenCV");
        auto img = torch::zeros({3, 2, 2}, torch::kUInt8);
        img[0][0][0] = 200, img[1][0][0] = 100, img[2][0][0] = 0;
        img.select(1, 1).select(1, 1).fill_(250);
        auto one = data::corrupt_image(img, "brightness", 1, 0, 0);
        QCOMPARE(one[0][0][0].item<int>(), 212);
        QCOMPARE(one[1][0][0].item<int>(), 106);
        QCOMPARE(one[2][0][0].item<int>(), 0);
        for (int c = 0; c < 3; ++c) QCOMPARE(one[c][0][1].item<int>(), 12);
        auto five = data::corrupt_image(img, "brightness", 5, 0, 0);
        for (int c = 0; c < 3; ++c) QCOMPARE(five[c][1][1].item<int>(), 255);
    }

    // Pixelate at .75: PIL's BOX takes 32 → 24 (source pixels {0}, {1, 2}, {3} of every 4 land in
    // one output each) and 24 → 32 (the nearest: outputs 0, 1, 1, 2). A column ramp 8·j so becomes
    // (32k, 32k + 12, 32k + 12, 32k + 24) in every group k of four columns.
    void pixelateKnownAnswer() {
        if (!data::corruptions_available()) QSKIP("this build has no OpenCV");
        auto img = (torch::arange(32, torch::kLong) * 8).to(torch::kUInt8).view({1, 1, 32}).expand({3, 32, 32}).contiguous();
        const auto out = data::corrupt_image(img, "pixelate", 4, 0, 0);
        for (int k = 0; k < 8; ++k) {
            const int want[4] = {32 * k, 32 * k + 12, 32 * k + 12, 32 * k + 24};
            for (int j = 0; j < 4; ++j)
                for (int row : {0, 17, 31}) QCOMPARE(out[1][row][4 * k + j].item<int>(), want[j]);
        }
        // .95 (32 → 30 → 32) changes a ramp less than .65 (32 → 20 → 32).
        QVERIFY(mean_psnr(img.unsqueeze(0), data::corrupt_image(img, "pixelate", 1, 0, 0).unsqueeze(0)) >
                mean_psnr(img.unsqueeze(0), out.unsqueeze(0)));
    }

    // The mean over the reference cells, families and mCE of a hand-made report.
    void aggregatesByHand() {
        auto r = hand_report();
        const auto s = summarize(r, 1);
        QCOMPARE(s.reference_cells, int64_t(4));          // frost is ours, saturate an extra
        QCOMPARE(s.mean, (60.0 + 40 + 80 + 70) / 4);      // 62.5
        QCOMPARE(s.by_family.at("noise"), 50.0);
        QCOMPARE(s.by_family.at("digital"), 75.0);
        QCOMPARE(s.by_corruption.at("frost"), 10.0);      // still reported on its own
        QVERIFY(!s.by_family.count("weather"));
        // CE: noise (40 + 60)/(50 + 70) = 100/120, contrast (20 + 30)/(30 + 50) = 50/80.
        QVERIFY(std::abs(s.mce - 100.0 * (100.0 / 120 + 50.0 / 80) / 2) < 1e-9);
        // relative: subtract the clean errors (10 and 20): (30 + 50)/(30 + 50) and (10 + 20)/(10 + 30).
        QVERIFY(std::abs(s.relative_mce - 100.0 * (80.0 / 80 + 30.0 / 40) / 2) < 1e-9);
        // Table and params round-trip; the grid is 15×5-shaped; the RobustBench entry's keys.
        const auto res = corruptions_result(r);
        const auto back = corruptions_from_result(res.table, res.params);
        QCOMPARE(summarize(back, 1).mean, s.mean);
        QCOMPARE(back.ours, r.ours);
        const auto grid = corruptions_grid(r);
        QCOMPARE(grid.rows(), size_t(4));
        QCOMPARE(grid.columns().size(), size_t(10));
        // Rows in the suite's order: gaussian_noise, frost, contrast, saturate.
        QVERIFY(grid.texts("note")[1].find("ours") == 0);
        QVERIFY(grid.texts("note")[3].find("extra") == 0);
        QVERIFY(grid.texts("note")[0].empty() && grid.texts("note")[2].empty());
        QCOMPARE(grid.numbers("s2")[0], 40.0);
        QVERIFY(std::isnan(grid.numbers("s5")[0]));
        const auto j = robustbench_entry(r, "run");
        QVERIFY(j.contains("clean_acc") && j.contains("corruptions_acc_generated") && !j.contains("corruptions_acc"));
        QCOMPARE(j["unaggregated"]["contrast"]["2"].get<double>(), 70.0);
        r.released = true, r.ours.clear();
        const auto jr = robustbench_entry(r, "run");
        QCOMPARE(jr["corruptions_acc"].get<double>(), (60.0 + 40 + 80 + 70 + 10 + 10) / 6);
        QVERIFY_THROWS_EXCEPTION(ConfigError, summarize(r, 3));
    }

    // A generated suite written in the released layout and read back is the same suite: every cell
    // of the probe is identical from both sources, frost counts only in the released one's mean.
    void releasedLayoutEqualsGenerated() {
        if (!data::corruptions_available()) QSKIP("this build has no OpenCV");
        QTemporaryDir dir;
        torch::manual_seed(0);
        auto cfg = test::tiny_config();
        VHMN model(cfg);
        data::ProceduralOptions po;
        po.train_per_class = 1, po.test_per_class = 3, po.image_size = cfg.image_size, po.channels = cfg.channels;
        auto test = data::make_procedural(po).test;
        data::GeneratedCorruptions gen(test, 5, "builtin");
        const std::vector<std::string> names{"gaussian_noise", "frost", "pixelate"};
        data::export_released(gen, dir.path().toStdString(), names);
        data::ReleasedSource released(dir.path().toStdString());
        QCOMPARE(released.size(), test.size());
        QCOMPARE(released.corruptions(), names);
        QVERIFY(torch::equal(released.labels(), test.labels));
        for (const auto& n : names)
            for (int s : {1, 5}) QVERIFY(torch::equal(released.images(n, s, 2, 9), gen.images(n, s, 2, 9)));
        ProbeInput in;
        in.model = model, in.test = test, in.mean = {0.5}, in.std = {0.25}, in.batch = 7;
        CorruptionsOptions opts;
        opts.severities = {1, 3, 5};
        opts.iterations = {0, 1};
        opts.corruptions = names;
        opts.baseline = model;  // the model against itself: CE = 100 %
        const auto a = probe_corruptions(in, gen, opts), b = probe_corruptions(in, released, opts);
        QCOMPARE(a.cells.size(), size_t(3 * 3 * 2));
        for (size_t i = 0; i < a.cells.size(); ++i) {
            QCOMPARE(a.cells[i].top1, b.cells[i].top1);
            QCOMPARE(a.cells[i].count, test.size());
        }
        // Our export is not the release: its folder says so, and its frost is ours.
        QCOMPARE(a.ours, std::vector<std::string>{"frost"});
        QCOMPARE(b.ours, std::vector<std::string>{"frost"});
        QVERIFY(!a.released && !b.released);
        QCOMPARE(b.source["kind"].get<std::string>(), std::string("exported"));
        const auto sa = summarize(a, 1), sb = summarize(b, 1);
        QCOMPARE(sa.reference_cells, int64_t(6));
        QCOMPARE(sb.reference_cells, int64_t(6));
        // Files in the released layout without our marker are taken for the release: every cell counts.
        QVERIFY(fs::remove(fs::path(dir.path().toStdString()) / data::kExportMarker));
        data::ReleasedSource plain(dir.path().toStdString());
        const auto c = probe_corruptions(in, plain, opts);
        QVERIFY(c.released && c.ours.empty());
        QCOMPARE(summarize(c, 1).reference_cells, int64_t(9));
        // T = 1 with the baseline (the same model at its own T = 1): every CE is 1.
        if (sa.mce >= 0 && std::isfinite(sa.mce)) QVERIFY(std::abs(sa.mce - 100.0) < 1e-9);
        // Limit: n evenly spaced images of the files.
        data::ReleasedSource three(dir.path().toStdString(), 3);
        QCOMPARE(three.size(), int64_t(3));
        QVERIFY(torch::equal(three.images("pixelate", 2, 0, 3)[1], gen.images("pixelate", 2, test.size() / 3, 1)[0]));
        // A corruption the folder lacks, a bad severity.
        opts.corruptions = {"fog"};
        QVERIFY_THROWS_EXCEPTION(ConfigError, probe_corruptions(in, released, opts));
        opts.corruptions = {}, opts.severities = {6};
        QVERIFY_THROWS_EXCEPTION(ConfigError, probe_corruptions(in, released, opts));
    }

    // Released files that hold fewer images than the test split (a slice of the release): clean
    // accuracy is scored on the images the cells hold, not on the whole split; labels that are not
    // the split's are refused, naming labels.npy, the image and both labels.
    void releasedSliceIsScoredOnItsOwnImages() {
        if (!data::corruptions_available()) QSKIP("this build has no OpenCV");
        QTemporaryDir dir;
        torch::manual_seed(0);
        auto cfg = test::tiny_config();
        cfg.classes = 10, cfg.local_slots = 20, cfg.global_slots = 10;  // the procedural set has ten classes
        VHMN model(cfg);
        model->eval();
        data::ProceduralOptions po;
        po.train_per_class = 1, po.test_per_class = 6, po.image_size = cfg.image_size, po.channels = cfg.channels;
        const auto test = data::make_procedural(po).test;  // 60 images
        const int64_t n = 20;
        const data::Split first = first_images(test, n);
        data::GeneratedCorruptions gen(first, 5, "builtin");
        data::export_released(gen, dir.path().toStdString(), {"gaussian_noise"});
        ProbeInput in;
        in.model = model, in.test = test, in.mean = {0.5}, in.std = {0.25}, in.batch = 7;
        CorruptionsOptions opts;
        opts.severities = {1};
        auto clean_of = [&](const data::Split& s) { return evaluate(model, s, in.mean, in.std, 7, torch::kCPU).top1; };
        data::ReleasedSource slice(dir.path().toStdString());
        const auto r = probe_corruptions(in, slice, opts);
        QCOMPARE(r.clean_count, n);
        QCOMPARE(r.cells.front().count, n);
        const double want = clean_of(first);
        QVERIFY2(std::abs(r.clean_top1.begin()->second - want) < 1e-9,
                 (std::to_string(r.clean_top1.begin()->second) + " vs " + std::to_string(want)).c_str());
        // --limit 5 of the slice: positions 0, 4, 8, 12, 16 of the split, clean and corrupted alike.
        data::ReleasedSource five(dir.path().toStdString(), 5);
        const auto r5 = probe_corruptions(in, five, opts);
        QCOMPARE(r5.clean_count, int64_t(5));
        const auto pick = torch::tensor({0, 4, 8, 12, 16}, torch::kLong);
        QVERIFY(std::abs(r5.clean_top1.begin()->second -
                         clean_of({test.images.index_select(0, pick), test.labels.index_select(0, pick), pick})) < 1e-9);
        // Labels shifted by one class: refused.
        data::write_released_labels(dir.path().toStdString(), (first.labels + 1).remainder(10));
        data::ReleasedSource shifted(dir.path().toStdString());
        try {
            probe_corruptions(in, shifted, opts);
            QFAIL("shifted labels were scored");
        } catch (const FileError& e) {
            const std::string what = e.what();
            QVERIFY2(what.find("labels.npy") != std::string::npos && what.find("image 0 is labelled") != std::string::npos,
                     what.c_str());
        }
        // Files holding more images than the test split: refused.
        ProbeInput small = in;
        small.test = first_images(test, 10);
        data::write_released_labels(dir.path().toStdString(), first.labels);
        data::ReleasedSource whole(dir.path().toStdString());
        QVERIFY_THROWS_EXCEPTION(ConfigError, probe_corruptions(small, whole, opts));
    }
};

VHMN_TEST_SUITE(TestCorruptions);
#include "test_corruptions.moc"
