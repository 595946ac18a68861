#include "core/io/data_identity.h"

#include <stdexcept>

#include "core/error.h"

namespace vhmn {
namespace {

std::string found_vs(const SplitFingerprint& recorded, const SplitFingerprint& found) {
    return "recorded " + describe(recorded) + "; found " + describe(found);
}

/// Reorder `split` into the recorded order when the recorded per-image hashes allow it; false
/// (split untouched) otherwise.
bool map_into_recorded_order(const SplitFingerprint& recorded, const std::vector<uint64_t>& hashes,
                             const SplitFingerprint& found, data::Split& split) {
    if (hashes.size() != size_t(recorded.count)) return false;
    SplitFingerprint r = recorded;
    r.image_hashes = hashes;
    try {
        split = reorder_split(split, map_indices(r, found));
    } catch (const std::invalid_argument&) {
        return false;  // recorded hashes that do not match their own digest: do not trust them
    }
    return true;
}

}  // namespace

data::Split reorder_split(const data::Split& split, const std::vector<int64_t>& order) {
    if (int64_t(order.size()) != split.size())
        throw std::invalid_argument("reorder_split: " + std::to_string(order.size()) + " positions for " +
                                    std::to_string(split.size()) + " images");
    const auto idx = torch::tensor(order, torch::kLong).to(split.images.device());
    data::Split out;
    out.images = split.images.index_select(0, idx).contiguous();
    out.labels = split.labels.index_select(0, idx).contiguous();
    out.index = torch::arange(split.size(), torch::TensorOptions(torch::kLong).device(split.images.device()));
    return out;
}

DataCheck check_data(const RecordedData& rec, data::Dataset& ds, const DataCheckOptions& o,
                     const DataFingerprint* found) {
    DataCheck c;
    if (!rec.fingerprint) {
        c.warnings.push_back(o.run + " was trained before runs recorded their data's fingerprint: " + o.data +
                             " cannot be checked against it, so source images of stored memories are shown "
                             "unverified");
        return c;
    }
    c.recorded = true;
    const DataFingerprint& r = *rec.fingerprint;

    const DataFingerprint made = found ? DataFingerprint{} : fingerprint_data(ds.train, ds.test, ds.train, true);
    const SplitFingerprint& test = found ? found->test : made.test;
    const SplitFingerprint& train = found ? found->train : made.train;
    c.test = compare_fingerprints(r.test, test);
    if (c.test.match == FingerprintMatch::Different) {
        const std::string msg = "the test split of " + o.data + " is not the one " + o.run + " was trained with (" +
                                c.test.what + "): " + found_vs(r.test, test);
        if (!o.allow_other_test) throw ConfigError(msg + ". Give the dataset the run was trained on");
        c.other_test = true;
        c.warnings.push_back("EVALUATING ON OTHER DATA: " + msg + ". These are not the run's test figures");
    } else if (c.test.match == FingerprintMatch::Reordered) {
        c.test_mapped = map_into_recorded_order(r.test, rec.test_hashes, test, ds.test);
        c.warnings.push_back("the test images of " + o.data + " come in another order than at training; " +
                             (c.test_mapped ? "mapped by content hash, so test indices are the run's"
                                            : "the run has no per-image hashes to map them, so test indices are "
                                              "this dataset's own"));
    }

    c.train = compare_fingerprints(r.train, train);
    if (c.train.match == FingerprintMatch::Different) {
        c.provenance_refusal = "the training split of " + o.data + " is not the one " + o.run + " was trained on (" +
                               c.train.what + "): " + found_vs(r.train, train) +
                               ". Source images of stored memories are not shown: they would be the wrong pictures";
        c.warnings.push_back(c.provenance_refusal + " (predictions and accuracy are unaffected)");
    } else if (c.train.match == FingerprintMatch::Reordered) {
        c.train_mapped = map_into_recorded_order(r.train, rec.train_hashes, train, ds.train);
        if (c.train_mapped) {
            c.warnings.push_back("the training images of " + o.data +
                                 " come in another order than at training; mapped by content hash, so every "
                                 "stored memory shows its own source image");
        } else {
            c.provenance_refusal = "the training split of " + o.data + " holds the same images as the one " + o.run +
                                   " was trained on, in another order (" + found_vs(r.train, train) +
                                   "), and the run has no per-image hashes (run.h5 /dataset/train_image_hashes) to "
                                   "map them. Source images of stored memories are not shown";
            c.warnings.push_back(c.provenance_refusal);
        }
    }
    return c;
}

void check_resume_data(const DataFingerprint& r, const DataFingerprint& f, const std::string& run,
                       const std::string& data) {
    const std::string head = "--resume: " + data + " is not the data " + run + " was trained on: ";
    const auto train = compare_fingerprints(r.train, f.train);
    if (train.match != FingerprintMatch::Same)
        throw ConfigError(head + "training split " + train.what + " (" + found_vs(r.train, f.train) +
                          "); a resumed run must see the same images in the same order");
    const auto test = compare_fingerprints(r.test, f.test);
    if (test.match != FingerprintMatch::Same)
        throw ConfigError(head + "test split " + test.what + " (" + found_vs(r.test, f.test) + ")");
    if (r.subset != f.subset || r.subset_count != f.subset_count)
        throw ConfigError(head + "the training subset drawn from it differs (recorded " +
                          std::to_string(r.subset_count) + " images, indices " + hex64(r.subset) + "; now " +
                          std::to_string(f.subset_count) + ", indices " + hex64(f.subset) + ")");
}

}  // namespace vhmn
