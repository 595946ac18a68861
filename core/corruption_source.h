#pragma once
// CIFAR-10-C (Hendrycks & Dietterich, ICLR 2019): the catalogue of its corruptions and the interface
// of a source of corrupted test images. datasets/corruptions/ implements it (the released .npy files,
// our generator); the probe (core/probes/cifar_c.h) reads it. Like core/data.h, an interface core
// declares and datasets implement.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

namespace vhmn {

/// One corruption of the suite.
struct CCorruption {
    std::string name;     ///< file stem of the release, e.g. "gaussian_noise", "jpeg_compression"
    std::string display;  ///< e.g. "Gaussian noise"
    std::string family;   ///< "noise", "blur", "weather", "digital" (the 15) or "extra" (the 4 extras)
    bool reference = true;    ///< one of the 15 whose mean is the CIFAR-10-C number
    bool monotone = true;     ///< the reference parameters grow harsher with every severity
                              ///< (mean PSNR non-increasing); false: see `non_monotone_reason`
    std::string non_monotone_reason;
    /// Our generator cannot make the reference's images (frost: its texture photographs cannot be
    /// shipped, so ours is procedural): generated results are "ours", outside every mean.
    bool ours_when_generated = false;
};

/// The 15 reference corruptions in the release's order, then the 4 extras (speckle_noise,
/// gaussian_blur, spatter, saturate).
const std::vector<CCorruption>& c_corruptions();
/// ConfigError naming the known ones for an unknown name.
const CCorruption& c_corruption(const std::string& name);
/// Index of a corruption in c_corruptions() (ConfigError if unknown).
int64_t c_corruption_index(const std::string& name);
/// "noise", "blur", "weather", "digital", "extra".
const std::vector<std::string>& c_families();

/// Where corrupted test images come from.
class CorruptionSource {
public:
    virtual ~CorruptionSource() = default;
    virtual bool released() const = 0;             ///< true: the released .npy files
    virtual std::string description() const = 0;   ///< one line for outputs (folder or generator + seed)
    virtual std::vector<std::string> corruptions() const = 0;  ///< those available, catalogue order
    virtual int64_t size() const = 0;              ///< images per severity
    virtual torch::Tensor labels() const = 0;      ///< int64 [size]
    /// uint8 [count, C, H, W]: images [begin, begin + count) of one cell.
    virtual torch::Tensor images(const std::string& corruption, int severity, int64_t begin, int64_t count) = 0;
    /// Is a corruption's result "ours, not the reference's" in this source (a generated frost)?
    virtual bool ours(const std::string& corruption) const = 0;
    /// JSON describing the source (kind, folder or seed, images per severity), stored with results.
    virtual nlohmann::json params() const = 0;
    /// Which test images the source's images are corrupted copies of, in its order: their index in
    /// the test split as read from disk (Split::index; int64 [size]). Undefined when the source was
    /// made from the split it is given (generated). probe_corruptions scores clean accuracy on them.
    virtual torch::Tensor test_index() const { return {}; }
    /// The file the source's labels come from (named in errors), or empty.
    virtual std::string labels_file() const { return {}; }
};

}  // namespace vhmn
