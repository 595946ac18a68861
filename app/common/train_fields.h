#pragma once
// The fields of a training request, one row each. The `vhmn train` flags, the GUI's experiment
// panel, sweep files (base / vary / cases) and the names in a run's config.json all read this table:
// a new training knob is one row here (plus its member in TrainConfig / ModelConfig and its check in
// their validate()).
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/common/experiment.h"

namespace vhmn::app {

enum class FieldKind {
    Int,     ///< integer in [min, max]
    Real,    ///< number in [min, max]
    Text,    ///< free text (a path, a device)
    Choice,  ///< one of choices()
    OnOff,   ///< a boolean: JSON true/false, on the CLI on|off
};

enum class FieldGroup { Data, Model, Training };

struct TrainField {
    std::string key;    ///< config/sweep/panel name: "epochs", "local_slots", "warmup_epochs"
    std::string flag;   ///< `vhmn train` flag ("--warmup"); empty: not on the CLI
    FieldKind kind = FieldKind::Int;
    FieldGroup group = FieldGroup::Training;
    std::string label;  ///< the panel's label; empty: not a generic panel field
    std::string help;   ///< CLI help and the panel's tooltip
    double min = 0, max = 0;   ///< Int / Real: the range the CLI and the panel accept
    int decimals = 0;          ///< Real: digits the panel shows
    double step = 1;           ///< Real: the panel's step
    std::function<std::vector<std::string>()> choices;  ///< Choice: the values
    std::function<nlohmann::json(const TrainRequest&)> get;
    std::function<void(TrainRequest&, const nlohmann::json&)> set;  ///< value already type-checked

    /// The architecture a model field belongs to ("" when every architecture has it).
    std::string arch() const;
};

/// Every field, in the panel's order (data, model, training).
const std::vector<TrainField>& train_fields();
/// The field named `key` (config name), or nullptr.
const TrainField* train_field(const std::string& key);

/// How errors name a field: by its config name (sweeps, the panel) or by its CLI flag.
enum class FieldNaming { Key, Flag };

/// Set one field from a JSON value. ConfigError naming the field for an unknown key, a value of the
/// wrong type, or a field of another architecture than the request's model (ranges are checked by
/// TrainConfig/ModelConfig::validate when the run is made). "preset" and "arch" reset the model to
/// the preset's; "augment" resets label_smoothing to the recipe's.
void apply_field(TrainRequest& r, const std::string& key, const nlohmann::json& v, FieldNaming naming = FieldNaming::Key);
/// Set several fields: preset, arch and augment first (they reset others), then the rest. With
/// `on_error`, a field that cannot be set is reported there and the others are still set (the
/// panel); without, its ConfigError propagates.
void apply_fields(TrainRequest& r, const nlohmann::json& fields, FieldNaming naming = FieldNaming::Key,
                  const std::function<void(const std::string& key, const std::string& error)>& on_error = {});

/// The CLI's text for a field (`--epochs 3`, `--tf32 off`) as the JSON value apply_field takes.
nlohmann::json field_value_from_text(const TrainField& f, const std::string& text);

}  // namespace vhmn::app
