#include "datasets/readers/reader_util.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <zlib.h>

#include "core/error.h"

namespace vhmn::data::detail {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() &&
           s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Bytes read_raw(const fs::path& path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (ec) throw FileError(path.string(), "cannot read: " + ec.message());
    std::ifstream in(path, std::ios::binary);
    if (!in) throw FileError(path.string(), std::string("cannot open: ") + std::strerror(errno));
    Bytes out(size);
    if (size > 0 && !in.read(reinterpret_cast<char*>(out.data()), std::streamsize(size)))
        throw FileError(path.string(),
                        "read error after " + std::to_string(in.gcount()) + " bytes");
    return out;
}

/// gunzip a whole file with zlib's gz* interface (handles multi-member streams).
Bytes read_gzip(const fs::path& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) throw FileError(path.string(), std::string("cannot open: ") + std::strerror(errno));
    // Closes the handle on every exit path; `fail` reports zlib's own message.
    struct Closer {
        gzFile f;
        ~Closer() {
            if (f) gzclose(f);
        }
    } closer{f};
    auto fail = [&](const std::string& what) {
        int errnum = Z_OK;
        std::string msg = gzerror(f, &errnum);
        const std::string prefix =
            path.string() + ": ";  // zlib prefixes its messages with the path
        if (msg.compare(0, prefix.size(), prefix) == 0) msg.erase(0, prefix.size());
        throw FileError(path.string(), what + (msg.empty() ? std::string() : ": " + msg));
    };
    gzbuffer(f, 1 << 17);
    if (gzdirect(f))
        throw FileError(path.string(), "is named .gz but is not gzip-compressed (or is empty)");
    Bytes out;
    std::vector<uint8_t> buf(1 << 20);
    for (;;) {
        const int n = gzread(f, buf.data(), unsigned(buf.size()));
        if (n < 0) fail("corrupt gzip data");
        if (n == 0) break;
        out.insert(out.end(), buf.begin(), buf.begin() + n);
    }
    int errnum = Z_OK;
    gzerror(f, &errnum);  // a truncated stream ends gzread with 0 and Z_BUF_ERROR
    if (errnum != Z_OK) fail("corrupt or truncated gzip data");
    closer.f = nullptr;
    if (gzclose(f) != Z_OK) throw FileError(path.string(), "corrupt or truncated gzip data");
    return out;
}

}  // namespace

Bytes read_file(const fs::path& path) {
    require_file(path, "file");
    return ends_with(path.filename().string(), ".gz") ? read_gzip(path) : read_raw(path);
}

void require_file(const fs::path& path, const std::string& what) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw FileError(path.string(), "missing " + what);
    if (!fs::is_regular_file(path, ec))
        throw FileError(path.string(), "is not a regular file (expected " + what + ")");
}

fs::path find_existing(const fs::path& dir, const std::vector<std::string>& names, bool gz) {
    std::error_code ec;
    for (const auto& name : names) {
        if (fs::is_regular_file(dir / name, ec)) return dir / name;
        if (gz && fs::is_regular_file(dir / (name + ".gz"), ec)) return dir / (name + ".gz");
    }
    return {};
}

fs::path find_required(const fs::path& dir, const std::vector<std::string>& names,
                       const std::string& format, bool gz) {
    auto found = find_existing(dir, names, gz);
    if (found.empty())
        throw FileError(
            (dir / names.front()).string(),
            "missing " + format + " file " + join(names, " / ") + (gz ? " (raw or .gz)" : ""));
    return found;
}

fs::path official_subdir(const fs::path& dir, const std::string& sub) {
    std::error_code ec;
    return fs::is_directory(dir / sub, ec) ? dir / sub : dir;
}

void check_records(const fs::path& path, size_t size, size_t record) {
    if (size == 0) throw FileError(path.string(), "is empty");
    if (size % record != 0)
        throw FileError(path.string(), "truncated: " + std::to_string(size) +
                                           " bytes is not a multiple of the " +
                                           std::to_string(record) + "-byte record (" +
                                           std::to_string(size / record) + " whole records and " +
                                           std::to_string(size % record) + " bytes)");
}

uint32_t be32(const uint8_t* p) {
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | uint32_t(p[3]);
}
uint32_t le32(const uint8_t* p) {
    return uint32_t(p[3]) << 24 | uint32_t(p[2]) << 16 | uint32_t(p[1]) << 8 | uint32_t(p[0]);
}
uint16_t le16(const uint8_t* p) {
    return uint16_t(p[0] | p[1] << 8);
}

std::string hex32(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08X", v);
    return buf;
}

std::string whole(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
}

void check_labels(const fs::path& path, const torch::Tensor& labels, int64_t classes) {
    auto bad = ((labels < 0) | (labels >= classes)).nonzero();  // [K, 1]
    if (bad.size(0) == 0) return;
    const int64_t at = bad[0][0].item<int64_t>();
    throw FileError(
        path.string(),
        "label " + std::to_string(labels[at].item<int64_t>()) + " of item " + std::to_string(at) +
            " is out of range [0, " + std::to_string(classes) + ")" +
            (bad.size(0) > 1 ? " (" + std::to_string(bad.size(0)) + " bad labels)" : ""));
}

std::vector<std::string> read_names(const fs::path& path, size_t expected,
                                    std::vector<std::string> fallback) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return fallback;
    const Bytes bytes = read_file(path);
    std::istringstream in(std::string(bytes.begin(), bytes.end()));
    std::vector<std::string> names;
    for (std::string line; std::getline(in, line);) {
        const auto b = line.find_first_not_of(" \t\r");
        if (b == std::string::npos) continue;
        const auto e = line.find_last_not_of(" \t\r");
        names.push_back(line.substr(b, e - b + 1));
    }
    if (names.size() != expected)
        throw FileError(path.string(), "holds " + std::to_string(names.size()) +
                                           " class names, expected " + std::to_string(expected));
    return names;
}

std::vector<std::string> numbered_names(int64_t n) {
    std::vector<std::string> names;
    for (int64_t i = 0; i < n; ++i) names.push_back(std::to_string(i));
    return names;
}

Split make_split(torch::Tensor images, torch::Tensor labels) {
    const int64_t n = labels.size(0);
    return {images.contiguous(), labels.to(torch::kInt64).contiguous(),
            torch::arange(n, torch::kInt64)};
}

void validate(const LoadOptions& opt) {
    if (opt.channels != 0 && opt.channels != 1 && opt.channels != 3)
        throw ConfigError("--channels must be 0 (native), 1 or 3, got " +
                          std::to_string(opt.channels));
    if (opt.image_size < 0)
        throw ConfigError("--image-size must be 0 (native) or positive, got " +
                          std::to_string(opt.image_size));
}

namespace {

constexpr int64_t kChunk = 2048;  // images converted at once (bounded float memory)

/// images [N, C, H, W] uint8 -> [N, channels, H, W] uint8.
torch::Tensor convert_channels(const torch::Tensor& images, int64_t channels) {
    const int64_t c = images.size(1);
    if (channels == 0 || channels == c) return images;
    if (c == 1 && channels == 3) return images.expand({-1, 3, -1, -1}).contiguous();
    if (c == 3 && channels == 1) {
        auto out = torch::empty({images.size(0), 1, images.size(2), images.size(3)}, torch::kUInt8);
        const auto w = torch::tensor({0.299f, 0.587f, 0.114f}).view({1, 3, 1, 1});
        for (int64_t i = 0; i < images.size(0); i += kChunk) {
            auto x = images.slice(0, i, i + kChunk).to(torch::kFloat);  // [B, 3, H, W]
            out.slice(0, i, i + kChunk).copy_((x * w).sum(1, true).round().clamp(0, 255));
        }
        return out;
    }
    throw ConfigError("cannot convert " + std::to_string(c) + "-channel images to " +
                      std::to_string(channels) + " channels");
}

/// images [N, C, H, W] uint8 -> [N, C, size, size] uint8.
torch::Tensor resize(const torch::Tensor& images, int64_t size) {
    const int64_t h = images.size(2), w = images.size(3);
    if (size == 0 || (size == h && size == w)) return images;
    namespace F = torch::nn::functional;
    auto opts = F::InterpolateFuncOptions().size(std::vector<int64_t>{size, size});
    if (size <= h && size <= w)
        opts.mode(torch::kArea);
    else
        opts.mode(torch::kBilinear).align_corners(false);
    auto out = torch::empty({images.size(0), images.size(1), size, size}, torch::kUInt8);
    for (int64_t i = 0; i < images.size(0); i += kChunk) {
        auto x = images.slice(0, i, i + kChunk).to(torch::kFloat);  // [B, C, H, W]
        out.slice(0, i, i + kChunk).copy_(F::interpolate(x, opts).round().clamp(0, 255));
    }
    return out;
}

void adapt(Split& s, const LoadOptions& opt) {
    if (!s.images.defined()) return;
    s.images = resize(convert_channels(s.images, opt.channels), opt.image_size).contiguous();
}

}  // namespace

void adapt(Dataset& ds, const LoadOptions& opt) {
    validate(opt);
    adapt(ds.train, opt);
    adapt(ds.test, opt);
}

std::string folder_name(const fs::path& dir) {
    auto p = dir.lexically_normal();
    if (p.filename().empty()) p = p.parent_path();  // "a/b/" -> "a/b"
    if (p.filename() == "." || p.empty()) p = fs::absolute(p).lexically_normal();
    if (p.filename().empty()) p = p.parent_path();
    return p.filename().string();
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) out += (i ? sep : "") + items[i];
    return out;
}

}  // namespace vhmn::data::detail
