#pragma once
// Memory edits: sets of bank slots masked out at inference, to ask the model again without some
// of its memories (counterfactuals). An edit never touches the saved run: it is applied to the
// model in memory (MemoryBank::set_mask) and may be saved as RUN/edits/<name>.json, which
// `--edit NAME` applies to `vhmn eval` and every probe.
//
// RUN/edits/<name>.json (every key but "format" optional):
//   {"format": "vhmn-edit-1", "name": "no-cats", "description": "free text",
//    "blocks": [0, 2],          restrict every selector below to these blocks (absent or []: all)
//    "branch": "both",          restrict to "local", "global" or "both" branches
//    "slots": [{"block": 0, "branch": "local", "slot": 17}],   single slots
//    "sources": [123, 456],     training images (dataset indices): every slot they wrote
//    "classes": [3],            every slot that stores an image of these classes
//    "steps": [1000, 2000],     every slot written at a training step in [from, to]
//    "data_fingerprint": "…",   the data the source indices refer to (recorded, informative)
//    "origin": {…}}             how the edit was made (e.g. the top-5 evidence of test image 12)
// A slot is masked when any selector picks it (their union), within the blocks/branch scope.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/models/vhmn.h"

namespace vhmn {

struct SlotRef {
    int64_t block = 0;
    Branch branch = Branch::Global;
    int64_t slot = 0;
};

struct MemoryEdit {
    std::string name, description;
    std::vector<int64_t> blocks;  ///< scope (empty: every block)
    std::string branch = "both";  ///< scope: local | global | both
    std::vector<SlotRef> slots;
    std::vector<int64_t> sources, classes;
    std::optional<std::pair<int64_t, int64_t>> steps;  ///< written at a step in [first, second]
    std::string data_fingerprint;
    nlohmann::json origin = nlohmann::json::object();

    /// No selector at all: the edit masks nothing.
    bool selects_nothing() const { return slots.empty() && sources.empty() && classes.empty() && !steps; }
};

nlohmann::json edit_to_json(const MemoryEdit& edit);
/// Parse and validate an edit; ConfigError naming `where` (a file or "the edit") and the bad key.
MemoryEdit edit_from_json(const nlohmann::json& j, const std::string& where);

/// The [K] bool mask the edit puts on one bank (false everywhere when out of its scope).
/// ConfigError when a slot selector names a block or slot the model does not have.
torch::Tensor edit_mask(VHMN& model, const MemoryEdit& edit, int64_t block, Branch branch);

/// Set the edit's masks on every bank of the model, replacing earlier ones (`on_top`: adding to
/// them). Returns the number of filled slots masked afterwards, over all banks.
int64_t apply_edit(VHMN& model, const MemoryEdit& edit, bool on_top = false);
/// Remove every bank's mask.
void clear_edit(VHMN& model);

/// Every bank's mask, saved on construction and put back on destruction (probes that mask slots
/// for a while on top of whatever edit the user applied).
class MaskScope {
public:
    explicit MaskScope(VHMN model);
    ~MaskScope();
    MaskScope(const MaskScope&) = delete;
    MaskScope& operator=(const MaskScope&) = delete;
    /// The mask that was set on a bank when the scope began (undefined: none).
    const torch::Tensor& base(int64_t block, Branch branch) const;

private:
    VHMN model_;
    std::vector<torch::Tensor> saved_;  ///< per bank: block-major, local then global
};

/// Edit names are file names: letters, digits, '-', '_' and '.', 1–64 characters, not starting with '.'.
void validate_edit_name(const std::string& name);
std::string edit_path(const std::string& run_dir, const std::string& name);
/// Write RUN/edits/<edit.name>.json atomically (the folder is created). Returns the path.
std::string save_edit(const std::string& run_dir, const MemoryEdit& edit);
/// Read RUN/edits/<name>.json: FileError when missing or not JSON, ConfigError for a bad value;
/// the message lists the run's saved edits when the name is unknown.
MemoryEdit load_edit(const std::string& run_dir, const std::string& name);
/// Names of the edits saved in a run folder, sorted.
std::vector<std::string> list_edits(const std::string& run_dir);

}  // namespace vhmn
