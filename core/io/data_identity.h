#pragma once
// Data identity (issue 16): what happens when a run meets a dataset. The run recorded a
// fingerprint of its data at training time (DataInfo::fingerprint, per-image hashes in run.h5);
// the dataset given now is fingerprinted and compared split by split:
//
//   test split   same → fine; same images in another order → reordered into the run's order
//                (with the recorded per-image hashes), so test indices mean what they meant;
//                different → ConfigError naming both fingerprints (evaluation may go on with a
//                loud warning when the caller allows other data)
//   train split  same → fine; another order → reordered into the run's order (provenance indices
//                point at the right images), or, without per-image hashes, provenance refused;
//                different → provenance (source images of stored memories) refused with one
//                message naming both fingerprints; logits-only work goes on with a warning
//   no record    (runs made before fingerprints) a warning, said once: nothing is verified
#include <optional>
#include <string>
#include <vector>

#include "core/data.h"
#include "core/io/fingerprint.h"

namespace vhmn {

/// What a run recorded about its data.
struct RecordedData {
    std::optional<DataFingerprint> fingerprint;  ///< config.json data.fingerprint
    std::vector<uint64_t> train_hashes, test_hashes;  ///< run.h5 /dataset/*_image_hashes (may be empty)
};

struct DataCheckOptions {
    std::string run;        ///< run folder, for messages
    std::string data;       ///< dataset path, for messages
    bool allow_other_test = false;  ///< a different test split is a warning, not an error (eval)
};

struct DataCheck {
    bool recorded = false;             ///< the run has a fingerprint
    FingerprintComparison train, test;  ///< as found (before any mapping)
    bool train_mapped = false, test_mapped = false;  ///< reordered into the run's order
    bool other_test = false;           ///< the test split differs and the caller allowed it
    std::string provenance_refusal;    ///< non-empty: source training images must not be shown
    std::vector<std::string> warnings;  ///< what the user should read, once
};

/// Compare `dataset` (full splits as read) with what a run recorded, reordering its splits into
/// the run's order where the same images come in another order. Throws ConfigError when the
/// test split differs (unless allowed). `found`: the dataset's fingerprint with per-image hashes
/// when the caller already made it (else it is made here).
DataCheck check_data(const RecordedData& recorded, data::Dataset& dataset, const DataCheckOptions& options,
                     const DataFingerprint* found = nullptr);

/// Resuming needs exactly the data the run was trained on, in the same order, and the same
/// training subset: ConfigError naming both fingerprints and what differs otherwise.
void check_resume_data(const DataFingerprint& recorded, const DataFingerprint& found, const std::string& run,
                       const std::string& data);

/// The split reordered so that image i is `order[i]` of `split` (index becomes 0..n-1).
data::Split reorder_split(const data::Split& split, const std::vector<int64_t>& order);

}  // namespace vhmn
