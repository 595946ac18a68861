#pragma once
// Runs that travel (issue 16): a run copied to another machine finds its dataset by fingerprint
// among the datasets this machine knows, and can be re-pointed to it. The new location is saved
// in the run folder (data_location.json), never by editing the run's config.json. No Qt.
#include <optional>
#include <string>
#include <vector>

#include "core/io/fingerprint.h"
#include "datasets/readers/fingerprint_cache.h"

namespace vhmn::app {

inline constexpr const char* kDataLocationFile = "data_location.json";

/// The dataset path saved for a run by save_data_location, or "" when none (FileError naming
/// the file when it is unreadable).
std::string saved_data_location(const std::string& run_dir);

/// Re-point a run to `dataset_path` (atomically writes <run_dir>/data_location.json).
void save_data_location(const std::string& run_dir, const std::string& dataset_path, const DataFingerprint& recorded);

/// Folders named by $VHMN_DATA_DIR (':'-separated), as the app's --data-dir.
std::vector<std::string> data_dirs_from_env();

/// True when `path` holds a dataset a reader recognises ("builtin" included).
bool is_dataset(const std::string& path);

/// Datasets under `places`: each place that is a dataset itself, else its sub-folders that are
/// (in name order); duplicates dropped.
std::vector<std::string> candidate_datasets(const std::vector<std::string>& places);

struct LocatedDataset {
    std::string path;                ///< the candidate as given
    data::DatasetFingerprint found;  ///< its fingerprint
    FingerprintComparison train, test;
};

/// The first candidate whose training and test splits hold the run's images (in the same order
/// preferred over another order); nullopt when none does. Candidates that cannot be read are
/// skipped. `searched` (optional) receives how many candidates were fingerprinted.
std::optional<LocatedDataset> locate_dataset(const DataFingerprint& recorded, const std::vector<std::string>& candidates,
                                             const data::LoadOptions& opt, int* searched = nullptr);

}  // namespace vhmn::app
