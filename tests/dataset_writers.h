#pragma once
// Byte-level writers of the official dataset file layouts, for tests/datasets/test_datasets.cpp.
// Written from the format descriptions, independently of the reader code in datasets/.
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <zlib.h>

namespace vhmn::test::writers {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

inline void write_file(const fs::path& path, const Bytes& bytes) {
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

inline void write_text(const fs::path& path, const std::string& text) {
    write_file(path, Bytes(text.begin(), text.end()));
}

/// gzip with zlib's gz* interface.
inline void write_gz(const fs::path& path, const Bytes& bytes) {
    fs::create_directories(path.parent_path());
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), unsigned(bytes.size()));
    gzclose(f);
}

inline Bytes read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void put_be32(Bytes& b, uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
}
inline void put_le32(Bytes& b, uint32_t v) {
    for (int s = 0; s < 32; s += 8) b.push_back(uint8_t(v >> s));
}
inline void append(Bytes& b, const Bytes& more) {
    b.insert(b.end(), more.begin(), more.end());
}
inline void pad8(Bytes& b) {
    while (b.size() % 8) b.push_back(0);
}

// ------------------------------------------------------------------------------------- CIFAR

/// Pixel (c, h, w) of CIFAR test record n: position-dependent so plane / row / column mix-ups show.
inline uint8_t cifar_pixel(int64_t n, int64_t c, int64_t h, int64_t w) {
    return uint8_t((n * 31 + c * 83 + h * 7 + w * 13) % 256);
}

/// Records n = first .. first+count-1: the label bytes `labels(n)` then the R, G, B planes
/// (32 rows of 32 bytes each).
template <class LabelFn>
Bytes cifar_records(int64_t first, int64_t count, LabelFn labels) {
    Bytes b;
    for (int64_t n = first; n < first + count; ++n) {
        append(b, labels(n));
        for (int64_t c = 0; c < 3; ++c)
            for (int64_t h = 0; h < 32; ++h)
                for (int64_t w = 0; w < 32; ++w) b.push_back(cifar_pixel(n, c, h, w));
    }
    return b;
}

/// Expected images of records first .. first+count-1: [count, 3, 32, 32] uint8.
inline torch::Tensor cifar_expected(int64_t first, int64_t count) {
    auto t = torch::empty({count, 3, 32, 32}, torch::kUInt8);
    auto a = t.accessor<uint8_t, 4>();
    for (int64_t n = 0; n < count; ++n)
        for (int64_t c = 0; c < 3; ++c)
            for (int64_t h = 0; h < 32; ++h)
                for (int64_t w = 0; w < 32; ++w) a[n][c][h][w] = cifar_pixel(first + n, c, h, w);
    return t;
}

// --------------------------------------------------------------------------------------- IDX

/// An IDX file: big-endian magic, big-endian dimensions, then the bytes.
inline Bytes idx_file(uint32_t magic, const std::vector<uint32_t>& dims, const Bytes& data) {
    Bytes b;
    put_be32(b, magic);
    for (auto d : dims) put_be32(b, d);
    append(b, data);
    return b;
}

// ------------------------------------------------------------------------ MATLAB level-5 MAT

enum : uint32_t {
    miINT8 = 1,
    miUINT8 = 2,
    miINT32 = 5,
    miUINT32 = 6,
    miDOUBLE = 9,
    miMATRIX = 14,
    miCOMPRESSED = 15
};
enum : uint32_t { mxDOUBLE_CLASS = 6, mxUINT8_CLASS = 9 };

/// 128-byte header: descriptive text (116 bytes), subsystem offset (8), version 0x0100, "IM".
inline Bytes mat_header() {
    std::string text = "MATLAB 5.0 MAT-file, Platform: GLNXA64, Created by: vhmn tests";
    text.resize(116, ' ');
    Bytes b(text.begin(), text.end());
    b.resize(124, 0);
    b.push_back(0x00), b.push_back(0x01);  // version 0x0100, little-endian
    b.push_back('I'), b.push_back('M');
    return b;
}

/// A data element: tag (type, byte count) then data padded to 8 bytes.
inline Bytes mat_element(uint32_t type, const Bytes& data) {
    Bytes b;
    put_le32(b, type);
    put_le32(b, uint32_t(data.size()));
    append(b, data);
    pad8(b);
    return b;
}

/// A miMATRIX element of a real numeric array. The name uses the small-element format when it
/// fits in 4 bytes. `data` holds the real part encoded as `data_type`.
inline Bytes mat_matrix(const std::string& name, uint32_t mx_class,
                        const std::vector<int32_t>& dims, uint32_t data_type, const Bytes& data) {
    Bytes flags;
    put_le32(flags, mx_class);  // class in the low byte, no flags
    put_le32(flags, 0);         // nzmax
    Bytes dim_bytes;
    for (auto d : dims) put_le32(dim_bytes, uint32_t(d));
    Bytes body = mat_element(miUINT32, flags);
    append(body, mat_element(miINT32, dim_bytes));
    if (name.size() <= 4) {
        put_le32(body, uint32_t(name.size()) << 16 | miINT8);
        Bytes small(name.begin(), name.end());
        small.resize(4, 0);
        append(body, small);
    } else {
        append(body, mat_element(miINT8, Bytes(name.begin(), name.end())));
    }
    append(body, mat_element(data_type, data));
    return mat_element(miMATRIX, body);
}

/// A miCOMPRESSED element holding `element` deflated with zlib (no padding after it).
inline Bytes mat_compressed(const Bytes& element) {
    uLongf size = compressBound(uLong(element.size()));
    Bytes z(size);
    compress(z.data(), &size, element.data(), uLong(element.size()));
    z.resize(size);
    Bytes b;
    put_le32(b, miCOMPRESSED);
    put_le32(b, uint32_t(z.size()));
    append(b, z);
    return b;
}

inline Bytes doubles(const std::vector<double>& v) {
    Bytes b(v.size() * 8);
    std::memcpy(b.data(), v.data(), b.size());  // little-endian host (x86-64, aarch64)
    return b;
}

// ------------------------------------------------------------ fixtures used by test_datasets

/// The CIFAR-10 label of test record n.
inline Bytes cifar10_label(int64_t n) {
    return {uint8_t(n % 10)};
}

/// A CIFAR-10 binary folder: 5 training batches of 2 records (n = 0..9), a test batch of 3
/// (n = 100..102) and batches.meta.txt naming the classes c0..c9 (with blank lines, as the
/// release).
inline void write_cifar10(const fs::path& dir) {
    for (int b = 0; b < 5; ++b)
        write_file(dir / ("data_batch_" + std::to_string(b + 1) + ".bin"),
                   cifar_records(2 * b, 2, cifar10_label));
    write_file(dir / "test_batch.bin", cifar_records(100, 3, cifar10_label));
    std::string names;
    for (int c = 0; c < 10; ++c) names += "c" + std::to_string(c) + "\n";
    write_text(dir / "batches.meta.txt", names + "\n\n");
}

/// CIFAR-100 labels of record n: coarse n % 20, fine (7 n) % 100.
inline Bytes cifar100_labels(int64_t n) {
    return {uint8_t(n % 20), uint8_t((7 * n) % 100)};
}

/// IDX images of n items of h x w: value (i * 17 + y * 5 + x) % 256 (row-major).
inline Bytes idx_pixels(int64_t n, int64_t h, int64_t w) {
    Bytes b;
    for (int64_t i = 0; i < n; ++i)
        for (int64_t y = 0; y < h; ++y)
            for (int64_t x = 0; x < w; ++x) b.push_back(uint8_t((i * 17 + y * 5 + x) % 256));
    return b;
}

/// A MNIST-style IDX folder: 5 train and 3 test images of 3 x 4 pixels, labels i % 10.
inline void write_idx(const fs::path& dir, bool gz) {
    auto put = [&](const std::string& name, const Bytes& b) {
        gz ? write_gz(dir / (name + ".gz"), b) : write_file(dir / name, b);
    };
    for (auto [prefix, n] : {std::pair<std::string, uint32_t>{"train", 5}, {"t10k", 3}}) {
        Bytes labels;
        for (uint32_t i = 0; i < n; ++i)
            labels.push_back(uint8_t((i + (prefix == "t10k" ? 3 : 0)) % 10));
        put(prefix + "-images-idx3-ubyte", idx_file(0x00000803, {n, 3, 4}, idx_pixels(n, 3, 4)));
        put(prefix + "-labels-idx1-ubyte", idx_file(0x00000801, {n}, labels));
    }
}

// SVHN: X is H x W x C x N = 4 x 5 x 3 x N (non-square to catch h/w swaps), value svhn_pixel.
inline constexpr int64_t kSvhnH = 4, kSvhnW = 5;
inline uint8_t svhn_pixel(int64_t n, int64_t c, int64_t h, int64_t w) {
    return uint8_t((n * 60 + c * 20 + h * 5 + w) % 256);
}

/// One SVHN .mat file with images n = first .. first+count-1 and the given raw labels (1..10),
/// plus an unrelated variable "z" first. Plain miMATRIX elements, or all miCOMPRESSED (then y
/// is a double array stored as miUINT8, as MATLAB does for small integers).
inline Bytes svhn_file(int64_t first, const std::vector<double>& y, bool compressed) {
    const int64_t count = int64_t(y.size());
    Bytes x;  // column-major: h fastest, then w, c, n
    for (int64_t n = first; n < first + count; ++n)
        for (int64_t c = 0; c < 3; ++c)
            for (int64_t w = 0; w < kSvhnW; ++w)
                for (int64_t h = 0; h < kSvhnH; ++h) x.push_back(svhn_pixel(n, c, h, w));
    Bytes y_bytes = compressed ? Bytes(y.begin(), y.end()) : doubles(y);
    std::vector<Bytes> vars = {
        mat_matrix("z", mxDOUBLE_CLASS, {1, 1}, miDOUBLE, doubles({3.5})),
        mat_matrix("X", mxUINT8_CLASS, {int32_t(kSvhnH), int32_t(kSvhnW), 3, int32_t(count)},
                   miUINT8, x),
        mat_matrix("y", mxDOUBLE_CLASS, {int32_t(count), 1}, compressed ? miUINT8 : miDOUBLE,
                   y_bytes)};
    Bytes file = mat_header();
    for (const auto& v : vars) append(file, compressed ? mat_compressed(v) : v);
    return file;
}

inline torch::Tensor svhn_expected(int64_t first, int64_t count) {  // [count, 3, H, W]
    auto t = torch::empty({count, 3, kSvhnH, kSvhnW}, torch::kUInt8);
    auto a = t.accessor<uint8_t, 4>();
    for (int64_t n = 0; n < count; ++n)
        for (int64_t c = 0; c < 3; ++c)
            for (int64_t h = 0; h < kSvhnH; ++h)
                for (int64_t w = 0; w < kSvhnW; ++w) a[n][c][h][w] = svhn_pixel(first + n, c, h, w);
    return t;
}

}  // namespace vhmn::test::writers
