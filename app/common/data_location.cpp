#include "app/common/data_location.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/io/atomic_file.h"
#include "core/error.h"

namespace vhmn::app {
namespace fs = std::filesystem;

std::string saved_data_location(const std::string& run_dir) {
    const std::string file = (fs::path(run_dir) / kDataLocationFile).string();
    std::error_code ec;
    if (!fs::exists(file, ec)) return {};
    try {
        const auto j = nlohmann::json::parse(read_text_file(file));
        if (!j.is_object() || j.value("format", "") != "vhmn-data-location-1" || !j.contains("path"))
            throw FileError(file, "not a data location (expected \"format\": \"vhmn-data-location-1\" and \"path\")");
        return j.at("path").get<std::string>();
    } catch (const nlohmann::json::exception& e) {
        throw FileError(file, std::string("invalid JSON: ") + e.what());
    }
}

void save_data_location(const std::string& run_dir, const std::string& dataset_path, const DataFingerprint& recorded) {
    nlohmann::json j = {{"format", "vhmn-data-location-1"},
                        {"path", dataset_path},
                        {"train_content", hex64(recorded.train.content)},
                        {"test_content", hex64(recorded.test.content)}};
    write_text_atomically((fs::path(run_dir) / kDataLocationFile).string(), j.dump(2) + "\n");
}

std::vector<std::string> data_dirs_from_env() {
    std::vector<std::string> out;
    const char* env = std::getenv("VHMN_DATA_DIR");
    if (!env || !*env) return out;
    std::stringstream ss(env);
    for (std::string part; std::getline(ss, part, ':');)
        if (!part.empty()) out.push_back(part);
    return out;
}

bool is_dataset(const std::string& path) {
    try {
        data::detect_format(path);
        return true;
    } catch (const std::exception&) {
        return false;
    }
}

std::vector<std::string> candidate_datasets(const std::vector<std::string>& places) {
    std::vector<std::string> out;
    auto add = [&](const std::string& p) {
        if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
    };
    for (const auto& place : places) {
        if (is_dataset(place)) {
            add(place);
            continue;
        }
        std::error_code ec;
        if (!fs::is_directory(place, ec)) continue;
        std::vector<std::string> subs;
        for (fs::directory_iterator it(place, ec), end; !ec && it != end; it.increment(ec))
            if (it->is_directory(ec)) subs.push_back(it->path().string());
        std::sort(subs.begin(), subs.end());
        for (const auto& s : subs)
            if (is_dataset(s)) add(s);
    }
    return out;
}

std::optional<LocatedDataset> locate_dataset(const DataFingerprint& recorded, const std::vector<std::string>& candidates,
                                             const data::LoadOptions& opt, int* searched) {
    std::optional<LocatedDataset> reordered;
    int n = 0;
    for (const auto& path : candidates) {
        LocatedDataset l;
        l.path = path;
        try {
            l.found = data::dataset_fingerprint(path, opt);
        } catch (const std::exception&) {
            continue;  // unreadable, or not readable with the run's image size/channels
        }
        ++n;
        l.train = compare_fingerprints(recorded.train, l.found.train);
        l.test = compare_fingerprints(recorded.test, l.found.test);
        if (l.train.match == FingerprintMatch::Different || l.test.match == FingerprintMatch::Different) continue;
        if (l.train.match == FingerprintMatch::Same && l.test.match == FingerprintMatch::Same) {
            if (searched) *searched = n;
            return l;
        }
        if (!reordered) reordered = l;
    }
    if (searched) *searched = n;
    return reordered;
}

}  // namespace vhmn::app
