#pragma once
// What every `vhmn probe` sub-command shares: the run, its data, the device, an optional memory
// edit (--edit NAME), and how results are reported (terminal text or --json, saved beside the run).
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include "app/common/experiment.h"

namespace vhmn::cli {

struct CommonOpts {
    std::vector<std::string> data_dirs;
    std::string dir, data, device = "cpu";
    std::string edit;  ///< RUN/edits/<edit>.json applied at inference (empty: none)
    std::string tf32 = "on";
    int threads = 0;
    int64_t batch = 250, limit = 0;
    bool json = false;
};

void add_common(CLI::App* cmd, CommonOpts& o);

struct Session {
    torch::Device device;
    app::OpenedRun run;
    std::string edit;        ///< the edit applied (empty: none)
    int64_t edit_masked = 0;  ///< stored slots it masks
};

/// Open the run (and apply --edit). `provenance`: the command shows source training images, so a
/// dataset that is not the run's training data ends it here with the data check's one message.
Session open(const CommonOpts& o, bool provenance = false);

/// Save the result beside the run (the edit, if any, recorded in its params) and print it.
void report(const CommonOpts& o, const app::OpenedRun& run, ProbeResult r, const std::string& summary);

/// A table's rows as JSON objects keyed by column (the `rows` of every --json result).
nlohmann::json table_rows_json(const Table& t);

/// --block (default −1: the last) and --branch (local or global) of probes on one bank.
void add_bank_options(CLI::App* cmd, int64_t& block, std::string& branch);

std::string class_name(const app::OpenedRun& run, int64_t c);
/// A --block value as a number (ConfigError naming the value when it is not one).
int64_t parse_block(const std::string& text);
/// --block with negatives counting from the last block; ConfigError outside the model's depth.
int64_t resolve_block(const app::OpenedRun& run, int64_t block);

/// The start every probe on test images shares: the run opened (open()), --block resolved, and
/// --limit test images as the probe's input.
struct ProbeStart {
    Session s;
    ProbeInput in;
    int64_t block = -1;  ///< resolved --block (the last block when none was asked)
};
ProbeStart start_probe(const CommonOpts& o, int64_t block = -1, bool provenance = false);

}  // namespace vhmn::cli
