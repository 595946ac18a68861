#pragma once
// Decoded image-folder splits, cached on disk. Reading CIFAR-10 as 60,000 JPEG files costs about
// 3 s of opening and decoding on 2 cores, every time a run is opened or probed; the decoded pixels
// (uint8, 184 MB for CIFAR-10) read back in a fraction of that. An entry is keyed by the split
// folder, the image geometry and (path, size, mtime) of every file: touching, adding or removing
// a file makes a new key. Entries live in $VHMN_CACHE_DIR/decoded, else $XDG_CACHE_HOME/vhmn/decoded,
// else ~/.cache/vhmn/decoded; splits larger than $VHMN_DECODED_CACHE_MB (default 2048) are not
// cached, and VHMN_DECODED_CACHE=off turns the cache off. An entry that cannot be read or
// written is ignored (never an error): the images are decoded as before.
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace vhmn::data {

/// The key of a split: its files (in reading order) and the geometry they are decoded to.
/// 0 when the cache is off or a file cannot be examined.
uint64_t decoded_cache_key(const std::vector<std::string>& files, int64_t channels, int64_t height, int64_t width);

/// Fill `images` ([N, C, H, W] uint8, contiguous, allocated by the caller) from the entry of `key`;
/// false (images untouched or partly written, to be decoded) when there is none or it is unusable.
bool read_decoded(uint64_t key, torch::Tensor& images);

/// Store `images` under `key` (atomically; too large or unwritable: nothing happens).
void write_decoded(uint64_t key, const torch::Tensor& images);

/// Where entries are written.
std::string decoded_cache_dir();

}  // namespace vhmn::data
