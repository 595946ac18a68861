// Image-folder reader: <dir>/train/<class>/<image> and <dir>/test/<class>/<image>, decoded with
// OpenCV (any format cv::imread reads). Compiled to a stub that reports the missing dependency
// when the build has no OpenCV (VHMN_WITH_OPENCV undefined).
#include "datasets/readers/readers.h"

#include "core/error.h"
#include "datasets/readers/decoded_cache.h"
#include "datasets/readers/reader_util.h"

#ifdef VHMN_WITH_OPENCV
#include <algorithm>
#include <iterator>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace vhmn::data {

#ifdef VHMN_WITH_OPENCV

using namespace detail;

namespace {

/// Sorted names of the non-hidden entries of `dir` that are folders (`folders`) or regular files
/// (symlinks followed).
std::vector<std::string> list_entries(const fs::path& dir, bool folders) {
    std::error_code ec;
    std::vector<std::string> names;
    fs::directory_iterator it(dir, ec), end;
    if (ec) throw FileError(dir.string(), "cannot list folder: " + ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) throw FileError(dir.string(), "cannot list folder: " + ec.message());
        const std::string name = it->path().filename().string();
        if (name.empty() || name[0] == '.') continue;  // hidden files, ".", ".."
        const bool wanted =
            folders ? fs::is_directory(it->path(), ec) : fs::is_regular_file(it->path(), ec);
        if (wanted) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

struct Item {
    fs::path file;
    int64_t label;
};

/// Every image of one split folder (train/ or test/), class by class, files sorted by name.
std::vector<Item> list_split(const fs::path& split_dir, const std::vector<std::string>& classes) {
    std::vector<Item> items;
    for (size_t c = 0; c < classes.size(); ++c) {
        const fs::path class_dir = split_dir / classes[c];
        const auto files = list_entries(class_dir, /*folders=*/false);
        if (files.empty()) throw FileError(class_dir.string(), "class folder has no images");
        for (const auto& f : files) items.push_back({class_dir / f, int64_t(c)});
    }
    return items;
}

/// Size and channel count every image is converted to.
struct Geometry {
    int64_t channels, height, width;
    bool resize;  ///< resize images of another size (else such an image is an error)
};

/// Decode `file` into out[0, C*H*W) as [C, H, W] uint8 in RGB order. Returns "" or the problem;
/// never throws (it runs inside at::parallel_for).
std::string decode(const fs::path& file, const Geometry& g, uint8_t* out) {
    try {
        cv::Mat m =
            cv::imread(file.string(), g.channels == 1 ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
        if (m.empty()) return "cannot be decoded as an image";
        if (m.rows != g.height || m.cols != g.width) {
            if (!g.resize)
                return "is " + std::to_string(m.cols) + "x" + std::to_string(m.rows) +
                       " pixels, the first image is " + std::to_string(g.width) + "x" +
                       std::to_string(g.height) +
                       " (images must share one size unless an image size is given)";
            const bool shrink = g.height <= m.rows && g.width <= m.cols;
            cv::Mat r;
            cv::resize(m, r, cv::Size(int(g.width), int(g.height)), 0, 0,
                       shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
            m = r;
        }
        const int64_t C = g.channels, H = g.height,
                      W = g.width;  // m: [H, W, C] interleaved BGR / gray
        for (int64_t y = 0; y < H; ++y) {
            const uint8_t* row = m.ptr<uint8_t>(int(y));
            for (int64_t x = 0; x < W; ++x)
                for (int64_t c = 0; c < C; ++c)
                    out[(c * H + y) * W + x] = row[x * C + (C - 1 - c)];  // BGR -> RGB
        }
        return "";
    } catch (const std::exception& e) {
        return std::string("cannot be decoded as an image: ") + e.what();
    }
}

/// Decode a split into a preallocated tensor, in parallel, keeping the item order. The first bad
/// image in order is reported, so the error does not depend on thread timing.
Split decode_split(const fs::path& split_dir, const std::vector<Item>& items, const Geometry& g) {
    const int64_t n = int64_t(items.size());
    torch::Tensor images;  // [N, C, H, W]
    try {
        images = torch::empty({n, g.channels, g.height, g.width}, torch::kUInt8);
    } catch (const std::exception&) {  // std::bad_alloc or c10::Error: out of memory
        const double gib = double(n) * double(g.channels * g.height * g.width) / double(1 << 30);
        throw FileError(split_dir.string(), "cannot hold " + std::to_string(n) + " images of " +
                                                std::to_string(g.width) + "x" +
                                                std::to_string(g.height) + " in memory (" +
                                                c10::str(gib) + " GiB); give a smaller image size");
    }
    auto labels = torch::empty({n}, torch::kInt64);  // [N]
    uint8_t* pixels = images.data_ptr<uint8_t>();
    int64_t* label_ptr = labels.data_ptr<int64_t>();
    const int64_t stride = g.channels * g.height * g.width;
    for (int64_t i = 0; i < n; ++i) label_ptr[i] = items[size_t(i)].label;
    std::vector<std::string> files;
    files.reserve(items.size());
    for (const auto& it : items) files.push_back(it.file.string());
    const uint64_t key = decoded_cache_key(files, g.channels, g.height, g.width);
    if (read_decoded(key, images)) return make_split(images, labels);  // decoded before: the same files
    std::vector<std::string> errors(static_cast<size_t>(n));
    at::parallel_for(0, n, 64, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            errors[size_t(i)] = decode(items[size_t(i)].file, g, pixels + i * stride);
        }
    });
    for (int64_t i = 0; i < n; ++i)
        if (!errors[size_t(i)].empty())
            throw FileError(items[size_t(i)].file.string(), errors[size_t(i)]);
    write_decoded(key, images);
    return make_split(images, labels);
}

/// Channels and size of the dataset: those asked for, else those of `first` (1 channel for
/// grayscale, else 3: alpha dropped).
Geometry geometry_of(const fs::path& first, const LoadOptions& opt) {
    Geometry g{opt.channels, opt.image_size, opt.image_size, opt.image_size > 0};
    if (g.channels > 0 && g.resize) return g;
    cv::Mat m;
    try {
        m = cv::imread(first.string(), cv::IMREAD_UNCHANGED);
    } catch (const std::exception& e) {
        throw FileError(first.string(), std::string("cannot be decoded as an image: ") + e.what());
    }
    if (m.empty()) throw FileError(first.string(), "cannot be decoded as an image");
    if (g.channels == 0) g.channels = m.channels() == 1 ? 1 : 3;
    if (!g.resize) g.height = m.rows, g.width = m.cols;
    return g;
}

/// FileError unless train/ and test/ hold the same class folders.
void check_same_classes(const fs::path& dir, const std::vector<std::string>& train,
                        const std::vector<std::string>& test) {
    if (train == test) return;
    std::vector<std::string> only_train, only_test;
    std::set_difference(train.begin(), train.end(), test.begin(), test.end(),
                        std::back_inserter(only_train));
    std::set_difference(test.begin(), test.end(), train.begin(), train.end(),
                        std::back_inserter(only_test));
    throw FileError(dir.string(),
                    "train/ and test/ class folders differ: only in train/: " +
                        (only_train.empty() ? "(none)" : join(only_train)) +
                        "; only in test/: " + (only_test.empty() ? "(none)" : join(only_test)));
}

}  // namespace

Dataset read_image_folder(const std::string& path, const LoadOptions& opt) {
    validate(opt);
    const fs::path dir(path);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw FileError(dir.string(), "no such folder");
    for (const char* split : {"train", "test"})
        if (!fs::is_directory(dir / split, ec))
            throw FileError((dir / split).string(),
                            std::string("missing image-folder split folder '") + split + "'");
    const auto classes = list_entries(dir / "train", /*folders=*/true);
    if (classes.empty()) throw FileError((dir / "train").string(), "has no class folders");
    check_same_classes(dir, classes, list_entries(dir / "test", /*folders=*/true));

    const auto train_items = list_split(dir / "train", classes);
    const auto test_items = list_split(dir / "test", classes);
    const Geometry g = geometry_of(train_items.front().file, opt);
    Dataset ds;
    ds.name = folder_name(dir);
    ds.format = "image-folder";
    ds.path = dir.string();
    ds.class_names = classes;
    ds.train = decode_split(dir / "train", train_items, g);
    ds.test = decode_split(dir / "test", test_items, g);
    return ds;
}

#else  // no OpenCV

Dataset read_image_folder(const std::string& path, const LoadOptions&) {
    throw FileError(path, "image folders need OpenCV; this build has none");
}

#endif

}  // namespace vhmn::data
