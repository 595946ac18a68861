#pragma once
// Data identity (issue 16): a fingerprint of a dataset split, so a run can tell whether
// the images it meets are the ones it was trained on — the same, the same in another order (and
// which index is which), or different (count, shape, content). Per-image 64-bit hashes cover the
// pixels and the label; the split's digests are made from them:
//   content  order-independent (the multiset of image hashes): equal for a reordered copy
//   ordered  the image hashes in dataset-index order: differs when only the order differs
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace vhmn::data {
struct Split;  // core/data.h (kept out so config headers stay light)
}
namespace at {
class Tensor;
}

namespace vhmn {

struct SplitFingerprint {
    int64_t count = 0;
    std::vector<int64_t> shape;         ///< [C, H, W] of one image
    uint64_t content = 0;               ///< order-independent digest
    uint64_t ordered = 0;               ///< digest in dataset-index order
    std::vector<uint64_t> image_hashes; ///< per image, dataset-index order (empty unless asked for)
};

/// Fingerprint of a split's uint8 images and labels (threads over images). With
/// `keep_image_hashes` the per-image hashes are kept (needed to map indices).
SplitFingerprint fingerprint_split(const data::Split& split, bool keep_image_hashes = false);

/// 64-bit hash of one image's bytes and its label.
uint64_t image_hash(const uint8_t* pixels, int64_t bytes, int64_t label);

enum class FingerprintMatch { Same, Reordered, Different };

struct FingerprintComparison {
    FingerprintMatch match = FingerprintMatch::Different;
    std::string what;  ///< "same", "same images in another order", or what differs (count, shape, content)
};

/// Compare what a run recorded with what a dataset gives now.
FingerprintComparison compare_fingerprints(const SplitFingerprint& recorded, const SplitFingerprint& found);

/// For a reordered copy: for each recorded index, the index of the same image in `found`
/// (both need image hashes). Throws std::invalid_argument when an image has no counterpart.
std::vector<int64_t> map_indices(const SplitFingerprint& recorded, const SplitFingerprint& found);

/// 16 hex digits.
std::string hex64(uint64_t v);

/// One line naming a split's fingerprint: "50000 images 3x32x32, content 1f…, ordered 9a…".
std::string describe(const SplitFingerprint& f);

/// What a run records about its data (config.json `data.fingerprint`, run.h5 /dataset): the full
/// splits as read (provenance indices point into the full training split) and the subset of
/// training indices actually used (--fraction / --imbalance).
struct DataFingerprint {
    SplitFingerprint train, test;
    uint64_t subset = 0;       ///< hash of the subset's dataset indices, in training order
    int64_t subset_count = 0;  ///< images in the subset
};

/// Fingerprint of a dataset's full splits and of the training subset drawn from it.
DataFingerprint fingerprint_data(const data::Split& full_train, const data::Split& test,
                                 const data::Split& train_subset, bool keep_image_hashes);

/// Order-dependent hash of int64 indices (a subset's dataset indices).
uint64_t hash_indices(const at::Tensor& index);

void to_json(nlohmann::json& j, const SplitFingerprint& f);    ///< without image_hashes
void from_json(const nlohmann::json& j, SplitFingerprint& f);
void to_json(nlohmann::json& j, const DataFingerprint& f);     ///< keys train, test, subset_indices, subset_count
void from_json(const nlohmann::json& j, DataFingerprint& f);

}  // namespace vhmn
