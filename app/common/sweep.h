#pragma once
// `vhmn sweep FILE`: a list of training runs that vary config fields, run one after another,
// resumable, summarised as mean ± std over seeds (the shape of the paper's Tables 1–3 and 6–8).
//
// Sweep file (JSON; relative paths are relative to the current directory):
//   {
//     "name":   "Table 1 (CPU variant)",          // caption of the results table
//     "data":   "../shared/datasets/cifar10",      // dataset (overridable with --data)
//     "out":    "runs/table1-cpu",                 // sweep folder (overridable with --out)
//     "base":   {"preset": "cpu-tiny", "epochs": 2, "augment": "basic"},   // fields of every run
//     "vary":   {"fraction": [0.1, 0.3]},          // grid: every combination of these values
//     "cases":  [{"local_slots": 500, "global_slots": 200}, ...],   // optional explicit list
//     "seeds":  [0, 1, 2],                          // each case is trained once per seed
//     "metrics": ["test_top1", "test_top5"]         // final-epoch metrics to tabulate
//   }
// Fields: every row of app/common/train_fields.h by its config name (the `vhmn train` flags with
// underscores: preset, arch, augment, fraction, imbalance, label_smoothing, epochs, lr, warmup_epochs,
// min_lr, device, bf16, every model field: iterations, window, local_slots, beta_init, dim, ...).
//
// Each run trains in <out>/<case name>; a finished run leaves result.json and is never trained
// again; an interrupted one continues from its last epoch checkpoint.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/common/experiment.h"
#include "core/io/table.h"

namespace vhmn::app {

struct SweepSpec {
    std::string file;  ///< where it was read from (for messages)
    std::string name, data, out;
    nlohmann::json base = nlohmann::json::object();
    std::vector<std::pair<std::string, std::vector<nlohmann::json>>> vary;
    std::vector<nlohmann::json> cases;  ///< objects
    std::vector<uint64_t> seeds{0};
    std::vector<std::string> metrics{"test_top1", "test_top5"};
};

/// Read and check a sweep file (FileError / ConfigError naming the file and the key).
SweepSpec read_sweep(const std::string& path);

struct SweepRun {
    std::string name;       ///< folder name, from the varied fields and the seed
    nlohmann::json fields;  ///< the varied fields of this run (without seed)
    uint64_t seed = 0;
    TrainRequest request;
};

/// Every run of the sweep, in order; each request is fully validated before anything trains.
std::vector<SweepRun> expand_sweep(const SweepSpec& spec);

struct SweepCallbacks {
    /// Before each run: index, total, run, what happens ("train", "resume" or "skip").
    std::function<void(size_t, size_t, const SweepRun&, const std::string&)> on_run;
    TrainCallbacks train;
};

struct SweepOutcome {
    size_t trained = 0, resumed = 0, skipped = 0;
    bool stopped = false;
    Table runs;     ///< one row per finished run
    Table summary;  ///< one row per case: mean and std over seeds (numbers)
    std::vector<std::string> written;
};

/// Run (or resume) the sweep, then write <out>/runs.csv, results.csv, results.md, results.tex.
SweepOutcome run_sweep(const SweepSpec& spec, const SweepCallbacks& callbacks = {}, TrainControl* control = nullptr);

/// Only the tables of the runs finished so far (nothing is trained or written).
SweepOutcome summarize_sweep(const SweepSpec& spec);
/// Write <out>/runs.csv, results.csv, results.md and results.tex (atomically).
void write_sweep_tables(const SweepSpec& spec, SweepOutcome& out);

}  // namespace vhmn::app
