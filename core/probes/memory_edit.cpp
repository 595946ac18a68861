#include "core/probes/memory_edit.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/io/atomic_file.h"
#include "core/error.h"

namespace vhmn {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFormat = "vhmn-edit-1";

std::string branch_text(Branch b) { return b == Branch::Local ? "local" : "global"; }

Branch branch_of(const json& v, const std::string& where) {
    if (v.is_string() && v.get<std::string>() == "local") return Branch::Local;
    if (v.is_string() && v.get<std::string>() == "global") return Branch::Global;
    throw ConfigError(where + ": branch must be \"local\" or \"global\", got " + v.dump());
}

int64_t integer(const json& v, const std::string& where) {
    if (!v.is_number_integer()) throw ConfigError(where + " must be an integer, got " + v.dump());
    return v.get<int64_t>();
}

std::vector<int64_t> integers(const json& j, const char* key, const std::string& where) {
    std::vector<int64_t> out;
    if (!j.contains(key)) return out;
    const auto& v = j.at(key);
    if (!v.is_array()) throw ConfigError(where + ": \"" + key + "\" must be a list of integers, got " + v.dump());
    for (const auto& e : v) out.push_back(integer(e, where + ": an entry of \"" + key + "\""));
    return out;
}

std::string text(const json& j, const char* key, const std::string& where, const std::string& fallback) {
    if (!j.contains(key)) return fallback;
    if (!j.at(key).is_string()) throw ConfigError(where + ": \"" + key + "\" must be a string");
    return j.at(key).get<std::string>();
}

bool in_scope(const MemoryEdit& e, int64_t block, Branch branch) {
    if (!e.blocks.empty() && std::find(e.blocks.begin(), e.blocks.end(), block) == e.blocks.end()) return false;
    return e.branch == "both" || e.branch == branch_text(branch);
}

torch::Tensor isin(const torch::Tensor& values, const std::vector<int64_t>& set) {
    if (set.empty()) return torch::zeros_like(values, torch::kBool);
    return torch::isin(values, torch::tensor(set, torch::kInt64).to(values.device()));
}

void check_slot_refs(VHMN& model, const MemoryEdit& edit) {
    const int64_t depth = model->config().depth;
    for (int64_t b : edit.blocks)
        if (b < 0 || b >= depth)
            throw ConfigError("edit '" + edit.name + "': block " + std::to_string(b) + " is outside [0, " +
                              std::to_string(depth) + ")");
    for (const auto& s : edit.slots) {
        if (s.block < 0 || s.block >= depth)
            throw ConfigError("edit '" + edit.name + "': slot selector names block " + std::to_string(s.block) +
                              ", outside [0, " + std::to_string(depth) + ")");
        const int64_t K = model->bank(s.block, s.branch)->slots();
        if (s.slot < 0 || s.slot >= K)
            throw ConfigError("edit '" + edit.name + "': slot " + std::to_string(s.slot) + " of block " +
                              std::to_string(s.block) + " " + branch_text(s.branch) + " is outside [0, " +
                              std::to_string(K) + ")");
    }
}

}  // namespace

json edit_to_json(const MemoryEdit& e) {
    json j;
    j["format"] = kFormat;
    j["name"] = e.name;
    if (!e.description.empty()) j["description"] = e.description;
    j["blocks"] = e.blocks;
    j["branch"] = e.branch;
    json slots = json::array();
    for (const auto& s : e.slots) slots.push_back({{"block", s.block}, {"branch", branch_text(s.branch)}, {"slot", s.slot}});
    j["slots"] = slots;
    j["sources"] = e.sources;
    j["classes"] = e.classes;
    if (e.steps) j["steps"] = {e.steps->first, e.steps->second};
    if (!e.data_fingerprint.empty()) j["data_fingerprint"] = e.data_fingerprint;
    if (!e.origin.empty()) j["origin"] = e.origin;
    return j;
}

MemoryEdit edit_from_json(const json& j, const std::string& where) {
    if (!j.is_object()) throw ConfigError(where + ": an edit must be a JSON object");
    if (!j.contains("format") || j.at("format") != kFormat)
        throw ConfigError(where + ": not a memory edit (\"format\" must be \"" + kFormat + "\")");
    static const std::vector<std::string> known{"format", "name", "description", "blocks", "branch", "slots",
                                                "sources", "classes", "steps", "data_fingerprint", "origin"};
    for (const auto& item : j.items())
        if (std::find(known.begin(), known.end(), item.key()) == known.end())
            throw ConfigError(where + ": unknown key \"" + item.key() + "\"");
    MemoryEdit e;
    e.name = text(j, "name", where, "");
    e.description = text(j, "description", where, "");
    e.branch = text(j, "branch", where, "both");
    if (e.branch != "local" && e.branch != "global" && e.branch != "both")
        throw ConfigError(where + ": \"branch\" must be \"local\", \"global\" or \"both\", got \"" + e.branch + "\"");
    e.blocks = integers(j, "blocks", where);
    e.sources = integers(j, "sources", where);
    e.classes = integers(j, "classes", where);
    if (j.contains("slots")) {
        const auto& v = j.at("slots");
        if (!v.is_array()) throw ConfigError(where + ": \"slots\" must be a list of {block, branch, slot}");
        for (const auto& s : v) {
            if (!s.is_object() || !s.contains("block") || !s.contains("branch") || !s.contains("slot"))
                throw ConfigError(where + ": every entry of \"slots\" needs block, branch and slot, got " + s.dump());
            e.slots.push_back({integer(s.at("block"), where + ": slots[].block"), branch_of(s.at("branch"), where),
                               integer(s.at("slot"), where + ": slots[].slot")});
        }
    }
    if (j.contains("steps")) {
        const auto steps = integers(j, "steps", where);
        if (steps.size() != 2 || steps[0] > steps[1])
            throw ConfigError(where + ": \"steps\" must be [first, last] with first <= last");
        e.steps = std::make_pair(steps[0], steps[1]);
    }
    e.data_fingerprint = text(j, "data_fingerprint", where, "");
    if (j.contains("origin")) e.origin = j.at("origin");
    return e;
}

torch::Tensor edit_mask(VHMN& model, const MemoryEdit& edit, int64_t block, Branch branch) {
    auto bank = model->bank(block, branch);
    const int64_t K = bank->slots();
    auto mask = torch::zeros({K}, torch::kBool);
    if (!in_scope(edit, block, branch)) return mask;
    auto acc = mask.accessor<bool, 1>();
    for (const auto& s : edit.slots)
        if (s.block == block && s.branch == branch) {
            if (s.slot < 0 || s.slot >= K)
                throw ConfigError("edit '" + edit.name + "': slot " + std::to_string(s.slot) + " is outside [0, " +
                                  std::to_string(K) + ")");
            acc[s.slot] = true;
        }
    const auto valid = bank->valid.to(torch::kCPU);
    auto picked = isin(bank->source.to(torch::kCPU), edit.sources).logical_or_(isin(bank->label.to(torch::kCPU), edit.classes));
    if (edit.steps) {
        const auto step = bank->step.to(torch::kCPU);
        picked.logical_or_(step.ge(edit.steps->first).logical_and(step.le(edit.steps->second)));
    }
    return mask.logical_or_(picked.logical_and_(valid));
}

int64_t apply_edit(VHMN& model, const MemoryEdit& edit, bool on_top) {
    check_slot_refs(model, edit);
    int64_t masked = 0;
    for (int64_t b = 0; b < model->config().depth; ++b)
        for (Branch br : {Branch::Local, Branch::Global}) {
            auto bank = model->bank(b, br);
            auto m = edit_mask(model, edit, b, br);
            if (on_top && bank->has_mask()) m.logical_or_(bank->mask().to(torch::kCPU));
            if (!m.any().item<bool>()) {
                bank->set_mask({});
                continue;
            }
            masked += m.logical_and(bank->valid.to(torch::kCPU)).sum().item<int64_t>();
            bank->set_mask(m);
        }
    return masked;
}

void clear_edit(VHMN& model) {
    for (int64_t b = 0; b < model->config().depth; ++b)
        for (Branch br : {Branch::Local, Branch::Global}) model->bank(b, br)->set_mask({});
}

MaskScope::MaskScope(VHMN model) : model_(std::move(model)) {
    for (int64_t b = 0; b < model_->config().depth; ++b)
        for (Branch br : {Branch::Local, Branch::Global}) saved_.push_back(model_->bank(b, br)->mask());
}

MaskScope::~MaskScope() {
    size_t i = 0;
    for (int64_t b = 0; b < model_->config().depth; ++b)
        for (Branch br : {Branch::Local, Branch::Global}) model_->bank(b, br)->set_mask(saved_[i++]);
}

const torch::Tensor& MaskScope::base(int64_t block, Branch branch) const {
    return saved_.at(bank_index(block, branch));
}

void validate_edit_name(const std::string& name) {
    const bool ok = !name.empty() && name.size() <= 64 && name[0] != '.' &&
                    std::all_of(name.begin(), name.end(), [](char c) {
                        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
                    });
    if (!ok)
        throw ConfigError("edit name '" + name + "': use 1-64 letters, digits, '-', '_' or '.' (not starting with '.')");
}

std::string edit_path(const std::string& run_dir, const std::string& name) {
    validate_edit_name(name);
    return (fs::path(run_dir) / "edits" / (name + ".json")).string();
}

std::string save_edit(const std::string& run_dir, const MemoryEdit& edit) {
    const auto path = edit_path(run_dir, edit.name);
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    if (ec) throw FileError(fs::path(path).parent_path().string(), "cannot create the folder: " + ec.message());
    write_text_atomically(path, edit_to_json(edit).dump(2) + "\n");
    return path;
}

std::vector<std::string> list_edits(const std::string& run_dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(fs::path(run_dir) / "edits", ec))
        if (entry.path().extension() == ".json") out.push_back(entry.path().stem().string());
    std::sort(out.begin(), out.end());
    return out;
}

MemoryEdit load_edit(const std::string& run_dir, const std::string& name) {
    const auto path = edit_path(run_dir, name);
    if (!fs::exists(path)) {
        const auto names = list_edits(run_dir);
        std::string have;
        for (const auto& n : names) have += (have.empty() ? "" : ", ") + n;
        throw FileError(path, "no such memory edit (" + (have.empty() ? "this run has none saved" : "saved: " + have) + ")");
    }
    json j;
    try {
        j = json::parse(read_text_file(path));
    } catch (const json::exception& e) {
        throw FileError(path, std::string("not valid JSON: ") + e.what());
    }
    auto edit = edit_from_json(j, path);
    if (edit.name.empty()) edit.name = name;
    return edit;
}

}  // namespace vhmn
