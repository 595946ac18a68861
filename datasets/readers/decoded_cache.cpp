#include "datasets/readers/decoded_cache.h"

#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/io/atomic_file.h"
#include "core/io/fingerprint.h"
#include "datasets/readers/fingerprint_cache.h"

namespace vhmn::data {
namespace fs = std::filesystem;
namespace {

constexpr char kMagic[8] = {'V', 'H', 'M', 'N', 'I', 'M', 'G', '1'};

bool cache_on() {
    const char* v = std::getenv("VHMN_DECODED_CACHE");
    return !(v && std::strcmp(v, "off") == 0);
}

int64_t max_bytes() {
    const char* v = std::getenv("VHMN_DECODED_CACHE_MB");
    const double mb = v ? std::atof(v) : 2048.0;
    return int64_t(mb * 1024.0 * 1024.0);
}

std::string entry_path(uint64_t key) { return (fs::path(decoded_cache_dir()) / (hex64(key) + ".u8")).string(); }

/// The header: magic, then N, C, H, W as int64.
struct Header {
    char magic[8];
    int64_t n, c, h, w;
};

}  // namespace

std::string decoded_cache_dir() { return (fs::path(fingerprint_cache_dir()).parent_path() / "decoded").string(); }

uint64_t decoded_cache_key(const std::vector<std::string>& files, int64_t channels, int64_t height, int64_t width) {
    if (!cache_on() || files.empty()) return 0;
    std::string text = "vhmn-decoded-1 " + std::to_string(channels) + " " + std::to_string(height) + " " +
                       std::to_string(width) + "\n";
    text.reserve(files.size() * (files.front().size() + 32));
    for (const auto& f : files) {
        struct stat st {};
        if (::stat(f.c_str(), &st) != 0) return 0;
        text += f + " " + std::to_string(st.st_size) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
                std::to_string(st.st_mtim.tv_nsec) + "\n";
    }
    const uint64_t key = image_hash(reinterpret_cast<const uint8_t*>(text.data()), int64_t(text.size()), 0);
    return key == 0 ? 1 : key;
}

bool read_decoded(uint64_t key, torch::Tensor& images) {
    if (key == 0) return false;
    std::ifstream in(entry_path(key), std::ios::binary);
    if (!in) return false;
    Header h{};
    in.read(reinterpret_cast<char*>(&h), sizeof h);
    if (!in || std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.n != images.size(0) || h.c != images.size(1) ||
        h.h != images.size(2) || h.w != images.size(3))
        return false;
    in.read(reinterpret_cast<char*>(images.data_ptr<uint8_t>()), std::streamsize(images.numel()));
    if (!in || in.gcount() != std::streamsize(images.numel())) return false;
    return in.peek() == std::char_traits<char>::eof();  // a longer file is not this entry
}

void write_decoded(uint64_t key, const torch::Tensor& images) {
    if (key == 0 || images.numel() > max_bytes()) return;
    try {
        std::error_code ec;
        fs::create_directories(decoded_cache_dir(), ec);
        const auto c = images.contiguous();
        write_atomically(entry_path(key), [&](const std::string& tmp) {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            Header h{};
            std::memcpy(h.magic, kMagic, sizeof kMagic);
            h.n = c.size(0), h.c = c.size(1), h.h = c.size(2), h.w = c.size(3);
            out.write(reinterpret_cast<const char*>(&h), sizeof h);
            out.write(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), std::streamsize(c.numel()));
            out.close();
            if (!out) throw std::runtime_error("write failed");
        });
    } catch (const std::exception&) {
        // A full disk or a read-only cache: the next reading decodes again.
    }
}

}  // namespace vhmn::data
