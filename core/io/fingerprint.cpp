#include "core/io/fingerprint.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "core/data.h"
#include "core/error.h"

namespace vhmn {
namespace {

constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;

uint64_t mix(uint64_t x) {  // splitmix64 finaliser
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint64_t combine(uint64_t h, uint64_t v) { return mix(h ^ (v + kMul + (h << 6) + (h >> 2))); }

uint64_t parse_hex64(const nlohmann::json& j, const char* key) {
    const std::string s = j.at(key).get<std::string>();
    if (s.empty() || s.size() > 16 || s.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        throw ConfigError(std::string("fingerprint: \"") + key + "\" must be 16 hex digits, got \"" + s + "\"");
    return std::stoull(s, nullptr, 16);
}

}  // namespace

uint64_t image_hash(const uint8_t* p, int64_t bytes, int64_t label) {
    // Two independent lanes over 8-byte words, then the tail, the length and the label.
    uint64_t a = 0x243F6A8885A308D3ull, b = 0x13198A2E03707344ull;
    int64_t i = 0;
    for (; i + 16 <= bytes; i += 16) {
        uint64_t w0, w1;
        std::memcpy(&w0, p + i, 8);
        std::memcpy(&w1, p + i + 8, 8);
        a = (a ^ w0) * kMul;
        a ^= a >> 29;
        b = (b ^ w1) * 0xC2B2AE3D27D4EB4Full;
        b ^= b >> 31;
    }
    uint64_t tail = 0;
    for (int64_t k = 0; i < bytes; ++i, ++k) tail |= uint64_t(p[i]) << (8 * (k % 8));
    return mix(combine(combine(combine(a, b), tail ^ uint64_t(bytes)), uint64_t(label)));
}

SplitFingerprint fingerprint_split(const data::Split& split, bool keep) {
    SplitFingerprint f;
    f.count = split.size();
    if (f.count == 0) return f;
    if (split.images.scalar_type() != torch::kUInt8)
        throw ConfigError("fingerprint: images must be uint8, got " + std::string(c10::toString(split.images.scalar_type())));
    const auto images = split.images.contiguous().to(torch::kCPU);
    const auto labels = split.labels.contiguous().to(torch::kCPU, torch::kLong);
    for (int64_t d = 1; d < images.dim(); ++d) f.shape.push_back(images.size(d));
    const int64_t bytes = images.numel() / f.count;
    const uint8_t* px = images.data_ptr<uint8_t>();
    const int64_t* lb = labels.data_ptr<int64_t>();
    std::vector<uint64_t> h(size_t(f.count));
    at::parallel_for(0, f.count, 256, [&](int64_t s, int64_t e) {
        for (int64_t i = s; i < e; ++i) h[size_t(i)] = image_hash(px + i * bytes, bytes, lb[i]);
    });
    uint64_t ordered = mix(uint64_t(f.count));
    for (uint64_t v : h) ordered = combine(ordered, v);
    std::vector<uint64_t> sorted = h;
    std::sort(sorted.begin(), sorted.end());
    uint64_t content = mix(uint64_t(f.count) ^ 0x5851F42D4C957F2Dull);
    for (uint64_t v : sorted) content = combine(content, v);
    for (int64_t s : f.shape) ordered = combine(ordered, uint64_t(s)), content = combine(content, uint64_t(s));
    f.ordered = ordered, f.content = content;
    if (keep) f.image_hashes = std::move(h);
    return f;
}

FingerprintComparison compare_fingerprints(const SplitFingerprint& r, const SplitFingerprint& f) {
    auto shape = [](const std::vector<int64_t>& s) {
        std::string out;
        for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
        return out;
    };
    if (r.count != f.count)
        return {FingerprintMatch::Different, "count " + std::to_string(r.count) + " vs " + std::to_string(f.count)};
    if (r.shape != f.shape) return {FingerprintMatch::Different, "shape " + shape(r.shape) + " vs " + shape(f.shape)};
    if (r.content != f.content)
        return {FingerprintMatch::Different, "content " + hex64(r.content) + " vs " + hex64(f.content)};
    if (r.ordered != f.ordered) return {FingerprintMatch::Reordered, "same images in another order"};
    return {FingerprintMatch::Same, "same"};
}

std::vector<int64_t> map_indices(const SplitFingerprint& r, const SplitFingerprint& f) {
    if (r.image_hashes.size() != size_t(r.count) || f.image_hashes.size() != size_t(f.count))
        throw std::invalid_argument("map_indices: both fingerprints need their per-image hashes");
    // Duplicate images (same pixels and label) are interchangeable: take them in order.
    std::unordered_map<uint64_t, std::vector<int64_t>> where;
    for (int64_t i = int64_t(f.image_hashes.size()) - 1; i >= 0; --i) where[f.image_hashes[size_t(i)]].push_back(i);
    std::vector<int64_t> out(r.image_hashes.size());
    for (size_t i = 0; i < out.size(); ++i) {
        auto it = where.find(r.image_hashes[i]);
        if (it == where.end() || it->second.empty())
            throw std::invalid_argument("map_indices: image " + std::to_string(i) + " has no counterpart");
        out[i] = it->second.back();
        it->second.pop_back();
    }
    return out;
}

std::string hex64(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string describe(const SplitFingerprint& f) {
    std::string shape;
    for (size_t i = 0; i < f.shape.size(); ++i) shape += (i ? "x" : "") + std::to_string(f.shape[i]);
    return std::to_string(f.count) + " images " + (shape.empty() ? "-" : shape) + ", content " + hex64(f.content) +
           ", ordered " + hex64(f.ordered);
}

uint64_t hash_indices(const torch::Tensor& index) {
    const auto idx = index.to(torch::kCPU, torch::kLong).contiguous();
    const int64_t* p = idx.data_ptr<int64_t>();
    uint64_t h = mix(uint64_t(idx.numel()) ^ 0x2545F4914F6CDD1Dull);
    for (int64_t i = 0; i < idx.numel(); ++i) h = combine(h, uint64_t(p[i]));
    return h;
}

DataFingerprint fingerprint_data(const data::Split& full_train, const data::Split& test,
                                 const data::Split& train_subset, bool keep) {
    DataFingerprint f;
    f.train = fingerprint_split(full_train, keep);
    f.test = fingerprint_split(test, keep);
    f.subset_count = train_subset.size();
    f.subset = train_subset.index.defined() ? hash_indices(train_subset.index) : 0;
    return f;
}

void to_json(nlohmann::json& j, const SplitFingerprint& f) {
    j = {{"count", f.count}, {"shape", f.shape}, {"content", hex64(f.content)}, {"ordered", hex64(f.ordered)}};
}

void from_json(const nlohmann::json& j, SplitFingerprint& f) {
    f.count = j.at("count").get<int64_t>();
    f.shape = j.at("shape").get<std::vector<int64_t>>();
    f.content = parse_hex64(j, "content");
    f.ordered = parse_hex64(j, "ordered");
}

void to_json(nlohmann::json& j, const DataFingerprint& f) {
    j = {{"train", f.train}, {"test", f.test}, {"subset_indices", hex64(f.subset)}, {"subset_count", f.subset_count}};
}

void from_json(const nlohmann::json& j, DataFingerprint& f) {
    f.train = j.at("train").get<SplitFingerprint>();
    f.test = j.at("test").get<SplitFingerprint>();
    f.subset = parse_hex64(j, "subset_indices");
    f.subset_count = j.at("subset_count").get<int64_t>();
}

}  // namespace vhmn
