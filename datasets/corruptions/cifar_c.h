#pragma once
// Our CIFAR-10-C generator: the 15 corruptions of Hendrycks & Dietterich (ICLR 2019) and the 4
// extras, with the reference generator's severity parameters, on uint8 images (OpenCV inside).
// Frost draws a procedural texture (the reference's frost photographs cannot be shipped): its
// results are "ours", kept out of every number labelled CIFAR-10-C (core/probes/cifar_c.h).
//
// Randomness is per image: (seed, corruption, the image's dataset index) → its own
// generator, so the output does not depend on batching, threads or which images were asked for.
#include <cstdint>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "core/data.h"
#include "core/corruption_source.h"

namespace vhmn::data {

/// Whether this build can generate corruptions (it needs OpenCV).
bool corruptions_available();

/// One image, uint8 [C, H, W] with C = 1 or 3 (grey images go through RGB and back by luma).
/// `index` keys its randomness. ConfigError for an unknown name or a severity outside 1..5,
/// or when the build has no OpenCV.
torch::Tensor corrupt_image(const torch::Tensor& image, const std::string& corruption, int severity, uint64_t seed,
                            int64_t index);
/// A batch uint8 [N, C, H, W] (images in parallel); `index` [N] int64 keys each image.
torch::Tensor corrupt_batch(const torch::Tensor& images, const torch::Tensor& index, const std::string& corruption,
                            int severity, uint64_t seed);

/// Corrupted versions of a split, made on demand (nothing is stored).
class GeneratedCorruptions : public CorruptionSource {
public:
    GeneratedCorruptions(Split split, uint64_t seed, std::string dataset_name = {});
    bool released() const override { return false; }
    std::string description() const override;
    std::vector<std::string> corruptions() const override;
    int64_t size() const override { return split_.size(); }
    torch::Tensor labels() const override { return split_.labels; }
    torch::Tensor images(const std::string& corruption, int severity, int64_t begin, int64_t count) override;
    bool ours(const std::string& corruption) const override { return c_corruption(corruption).ours_when_generated; }
    nlohmann::json params() const override;
    /// The split's Split::index (which test images, as read from disk, it holds).
    const torch::Tensor& split_index() const { return split_.index; }

private:
    Split split_;
    uint64_t seed_;
    std::string dataset_;
};

/// The released layout's files (`<corruption>.npy` [5·n, H, W, C] and labels.npy) as a source.
/// A folder written by export_released (it holds kExportMarker) is our generator's output in that
/// layout: not released() — never labelled CIFAR-10-C — and its frost is ours.
class ReleasedSource : public CorruptionSource {
public:
    explicit ReleasedSource(const std::string& dir, int64_t limit = 0);  ///< limit: n evenly spaced images (0: all)
    bool released() const override;
    std::string description() const override;
    std::vector<std::string> corruptions() const override;
    int64_t size() const override;
    torch::Tensor labels() const override;
    torch::Tensor images(const std::string& corruption, int severity, int64_t begin, int64_t count) override;
    bool ours(const std::string& corruption) const override;
    nlohmann::json params() const override;

    /// The files hold the first n images of the test split, in order (CIFAR-10-C: all 10,000), or
    /// those our export's marker lists ("test_index", written when it exported other images).
    torch::Tensor test_index() const override;
    std::string labels_file() const override;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

/// The file export_released writes beside the .npy files: what made them (seed, images, generator).
inline constexpr const char* kExportMarker = "vhmn_export.json";

/// Write a generated suite in the released layout (one .npy per corruption, labels.npy, and
/// kExportMarker, so the folder is never taken for the release).
/// `progress(corruption, seconds)` after each corruption: the time its five severities took to generate.
void export_released(GeneratedCorruptions& source, const std::string& dir, const std::vector<std::string>& corruptions,
                     const std::function<void(const std::string&, double)>& progress = {});

}  // namespace vhmn::data
