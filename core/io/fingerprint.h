#pragma once
// Data identity (issue 16, first part): a fingerprint of a dataset split, so a run can tell whether
// the images it meets are the ones it was trained on — the same, the same in another order (and
// which index is which), or different (count, shape, content). Per-image 64-bit hashes cover the
// pixels and the label; the split's digests are made from them:
//   content  order-independent (the multiset of image hashes): equal for a reordered copy
//   ordered  the image hashes in dataset-index order: differs when only the order differs
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "core/data.h"

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

void to_json(nlohmann::json& j, const SplitFingerprint& f);    ///< without image_hashes
void from_json(const nlohmann::json& j, SplitFingerprint& f);

}  // namespace vhmn
