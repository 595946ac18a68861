#include "datasets/readers/fingerprint_cache.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/io/atomic_file.h"

namespace vhmn::data {
namespace fs = std::filesystem;
namespace {

/// Hash of the path, the options and (relative path, size, mtime) of every file under it.
uint64_t cache_key(const std::string& path, const LoadOptions& opt) {
    std::error_code ec;
    const fs::path root = fs::weakly_canonical(path, ec);
    std::string text = "vhmn-fingerprint-1\n" + (ec ? path : root.string()) + "\n" + std::to_string(opt.image_size) +
                       " " + std::to_string(opt.channels) + " " + std::to_string(int(opt.cifar100_coarse)) + "\n";
    std::vector<std::string> entries;
    if (fs::is_directory(root, ec)) {
        for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
             !ec && it != end; it.increment(ec)) {
            std::error_code fe;
            if (!it->is_regular_file(fe)) continue;
            const auto size = it->file_size(fe);
            const auto mtime = it->last_write_time(fe).time_since_epoch().count();
            entries.push_back(fs::relative(it->path(), root, fe).string() + " " + std::to_string(size) + " " +
                              std::to_string(mtime));
        }
    }
    std::sort(entries.begin(), entries.end());
    for (const auto& e : entries) text += e + "\n";
    return image_hash(reinterpret_cast<const uint8_t*>(text.data()), int64_t(text.size()), 0);
}

}  // namespace

std::string fingerprint_cache_dir() {
    if (const char* d = std::getenv("VHMN_CACHE_DIR"); d && *d) return (fs::path(d) / "fingerprints").string();
    if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return (fs::path(d) / "vhmn" / "fingerprints").string();
    if (const char* h = std::getenv("HOME"); h && *h) return (fs::path(h) / ".cache" / "vhmn" / "fingerprints").string();
    return (fs::temp_directory_path() / "vhmn-fingerprints").string();
}

DatasetFingerprint dataset_fingerprint(const std::string& path, const LoadOptions& opt, bool use_cache) {
    const bool builtin = path.rfind("builtin", 0) == 0;  // made in memory: nothing to key a cache on
    std::string entry;
    if (use_cache && !builtin) {
        entry = (fs::path(fingerprint_cache_dir()) / (hex64(cache_key(path, opt)) + ".json")).string();
        try {
            const auto j = nlohmann::json::parse(read_text_file(entry));
            DatasetFingerprint f;
            f.name = j.at("name").get<std::string>(), f.format = j.at("format").get<std::string>();
            f.path = j.at("path").get<std::string>();
            f.train = j.at("train").get<SplitFingerprint>(), f.test = j.at("test").get<SplitFingerprint>();
            f.cached = true;
            return f;
        } catch (const std::exception&) {
            // No entry yet, or an unreadable one: compute it again.
        }
    }
    const auto t0 = std::chrono::steady_clock::now();
    const Dataset ds = load_dataset(path, opt);
    DatasetFingerprint f;
    f.name = ds.name, f.format = ds.format, f.path = ds.path;
    const auto t1 = std::chrono::steady_clock::now();
    f.train = fingerprint_split(ds.train), f.test = fingerprint_split(ds.test);
    const auto t2 = std::chrono::steady_clock::now();
    f.seconds = std::chrono::duration<double>(t2 - t0).count();
    f.hash_seconds = std::chrono::duration<double>(t2 - t1).count();
    if (!entry.empty()) {
        try {
            std::error_code ec;
            fs::create_directories(fs::path(entry).parent_path(), ec);
            nlohmann::json j = {{"name", f.name}, {"format", f.format}, {"path", f.path}, {"train", f.train},
                                {"test", f.test}};
            write_text_atomically(entry, j.dump(2));
        } catch (const std::exception&) {
            // A read-only home or a full disk must not stop the work: the cache is an optimisation.
        }
    }
    return f;
}

}  // namespace vhmn::data
