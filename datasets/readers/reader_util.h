#pragma once
// Helpers shared by the dataset readers (readers.cpp, mat_reader.cpp, image_folder.cpp). Internal
// to vhmn::datasets: not part of the public interface. No Qt.
//
// Every failure is a vhmn::FileError naming the exact file and the problem, or a vhmn::ConfigError
// for nonsense options; nothing here asserts or crashes on bad input.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/data.h"
#include "datasets/readers/readers.h"

namespace vhmn::data::detail {

namespace fs = std::filesystem;

using Bytes = std::vector<uint8_t>;

/// Whole contents of a file. A name ending in ".gz" is gunzipped (zlib gzopen/gzread).
/// FileError when the file is missing, unreadable, not gzip although named .gz, or corrupt.
Bytes read_file(const fs::path& path);

/// FileError "missing <what>" unless `path` is an existing regular file (symlinks followed).
void require_file(const fs::path& path, const std::string& what);

/// The first of `dir/<name>` for the names given that exists (each with and without ".gz" when
/// `gz` is true); empty path when none does.
fs::path find_existing(const fs::path& dir, const std::vector<std::string>& names, bool gz = false);

/// Like find_existing, but a FileError on `dir` naming the file(s) looked for when none exists.
fs::path find_required(const fs::path& dir, const std::vector<std::string>& names,
                       const std::string& format, bool gz = false);

/// `dir/sub` when that folder exists (official release layout: the parent of
/// cifar-10-batches-bin was given), else `dir`.
fs::path official_subdir(const fs::path& dir, const std::string& sub);

/// FileError unless `size` is a non-zero multiple of `record` bytes (a truncated file).
void check_records(const fs::path& path, size_t size, size_t record);

/// Big-endian / little-endian unsigned reads from a byte pointer (no alignment required).
uint32_t be32(const uint8_t* p);
uint32_t le32(const uint8_t* p);
uint16_t le16(const uint8_t* p);

/// "0x00000803".
std::string hex32(uint32_t v);

/// A whole number held in a double (sizes computed without integer overflow): "47040000".
std::string whole(double v);

/// FileError naming `path`, the first offending position and value when a label is outside
/// [0, classes). `labels`: [N] int64.
void check_labels(const fs::path& path, const torch::Tensor& labels, int64_t classes);

/// Class names read from a text file, one per line (empty lines and surrounding blanks skipped).
/// FileError when the file does not hold exactly `expected` names. Returns `fallback` when the
/// file does not exist.
std::vector<std::string> read_names(const fs::path& path, size_t expected,
                                    std::vector<std::string> fallback);

/// "0", "1", ..., "n-1".
std::vector<std::string> numbered_names(int64_t n);

/// A split with index = arange(N). images: [N, C, H, W] uint8 (made contiguous), labels: [N]
/// (converted to int64).
Split make_split(torch::Tensor images, torch::Tensor labels);

/// ConfigError for channels not in {0, 1, 3} or a negative image_size (named as the CLI flags).
void validate(const LoadOptions& opt);

/// Apply LoadOptions to a dataset decoded at its native size and channel count (every format but
/// image folders, which apply them per image while decoding): gray<->RGB conversion
/// (ITU-R BT.601 weights, as OpenCV) and resizing with torch interpolation (area when shrinking,
/// bilinear when enlarging), processed in chunks.
void adapt(Dataset& ds, const LoadOptions& opt);

/// Last component of a folder path, ignoring a trailing separator ("/data/cifar10/" -> "cifar10").
std::string folder_name(const fs::path& dir);

/// "a, b, c".
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

}  // namespace vhmn::data::detail
