// Dataset readers (datasets/readers/readers.h), subsets and channel statistics (datasets/subsets.h).
// Every format is checked on small files written byte by byte in the official layout by
// tests/dataset_writers.h; real data in VHMN_DATASETS_DIR is used when present.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#ifdef VHMN_WITH_OPENCV
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#endif

#include <QTemporaryDir>
#include <QtTest>

#include "core/error.h"
#include "core/io/fingerprint.h"
#include "datasets/readers/procedural.h"
#include "datasets/readers/decoded_cache.h"
#include "datasets/readers/readers.h"
#include "datasets/subsets.h"
#include "tests/dataset_writers.h"
#include "tests/helpers.h"
#include "tests/suite.h"

using namespace vhmn;
using namespace vhmn::data;
using namespace vhmn::test::writers;

/// `expr` must throw a vhmn::FileError whose message contains `needle` (the offending file).
#define VHMN_EXPECT_FILE_ERROR(expr, needle)                                        \
    do {                                                                            \
        std::string what_, needle_ = (needle);                                      \
        bool thrown_ = false;                                                       \
        try {                                                                       \
            (void)(expr);                                                           \
        } catch (const vhmn::FileError& e) {                                        \
            thrown_ = true, what_ = e.what();                                       \
        } catch (const std::exception& e) {                                         \
            QFAIL(("expected a FileError, got: " + std::string(e.what())).c_str()); \
        }                                                                           \
        QVERIFY2(thrown_, ("no FileError thrown by " #expr));                       \
        QVERIFY2(what_.find(needle_) != std::string::npos,                          \
                 ("message does not name '" + needle_ + "': " + what_).c_str());    \
    } while (0)

#define VHMN_COMPARE_STR(a, b) QCOMPARE(QString::fromStdString(a), QString::fromStdString(b))

namespace {

void check_split_invariants(const Split& s) {
    QVERIFY(s.images.scalar_type() == torch::kUInt8);
    QVERIFY(s.images.is_contiguous());
    QVERIFY(s.labels.scalar_type() == torch::kInt64);
    QVERIFY(torch::equal(s.index, torch::arange(s.size(), torch::kInt64)));
}

#ifdef VHMN_WITH_OPENCV
/// A colour test image of h x w whose BGR pixel (y, x) is (10, 100, 200) + k + 4 y + x.
cv::Mat colour_image(int h, int w, int k) {
    cv::Mat m(h, w, CV_8UC3);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const int v = k + 4 * y + x;
            m.at<cv::Vec3b>(y, x) = cv::Vec3b(uint8_t(10 + v), uint8_t(100 + v), uint8_t(200 + v));
        }
    return m;
}

void write_png(const fs::path& path, const cv::Mat& m) {
    fs::create_directories(path.parent_path());
    cv::imwrite(path.string(), m);
}

/// The image-folder layout used by several tests: classes b_cat and a_dog (so sorting matters),
/// 3 x 4 colour PNGs, a hidden file that must be skipped.
void write_image_folder(const fs::path& dir) {
    write_png(dir / "train/b_cat/img1.png", colour_image(3, 4, 2));
    write_png(dir / "train/b_cat/img0.png", colour_image(3, 4, 1));
    write_png(dir / "train/a_dog/x.png", colour_image(3, 4, 0));
    write_text(dir / "train/a_dog/.hidden", "not an image");
    write_png(dir / "test/a_dog/t.png", colour_image(3, 4, 5));
    write_png(dir / "test/b_cat/t.png", colour_image(3, 4, 6));
}
#endif

/// A split whose image i ([1, 1, 2]) encodes its position i, with index = i + 1000.
Split position_split(const std::vector<int64_t>& labels) {
    const int64_t n = int64_t(labels.size());
    auto pos = torch::arange(n, torch::kInt64);
    auto images = torch::stack({pos % 256, torch::div(pos, 256, "floor")}, 1)
                      .to(torch::kUInt8)
                      .view({n, 1, 1, 2});
    return {images, torch::tensor(labels, torch::kInt64), pos + 1000};
}

std::vector<int64_t> class_counts(const Split& s, int64_t classes) {
    auto b = torch::bincount(s.labels, {}, classes);
    return std::vector<int64_t>(b.data_ptr<int64_t>(), b.data_ptr<int64_t>() + classes);
}

/// The subset's images are those of the input at its (original) index.
bool provenance_holds(const Split& subset) {
    auto img = subset.images.view({subset.size(), 2}).to(torch::kInt64);
    auto pos = img.select(1, 0) + 256 * img.select(1, 1);
    return torch::equal(pos + 1000, subset.index);
}

const std::string kDatasets = VHMN_DATASETS_DIR;

}  // namespace

class TestDatasets : public QObject {
    Q_OBJECT
    QTemporaryDir tmp_;
    fs::path dir(const std::string& name) const {
        return fs::path(tmp_.path().toStdString()) / name;
    }

private Q_SLOTS:
    // ------------------------------------------------------------------ formats, on written files
    void cifar10Binary() {
        const auto parent = dir("c10");
        write_cifar10(parent / "cifar-10-batches-bin");
        // Given the parent of the official folder.
        VHMN_COMPARE_STR(detect_format(parent.string()), "cifar10-bin");
        const Dataset ds = load_dataset(parent.string());
        VHMN_COMPARE_STR(ds.name, "cifar10");
        VHMN_COMPARE_STR(ds.class_names[0], "c0");
        QCOMPARE(ds.classes(), int64_t(10));
        QCOMPARE(ds.train.size(), int64_t(10));
        QCOMPARE(ds.test.size(), int64_t(3));
        QVERIFY(torch::equal(ds.train.images, cifar_expected(0, 10)));  // batches in order 1..5
        QVERIFY(torch::equal(ds.test.images, cifar_expected(100, 3)));
        QVERIFY(torch::equal(ds.train.labels, torch::arange(10, torch::kInt64)));
        QVERIFY(torch::equal(ds.test.labels, torch::tensor({0, 1, 2}, torch::kInt64)));
        check_split_invariants(ds.train);
        check_split_invariants(ds.test);
        // Without batches.meta.txt: the official names.
        fs::remove(parent / "cifar-10-batches-bin/batches.meta.txt");
        VHMN_COMPARE_STR(
            read_cifar10_bin((parent / "cifar-10-batches-bin").string()).class_names[0],
            "airplane");
    }

    void cifar100Binary() {
        const auto d = dir("c100/cifar-100-binary");
        write_file(d / "train.bin", cifar_records(0, 30, cifar100_labels));
        write_file(d / "test.bin", cifar_records(50, 4, cifar100_labels));
        std::string fine;
        for (int c = 0; c < 100; ++c) fine += "fine" + std::to_string(c) + "\n";
        write_text(d / "fine_label_names.txt", fine);
        VHMN_COMPARE_STR(detect_format(dir("c100").string()), "cifar100-bin");
        const Dataset f = load_dataset(dir("c100").string());
        QCOMPARE(f.classes(), int64_t(100));
        VHMN_COMPARE_STR(f.class_names[99], "fine99");
        QVERIFY(torch::equal(f.train.images, cifar_expected(0, 30)));
        QVERIFY(torch::equal(f.test.images, cifar_expected(50, 4)));
        QVERIFY(torch::equal(f.train.labels, (torch::arange(30, torch::kInt64) * 7) % 100));
        LoadOptions coarse;
        coarse.cifar100_coarse = true;
        const Dataset c = load_dataset(d.string(), coarse);
        QCOMPARE(c.classes(), int64_t(20));
        VHMN_COMPARE_STR(c.class_names[19], "19");  // no coarse_label_names.txt
        QVERIFY(torch::equal(c.train.labels, torch::arange(30, torch::kInt64) % 20));
        QVERIFY(torch::equal(c.test.labels, torch::arange(50, 54, torch::kInt64) % 20));
        check_split_invariants(c.test);
    }

    void idxRawAndGzip() {
        for (bool gz : {false, true}) {
            const auto d = dir(gz ? "fashion-small" : "digits");
            write_idx(d, gz);
            VHMN_COMPARE_STR(detect_format(d.string()), "idx");
            const Dataset ds = load_dataset(d.string());
            // "fashion" in the folder name selects the Fashion-MNIST names.
            VHMN_COMPARE_STR(ds.name, gz ? "fashion-mnist" : "mnist");
            VHMN_COMPARE_STR(ds.class_names[0], gz ? "T-shirt/top" : "0");
            QCOMPARE(ds.train.images.sizes().vec(), (std::vector<int64_t>{5, 1, 3, 4}));
            auto expected =
                torch::from_blob(idx_pixels(5, 3, 4).data(), {5, 1, 3, 4}, torch::kUInt8).clone();
            QVERIFY(torch::equal(ds.train.images, expected));
            QVERIFY(torch::equal(ds.test.labels, torch::tensor({3, 4, 5}, torch::kInt64)));
            check_split_invariants(ds.train);
        }
    }

    void svhnMat() {
        for (bool compressed : {false, true}) {
            const auto d = dir(compressed ? "svhn-z" : "svhn");
            write_file(d / "train_32x32.mat", svhn_file(0, {10, 1, 7}, compressed));
            write_file(d / "test_32x32.mat", svhn_file(1, {2, 10}, compressed));
            VHMN_COMPARE_STR(detect_format(d.string()), "svhn-mat");
            const Dataset ds = load_dataset(d.string());
            VHMN_COMPARE_STR(ds.name, "svhn");
            QCOMPARE(ds.train.images.sizes().vec(), (std::vector<int64_t>{3, 3, kSvhnH, kSvhnW}));
            QVERIFY(torch::equal(ds.train.images, svhn_expected(0, 3)));
            QVERIFY(torch::equal(ds.test.images, svhn_expected(1, 2)));
            // Label 10 is the digit 0.
            QVERIFY(torch::equal(ds.train.labels, torch::tensor({0, 1, 7}, torch::kInt64)));
            QVERIFY(torch::equal(ds.test.labels, torch::tensor({2, 0}, torch::kInt64)));
            check_split_invariants(ds.test);
        }
    }

    void optionsConvertChannelsAndSize() {
        const auto d = dir("opt-idx");
        write_idx(d, false);
        LoadOptions opt;
        opt.channels = 3;
        opt.image_size = 8;
        const Dataset ds = load_dataset(d.string(), opt);
        QCOMPARE(ds.train.images.sizes().vec(), (std::vector<int64_t>{5, 3, 8, 8}));
        QVERIFY(torch::equal(ds.train.images[0][0], ds.train.images[0][2]));  // gray -> RGB copies
        const Dataset b = load_dataset("builtin", opt);
        QCOMPARE(b.train.images.sizes().slice(1).vec(), (std::vector<int64_t>{3, 8, 8}));
        LoadOptions bad;
        bad.channels = 2;
        QVERIFY_THROWS_EXCEPTION(ConfigError, load_dataset(d.string(), bad));
        bad.channels = 0, bad.image_size = -1;
        QVERIFY_THROWS_EXCEPTION(ConfigError, load_dataset(d.string(), bad));
    }

    void imageFolder() {
#ifdef VHMN_WITH_OPENCV
        const auto d = dir("pets");
        write_image_folder(d);
        VHMN_COMPARE_STR(detect_format(d.string()), "image-folder");
        const Dataset ds = load_dataset(d.string());
        VHMN_COMPARE_STR(ds.name, "pets");
        QVERIFY(ds.class_names == (std::vector<std::string>{"a_dog", "b_cat"}));
        QCOMPARE(ds.train.images.sizes().vec(), (std::vector<int64_t>{3, 3, 3, 4}));
        QVERIFY(torch::equal(ds.train.labels, torch::tensor({0, 1, 1}, torch::kInt64)));
        // Files in name order: x.png (k = 0), img0.png (k = 1), img1.png (k = 2); RGB planes.
        for (int64_t i = 0; i < 3; ++i) {
            auto v = torch::arange(12, torch::kInt64).view({3, 4}) + i;               // k + 4 y + x
            QVERIFY(torch::equal(ds.train.images[i][0].to(torch::kInt64), v + 200));  // R
            QVERIFY(torch::equal(ds.train.images[i][1].to(torch::kInt64), v + 100));  // G
            QVERIFY(torch::equal(ds.train.images[i][2].to(torch::kInt64), v + 10));   // B
        }
        check_split_invariants(ds.train);
        // To gray: BT.601 luma (within rounding of the decoder's own conversion).
        LoadOptions gray;
        gray.channels = 1;
        const Dataset g = load_dataset(d.string(), gray);
        QCOMPARE(g.channels(), int64_t(1));
        auto rgb = ds.train.images.to(torch::kDouble);
        auto luma = rgb.select(1, 0) * 0.299 + rgb.select(1, 1) * 0.587 + rgb.select(1, 2) * 0.114;
        auto gray_error = (g.train.images.select(1, 0).to(torch::kDouble) - luma).abs().max();
        QVERIFY(gray_error.item<double>() <= 1.01);
        // Gray PNGs: native 1 channel; 3 channels on request; resizing.
        const auto gd = dir("gray");
        cv::Mat m(5, 5, CV_8UC1, cv::Scalar(77));
        write_png(gd / "train/a/0.png", m);
        write_png(gd / "test/a/0.png", m);
        QCOMPARE(load_dataset(gd.string()).channels(), int64_t(1));
        LoadOptions rgb3;
        rgb3.channels = 3;
        rgb3.image_size = 8;
        const Dataset c = read_image_folder(gd.string(), rgb3);
        QCOMPARE(c.train.images.sizes().vec(), (std::vector<int64_t>{1, 3, 8, 8}));
        QVERIFY(torch::equal(c.train.images, torch::full({1, 3, 8, 8}, 77, torch::kUInt8)));
#else
        VHMN_EXPECT_FILE_ERROR(read_image_folder(dir("none").string(), {}), "OpenCV");
#endif
    }

    void decodedImagesAreCachedAndInvalidated() {
#ifdef VHMN_WITH_OPENCV
        // A second reading of an image folder comes from the decoded cache, identical to decoding;
        // changing a file (new size/mtime) makes a new entry with the new pixels; a damaged entry is
        // ignored; VHMN_DECODED_CACHE=off neither reads nor writes.
        const auto d = dir("cached");
        write_image_folder(d);
        const auto cache = dir("cache");
        qputenv("VHMN_CACHE_DIR", QByteArray::fromStdString(cache.string()));
        const Dataset first = load_dataset(d.string());
        const fs::path entries(decoded_cache_dir());
        QCOMPARE(entries, cache / "decoded");
        auto count = [&] {
            int n = 0;
            for (const auto& e : fs::directory_iterator(entries)) n += e.path().extension() == ".u8";
            return n;
        };
        QCOMPARE(count(), 2);  // train and test
        for (const auto& e : fs::directory_iterator(entries))  // 3 and 2 images of 3 x 3 x 4, after a 40-byte header
            QVERIFY(fs::file_size(e.path()) == 40 + 3 * 36 || fs::file_size(e.path()) == 40 + 2 * 36);
        const Dataset second = load_dataset(d.string());
        QVERIFY(torch::equal(first.train.images, second.train.images) && torch::equal(first.test.images, second.test.images));
        QVERIFY(torch::equal(first.train.labels, second.train.labels));
        // Planted pixels in the entry are what a cached read returns: the cache is really read.
        for (const auto& e : fs::directory_iterator(entries))
            if (fs::file_size(e.path()) == 40 + 2 * 36) {
                std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
                f.seekp(40);
                f.put(char(7));
            }
        QCOMPARE(int(load_dataset(d.string()).test.images.flatten()[0].item<uint8_t>()), 7);
        // A changed file: a new entry, the new pixels.
        write_png(d / "test/a_dog/t.png", colour_image(3, 4, 9));
        const Dataset changed = load_dataset(d.string());
        QCOMPARE(changed.test.images[0][0][0][0].item<uint8_t>(), uint8_t(200 + 9));
        QCOMPARE(count(), 3);
        // A truncated entry is ignored: the images are decoded again, correctly.
        for (const auto& e : fs::directory_iterator(entries)) fs::resize_file(e.path(), 20);
        QVERIFY(torch::equal(load_dataset(d.string()).train.images, first.train.images));
        qputenv("VHMN_DECODED_CACHE", "off");
        fs::remove_all(entries);
        QVERIFY(torch::equal(load_dataset(d.string()).train.images, first.train.images));
        QVERIFY(!fs::exists(entries));
        qunsetenv("VHMN_DECODED_CACHE");
        qunsetenv("VHMN_CACHE_DIR");
#endif
    }

    // --------------------------------------------------------------------------- bad input
    void missingPath() {
        VHMN_EXPECT_FILE_ERROR(load_dataset(dir("nope").string()), "nope");
    }

    void unrecognisedFolder() {
        write_text(dir("junk/readme.txt"), "hello");
        VHMN_EXPECT_FILE_ERROR(detect_format(dir("junk").string()), "junk");
    }

    void missingFormatFile() {
        const auto c = dir("m-c10");
        write_cifar10(c);
        fs::remove(c / "data_batch_5.bin");
        VHMN_EXPECT_FILE_ERROR(load_dataset(c.string()), "data_batch_5.bin");
        const auto i = dir("m-idx");
        write_idx(i, true);
        fs::remove(i / "t10k-labels-idx1-ubyte.gz");
        VHMN_EXPECT_FILE_ERROR(load_dataset(i.string()), "t10k-labels-idx1-ubyte");
        const auto s = dir("m-svhn");
        write_file(s / "train_32x32.mat", svhn_file(0, {1}, false));
        VHMN_EXPECT_FILE_ERROR(load_dataset(s.string()), "test_32x32.mat");
    }

    void truncatedFile() {
        const auto c = dir("t-c10");
        write_cifar10(c);
        auto b = read_bytes(c / "data_batch_3.bin");
        b.resize(b.size() - 5);
        write_file(c / "data_batch_3.bin", b);
        VHMN_EXPECT_FILE_ERROR(load_dataset(c.string()), "data_batch_3.bin");
        const auto i = dir("t-idx");
        write_idx(i, false);
        b = read_bytes(i / "train-images-idx3-ubyte");
        b.resize(b.size() - 1);  // one byte short of what the header says
        write_file(i / "train-images-idx3-ubyte", b);
        VHMN_EXPECT_FILE_ERROR(load_dataset(i.string()), "train-images-idx3-ubyte");
        const auto s = dir("t-svhn");
        write_file(s / "test_32x32.mat", svhn_file(0, {1}, false));
        b = svhn_file(0, {1, 2}, false);
        b.resize(b.size() - 12);
        write_file(s / "train_32x32.mat", b);
        VHMN_EXPECT_FILE_ERROR(load_dataset(s.string()), "train_32x32.mat");
    }

    void wrongMagic() {
        const auto i = dir("w-idx");
        write_idx(i, false);
        write_file(i / "t10k-images-idx3-ubyte",
                   idx_file(0x00000801, {3, 3, 4}, idx_pixels(3, 3, 4)));
        VHMN_EXPECT_FILE_ERROR(load_dataset(i.string()), "t10k-images-idx3-ubyte");
        VHMN_EXPECT_FILE_ERROR(load_dataset(i.string()), "expected 0x00000803");
        VHMN_EXPECT_FILE_ERROR(load_dataset(i.string()), "found 0x00000801");
    }

    void corruptGzip() {
        const auto i = dir("g-idx");
        write_idx(i, true);
        write_gz(i / "train-images-idx3-ubyte.gz",
                 idx_file(0x00000803, {5, 64, 64}, idx_pixels(5, 64, 64)));
        const Bytes good = read_bytes(i / "train-images-idx3-ubyte.gz");
        write_file(i / "train-images-idx3-ubyte.gz",
                   Bytes(good.begin(), good.begin() + good.size() / 2));
        VHMN_EXPECT_FILE_ERROR(load_dataset(i.string()), "train-images-idx3-ubyte.gz");
        Bytes bad = good;
        std::fill(bad.begin() + 20, bad.begin() + 40, uint8_t(0xFF));
        write_file(i / "train-images-idx3-ubyte.gz", bad);
        VHMN_EXPECT_FILE_ERROR(load_dataset(i.string()), "train-images-idx3-ubyte.gz");
        // A corrupt miCOMPRESSED variable in a .mat file.
        const auto s = dir("g-svhn");
        write_file(s / "test_32x32.mat", svhn_file(0, {1}, true));
        bad = svhn_file(0, {1, 2}, true);
        // Bytes 136.. are the start of the first zlib stream (after the header and a tag).
        std::fill(bad.begin() + 136, bad.begin() + 150, uint8_t(0xFF));
        write_file(s / "train_32x32.mat", bad);
        VHMN_EXPECT_FILE_ERROR(load_dataset(s.string()), "train_32x32.mat");
    }

    void labelOutOfRange() {
        const auto c = dir("l-c10");
        write_cifar10(c);
        write_file(c / "data_batch_2.bin",
                   cifar_records(0, 2, [](int64_t n) { return Bytes{uint8_t(n ? 10 : 0)}; }));
        VHMN_EXPECT_FILE_ERROR(load_dataset(c.string()), "data_batch_2.bin");
        const auto i = dir("l-idx");
        write_idx(i, false);
        write_file(i / "train-labels-idx1-ubyte", idx_file(0x00000801, {5}, {0, 1, 12, 3, 4}));
        VHMN_EXPECT_FILE_ERROR(load_dataset(i.string()), "train-labels-idx1-ubyte");
        const auto s = dir("l-svhn");
        write_file(s / "train_32x32.mat", svhn_file(0, {1, 11}, false));
        write_file(s / "test_32x32.mat", svhn_file(0, {1}, false));
        VHMN_EXPECT_FILE_ERROR(load_dataset(s.string()), "train_32x32.mat");
    }

    void emptyClassFolder() {
#ifdef VHMN_WITH_OPENCV
        const auto d = dir("e-img");
        write_image_folder(d);
        fs::create_directories(d / "train/c_emu");
        fs::create_directories(d / "test/c_emu");
        write_png(d / "test/c_emu/0.png", colour_image(3, 4, 0));
        VHMN_EXPECT_FILE_ERROR(load_dataset(d.string()), "train/c_emu");
#else
        QSKIP("this build has no OpenCV");
#endif
    }

    void unreadableImage() {
#ifdef VHMN_WITH_OPENCV
        const auto d = dir("u-img");
        write_image_folder(d);
        write_text(d / "test/b_cat/broken.png", "this is not a PNG");
        VHMN_EXPECT_FILE_ERROR(load_dataset(d.string()), "broken.png");
#else
        QSKIP("this build has no OpenCV");
#endif
    }

    void classFoldersDisagree() {
#ifdef VHMN_WITH_OPENCV
        const auto d = dir("d-img");
        write_image_folder(d);
        write_png(d / "train/c_emu/0.png", colour_image(3, 4, 0));
        write_png(d / "test/d_yak/0.png", colour_image(3, 4, 0));
        VHMN_EXPECT_FILE_ERROR(load_dataset(d.string()), "c_emu");
        VHMN_EXPECT_FILE_ERROR(load_dataset(d.string()), "d_yak");
#else
        QSKIP("this build has no OpenCV");
#endif
    }

    void mixedImageSizes() {
#ifdef VHMN_WITH_OPENCV
        const auto d = dir("s-img");
        write_image_folder(d);
        write_png(d / "train/b_cat/img2.png", colour_image(5, 5, 0));
        VHMN_EXPECT_FILE_ERROR(load_dataset(d.string()), "img2.png");
        LoadOptions opt;
        opt.image_size = 6;  // with a size given, images are resized instead
        QCOMPARE(load_dataset(d.string(), opt).train.images.sizes().vec(),
                 (std::vector<int64_t>{4, 3, 6, 6}));
#else
        QSKIP("this build has no OpenCV");
#endif
    }

    // ------------------------------------------------------------------------------- subsets
    void stratifiedFraction() {
        std::vector<int64_t> labels;
        for (int64_t i = 0; i < 300; ++i) labels.push_back(i % 3);  // 100 per class
        const Split s = position_split(labels);
        const Split a = stratified_fraction(s, 0.1, 7, 3);
        QCOMPARE(class_counts(a, 3), (std::vector<int64_t>{10, 10, 10}));
        QVERIFY(provenance_holds(a));
        QVERIFY(torch::equal(a.index, std::get<0>(a.index.sort())));  // ascending original position
        QVERIFY(torch::equal(a.index, stratified_fraction(s, 0.1, 7, 3).index));   // same seed
        QVERIFY(!torch::equal(a.index, stratified_fraction(s, 0.1, 8, 3).index));  // other seed
        QCOMPARE(class_counts(stratified_fraction(s, 0.001, 7, 3), 3),
                 (std::vector<int64_t>{1, 1, 1}));
        QCOMPARE(stratified_fraction(s, 1.0, 7, 3).size(), int64_t(300));
        for (double bad : {0.0, -0.5, 1.5}) {
            try {
                stratified_fraction(s, bad, 7, 3);
                QFAIL("no ConfigError");
            } catch (const ConfigError& e) {
                QVERIFY(std::string(e.what()).find("--fraction") != std::string::npos);
            }
        }
    }

    void longTail() {
        const auto counts = long_tail_counts(5000, 100, 10);
        QCOMPARE(counts.front(), int64_t(5000));
        QCOMPARE(counts.back(), int64_t(50));
        QVERIFY(std::is_sorted(counts.rbegin(), counts.rend()));  // non-increasing
        QCOMPARE(long_tail_counts(40, 4, 3), (std::vector<int64_t>{40, 20, 10}));
        QCOMPARE(long_tail_counts(30, 1, 3), (std::vector<int64_t>{30, 30, 30}));
        QVERIFY_THROWS_EXCEPTION(ConfigError, long_tail_counts(10, 0.5, 3));
        // Classes with 50, 40, 60 images: n_max is the smallest count (40).
        std::vector<int64_t> labels;
        const int64_t per_class[3] = {50, 40, 60};
        for (int64_t c = 0; c < 3; ++c) labels.insert(labels.end(), size_t(per_class[c]), c);
        const Split s = position_split(labels);
        const Split lt = long_tailed(s, 4, 3, 3);
        QCOMPARE(class_counts(lt, 3), (std::vector<int64_t>{40, 20, 10}));
        QVERIFY(provenance_holds(lt));
        QVERIFY(torch::equal(lt.index, long_tailed(s, 4, 3, 3).index));
        try {
            long_tailed(s, 0.9, 3, 3);
            QFAIL("no ConfigError");
        } catch (const ConfigError& e) {
            QVERIFY(std::string(e.what()).find("--imbalance") != std::string::npos);
        }
    }

    void channelStats() {
        // 1500 images (more than one chunk) of 2 channels x 1 x 2: channel 0 is 0 or 255 (half
        // each: mean 0.5, std 0.5), channel 1 is always 51 (mean 0.2, std 0).
        auto images = torch::empty({1500, 2, 1, 2}, torch::kUInt8);
        images.select(1, 0).copy_(
            (torch::arange(1500) % 2 * 255).view({1500, 1, 1}).expand({1500, 1, 2}));
        images.select(1, 1).fill_(51);
        const Split s{images, torch::zeros({1500}, torch::kInt64),
                      torch::arange(1500, torch::kInt64)};
        const auto st = channel_stats(s);
        QCOMPARE(st.mean.size(), size_t(2));
        QVERIFY(std::abs(st.mean[0] - 0.5) < 1e-12 && std::abs(st.std[0] - 0.5) < 1e-12);
        QVERIFY(std::abs(st.mean[1] - 0.2) < 1e-12 && std::abs(st.std[1]) < 1e-6);
    }

    void fingerprintsTellSameReorderedAndChanged() {
        // Data identity: the same images give the same fingerprint (from two reads); a reordered
        // copy keeps the content digest, changes the ordered one and maps back index by index;
        // a changed pixel, a changed label, a dropped image and another shape are each reported.
        ProceduralOptions po;
        po.train_per_class = 30, po.test_per_class = 5, po.image_size = 16, po.seed = 9;
        const Split a = make_procedural(po).train, again = make_procedural(po).train;
        const auto fa = fingerprint_split(a, true), fa2 = fingerprint_split(again);
        QCOMPARE(fa.count, a.size());
        QCOMPARE(fa.shape, (std::vector<int64_t>{3, 16, 16}));
        QCOMPARE(hex64(fa.content), hex64(fa2.content));
        QCOMPARE(hex64(fa.ordered), hex64(fa2.ordered));
        QVERIFY(compare_fingerprints(fa, fa2).match == FingerprintMatch::Same);

        auto perm = torch::randperm(a.size(), torch::TensorOptions().dtype(torch::kInt64));
        const Split r{a.images.index_select(0, perm), a.labels.index_select(0, perm), a.index.index_select(0, perm)};
        const auto fr = fingerprint_split(r, true);
        const auto c = compare_fingerprints(fa, fr);
        QVERIFY2(c.match == FingerprintMatch::Reordered, c.what.c_str());
        QCOMPARE(hex64(fr.content), hex64(fa.content));
        const auto map = map_indices(fa, fr);  // recorded index -> index in the reordered copy
        for (int64_t i = 0; i < a.size(); ++i) QCOMPARE(perm[map[size_t(i)]].item<int64_t>(), i);

        Split px{a.images.clone(), a.labels, a.index};
        px.images[7][1][3][4] += 1;  // one pixel of one image
        auto cp = compare_fingerprints(fa, fingerprint_split(px));
        QVERIFY(cp.match == FingerprintMatch::Different && cp.what.rfind("content", 0) == 0);
        Split lab{a.images, a.labels.clone(), a.index};
        lab.labels[3] = (lab.labels[3].item<int64_t>() + 1) % 10;
        QVERIFY(compare_fingerprints(fa, fingerprint_split(lab)).match == FingerprintMatch::Different);
        const Split dropped{a.images.slice(0, 1), a.labels.slice(0, 1), a.index.slice(0, 1)};
        auto cd = compare_fingerprints(fa, fingerprint_split(dropped));
        QVERIFY(cd.match == FingerprintMatch::Different);
        QCOMPARE(QString::fromStdString(cd.what), QStringLiteral("count 300 vs 299"));
        const Split small{a.images.slice(2, 0, 8).slice(3, 0, 8).contiguous(), a.labels, a.index};
        auto cs = compare_fingerprints(fa, fingerprint_split(small));
        QCOMPARE(QString::fromStdString(cs.what), QStringLiteral("shape 3x16x16 vs 3x8x8"));
        // JSON round trip (without per-image hashes).
        const SplitFingerprint back = nlohmann::json(fa).get<SplitFingerprint>();
        QVERIFY(compare_fingerprints(fa, back).match == FingerprintMatch::Same);
        QVERIFY(back.image_hashes.empty());
    }

    // ------------------------------------------------------------------------------ real data
    void realFashionMnist() {
        const fs::path d = fs::path(kDatasets) / "fashion-mnist";
        if (!fs::is_directory(d)) QSKIP(("fashion-mnist is absent from " + kDatasets).c_str());
        const Dataset ds = load_dataset(d.string());
        VHMN_COMPARE_STR(ds.name, "fashion-mnist");
        QCOMPARE(ds.train.images.sizes().vec(), (std::vector<int64_t>{60000, 1, 28, 28}));
        QCOMPARE(ds.test.images.sizes().vec(), (std::vector<int64_t>{10000, 1, 28, 28}));
        QVERIFY(ds.train.labels.min().item<int64_t>() >= 0 &&
                ds.train.labels.max().item<int64_t>() < 10);
        QVERIFY(ds.test.labels.min().item<int64_t>() >= 0 &&
                ds.test.labels.max().item<int64_t>() < 10);
        const double mean = channel_stats(ds.train).mean[0];
        QVERIFY2(std::abs(mean - 0.2860) < 1e-3, std::to_string(mean).c_str());
    }

    void realCifar10Slice() {
#ifdef VHMN_WITH_OPENCV
        const fs::path src = fs::path(kDatasets) / "cifar10";
        if (!fs::is_directory(src)) QSKIP(("cifar10 is absent from " + kDatasets).c_str());
        // Symlinks to the first 20 images of every class keep the suite fast.
        const auto d = dir("cifar10-slice");
        for (const char* split : {"train", "test"})
            for (const auto& cls : fs::directory_iterator(src / split)) {
                std::vector<fs::path> files;
                for (const auto& f : fs::directory_iterator(cls.path())) files.push_back(f.path());
                std::sort(files.begin(), files.end());
                fs::create_directories(d / split / cls.path().filename());
                for (size_t k = 0; k < std::min<size_t>(20, files.size()); ++k)
                    fs::create_symlink(files[k],
                                       d / split / cls.path().filename() / files[k].filename());
            }
        const Dataset ds = read_image_folder(d.string(), {});
        QCOMPARE(ds.classes(), int64_t(10));
        VHMN_COMPARE_STR(ds.class_names.front(), "airplane");
        VHMN_COMPARE_STR(ds.class_names.back(), "truck");
        QCOMPARE(ds.train.images.sizes().vec(), (std::vector<int64_t>{200, 3, 32, 32}));
        QCOMPARE(ds.test.size(), int64_t(200));
        QVERIFY(
            torch::equal(ds.train.labels, torch::arange(10, torch::kInt64).repeat_interleave(20)));
#else
        QSKIP("this build has no OpenCV");
#endif
    }
};

VHMN_TEST_SUITE(TestDatasets);
#include "test_datasets.moc"
