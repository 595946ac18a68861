// Data identity (issue 16): runs record their data's fingerprint, every place a run meets a dataset
// checks it, a reordered copy is mapped (or provenance refused), and runs travel between machines.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include <QTemporaryDir>
#include <QtTest>

#include "app/common/data_location.h"
#include "app/common/experiment.h"
#include "core/error.h"
#include "core/io/data_identity.h"
#include "core/models/vhmn.h"
#include "core/io/run_record.h"
#include "datasets/readers/readers.h"
#include "tests/cli_runner.h"
#include "tests/dataset_writers.h"
#include "tests/suite.h"

#ifdef VHMN_WITH_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#endif

using namespace vhmn;
using vhmn::test::run_cli;
namespace fs = std::filesystem;
namespace w = vhmn::test::writers;

namespace {

/// n images of 3×4×4 with distinct pixels, labels n % classes.
data::Split synthetic_split(int64_t first, int64_t n, int64_t classes = 3) {
    data::Split s;
    s.images = (torch::arange(first, first + n, torch::kLong).view({n, 1, 1, 1}) * 37 +
                torch::arange(48, torch::kLong).view({1, 3, 4, 4}) * 11)
                   .remainder(256)
                   .to(torch::kUInt8);
    s.labels = torch::arange(first, first + n, torch::kLong).remainder(classes);
    s.index = torch::arange(n, torch::kLong);
    return s;
}

data::Dataset synthetic_dataset() {
    data::Dataset d;
    d.name = "synthetic", d.format = "builtin", d.path = "mem";
    d.class_names = {"a", "b", "c"};
    d.train = synthetic_split(0, 12), d.test = synthetic_split(100, 6);
    return d;
}

/// What a run trained on `d` (whole training split) records, with per-image hashes.
RecordedData record_of(const data::Dataset& d) {
    RecordedData r;
    auto f = fingerprint_data(d.train, d.test, d.train, true);
    r.train_hashes = f.train.image_hashes, r.test_hashes = f.test.image_hashes;
    r.fingerprint = f;
    return r;
}

data::Split permuted(const data::Split& s, const std::vector<int64_t>& order) {
    data::Split o = s;
    const auto idx = torch::tensor(order, torch::kLong);
    o.images = s.images.index_select(0, idx), o.labels = s.labels.index_select(0, idx);
    return o;
}

// The small CIFAR-like set of the end-to-end test: 10 classes c0..c9, training images n = 0..39 and
// test images n = 100..119, label n % 10, pixels writers::cifar_pixel (distinct per n).
constexpr int64_t kTrain = 40, kTest = 20;

/// The official binary layout: records in n order (classes interleaved, as the release).
void write_binary(const fs::path& dir) {
    for (int b = 0; b < 5; ++b)
        w::write_file(dir / ("data_batch_" + std::to_string(b + 1) + ".bin"),
                      w::cifar_records(8 * b, 8, w::cifar10_label));
    w::write_file(dir / "test_batch.bin", w::cifar_records(100, kTest, w::cifar10_label));
    std::string names;
    for (int c = 0; c < 10; ++c) names += "c" + std::to_string(c) + "\n";
    w::write_text(dir / "batches.meta.txt", names);
}

#ifdef VHMN_WITH_OPENCV
/// The same images as an image folder (train/<class>/<n>.png): class-sorted, another order.
void write_folder(const fs::path& dir) {
    auto put = [&](const std::string& split, int64_t n) {
        cv::Mat m(32, 32, CV_8UC3);
        for (int y = 0; y < 32; ++y)
            for (int x = 0; x < 32; ++x)
                for (int c = 0; c < 3; ++c) m.at<cv::Vec3b>(y, x)[2 - c] = w::cifar_pixel(n, c, y, x);  // BGR
        const fs::path p = dir / split / ("c" + std::to_string(n % 10)) / (std::to_string(1000 + n) + ".png");
        fs::create_directories(p.parent_path());
        QVERIFY(cv::imwrite(p.string(), m));
    };
    for (int64_t n = 0; n < kTrain; ++n) put("train", n);
    for (int64_t n = 100; n < 100 + kTest; ++n) put("test", n);
}
#endif

nlohmann::json read_json(const fs::path& p) {
    std::ifstream in(p);
    return nlohmann::json::parse(in);
}

}  // namespace

class TestDataIdentity : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void sameDataPassesQuietly() {
        auto d = synthetic_dataset();
        const auto before = d.train.images.clone();
        const auto c = check_data(record_of(d), d, {"run", "data", false});
        QVERIFY(c.recorded);
        QVERIFY(c.train.match == FingerprintMatch::Same && c.test.match == FingerprintMatch::Same);
        QVERIFY(c.warnings.empty() && c.provenance_refusal.empty());
        QVERIFY(torch::equal(d.train.images, before));
    }

    void reorderedTrainingSplitIsMappedIntoTheRunsOrder() {
        const auto original = synthetic_dataset();
        const auto rec = record_of(original);
        auto d = original;
        d.train = permuted(original.train, {5, 3, 11, 0, 1, 2, 4, 6, 7, 8, 9, 10});
        const auto c = check_data(rec, d, {"run", "data", false});
        QVERIFY(c.train.match == FingerprintMatch::Reordered && c.train_mapped);
        QVERIFY(c.provenance_refusal.empty());
        // After mapping, index i is the run's image i again: provenance points at the right picture.
        QVERIFY(torch::equal(d.train.images, original.train.images));
        QVERIFY(torch::equal(d.train.labels, original.train.labels));
        QVERIFY(torch::equal(d.train.index, torch::arange(12, torch::kLong)));
        QVERIFY(c.warnings.size() == 1 && c.warnings[0].find("mapped by content hash") != std::string::npos);
        // The same for the test split: test indices keep their meaning.
        auto t = original;
        t.test = permuted(original.test, {5, 4, 3, 2, 1, 0});
        const auto ct = check_data(rec, t, {"run", "data", false});
        QVERIFY(ct.test.match == FingerprintMatch::Reordered && ct.test_mapped);
        QVERIFY(torch::equal(t.test.images, original.test.images));
    }

    void reorderWithoutPerImageHashesRefusesProvenance() {
        const auto original = synthetic_dataset();
        auto rec = record_of(original);
        rec.train_hashes.clear(), rec.test_hashes.clear();  // e.g. run.h5 missing
        auto d = original;
        d.train = permuted(original.train, {1, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
        const auto c = check_data(rec, d, {"run", "data", false});
        QVERIFY(!c.train_mapped);
        QVERIFY2(c.provenance_refusal.find("another order") != std::string::npos, c.provenance_refusal.c_str());
        QVERIFY(c.provenance_refusal.find(hex64(rec.fingerprint->train.ordered)) != std::string::npos);
        QVERIFY(torch::equal(d.train.images[0], original.train.images[1]));  // untouched
    }

    void changedTrainingImagesRefuseProvenanceNamingBothFingerprints_data() {
        QTest::addColumn<QString>("change");
        QTest::addColumn<QString>("what");
        QTest::newRow("pixel") << "pixel" << "content";
        QTest::newRow("label") << "label" << "content";
        QTest::newRow("dropped image") << "drop" << "count";
    }
    void changedTrainingImagesRefuseProvenanceNamingBothFingerprints() {
        QFETCH(QString, change);
        QFETCH(QString, what);
        const auto original = synthetic_dataset();
        const auto rec = record_of(original);
        auto d = original;
        d.train.images = d.train.images.clone(), d.train.labels = d.train.labels.clone();
        if (change == "pixel") d.train.images[4][1][2][3] += 1;
        if (change == "label") d.train.labels[4] = (d.train.labels[4] + 1) % 3;
        if (change == "drop") d.train = permuted(original.train, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
        const auto found = fingerprint_split(d.train);
        const auto c = check_data(rec, d, {"run", "data", false});
        QVERIFY(c.train.match == FingerprintMatch::Different);
        const auto& m = c.provenance_refusal;
        QVERIFY2(m.find(what.toStdString()) != std::string::npos, m.c_str());
        QVERIFY2(m.find("recorded " + describe(rec.fingerprint->train)) != std::string::npos, m.c_str());
        QVERIFY2(m.find("found " + describe(found)) != std::string::npos, m.c_str());
        // The gate used by everything that shows source images refuses with that message.
        app::OpenedRun run;
        run.data_check = c;
        QVERIFY_THROWS_EXCEPTION(ConfigError, run.provenance_train());
        QVERIFY(c.test.match == FingerprintMatch::Same);  // logits-only work goes on
    }

    void otherTestSplitIsAnErrorUnlessAllowed() {
        const auto original = synthetic_dataset();
        const auto rec = record_of(original);
        auto d = original;
        d.test.images = d.test.images.clone();
        d.test.images[0][0][0][0] += 7;
        try {
            check_data(rec, d, {"run", "data", false});
            QFAIL("a different test split was accepted");
        } catch (const ConfigError& e) {
            const std::string m = e.what();
            QVERIFY2(m.find("test split of data") != std::string::npos && m.find("content") != std::string::npos, m.c_str());
        }
        const auto c = check_data(rec, d, {"run", "data", true});
        QVERIFY(c.other_test);
        QVERIFY(c.warnings.size() == 1 && c.warnings[0].rfind("EVALUATING ON OTHER DATA", 0) == 0);
    }

    void runWithoutFingerprintOpensWithAWarning() {
        auto d = synthetic_dataset();
        const auto c = check_data(RecordedData{}, d, {"old-run", "data", false});
        QVERIFY(!c.recorded && c.provenance_refusal.empty());
        QVERIFY(c.warnings.size() == 1 && c.warnings[0].find("before runs recorded") != std::string::npos);
    }

    void resumeNeedsTheSameDataOrderAndSubset() {
        const auto d = synthetic_dataset();
        const auto rec = fingerprint_data(d.train, d.test, d.train, false);
        check_resume_data(rec, fingerprint_data(d.train, d.test, d.train, false), "run", "data");  // same: fine
        auto expect = [&](const DataFingerprint& f, const char* word) {
            try {
                check_resume_data(rec, f, "run", "data");
                QFAIL(word);
            } catch (const ConfigError& e) {
                QVERIFY2(std::string(e.what()).find(word) != std::string::npos, e.what());
            }
        };
        const auto reordered = permuted(d.train, {1, 0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
        expect(fingerprint_data(reordered, d.test, reordered, false), "another order");
        data::Split subset = d.train;
        subset.index = torch::arange(0, 12, 2, torch::kLong);
        expect(fingerprint_data(d.train, d.test, subset, false), "subset");
        expect(fingerprint_data(d.train, synthetic_split(200, 6), d.train, false), "test split");
    }

    void fingerprintsTravelThroughConfigJson() {
        const auto d = synthetic_dataset();
        const auto f = fingerprint_data(d.train, d.test, d.train, true);
        const nlohmann::json j = f;
        QVERIFY(!j["train"].contains("image_hashes"));  // per-image hashes live in run.h5
        const auto back = j.get<DataFingerprint>();
        QCOMPARE(back.train.content, f.train.content);
        QCOMPARE(back.test.ordered, f.test.ordered);
        QCOMPARE(back.subset, f.subset);
        nlohmann::json bad = j;
        bad["train"]["content"] = "not hex";
        QVERIFY_THROWS_EXCEPTION(ConfigError, bad.get<DataFingerprint>());
    }

    void fingerprintCacheFollowsTheFiles() {
        QTemporaryDir tmp;
        const fs::path root = tmp.path().toStdString();
        write_binary(root / "bin");
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert("VHMN_CACHE_DIR", QString::fromStdString((root / "cache").string()));
        const QString bin = QString::fromStdString((root / "bin").string());
        auto first = run_cli({"data", "fingerprint", bin, "--json"}, env);
        QVERIFY2(first.code == 0, qPrintable(first.err));
        auto second = run_cli({"data", "fingerprint", bin, "--json"}, env);
        const auto a = nlohmann::json::parse(first.out.toStdString()), b = nlohmann::json::parse(second.out.toStdString());
        QVERIFY(!a["cached"].get<bool>() && b["cached"].get<bool>());
        QCOMPARE(a["train"].dump(), b["train"].dump());
        // A changed file invalidates the entry: the new content is read, not the cached one.
        auto bytes = w::read_bytes(root / "bin" / "data_batch_1.bin");
        bytes[5] ^= 0xff;
        w::write_file(root / "bin" / "data_batch_1.bin", bytes);
        auto third = run_cli({"data", "fingerprint", bin, "--json"}, env);
        const auto c = nlohmann::json::parse(third.out.toStdString());
        QVERIFY(!c["cached"].get<bool>());
        QVERIFY(c["train"]["content"] != a["train"]["content"]);
    }

    void imageFolderRunInspectedWithTheBinaryLayout() {
#ifndef VHMN_WITH_OPENCV
        QSKIP("this build has no OpenCV: image folders cannot be written or read");
#else
        // The case of issue 16: a run trained on an image folder, inspected with the same images in
        // the binary layout (another order). Every stored memory must show its own source image.
        QTemporaryDir tmp;
        const fs::path root = tmp.path().toStdString();
        const fs::path folder = root / "data" / "cifar-folder", bin = root / "bin";
        write_folder(folder);
        write_binary(bin);
        auto env = QProcessEnvironment::systemEnvironment();
        env.insert("VHMN_CACHE_DIR", QString::fromStdString((root / "cache").string()));
        env.remove("VHMN_DATA_DIR");
        const QString run = QString::fromStdString((root / "run").string());
        const QString F = QString::fromStdString(folder.string()), B = QString::fromStdString(bin.string());
        auto t = run_cli({"train", "--data", F, "--preset", "cpu-tiny", "--out", run, "--epochs", "1", "--batch", "20",
                          "--augment", "none", "--threads", "2"}, env);
        QVERIFY2(t.code == 0, qPrintable(t.err));
        const auto cfg = read_json(root / "run" / "config.json");
        QVERIFY(cfg["data"].contains("fingerprint"));
        QCOMPARE(cfg["data"]["fingerprint"]["train"]["count"].get<int64_t>(), kTrain);
        QCOMPARE(cfg["data"]["fingerprint"]["test"]["count"].get<int64_t>(), kTest);
        if (!run_record_available()) QSKIP("this build has no HDF5: per-image hashes are not recorded");
        QCOMPARE(read_image_hashes((root / "run" / "run.h5").string()).train.size(), size_t(kTrain));

        const auto truth = data::load_dataset(folder.string()).train;  // the run's own order
        const auto other = data::load_dataset(bin.string()).train;
        {
            const auto opened = app::open_run(run.toStdString(), bin.string(), torch::kCPU);
            QVERIFY(opened.data_check.train.match == FingerprintMatch::Reordered && opened.data_check.train_mapped);
            const auto& train = opened.provenance_train();
            int64_t slots = 0, would_be_wrong = 0;
            for (int64_t b = 0; b < opened.config.model.depth; ++b)
                for (auto br : {Branch::Local, Branch::Global}) {
                    auto bank = memory_of(opened.model, "test")->bank(b, br);
                    const auto valid = bank->valid.to(torch::kBool), source = bank->source;
                    for (int64_t k = 0; k < valid.size(0); ++k) {
                        if (!valid[k].item<bool>()) continue;
                        const int64_t s = source[k].item<int64_t>();
                        QVERIFY2(torch::equal(train.images[s], truth.images[s]), qPrintable(QString("slot %1").arg(k)));
                        would_be_wrong += !torch::equal(other.images[s], truth.images[s]);
                        ++slots;
                    }
                }
            QVERIFY(slots > 0);
            QVERIFY2(would_be_wrong > 0, "the binary layout's own order must differ for this test to mean anything");
        }
        auto probe = run_cli({"probe", "image", run, "--data", B, "--index", "3", "--k", "2", "--json"}, env);
        QVERIFY2(probe.code == 0, qPrintable(probe.err));
        QVERIFY2(probe.err.contains("mapped by content hash"), qPrintable(probe.err));
        // Resuming on the reordered copy would train on other batches: refused.
        auto resume = run_cli({"train", "--data", B, "--out", run, "--epochs", "2", "--resume"}, env);
        QVERIFY2(resume.code == 2 && resume.err.contains("another order"), qPrintable(resume.err));

        // A changed training image: provenance refused (both fingerprints named), eval goes on.
        const fs::path changed = root / "changed";
        fs::copy(folder, changed, fs::copy_options::recursive);
        {
            const fs::path img = changed / "train" / "c3" / "1013.png";
            cv::Mat m = cv::imread(img.string());
            m.at<cv::Vec3b>(0, 0)[0] ^= 0x40;
            QVERIFY(cv::imwrite(img.string(), m));
        }
        const QString C = QString::fromStdString(changed.string());
        auto refused = run_cli({"probe", "image", run, "--data", C, "--index", "3"}, env);
        QVERIFY2(refused.code == 2 && refused.err.count('\n') == 1, qPrintable(refused.err));
        QVERIFY2(refused.err.contains("training split") && refused.err.contains("recorded 40 images") &&
                     refused.err.contains("found 40 images") && refused.err.contains("content"),
                 qPrintable(refused.err));
        auto eval_changed = run_cli({"eval", run, "--data", C, "--json"}, env);
        QVERIFY2(eval_changed.code == 0 && eval_changed.err.contains("not shown"), qPrintable(eval_changed.err));
        // A changed test image: eval refuses, or evaluates loudly with --allow-other-data.
        {
            const fs::path img = changed / "test" / "c1" / "1101.png";
            cv::Mat m = cv::imread(img.string());
            m.at<cv::Vec3b>(1, 1)[1] ^= 0x40;
            QVERIFY(cv::imwrite(img.string(), m));
        }
        auto eval_test = run_cli({"eval", run, "--data", C}, env);
        QVERIFY2(eval_test.code == 2 && eval_test.err.contains("test split"), qPrintable(eval_test.err));
        auto allowed = run_cli({"eval", run, "--data", C, "--allow-other-data", "--json"}, env);
        QVERIFY2(allowed.code == 0 && allowed.err.contains("EVALUATING ON OTHER DATA"), qPrintable(allowed.err));
        QVERIFY(nlohmann::json::parse(allowed.out.toStdString())["data_check"]["other_test_data"].get<bool>());

        // The run travels: its dataset moves; it is found by fingerprint and re-pointed.
        const fs::path moved = root / "elsewhere" / "my-cifar";
        fs::create_directories(moved.parent_path());
        fs::rename(folder, moved);
        auto lost = run_cli({"eval", run}, env);
        QVERIFY2(lost.code == 2 && lost.err.contains(F), qPrintable(lost.err));
        const QString elsewhere = QString::fromStdString((root / "elsewhere").string());
        auto found = run_cli({"eval", run, "--data-dir", elsewhere, "--json"}, env);
        QVERIFY2(found.code == 0 && found.err.contains("found the same images by fingerprint at"), qPrintable(found.err));
        const std::string config_before = read_json(root / "run" / "config.json").dump();
        auto locate = run_cli({"data", "locate", run, "--data-dir", elsewhere, "--save", "--json"}, env);
        QVERIFY2(locate.code == 0, qPrintable(locate.err));
        const auto l = nlohmann::json::parse(locate.out.toStdString());
        QCOMPARE(l["found"].get<std::string>(), moved.string());
        QCOMPARE(app::saved_data_location(run.toStdString()), moved.string());
        QCOMPARE(read_json(root / "run" / "config.json").dump(), config_before);  // not edited
        auto again = run_cli({"eval", run}, env);
        QVERIFY2(again.code == 0 && !again.err.contains("warning"), qPrintable(again.err));

        // Without per-image hashes (run.h5 gone) the reordered copy cannot be mapped: refused.
        fs::remove(root / "run" / "run.h5");
        auto unmapped = run_cli({"probe", "image", run, "--data", B, "--index", "3"}, env);
        QVERIFY2(unmapped.code == 2 && unmapped.err.contains("another order"), qPrintable(unmapped.err));

        // A run made before fingerprints: opens with the warning, once.
        auto old = read_json(root / "run" / "config.json");
        old["data"].erase("fingerprint");
        std::ofstream(root / "run" / "config.json") << old.dump(2);
        auto eval_old = run_cli({"eval", run, "--data", QString::fromStdString(moved.string())}, env);
        QVERIFY2(eval_old.code == 0 && eval_old.err.count("before runs recorded") == 1, qPrintable(eval_old.err));
#endif
    }
};

VHMN_TEST_SUITE(TestDataIdentity);
#include "test_data_identity.moc"
