#pragma once
// Fingerprints of datasets on disk (core/io/fingerprint.h), cached so that finding a run's
// dataset among many stays fast. A cache entry is keyed by the dataset's path, the load options
// and the size and modification time of every file under it: touching a file invalidates it.
// The cache lives in $VHMN_CACHE_DIR/fingerprints, else $XDG_CACHE_HOME/vhmn/fingerprints, else
// ~/.cache/vhmn/fingerprints; a cache that cannot be read or written is ignored (never an error).
#include <string>

#include "core/io/fingerprint.h"
#include "datasets/readers/readers.h"

namespace vhmn::data {

struct DatasetFingerprint {
    std::string name, format, path;  ///< as the reader reports them
    SplitFingerprint train, test;    ///< full splits as read (no per-image hashes)
    bool cached = false;             ///< read from the cache (nothing was decoded)
    double seconds = 0;              ///< time to read and hash (0 when cached)
    double hash_seconds = 0;         ///< of which hashing the decoded images
};

/// Fingerprint of the dataset at `path` read with `opt` (errors as load_dataset).
DatasetFingerprint dataset_fingerprint(const std::string& path, const LoadOptions& opt = {}, bool use_cache = true);

/// Where cache entries are written.
std::string fingerprint_cache_dir();

}  // namespace vhmn::data
