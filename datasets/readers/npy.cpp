// NumPy .npy format (NEP 1, numpy/lib/format.py), as read and written here:
//   6 bytes    magic "\x93NUMPY"
//   2 bytes    version major, minor: 1.0 -> 2-byte header length; 2.0, 3.0 -> 4-byte (3.0: utf-8)
//   2|4 bytes  HLEN, little-endian
//   HLEN bytes a Python dict literal: {'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }
//              padded with spaces and ended by '\n' so that magic..dict is a multiple of 64 bytes
//              (16 in old files; any length is accepted when reading)
//   data       count(shape) * item_size bytes in C order (fortran_order True is rejected)
// Only little-endian (or one-byte) dtypes are read; the host must be little-endian.
#include "datasets/readers/npy.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <utility>

#include "core/io/atomic_file.h"
#include "core/error.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the .npy code assumes a little-endian host");

namespace vhmn::data {
namespace fs = std::filesystem;

namespace {

const char kMagic[] = "\x93NUMPY";  // 6 bytes

/// The descr without its byte-order character: "u1" for "|u1", "f4" for "<f4".
std::string descr_body(const std::string& descr) {
    return !descr.empty() && std::strchr("<>|=", descr[0]) ? descr.substr(1) : descr;
}

/// The dtypes read and written, and the tensor type their bytes are read into: |b1 is read as
/// uint8 then compared with 0, <u2/<u4/<u8 as int16/32/64 then widened to int64 (writing takes the
/// first row whose type matches, so int64 is written as <i8).
const std::pair<const char*, torch::ScalarType> kDtypes[] = {
    {"u1", torch::kUInt8},  {"i1", torch::kInt8},  {"b1", torch::kBool},  {"i2", torch::kInt16},
    {"i4", torch::kInt32},  {"i8", torch::kInt64}, {"f2", torch::kHalf},  {"f4", torch::kFloat},
    {"f8", torch::kDouble}, {"u2", torch::kInt16}, {"u4", torch::kInt32}, {"u8", torch::kInt64}};

/// Parses the header dict as numpy writes it: the keys 'descr' (a string), 'fortran_order'
/// (True/False) and 'shape' (a tuple of integers, an old 'L' suffix allowed), in any order, with
/// any spacing and an optional trailing comma. Throws std::runtime_error.
class HeaderParser {
public:
    explicit HeaderParser(const std::string& s) : s_(s) {}

    NpyHeader parse() {
        NpyHeader h;
        std::set<std::string> seen;
        expect('{');
        while (!eat('}')) {
            const std::string key = string();
            expect(':');
            if (key == "descr")
                h.descr = string();
            else if (key == "fortran_order")
                h.fortran_order = boolean();
            else if (key == "shape")
                h.shape = tuple();
            else
                fail("unexpected key '" + key + "'");
            seen.insert(key);
            if (!eat(',')) {
                expect('}');
                break;
            }
        }
        skip_ws();
        if (i_ != s_.size()) fail("unexpected text after the dict");
        for (const char* key : {"descr", "fortran_order", "shape"})
            if (!seen.count(key))
                throw std::runtime_error(std::string("missing key '") + key + "'");
        return h;
    }

private:
    const std::string& s_;
    size_t i_ = 0;

    [[noreturn]] void fail(const std::string& what) const {
        throw std::runtime_error(what + " at character " + std::to_string(i_));
    }
    void skip_ws() {
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    bool eat(char c) {
        skip_ws();
        return i_ < s_.size() && s_[i_] == c ? (++i_, true) : false;
    }
    void expect(char c) {
        if (!eat(c)) fail(std::string("expected '") + c + "'");
    }
    std::string string() {
        skip_ws();
        const char q = i_ < s_.size() ? s_[i_] : '\0';
        if (q != '\'' && q != '"') fail("expected a string");
        const size_t end = s_.find(q, i_ + 1);
        if (end == std::string::npos) fail("unterminated string");
        std::string out = s_.substr(i_ + 1, end - i_ - 1);
        i_ = end + 1;
        return out;
    }
    bool boolean() {
        skip_ws();
        for (const char* word : {"True", "False"})
            if (s_.compare(i_, std::strlen(word), word) == 0) {
                i_ += std::strlen(word);
                return word[0] == 'T';
            }
        fail("expected True or False");
    }
    std::vector<int64_t> tuple() {
        std::vector<int64_t> out;
        expect('(');
        while (!eat(')')) {
            skip_ws();
            if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_])))
                fail("expected a dimension (an integer >= 0)");
            int64_t v = 0;
            for (; i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])); ++i_)
                if (__builtin_mul_overflow(v, 10, &v) ||
                    __builtin_add_overflow(v, s_[i_] - '0', &v))
                    fail("dimension too large");
            if (i_ < s_.size() && (s_[i_] == 'L' || s_[i_] == 'l')) ++i_;
            out.push_back(v);
            if (!eat(',')) {
                expect(')');
                break;
            }
        }
        return out;
    }
};

/// `rows` rows of the first axis from row `first` on (a 0-d array: its single value).
torch::Tensor read_rows(const std::string& path, const NpyHeader& h, int64_t first, int64_t rows) {
    if (h.fortran_order)
        throw FileError(path, "fortran_order True is not supported (save the array in C order)");
    const std::string body = descr_body(h.descr);
    if (h.descr[0] == '>' && h.item_size() > 1)
        throw FileError(path, "big-endian arrays are not supported (dtype '" + h.descr + "')");
    const auto* dt = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                  [&](const auto& d) { return body == d.first; });
    if (dt == std::end(kDtypes)) throw FileError(path, "unsupported dtype '" + h.descr + "'");

    std::vector<int64_t> shape = h.shape;
    int64_t row_elems = 1;
    for (size_t d = 1; d < shape.size(); ++d) row_elems *= shape[d];
    if (!shape.empty()) shape[0] = rows;
    const auto type = dt->second == torch::kBool ? torch::kUInt8 : dt->second;
    torch::Tensor t = torch::empty(shape, torch::dtype(type));
    const int64_t bytes = t.numel() * h.item_size();
    std::ifstream in(path, std::ios::binary);
    in.seekg(h.data_offset + first * row_elems * h.item_size());
    if (bytes > 0 && !in.read(static_cast<char*>(t.data_ptr()), bytes))
        throw FileError(path, "truncated: the data could not be read");

    if (body == "b1") return t.ne(0);
    if (body == "u2" || body == "u4")
        return t.to(torch::kInt64).bitwise_and(int64_t(body == "u2" ? 0xFFFF : 0xFFFFFFFF));
    if (body == "u8" && t.numel() > 0 && t.lt(0).any().item<bool>()) {
        const int64_t k = t.flatten().lt(0).nonzero()[0].item<int64_t>();
        throw FileError(
            path, "uint64 value " + std::to_string(uint64_t(t.flatten()[k].item<int64_t>())) +
                      " at index " + std::to_string(first * row_elems + k) + " does not fit int64");
    }
    return t;
}

/// One .npy v1.0 file whose data is the chunks' bytes one after the other (tensors of `descr`).
void write_chunks(const std::string& path, const std::string& descr,
                  const std::vector<int64_t>& shape, const std::vector<torch::Tensor>& chunks) {
    std::string dict = "{'descr': '" + descr +
                       "', 'fortran_order': False, 'shape': " + npy_shape_text(shape) + ", }";
    dict += std::string((64 - (10 + dict.size() + 1) % 64) % 64, ' ') + '\n';
    std::string header = std::string(kMagic, 6) + '\x01' + '\0';
    header += char(dict.size() & 0xff);
    header += char(dict.size() >> 8);
    write_atomically(path, [&](const std::string& tmp) {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw FileError(tmp, "cannot open for writing");
        out << header << dict;
        for (const auto& c : chunks) {
            const torch::Tensor t = c.cpu().contiguous();
            out.write(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
        }
        out.flush();
        if (!out) throw FileError(tmp, "write failed (disk full?)");
    });
}

}  // namespace

int64_t NpyHeader::item_size() const {
    const std::string body = descr_body(descr);
    if (body.size() < 2 || body.size() > 6 || !body[0] || !std::strchr("biufcSUV", body[0]))
        return 0;
    int64_t size = 0;
    for (size_t j = 1; j < body.size(); ++j) {
        if (!std::isdigit(static_cast<unsigned char>(body[j]))) return 0;
        size = size * 10 + (body[j] - '0');
    }
    return body[0] == 'U' ? 4 * size : size;  // 'U': UCS-4 characters
}

int64_t NpyHeader::count() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

std::string npy_shape_text(const std::vector<int64_t>& shape) {
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + (shape.size() == 1 ? ",)" : ")");
}

NpyHeader read_npy_header(const std::string& path) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) throw FileError(path, "no such file");
    const auto size = static_cast<int64_t>(fs::file_size(path, ec));
    std::ifstream in(path, std::ios::binary);
    if (!in || ec) throw FileError(path, "cannot open for reading");
    unsigned char pre[12] = {};
    if (!in.read(reinterpret_cast<char*>(pre), 8) || std::memcmp(pre, kMagic, 6) != 0)
        throw FileError(path, "not a .npy file (bad magic: expected \\x93NUMPY)");
    if (pre[6] < 1 || pre[6] > 3)
        throw FileError(path, "unsupported .npy version " + std::to_string(pre[6]) + "." +
                                  std::to_string(pre[7]) + " (1.0, 2.0 and 3.0 are read)");
    const int len_bytes = pre[6] == 1 ? 2 : 4;
    if (!in.read(reinterpret_cast<char*>(pre + 8), len_bytes))
        throw FileError(path, "truncated: the file ends inside the header length");
    int64_t offset = 0;
    for (int b = len_bytes - 1; b >= 0; --b) offset = offset * 256 + pre[8 + b];
    offset += 8 + len_bytes;
    if (offset > size)
        throw FileError(path, "truncated: the header promises " + std::to_string(offset) +
                                  " header bytes, the file holds " + std::to_string(size));
    std::string text(static_cast<size_t>(offset - 8 - len_bytes), '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    NpyHeader h;
    try {
        h = HeaderParser(text).parse();
    } catch (const std::runtime_error& e) {
        throw FileError(path, std::string("unparseable .npy header: ") + e.what());
    }
    h.data_offset = offset;
    int64_t data = h.item_size();
    if (data <= 0) throw FileError(path, "unsupported dtype '" + h.descr + "'");
    for (int64_t d : h.shape)
        if (__builtin_mul_overflow(data, d, &data))
            throw FileError(path, "unparseable .npy header: shape " + npy_shape_text(h.shape) +
                                      " is too large");
    if (size - offset < data)
        throw FileError(path, "truncated: the header promises " + std::to_string(offset + data) +
                                  " bytes (" + std::to_string(offset) + "-byte header + " +
                                  std::to_string(data) + " data bytes), the file holds " +
                                  std::to_string(size));
    return h;
}

torch::Tensor read_npy(const std::string& path) {
    const NpyHeader h = read_npy_header(path);
    return read_rows(path, h, 0, h.shape.empty() ? 1 : h.shape[0]);
}

torch::Tensor read_npy_rows(const std::string& path, int64_t begin, int64_t end) {
    const NpyHeader h = read_npy_header(path);
    if (h.shape.empty()) throw FileError(path, "a 0-d array has no rows");
    if (begin < 0 || begin > end || end > h.shape[0])
        throw ConfigError(path + ": rows [" + std::to_string(begin) + ", " + std::to_string(end) +
                          ") outside the first axis [0, " + std::to_string(h.shape[0]) + ")");
    return read_rows(path, h, begin, end - begin);
}

void write_npy(const std::string& path, const torch::Tensor& t) {
    const auto* dt = std::find_if(std::begin(kDtypes), std::end(kDtypes),
                                  [&](const auto& d) { return t.scalar_type() == d.second; });
    if (dt == std::end(kDtypes))
        throw FileError(
            path, std::string("cannot write dtype ") + c10::toString(t.scalar_type()) + " as .npy");
    write_chunks(path, (t.element_size() == 1 ? "|" : "<") + std::string(dt->first),
                 t.sizes().vec(), {t});
}

// ---------------------------------------------------------------- the released CIFAR-10-C layout
namespace {

/// Checks one <corruption>.npy header against the layout and, when given, against `ref`'s shape.
NpyHeader check_images(const std::string& path, const NpyHeader* ref, const std::string& ref_what) {
    const NpyHeader h = read_npy_header(path);
    const std::string shape = "wrong shape " + npy_shape_text(h.shape);
    if (descr_body(h.descr) != "u1")
        throw FileError(path, "wrong dtype '" + h.descr + "', expected '|u1' (uint8 images)");
    if (h.fortran_order) throw FileError(path, "fortran_order True is not supported");
    if (h.shape.size() != 4) throw FileError(path, shape + ", expected 4-D (5*n, H, W, C)");
    if (h.shape[0] == 0 || h.shape[0] % 5 != 0)
        throw FileError(path, shape + ": first axis " + std::to_string(h.shape[0]) +
                                  " is not a positive multiple of 5 (5 severities * n images)");
    if (h.shape[3] != 1 && h.shape[3] != 3)
        throw FileError(path,
                        shape + ": " + std::to_string(h.shape[3]) + " channels, expected 1 or 3");
    if (ref && h.shape != ref->shape)
        throw FileError(path, shape + ", expected " + npy_shape_text(ref->shape) + " " + ref_what);
    return h;
}

}  // namespace

ReleasedCorruptions open_released_corruptions(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) throw FileError(dir, "no such folder");
    const std::string lp = (fs::path(dir) / "labels.npy").string();
    if (!fs::exists(lp, ec)) throw FileError(dir, "missing labels.npy");
    ReleasedCorruptions set;
    set.dir = dir;
    for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_regular_file(ec) && e.path().extension() == ".npy" &&
            e.path().filename() != "labels.npy")
            set.corruptions.push_back(e.path().stem().string());
    std::sort(set.corruptions.begin(), set.corruptions.end());
    if (set.corruptions.empty()) throw FileError(dir, "no <corruption>.npy besides labels.npy");

    NpyHeader ref;
    for (size_t i = 0; i < set.corruptions.size(); ++i) {
        const std::string path = (fs::path(dir) / (set.corruptions[i] + ".npy")).string();
        const NpyHeader h =
            check_images(path, i ? &ref : nullptr, "as in " + set.corruptions[0] + ".npy");
        if (i == 0) ref = h;
    }
    const int64_t n = ref.shape[0] / 5;
    set.per_severity = n;
    set.height = ref.shape[1], set.width = ref.shape[2], set.channels = ref.shape[3];

    const torch::Tensor raw = read_npy(lp);
    if (!c10::isIntegralType(raw.scalar_type(), /*includeBool=*/false))
        throw FileError(lp, "wrong dtype '" + read_npy_header(lp).descr +
                                "', expected an integer dtype such as '|u1' or '<i8'");
    if (raw.dim() != 1 || (raw.size(0) != n && raw.size(0) != 5 * n))
        throw FileError(lp, "wrong shape " + npy_shape_text(raw.sizes().vec()) + ", expected (" +
                                std::to_string(n) + ",) or (" + std::to_string(5 * n) +
                                ",): the images hold n = " + std::to_string(n) + " per severity");
    const torch::Tensor labels = raw.to(torch::kInt64);
    for (int64_t s = 1; s < labels.size(0) / n; ++s) {
        const torch::Tensor diff = labels.slice(0, s * n, (s + 1) * n).ne(labels.slice(0, 0, n));
        if (diff.any().item<bool>()) {
            const int64_t k = diff.nonzero()[0][0].item<int64_t>();
            throw FileError(lp, "the 5 severity blocks of labels differ: label " +
                                    std::to_string(k) + " is " +
                                    std::to_string(labels[s * n + k].item<int64_t>()) +
                                    " in block " + std::to_string(s + 1) + " but " +
                                    std::to_string(labels[k].item<int64_t>()) + " in block 1");
        }
    }
    if (labels.lt(0).any().item<bool>()) throw FileError(lp, "negative label");
    set.labels = labels.slice(0, 0, n).clone();
    return set;
}

torch::Tensor read_released(const ReleasedCorruptions& set, const std::string& corruption,
                            int severity, int64_t begin, int64_t count) {
    const auto& names = set.corruptions;
    if (std::find(names.begin(), names.end(), corruption) == names.end()) {
        std::string present;
        for (const auto& c : names) present += (present.empty() ? "" : ", ") + c;
        throw FileError(set.dir,
                        "unknown corruption '" + corruption + "' (present: " + present + ")");
    }
    if (severity < 1 || severity > 5)
        throw ConfigError("severity " + std::to_string(severity) + " outside 1..5 (corruption '" +
                          corruption + "' in " + set.dir + ")");
    const int64_t n = set.per_severity;
    if (count == -1) count = n - begin;
    if (begin < 0 || begin > n || count < 0 || count > n - begin)
        throw ConfigError("images [" + std::to_string(begin) + ", " +
                          std::to_string(begin + count) + ") outside [0, " + std::to_string(n) +
                          ") of a severity in " + set.dir);
    const std::string path = (fs::path(set.dir) / (corruption + ".npy")).string();
    NpyHeader ref;
    ref.shape = {5 * n, set.height, set.width, set.channels};
    check_images(path, &ref, "as when the folder was opened");
    const int64_t first = (severity - 1) * n + begin;
    return read_npy_rows(path, first, first + count);
}

void write_released(const std::string& dir, const std::string& corruption,
                    const std::vector<torch::Tensor>& blocks) {
    if (corruption.empty() || corruption == "labels" ||
        corruption.find_first_of("/\\") != std::string::npos)
        throw ConfigError("write_released: bad corruption name '" + corruption + "'");
    if (blocks.size() != 5)
        throw ConfigError("write_released: expected 5 blocks (severities 1..5), got " +
                          std::to_string(blocks.size()));
    for (const auto& b : blocks)
        if (b.scalar_type() != torch::kUInt8 || b.dim() != 4 || b.sizes() != blocks[0].sizes() ||
            b.size(0) < 1)
            throw ConfigError("write_released: the blocks must be uint8 [n, H, W, C] of one shape");
    std::vector<int64_t> shape = blocks[0].sizes().vec();
    shape[0] *= 5;
    write_chunks((fs::path(dir) / (corruption + ".npy")).string(), "|u1", shape, blocks);
}

void write_released_labels(const std::string& dir, const torch::Tensor& labels) {
    if (labels.dim() != 1 || labels.numel() < 1 ||
        !c10::isIntegralType(labels.scalar_type(), false) || labels.lt(0).any().item<bool>() ||
        labels.gt(255).any().item<bool>())
        throw ConfigError("write_released_labels: expected 1-D integer labels in 0..255");
    write_npy((fs::path(dir) / "labels.npy").string(), labels.to(torch::kUInt8).repeat({5}));
}

}  // namespace vhmn::data
