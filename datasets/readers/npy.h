#pragma once
// NumPy .npy files (read v1.0/2.0/3.0, write v1.0) and the released CIFAR-10-C / CIFAR-100-C
// layout (Hendrycks & Dietterich 2019) built on them. libtorch only, no Qt.
//
// Errors: a missing, truncated or malformed file is a vhmn::FileError naming the file and the
// problem ("path: problem"); nonsense arguments (row ranges, severities) are a vhmn::ConfigError.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace vhmn::data {

struct NpyHeader {
    std::string descr;  // e.g. "|u1", "<i8"
    bool fortran_order = false;
    std::vector<int64_t> shape;
    int64_t data_offset = 0;  // bytes before the data
    int64_t item_size()
        const;              // from descr (1 for |u1, 8 for <i8 ...); 0 when descr is not understood
    int64_t count() const;  // product of shape (1 for ())
};

/// "(2, 3)", "(5,)", "()": a shape as Python prints a tuple (used in headers and messages).
std::string npy_shape_text(const std::vector<int64_t>& shape);

/// The header of a .npy file. FileError for a missing file, bad magic, unsupported version,
/// unparseable header, unknown dtype, or a file shorter than offset + count * item_size bytes.
/// fortran_order is reported, not rejected (the readers below reject it).
NpyHeader read_npy_header(const std::string& path);
/// Whole array as a tensor of the matching dtype: |u1 -> kUInt8, |i1 -> kInt8, <i2/<i4/<i8 ->
/// kInt16/32/64, <u2/<u4/<u8 -> kInt64 (FileError if a u8 value exceeds int64), <f2/<f4/<f8 ->
/// kHalf/kFloat/kDouble, |b1 -> kBool. Big-endian ('>') descr: FileError.
torch::Tensor read_npy(const std::string& path);
/// Rows [begin, end) of the first axis only (seeks; the rest of the file is not read).
/// ConfigError when not 0 <= begin <= end <= shape[0]; FileError for a 0-d array.
torch::Tensor read_npy_rows(const std::string& path, int64_t begin, int64_t end);
/// Write a tensor (uint8, int8, bool, int16, int32, int64, half, float, double; any device or
/// layout: it is copied to a contiguous CPU tensor) as .npy v1.0, atomically.
void write_npy(const std::string& path, const torch::Tensor& t);

/// The released CIFAR-10-C layout: a folder with one `<corruption>.npy` per corruption, uint8
/// [5·n, H, W, C] (severities 1..5 stacked in order, each block the same n test images), and
/// `labels.npy` with n or 5·n integer labels (the release has 5·n uint8; when 5·n, the five
/// blocks must be equal, else FileError). Any n >= 1 is accepted so a slice of the release works
/// (n = 10,000 in the release, H = W = 32, C = 3).
struct ReleasedCorruptions {
    std::string dir;
    int64_t per_severity = 0;  // n
    int64_t height = 0, width = 0, channels = 0;
    std::vector<std::string>
        corruptions;       // names of the <name>.npy files present (sorted; labels.npy excluded)
    torch::Tensor labels;  // int64 [n]
};
/// Opens a folder: FileError naming the folder when it is missing, has no labels.npy ("missing
/// labels.npy") or no <corruption>.npy; naming the file when one is malformed. Checks every
/// <name>.npy header (not the data): dtype |u1, 4-D, first axis 5·n, the same H, W, C in all
/// files (C 1 or 3). n comes from the first file in sorted order.
ReleasedCorruptions open_released_corruptions(const std::string& dir);
/// The images of one corruption at one severity (1..5) as uint8 [count, H, W, C]: images
/// [begin, begin+count) of that block (count -1: to the end). FileError on the folder for an
/// unknown corruption name (lists the ones present); ConfigError for a severity outside 1..5 or a
/// range outside the block.
torch::Tensor read_released(const ReleasedCorruptions& set, const std::string& corruption,
                            int severity, int64_t begin = 0, int64_t count = -1);
/// Write one corruption's file `<dir>/<corruption>.npy` in that layout: `blocks` are 5 uint8
/// [n, H, W, C] tensors of equal shape (severity 1..5). ConfigError for anything else.
void write_released(const std::string& dir, const std::string& corruption,
                    const std::vector<torch::Tensor>& blocks);
/// `<dir>/labels.npy` as the release writes it: 5·n uint8 (the n labels repeated five times).
/// `labels`: 1-D integer tensor [n] with values in 0..255 (ConfigError otherwise).
void write_released_labels(const std::string& dir, const torch::Tensor& labels);

}  // namespace vhmn::data
