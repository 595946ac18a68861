#include "datasets/corruptions/cifar_c.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <ATen/Parallel.h>

#include "core/io/atomic_file.h"
#include "core/error.h"
#include "core/data.h"
#include "datasets/readers/npy.h"
#ifdef VHMN_WITH_OPENCV
#include <opencv2/imgproc.hpp>

#include "datasets/corruptions/ops.h"
#endif

namespace vhmn::data {

namespace fs = std::filesystem;

bool corruptions_available() {
#ifdef VHMN_WITH_OPENCV
    return true;
#else
    return false;
#endif
}

namespace {

void check_request(const std::string& corruption, int severity) {
    c_corruption(corruption);  // ConfigError for an unknown name
    if (severity < 1 || severity > 5) throw ConfigError("severity " + std::to_string(severity) + " is outside 1-5");
    if (!corruptions_available())
        throw ConfigError("this build has no OpenCV, so it cannot generate corruptions (use the released files: --c-dir)");
}

#ifdef VHMN_WITH_OPENCV
using namespace corrupt_detail;

Op op_of(const std::string& name) {
    static const std::vector<std::pair<std::string, Op>> ops = {
        {"gaussian_noise", gaussian_noise}, {"shot_noise", shot_noise},
        {"impulse_noise", impulse_noise},   {"defocus_blur", defocus_blur},
        {"glass_blur", glass_blur},         {"motion_blur", motion_blur},
        {"zoom_blur", zoom_blur},           {"snow", snow},
        {"frost", frost},                   {"fog", fog},
        {"brightness", brightness},         {"contrast", contrast},
        {"elastic_transform", elastic_transform}, {"pixelate", pixelate},
        {"jpeg_compression", jpeg_compression},   {"speckle_noise", speckle_noise},
        {"gaussian_blur", gaussian_blur},   {"spatter", spatter},
        {"saturate", saturate},
    };
    for (const auto& [n, op] : ops)
        if (n == name) return op;
    throw ConfigError("no generator for corruption '" + name + "'");
}

/// uint8 CHW (C = 1 or 3) → corrupted uint8 CHW, written to `out`.
void corrupt_one(const uint8_t* in, uint8_t* out, int c, int h, int w, Op op, int severity, uint64_t seed) {
    cv::Mat rgb8(h, w, CV_8UC3);
    for (int r = 0; r < h; ++r)
        for (int col = 0; col < w; ++col)
            for (int d = 0; d < 3; ++d) rgb8.ptr<uint8_t>(r)[col * 3 + d] = in[size_t((c == 3 ? d : 0) * h * w + r * w + col)];
    Rng rng(seed);
    const cv::Mat result = to_u8(op(to_float(rgb8), severity, rng));
    if (c == 3) {
        for (int r = 0; r < h; ++r)
            for (int col = 0; col < w; ++col)
                for (int d = 0; d < 3; ++d) out[size_t(d * h * w + r * w + col)] = result.ptr<uint8_t>(r)[col * 3 + d];
        return;
    }
    cv::Mat grey;
    cv::cvtColor(result, grey, cv::COLOR_RGB2GRAY);
    for (int r = 0; r < h; ++r)
        for (int col = 0; col < w; ++col) out[size_t(r * w + col)] = grey.ptr<uint8_t>(r)[col];
}
#endif

}  // namespace

torch::Tensor corrupt_batch(const torch::Tensor& images, const torch::Tensor& index, const std::string& corruption,
                            int severity, uint64_t seed) {
    check_request(corruption, severity);
    if (images.dim() != 4 || images.scalar_type() != torch::kUInt8 || (images.size(1) != 1 && images.size(1) != 3))
        throw ConfigError("corrupt: expected uint8 images [N, 1 or 3, H, W]");
    if (index.numel() != images.size(0)) throw ConfigError("corrupt: one index per image needed");
    // OpenCV works on host memory: images on a device come over and go back.
    auto in = images.to(torch::kCPU).contiguous();
    auto out = torch::empty_like(in);
    auto idx = index.to(torch::kCPU, torch::kLong).contiguous();
#ifdef VHMN_WITH_OPENCV
    const int c = int(in.size(1)), h = int(in.size(2)), w = int(in.size(3));
    const int64_t per = int64_t(c) * h * w, kind = c_corruption_index(corruption);
    const Op op = op_of(corruption);
    const uint8_t* src = in.data_ptr<uint8_t>();
    uint8_t* dst = out.data_ptr<uint8_t>();
    const int64_t* ix = idx.data_ptr<int64_t>();
    at::parallel_for(0, in.size(0), 8, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
            corrupt_one(src + i * per, dst + i * per, c, h, w, op, severity,
                        corrupt_detail::image_seed(seed, kind, ix[i]));
    });
#endif
    return out.to(images.device());
}

torch::Tensor corrupt_image(const torch::Tensor& image, const std::string& corruption, int severity, uint64_t seed,
                            int64_t index) {
    if (image.dim() != 3) throw ConfigError("corrupt: expected one uint8 image [C, H, W]");
    return corrupt_batch(image.unsqueeze(0), torch::tensor({index}), corruption, severity, seed)[0];
}

// ---- generated source -----------------------------------------------------------------------------
GeneratedCorruptions::GeneratedCorruptions(Split split, uint64_t seed, std::string dataset_name)
    : split_(std::move(split)), seed_(seed), dataset_(std::move(dataset_name)) {
    if (!split_.index.defined())
        split_.index = torch::arange(split_.size(), torch::TensorOptions(torch::kLong).device(split_.images.device()));
}

std::string GeneratedCorruptions::description() const {
    return "corruptions generated with the CIFAR-10-C parameters (seed " + std::to_string(seed_) + ", " +
           std::to_string(split_.size()) + " images" + (dataset_.empty() ? "" : " of " + dataset_) + ")";
}

std::vector<std::string> GeneratedCorruptions::corruptions() const {
    std::vector<std::string> out;
    for (const auto& c : c_corruptions()) out.push_back(c.name);
    return out;
}

torch::Tensor GeneratedCorruptions::images(const std::string& corruption, int severity, int64_t begin, int64_t count) {
    return corrupt_batch(split_.images.slice(0, begin, begin + count), split_.index.slice(0, begin, begin + count),
                         corruption, severity, seed_);
}

nlohmann::json GeneratedCorruptions::params() const {
    return {{"kind", "generated"}, {"seed", seed_}, {"images", split_.size()}, {"dataset", dataset_},
            {"generator", "V-HMN Studio, parameters of hendrycks/robustness make_cifar_c.py; frost texture procedural"}};
}

void export_released(GeneratedCorruptions& source, const std::string& dir, const std::vector<std::string>& corruptions,
                     const std::function<void(const std::string&, double)>& progress) {
    fs::create_directories(dir);
    const int64_t n = source.size();
    for (const auto& name : corruptions) {
        std::vector<torch::Tensor> blocks;
        const auto t0 = std::chrono::steady_clock::now();
        for (int s = 1; s <= 5; ++s) blocks.push_back(source.images(name, s, 0, n).permute({0, 2, 3, 1}).contiguous());  // NHWC
        if (progress) progress(name, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        write_released(dir, name, blocks);
    }
    write_released_labels(dir, source.labels());
    auto marker = source.params();
    marker["corruptions"] = corruptions;
    // Other images than the first n of the test split (export-c --limit): say which, so a probe
    // scores clean accuracy on the same ones.
    const auto index = source.split_index().defined() ? source.split_index().to(torch::kCPU, torch::kLong).contiguous()
                                                      : torch::arange(n, torch::kLong);
    if (!torch::equal(index, torch::arange(n, torch::kLong)))
        marker["test_index"] = std::vector<int64_t>(index.data_ptr<int64_t>(), index.data_ptr<int64_t>() + n);
    marker["note"] = "written by `vhmn data export-c`: generated with the CIFAR-10-C parameters, not the released "
                     "CIFAR-10-C; frost uses our procedural texture";
    write_text_atomically((fs::path(dir) / kExportMarker).string(), marker.dump(2) + "\n");
}

// ---- released files -------------------------------------------------------------------------------
struct ReleasedSource::Impl {
    ReleasedCorruptions set;
    nlohmann::json exported;  ///< kExportMarker's contents (null: the folder is not ours)
    torch::Tensor pick;  ///< indices into each severity block (undefined: all, in order)
    torch::Tensor test_index;  ///< Split::index of each image the files hold (the marker's, or 0..n-1)
    std::string cached_name;
    int cached_severity = 0;
    torch::Tensor cached;  ///< the current cell, uint8 [n, C, H, W]
};

ReleasedSource::ReleasedSource(const std::string& dir, int64_t limit) : impl_(std::make_shared<Impl>()) {
    impl_->set = open_released_corruptions(dir);
    const auto marker = (fs::path(dir) / kExportMarker).string();
    if (fs::exists(marker)) {
        try {
            impl_->exported = nlohmann::json::parse(read_text_file(marker));
        } catch (const nlohmann::json::exception& e) {
            throw FileError(marker, std::string("not valid JSON (") + e.what() + ")");
        }
    }
    const int64_t n = impl_->set.per_severity;
    impl_->test_index = torch::arange(n, torch::kLong);
    if (impl_->exported.is_object() && impl_->exported.contains("test_index")) {
        std::vector<int64_t> v;
        try {
            v = impl_->exported.at("test_index").get<std::vector<int64_t>>();
        } catch (const nlohmann::json::exception& e) {
            throw FileError(marker, std::string("'test_index' is not a list of image indices (") + e.what() + ")");
        }
        if (int64_t(v.size()) != n)
            throw FileError(marker, "'test_index' lists " + std::to_string(v.size()) + " images, the files hold " +
                                        std::to_string(n) + " per severity");
        impl_->test_index = torch::tensor(v, torch::kLong);
    }
    if (limit > 0 && limit < n) {
        impl_->pick = evenly_spaced_positions(n, limit);  // as --limit picks test images everywhere else
    }
}

bool ReleasedSource::released() const { return impl_->exported.is_null(); }

bool ReleasedSource::ours(const std::string& corruption) const {
    return !released() && c_corruption(corruption).ours_when_generated;
}

std::string ReleasedSource::description() const {
    return (released() ? "the released files in " : "files exported by `vhmn data export-c` (generated, not the release) in ") +
           impl_->set.dir + " (" + std::to_string(size()) + " images per severity)";
}

std::vector<std::string> ReleasedSource::corruptions() const {
    std::vector<std::string> out;
    for (const auto& c : c_corruptions())  // the catalogue's order; unknown files are left out
        if (std::find(impl_->set.corruptions.begin(), impl_->set.corruptions.end(), c.name) != impl_->set.corruptions.end())
            out.push_back(c.name);
    return out;
}

torch::Tensor ReleasedSource::test_index() const {
    return impl_->pick.defined() ? impl_->test_index.index_select(0, impl_->pick) : impl_->test_index;
}

std::string ReleasedSource::labels_file() const { return (fs::path(impl_->set.dir) / "labels.npy").string(); }

int64_t ReleasedSource::size() const { return impl_->pick.defined() ? impl_->pick.size(0) : impl_->set.per_severity; }

torch::Tensor ReleasedSource::labels() const {
    return impl_->pick.defined() ? impl_->set.labels.index_select(0, impl_->pick) : impl_->set.labels;
}

torch::Tensor ReleasedSource::images(const std::string& corruption, int severity, int64_t begin, int64_t count) {
    auto& m = *impl_;
    if (m.cached_name != corruption || m.cached_severity != severity) {
        auto block = read_released(m.set, corruption, severity).permute({0, 3, 1, 2});
        if (m.pick.defined()) block = block.index_select(0, m.pick);
        m.cached = block.contiguous(), m.cached_name = corruption, m.cached_severity = severity;
    }
    return m.cached.slice(0, begin, begin + count);
}

nlohmann::json ReleasedSource::params() const {
    nlohmann::json p = {{"kind", released() ? "released" : "exported"}, {"dir", impl_->set.dir}, {"images", size()},
                        {"per_severity_in_files", impl_->set.per_severity}};
    if (!released()) p["export"] = impl_->exported;
    return p;
}

}  // namespace vhmn::data
