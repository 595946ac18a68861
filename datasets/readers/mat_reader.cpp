// SVHN reader: MATLAB level-5 MAT files (MATLAB -v6 plain, -v7 zlib-compressed variables).
//
// Layout (MathWorks, "MAT-File Format"): a 128-byte header (116 bytes of text, 8 bytes of
// subsystem offset, version 0x0100 at bytes 124-125, endian indicator "IM" at 126-127 for a
// little-endian file), then data elements. Each element has an 8-byte tag (type, byte count) and
// its data padded to 8 bytes, or, when the upper 16 bits of the first tag word are non-zero, the
// "small element" format: count in the upper 16 bits, type in the lower 16, data (up to 4 bytes)
// in the second word. A top-level element is miMATRIX (14) or miCOMPRESSED (15: a zlib stream
// holding one miMATRIX). A numeric miMATRIX holds the subelements array flags (class in the low
// byte), dimensions (int32), array name (int8), real part (any numeric type) [, imaginary part].
//
// SVHN needs X: 32x32x3xN uint8 in column-major order (index = h + 32*(w + 32*(c + 3*n))) and
// y: Nx1 (usually double) with label 10 meaning the digit 0.
#include <algorithm>
#include <climits>
#include <cstring>
#include <optional>

#include <zlib.h>

#include "core/error.h"
#include "datasets/readers/reader_util.h"

namespace vhmn::data {

using namespace detail;

namespace {

// Data types (mi*) and array classes (mx*) used here.
enum : uint32_t {
    miINT8 = 1,
    miUINT8 = 2,
    miINT16 = 3,
    miUINT16 = 4,
    miINT32 = 5,
    miUINT32 = 6,
    miSINGLE = 7,
    miDOUBLE = 9,
    miINT64 = 12,
    miUINT64 = 13,
    miMATRIX = 14,
    miCOMPRESSED = 15,
};
constexpr int mxDOUBLE_CLASS = 6, mxUINT64_CLASS = 15;  // numeric classes are 6..15
constexpr uint32_t kComplexFlag = 0x0800;

/// One data element inside a buffer.
struct Element {
    uint32_t type = 0;
    const uint8_t* data = nullptr;
    size_t size = 0;  ///< bytes of data
    size_t next = 0;  ///< offset of the following element
};

/// The element whose tag starts at `pos` in buf[0, end). `pad`: data padded to 8 bytes (every
/// element except top-level ones, which follow each other directly).
Element element_at(const fs::path& path, const uint8_t* buf, size_t end, size_t pos, bool pad) {
    if (end < pos + 8)
        throw FileError(path.string(), "truncated: data element at byte " + std::to_string(pos) +
                                           " has no full tag");
    Element e;
    const uint32_t word = le32(buf + pos);
    if (word >> 16) {  // small element: count in the upper 16 bits, data in the second word
        e.type = word & 0xFFFF;
        e.size = word >> 16;
        if (e.size > 4)
            throw FileError(path.string(), "corrupt small data element at byte " +
                                               std::to_string(pos) + " (" + std::to_string(e.size) +
                                               " bytes)");
        e.data = buf + pos + 4;
        e.next = pos + 8;
        return e;
    }
    e.type = word;
    e.size = le32(buf + pos + 4);
    if (e.size > end - pos - 8)
        throw FileError(path.string(), "truncated: data element at byte " + std::to_string(pos) +
                                           " announces " + std::to_string(e.size) + " bytes, " +
                                           std::to_string(end - pos - 8) + " remain");
    e.data = buf + pos + 8;
    e.next = pos + 8 + (pad ? (e.size + 7) / 8 * 8 : e.size);
    e.next = std::min(e.next, end);
    return e;
}

/// Inflate the zlib stream of a miCOMPRESSED element (at byte `at` of the file).
Bytes inflate_element(const fs::path& path, const Element& e, size_t at) {
    const std::string where = "compressed variable at byte " + std::to_string(at);
    if (e.size > UINT_MAX) throw FileError(path.string(), where + " is too large (over 4 GiB)");
    z_stream zs{};
    if (inflateInit(&zs) != Z_OK) throw FileError(path.string(), "zlib initialisation failed");
    zs.next_in = const_cast<Bytef*>(e.data);
    zs.avail_in = uInt(e.size);
    Bytes out(std::clamp<size_t>(e.size * 2, 64, size_t(1) << 20));  // grown below
    size_t produced = 0;
    bool sized = false;  // out already grown to the size announced by the inner miMATRIX tag
    for (;;) {
        if (produced == out.size())  // (once sized, only the stream's end can still be missing)
            out.resize(sized ? out.size() + out.size() / 4 + 65536 : out.size() * 2);
        zs.next_out = out.data() + produced;
        zs.avail_out = uInt(std::min<size_t>(out.size() - produced, UINT_MAX));
        const int ret = inflate(&zs, Z_NO_FLUSH);
        produced = size_t(zs.next_out - out.data());
        if (ret == Z_STREAM_END) break;
        if (ret != Z_OK && !(ret == Z_BUF_ERROR && zs.avail_out == 0)) {
            const std::string msg =
                zs.msg ? zs.msg : (zs.avail_in == 0 ? "unexpected end of data" : "zlib error");
            inflateEnd(&zs);
            throw FileError(path.string(), "corrupt " + where + ": " + msg);
        }
        if (!sized && produced >= 8) {  // allocate the announced size at once (bounded: deflate
            sized = true;               // expands at most ~1032:1)
            const size_t announced = 8 + size_t(le32(out.data() + 4));
            if (announced > out.size() && announced <= e.size * 1100 + 1024) out.resize(announced);
        }
    }
    inflateEnd(&zs);
    out.resize(produced);
    return out;
}

/// A numeric variable parsed from a miMATRIX element (pointers into the element's buffer).
struct MatVar {
    std::string name;
    int mx_class = 0;
    bool numeric = false;
    std::vector<int64_t> dims;  ///< MATLAB (column-major) dimensions
    Element real;               ///< real part, when numeric
};

MatVar parse_matrix(const fs::path& path, const Element& m) {
    const uint8_t* buf = m.data;
    const size_t end = m.size;
    MatVar v;
    if (end == 0) return v;  // an empty matrix
    const Element flags = element_at(path, buf, end, 0, true);
    if (flags.type != miUINT32 || flags.size != 8)
        throw FileError(path.string(), "corrupt matrix: array flags subelement missing");
    const uint32_t flag_word = le32(flags.data);
    v.mx_class = int(flag_word & 0xFF);
    const Element dims = element_at(path, buf, end, flags.next, true);
    if (dims.type != miINT32 || dims.size % 4 != 0)
        throw FileError(path.string(), "corrupt matrix: dimensions subelement missing");
    for (size_t i = 0; i < dims.size; i += 4)
        v.dims.push_back(int64_t(int32_t(le32(dims.data + i))));
    const Element name = element_at(path, buf, end, dims.next, true);
    v.name.assign(reinterpret_cast<const char*>(name.data), name.size);
    v.numeric =
        v.mx_class >= mxDOUBLE_CLASS && v.mx_class <= mxUINT64_CLASS && !(flag_word & kComplexFlag);
    if (v.numeric) v.real = element_at(path, buf, end, name.next, true);
    return v;
}

/// Values of a numeric element as a 1-D tensor of a matching torch type (unsigned 16/32/64-bit
/// are widened to int32/int64/int64, which torch 1.13 lacks).
torch::Tensor numeric_tensor(const fs::path& path, const Element& e, const std::string& var) {
    auto copy = [&](torch::ScalarType t, size_t width) {
        if (e.size % width)
            throw FileError(
                path.string(),
                "variable '" + var + "': data size is not a multiple of its element size");
        auto out = torch::empty({int64_t(e.size / width)}, t);
        if (e.size) std::memcpy(out.data_ptr(), e.data, e.size);
        return out;
    };
    auto widen = [&](auto tag, torch::ScalarType t) {
        using U = decltype(tag);
        if (e.size % sizeof(U))
            throw FileError(
                path.string(),
                "variable '" + var + "': data size is not a multiple of its element size");
        auto out = torch::empty({int64_t(e.size / sizeof(U))}, t);
        for (int64_t i = 0; i < out.size(0); ++i) {
            U u;
            std::memcpy(&u, e.data + i * sizeof(U), sizeof(U));
            if (t == torch::kInt)
                out.data_ptr<int32_t>()[i] = int32_t(u);
            else
                out.data_ptr<int64_t>()[i] = int64_t(std::min<uint64_t>(u, uint64_t(INT64_MAX)));
        }
        return out;
    };
    switch (e.type) {
        case miINT8:
            return copy(torch::kChar, 1);
        case miUINT8:
            return copy(torch::kByte, 1);
        case miINT16:
            return copy(torch::kShort, 2);
        case miINT32:
            return copy(torch::kInt, 4);
        case miINT64:
            return copy(torch::kLong, 8);
        case miSINGLE:
            return copy(torch::kFloat, 4);
        case miDOUBLE:
            return copy(torch::kDouble, 8);
        case miUINT16:
            return widen(uint16_t{}, torch::kInt);
        case miUINT32:
            return widen(uint32_t{}, torch::kLong);
        case miUINT64:
            return widen(uint64_t{}, torch::kLong);
        default:
            throw FileError(path.string(), "variable '" + var + "' has unsupported data type " +
                                               std::to_string(e.type));
    }
}

/// FileError unless every value of `t` is an integer in [lo, hi].
void check_integers(const fs::path& path, const torch::Tensor& t, double lo, double hi,
                    const std::string& var) {
    if (t.numel() == 0) return;
    auto d = t.to(torch::kDouble);
    const double mn = d.min().item<double>(), mx = d.max().item<double>();
    if (mn < lo || mx > hi || !torch::equal(d, d.round()))
        throw FileError(path.string(), "variable '" + var + "' holds values outside the integers " +
                                           std::to_string(int64_t(lo)) + ".." +
                                           std::to_string(int64_t(hi)) + " (min " + c10::str(mn) +
                                           ", max " + c10::str(mx) + ")");
}

/// "32x32x3x5".
std::string dims_text(const std::vector<int64_t>& dims) {
    std::vector<std::string> parts;
    for (auto d : dims) parts.push_back(std::to_string(d));
    return join(parts, "x");
}

/// FileError unless the 128-byte header is that of a little-endian level-5 MAT file.
void check_header(const fs::path& path, const Bytes& bytes) {
    if (bytes.size() < 128)
        throw FileError(path.string(), "truncated: shorter than the 128-byte MAT-file header");
    const std::string text(bytes.begin(), bytes.begin() + 10);
    if (text.rfind("MATLAB 7.3", 0) == 0 || le16(&bytes[124]) == 0x0200)
        throw FileError(path.string(),
                        "is a MAT v7.3 (HDF5) file, which is not supported; re-save it with -v7");
    if (bytes[126] == 'M' && bytes[127] == 'I')
        throw FileError(path.string(), "is a big-endian MAT file, which is not supported");
    if (bytes[126] != 'I' || bytes[127] != 'M')
        throw FileError(path.string(),
                        "is not a MATLAB level-5 MAT file (no 'IM' endian indicator at byte 126)");
}

/// One SVHN split: variables X [H, W, C, N] and y [N, 1] of one .mat file.
Split read_svhn_file(const fs::path& path, const std::string& what) {
    require_file(path, what);
    const Bytes bytes = read_file(path);
    check_header(path, bytes);
    std::optional<std::vector<int64_t>> x_dims;  // MATLAB dimensions of X
    torch::Tensor x, y;                          // values of X and y (1-D, column-major)
    // Keep X and y, copying their values out before the (possibly inflated) buffer goes away.
    auto take = [&](const MatVar& v) {
        if (v.name != "X" && v.name != "y") return;
        if (!v.numeric)
            throw FileError(path.string(), "variable '" + v.name +
                                               "' is not a real numeric array (class " +
                                               std::to_string(v.mx_class) + ")");
        if (v.name == "X") x_dims = v.dims;
        (v.name == "X" ? x : y) = numeric_tensor(path, v.real, v.name);
    };
    for (size_t pos = 128; pos + 8 <= bytes.size();) {
        const Element e = element_at(path, bytes.data(), bytes.size(), pos, /*pad=*/false);
        if (e.type == miCOMPRESSED) {
            const Bytes inner = inflate_element(path, e, pos);
            const Element m = element_at(path, inner.data(), inner.size(), 0, false);
            if (m.type == miMATRIX) take(parse_matrix(path, m));
        } else if (e.type == miMATRIX) {
            take(parse_matrix(path, e));
        }
        pos = e.next;
    }
    if (!x.defined()) throw FileError(path.string(), "has no variable 'X' (the images)");
    if (!y.defined()) throw FileError(path.string(), "has no variable 'y' (the labels)");

    // X: MATLAB dims H x W x C x N (a trailing N = 1 may be dropped).
    auto dims = *x_dims;
    if (dims.size() == 3) dims.push_back(1);
    if (dims.size() != 4 || (dims[2] != 1 && dims[2] != 3) || dims[0] <= 0 || dims[1] <= 0 ||
        dims[3] < 0)
        throw FileError(
            path.string(),
            "variable 'X' should be H x W x C x N with C = 1 or 3, found " + dims_text(*x_dims));
    const int64_t h = dims[0], w = dims[1], c = dims[2], n = dims[3];
    const double announced = double(h) * double(w) * double(c) * double(n);  // no int overflow
    if (double(x.numel()) != announced)
        throw FileError(path.string(), "variable 'X' holds " + std::to_string(x.numel()) +
                                           " values, its dimensions " + dims_text(*x_dims) +
                                           " say " + whole(announced));
    if (x.scalar_type() != torch::kByte) check_integers(path, x, 0, 255, "X");
    // Column-major (h fastest) = row-major [N, C, W, H]; swap the last two -> [N, C, H, W].
    auto images = x.to(torch::kByte).view({n, c, w, h}).transpose(2, 3).contiguous();

    if (y.numel() != n)
        throw FileError(path.string(), "variable 'y' holds " + std::to_string(y.numel()) +
                                           " labels for " + std::to_string(n) + " images");
    check_integers(path, y, 0, 10, "y");
    auto labels = y.to(torch::kLong);      // [N]
    labels.masked_fill_(labels == 10, 0);  // SVHN: label 10 is the digit 0
    return make_split(images, labels);
}

}  // namespace

Dataset read_svhn_mat(const std::string& path) {
    const fs::path dir(path);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw FileError(dir.string(), "no such folder");
    Dataset ds;
    ds.name = "svhn";
    ds.format = "svhn-mat";
    ds.path = dir.string();
    ds.train = read_svhn_file(dir / "train_32x32.mat", "SVHN training file");
    ds.test = read_svhn_file(dir / "test_32x32.mat", "SVHN test file");
    if (ds.train.images.sizes().slice(1).vec() != ds.test.images.sizes().slice(1).vec())
        throw FileError(ds.path, "training and test images differ in size");
    ds.class_names = numbered_names(10);
    return ds;
}

}  // namespace vhmn::data
