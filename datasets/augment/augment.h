#pragma once
// Batched data augmentation on the training device. No Qt.
//
// Every op takes a batch x [B, C, H, W] float in [0, 1] (C = 1 or 3; other C are treated as
// "not RGB": colour ops are the identity, grayscale is the channel mean) on any device and works
// on all samples at once. Per-sample parameters (a magnitude tensor [B], or random draws) may
// differ between samples. All randomness comes from a CPU generator: parameters are drawn on the
// CPU and moved to the images' device, so for a given generator state the result is the same on
// the CPU and on CUDA (up to floating-point rounding of the pixel math).
//
// Semantics follow torchvision (transforms.functional on float tensors, AutoAugment, RandAugment,
// RandomCrop, RandomHorizontalFlip, RandomErasing) and timm's Mixup in "batch" mode, with the
// differences listed at each function.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/torch.h>

#include "core/data.h"

namespace vhmn::data {

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

struct AugmentConfig {
    bool crop = true;                 ///< random crop with zero padding (torchvision RandomCrop)
    int64_t crop_padding = 4;
    bool flip = true;                 ///< horizontal flip with p = 0.5
    bool autoaugment = true;          ///< AutoAugment, CIFAR-10 policy (Cubuk et al. 2019)
    bool randaugment = false;         ///< RandAugment(N, M) (Cubuk et al. 2020), 31 magnitude bins
    int64_t randaugment_n = 2;        ///< ops per image, 0..64
    int64_t randaugment_m = 9;        ///< magnitude bin, 0..30
    double mixup_alpha = 0.8;         ///< λ ~ Beta(α, α); 0 disables MixUp
    double cutmix_alpha = 1.0;        ///< 0 disables CutMix
    double mix_prob = 1.0;            ///< probability that a batch is mixed at all
    double switch_prob = 0.5;         ///< with both enabled: probability of CutMix instead of MixUp
    double erasing_prob = 0.0;        ///< per-sample random erasing probability (ImageNet: 0.25)
    double label_smoothing = 0.0;     ///< t = t·(1 − s) + s / classes, in [0, 1)

    /// Named recipes:
    ///   "none"     everything off (images unchanged, one-hot targets);
    ///   "basic"    crop (padding 4) + flip;
    ///   "paper"    the defaults above (paper A.6 small-data recipe: crop, flip, AutoAugment,
    ///              MixUp 0.8, CutMix 1.0);
    ///   "imagenet" flip, RandAugment(2, 9), MixUp 0.8, CutMix 1.0, random erasing 0.25; no crop,
    ///              no AutoAugment.
    /// Unknown name → vhmn::ConfigError listing the names.
    static AugmentConfig recipe(const std::string& name);
    static const std::vector<std::string>& recipe_names();

    /// ConfigError naming the field for nonsense values.
    void validate() const;
    bool operator==(const AugmentConfig& o) const;
    bool operator!=(const AugmentConfig& o) const { return !(*this == o); }
};

/// One key per field, named as the members. from_json only sets the keys present (others keep
/// their value) and does not validate; unknown key or wrong type → ConfigError naming the key.
void to_json(nlohmann::json& j, const AugmentConfig& c);
void from_json(const nlohmann::json& j, AugmentConfig& c);

// ---------------------------------------------------------------------------------------------
// The whole pipeline
// ---------------------------------------------------------------------------------------------

/// Applies, in this order: random crop → horizontal flip → AutoAugment → RandAugment (both may be
/// enabled; AutoAugment runs first) → random erasing → MixUp / CutMix (one per batch) → targets
/// with label smoothing.
///
/// Mixing pairs sample i with sample B−1−i (the batch flipped), with one λ for the whole batch
/// (timm "batch" mode). targets[i] = smooth(λ·onehot(y_i) + (1−λ)·onehot(y_{B−1−i})).
///
/// Bank writes and training accuracy use the DOMINANT label of each sample: its own label (and
/// dataset index) when λ ≥ 0.5, else the partner's. So write_labels = accuracy_labels =
/// (λ ≥ 0.5 ? y_i : y_{B−1−i}) and write_indices = (λ ≥ 0.5 ? index_i : index_{B−1−i}). A
/// memory written from a mixed image is filed under the class that dominates it; with CutMix the
/// stored tokens may come from the partner's box, which is the price of batch-level mixing.
class Augmenter {
public:
    /// Validates cfg (ConfigError); classes must be ≥ 1.
    Augmenter(AugmentConfig cfg, int64_t classes);

    /// images01 [B,C,H,W] float in [0,1] on any device; labels [B] int64 in [0, classes) and
    /// indices [B] int64 on the CPU or on the images' device. All random draws come from `gen`
    /// (a CPU generator). Every output tensor is on the images' device: images [B,C,H,W] float32
    /// in [0,1], targets [B,classes] float32, write_labels / write_indices / accuracy_labels [B]
    /// int64. Bad shapes or labels → c10::Error.
    AugmentedBatch operator()(const torch::Tensor& images01, const torch::Tensor& labels,
                              const torch::Tensor& indices, at::Generator& gen) const;

    const AugmentConfig& config() const { return cfg_; }
    int64_t classes() const { return classes_; }

private:
    AugmentConfig cfg_;
    int64_t classes_;
};

// ---------------------------------------------------------------------------------------------
// Geometric batch ops with their own randomness
// ---------------------------------------------------------------------------------------------

/// torchvision RandomCrop(H×W, padding=pad, fill 0): pad every side with `pad` zeros and take an
/// H×W window at a per-sample offset (dy, dx), each uniform in [0, 2·pad]. pad = 0 → identity.
torch::Tensor random_crop(const torch::Tensor& x, int64_t pad, at::Generator& gen);

/// Horizontal flip (last dim reversed) of each sample with probability 0.5.
torch::Tensor random_flip(const torch::Tensor& x, at::Generator& gen);

/// torchvision RandomErasing(p=prob, scale=(0.02, 1/3), ratio=(0.3, 3.3), value="random") per
/// sample, except that the rectangle is filled with UNIFORM noise in [0,1) (torchvision uses a
/// standard normal) so the output stays in [0,1]. Up to 10 tries to find a rectangle that fits
/// (h < H and w < W, as torchvision); a sample for which none fits is left unchanged.
torch::Tensor random_erasing(const torch::Tensor& x, double prob, at::Generator& gen);

// ---------------------------------------------------------------------------------------------
// Policies
// ---------------------------------------------------------------------------------------------

/// The ops of AutoAugment / RandAugment, in RandAugment's order (Invert last: AutoAugment only).
enum class AugOp : int64_t {
    Identity = 0, ShearX, ShearY, TranslateX, TranslateY, Rotate, Brightness, Color, Contrast,
    Sharpness, Posterize, Solarize, AutoContrast, Equalize, Invert
};
constexpr int64_t kAugOpCount = 15;
const char* aug_op_name(AugOp op);

/// torchvision's magnitude of `op` at `bin` of `num_bins` (10 for AutoAugment, 31 for RandAugment)
/// for an H×W image, unsigned: ShearX/Y linspace(0, 0.3); TranslateX linspace(0, 150/331·W),
/// TranslateY (0, 150/331·H); Rotate (0, 30°); Brightness/Color/Contrast/Sharpness (0, 0.9);
/// Posterize 8 − round(bin / ((num_bins−1)/4)) bits; Solarize linspace(255, 0) (0..255 scale);
/// AutoContrast, Equalize, Invert, Identity: 0.
double aug_op_magnitude(AugOp op, int64_t bin, int64_t num_bins, int64_t height, int64_t width);
/// Whether torchvision gives the magnitude a random sign.
bool aug_op_signed(AugOp op);

/// torchvision's _apply_op on a batch, one signed magnitude per sample (magnitude [B]):
/// ShearX/Y: shear factor (shear_x/shear_y); TranslateX/Y: pixels, truncated towards zero;
/// Rotate: degrees; Brightness/Color/Contrast/Sharpness: factor 1 + magnitude; Posterize: bits,
/// truncated; Solarize: threshold on the 0..255 scale; the others ignore the magnitude.
torch::Tensor apply_aug_op(const torch::Tensor& x, AugOp op, const torch::Tensor& magnitude);

/// Per-sample op: ops [B] int64 (an AugOp value, or −1 for "nothing"), magnitudes [B] as in
/// apply_aug_op: each image as apply_aug_op would make it. Each op family runs once on the whole
/// batch with every image's own parameters, so a round costs a fixed number of operator calls.
torch::Tensor apply_aug_ops(const torch::Tensor& x, const torch::Tensor& ops,
                            const torch::Tensor& magnitudes);
/// The same with the ops and magnitudes on the host (as AutoAugment and RandAugment draw them).
torch::Tensor apply_aug_ops(const torch::Tensor& x, const std::vector<int64_t>& ops, const std::vector<double>& magnitudes);

/// AutoAugment with torchvision's CIFAR-10 policy (25 sub-policies of two (op, p, bin) steps,
/// 10 magnitude bins), nearest interpolation, zero fill. Per sample: a uniform sub-policy; each
/// step applied with its probability; signed magnitudes negated with probability 1/2.
torch::Tensor auto_augment(const torch::Tensor& x, at::Generator& gen);

/// RandAugment(n, m): n rounds; in each round every sample applies one of the 14 ops (Identity …
/// Equalize, no Invert) chosen uniformly, at bin m of 31, with a random sign where signed.
torch::Tensor rand_augment(const torch::Tensor& x, int64_t n, int64_t m, at::Generator& gen);

// ---------------------------------------------------------------------------------------------
// Pixel ops (deterministic; per-sample magnitude tensors [B] on the CPU or x's device, or a
// single value for all samples). Outputs are clamped to [0,1] where the op can leave it.
// ---------------------------------------------------------------------------------------------

/// 1 − x.
torch::Tensor invert(const torch::Tensor& x);
/// Luma 0.299 R + 0.587 G + 0.114 B → [B,1,H,W] (C = 1: x itself; other C: channel mean).
torch::Tensor grayscale(const torch::Tensor& x);
/// Blend with the mean luma of each image: clamp(f·x + (1−f)·mean). f = 1 identity, 0 flat grey.
torch::Tensor contrast(const torch::Tensor& x, const torch::Tensor& factor);
/// clamp(f·x). f = 0 → black, 1 → identity.
torch::Tensor brightness(const torch::Tensor& x, const torch::Tensor& factor);
/// Saturation: blend with the grayscale image, clamp(f·x + (1−f)·gray). Identity when C ≠ 3.
torch::Tensor color(const torch::Tensor& x, const torch::Tensor& factor);
/// Blend with the 3×3 smoothed image (kernel [1 1 1; 1 5 1; 1 1 1]/13, border pixels kept), as
/// PIL/torchvision. Identity when H ≤ 2 or W ≤ 2.
torch::Tensor sharpness(const torch::Tensor& x, const torch::Tensor& factor);
/// Keep the top `bits` bits of q = round(255·x): floor(q / 2^(8−bits))·2^(8−bits) / 255.
/// bits ≥ 8 → x unchanged (not even quantised); bits ≤ 0 → 0.
torch::Tensor posterize(const torch::Tensor& x, const torch::Tensor& bits);
/// Invert (1 − x) the pixels whose quantised value round(255·x) ≥ 255·threshold; threshold in
/// [0,1] (0 inverts everything; 1 inverts only pixels that quantise to 255).
torch::Tensor solarize(const torch::Tensor& x, const torch::Tensor& threshold);
/// Per image and channel, map min → 0 and max → 1 linearly; constant channels unchanged.
torch::Tensor autocontrast(const torch::Tensor& x);
/// Histogram equalisation of q = round(255·x) per image and channel (PIL/torchvision algorithm);
/// output is quantised (k/255). A channel whose histogram gives a zero step is left unchanged.
torch::Tensor equalize(const torch::Tensor& x);

/// Affine ops: one batched affine_grid + grid_sample (nearest, zero fill, align_corners=false)
/// with per-sample matrices. Coordinates: x to the right, y DOWN, in pixels.
/// rotate: counter-clockwise AS DISPLAYED (y down) by `degrees` about the image centre, as
/// torchvision F.rotate; rotate(x, 90) of a square image = torch::rot90(x, 1, {2, 3}).
torch::Tensor rotate(const torch::Tensor& x, const torch::Tensor& degrees);
/// output(u, v) = input(u + f·v, v) with (u, v) measured from the top-left corner (torchvision
/// affine with shear atan(f), center [0,0]; PIL (1, f, 0, 0, 1, 0)).
torch::Tensor shear_x(const torch::Tensor& x, const torch::Tensor& factor);
/// output(u, v) = input(u, v + f·u).
torch::Tensor shear_y(const torch::Tensor& x, const torch::Tensor& factor);
/// output(u, v) = input(u − t, v): content moves t pixels to the RIGHT for t > 0.
torch::Tensor translate_x(const torch::Tensor& x, const torch::Tensor& pixels);
/// output(u, v) = input(u, v − t): content moves t pixels DOWN for t > 0.
torch::Tensor translate_y(const torch::Tensor& x, const torch::Tensor& pixels);
/// General case: per-sample inverse maps (output → input pixel coordinates about the image
/// centre) in_x = a·out_x + b·out_y + tx, in_y = c·out_x + d·out_y + ty; each coefficient [B].
torch::Tensor affine_inverse(const torch::Tensor& x, const torch::Tensor& a, const torch::Tensor& b,
                             const torch::Tensor& tx, const torch::Tensor& c, const torch::Tensor& d,
                             const torch::Tensor& ty);

// ---------------------------------------------------------------------------------------------
// MixUp / CutMix
// ---------------------------------------------------------------------------------------------

/// Gamma(shape, 1) by Marsaglia–Tsang (shape < 1 via the u^(1/shape) boost), drawn from `gen`.
double sample_gamma(double shape, at::Generator& gen);
/// Beta(a, b) = G_a / (G_a + G_b). If both gammas underflow to 0 (tiny α), 0 or 1 with p = 1/2.
double sample_beta(double a, double b, at::Generator& gen);

/// CutMix box [y0, y1) × [x0, x1) as timm's rand_bbox: cut = int(side·sqrt(1−λ)), centre uniform
/// over the image, half-extent cut/2 (integer), clipped to the image.
struct CutBox {
    int64_t y0 = 0, y1 = 0, x0 = 0, x1 = 0;
    int64_t area() const { return (y1 - y0) * (x1 - x0); }
};
CutBox cutmix_box(int64_t height, int64_t width, double lam, at::Generator& gen);

/// λ·x + (1−λ)·x.flip(0).
torch::Tensor mixup_images(const torch::Tensor& x, double lam);
/// x with the box replaced by the same box of x.flip(0).
torch::Tensor cutmix_images(const torch::Tensor& x, const CutBox& box);
/// smooth(λ·onehot(y) + (1−λ)·onehot(y.flip(0))), float32 [B, classes] on labels' device.
torch::Tensor mixed_targets(const torch::Tensor& labels, int64_t classes, double lam,
                            double smoothing);

}  // namespace vhmn::data
