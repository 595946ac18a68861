#pragma once
// Readers for real image-classification datasets on disk. No Qt.
//
// Formats (the official release layouts):
//   "cifar10-bin"   cifar-10-batches-bin/: data_batch_1..5.bin, test_batch.bin, batches.meta.txt
//   "cifar100-bin"  cifar-100-binary/: train.bin, test.bin, fine/coarse_label_names.txt
//   "idx"           MNIST / Fashion-MNIST: {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]
//   "svhn-mat"      SVHN cropped digits: train_32x32.mat, test_32x32.mat (MATLAB level 5, v6/v7)
//   "image-folder"  train/<class>/<image>, test/<class>/<image> (any format OpenCV decodes)
//   "builtin"       the procedural set of procedural.h (no files); "builtin-small" a 16×16 quick set
//
// Every split comes back as images [N, C, H, W] uint8 (contiguous), labels [N] int64 and
// index = arange(N) int64, in the order of the files (image folders: classes in sorted folder-name
// order, each class's files in sorted file-name order).
//
// Errors: bad input never crashes. A missing, truncated or corrupt file, a wrong magic number,
// an out-of-range label, an undecodable image... is a vhmn::FileError naming the exact file and
// the problem; nonsense LoadOptions are a vhmn::ConfigError.
#include <string>

#include "core/data.h"

namespace vhmn::data {

struct LoadOptions {
    /// 0: keep the native size. Otherwise every image becomes image_size x image_size:
    ///  - image folders: per image with OpenCV while decoding (INTER_AREA when shrinking,
    ///    INTER_LINEAR otherwise), so folders of mixed sizes can be read;
    ///  - every other format: after decoding, with torch interpolation over the whole split
    ///    (mode "area" when shrinking, "bilinear" with align_corners=false when enlarging),
    ///    rounded back to uint8.
    int64_t image_size = 0;
    /// 0: native (image folders: the channel count of the first image, 1 for grayscale and 3
    /// otherwise, alpha dropped). 1 or 3: convert gray<->RGB for every format (RGB->gray with
    /// the ITU-R BT.601 weights 0.299, 0.587, 0.114, as OpenCV).
    int64_t channels = 0;
    /// CIFAR-100: use the 20 coarse labels instead of the 100 fine ones.
    bool cifar100_coarse = false;
};

/// Format of the dataset at `path` (see the list above), or "builtin" for the path "builtin".
/// `path` is the folder holding the files, or its parent holding the official sub-folder
/// (cifar-10-batches-bin, cifar-100-binary). FileError(path, ...) when the path is missing or
/// nothing is recognised (the message lists what was looked for).
std::string detect_format(const std::string& path);

/// "builtin" -> make_procedural() (then LoadOptions applied); otherwise detect the format and read.
/// Dataset::path is the folder the files were read from.
Dataset load_dataset(const std::string& path, const LoadOptions& opt = {});

/// The readers proper, at the native size and channel count (load_dataset applies LoadOptions).
/// `dir` may also be the parent of the official sub-folder.
Dataset read_cifar10_bin(const std::string& dir);
Dataset read_cifar100_bin(const std::string& dir, bool coarse);
Dataset read_idx(const std::string& dir);
Dataset read_svhn_mat(const std::string& dir);  // mat_reader.cpp
/// Applies `opt` itself while decoding (image_folder.cpp). Needs OpenCV (VHMN_WITH_OPENCV):
/// without it, a FileError saying so.
Dataset read_image_folder(const std::string& dir, const LoadOptions& opt);

}  // namespace vhmn::data
