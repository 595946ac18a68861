// Shared by the `vhmn probe` sub-commands (probe_common.h).
#include "app/cli/probe_common.h"

#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/progress.h"
#include "core/error.h"
#include "core/probes/memory_edit.h"
#include "core/runtime.h"

namespace vhmn::cli {

void add_common(CLI::App* cmd, CommonOpts& o) {
    cmd->add_option("RUN", o.dir, "Run folder (trained by `vhmn train` or the app)")->required();
    cmd->add_option("--data", o.data, "The dataset the run was trained on (folder or 'builtin'; default: the run's "
                                      "own, found by fingerprint in --data-dir when it moved)");
    cmd->add_option("--data-dir", o.data_dirs, "Where to look for the run's dataset by fingerprint (datasets or "
                                               "folders of datasets; also $VHMN_DATA_DIR)");
    cmd->add_option("--device", o.device, "cpu, cuda or cuda:N (emulated: a CPU stand-in for a GPU that refuses device mixing, for tests)");
    cmd->add_option("--threads", o.threads, "CPU threads")->check(CLI::Range(1, 4096));
    cmd->add_option("--tf32", o.tf32, "On CUDA GPUs that have it: TF32 matmuls and convolutions (default on)")
        ->check(CLI::IsMember({"on", "off"}));
    cmd->add_option("--batch", o.batch, "Images per forward pass")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
    cmd->add_option("--limit", o.limit, "Probe N test images evenly spaced over the split (0: all)")
        ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
    cmd->add_flag("--json", o.json, "Print the result as one JSON object");
    cmd->add_option("--edit", o.edit, "Apply the memory edit RUN/edits/NAME.json at inference (slots masked; "
                                      "the run on disk is unchanged; see `vhmn edit`)");
}

Session open(const CommonOpts& o, bool provenance) {
    configure_threads(o.threads > 0 ? std::optional<int>(o.threads) : std::nullopt);
    const auto device = parse_device(o.device);
    set_tf32(parse_on_off("--tf32", o.tf32));
    app::OpenOptions opts;
    opts.data_dirs = o.data_dirs;
    Session s{device, app::open_run(o.dir, o.data, device, opts), {}, 0};
    if (provenance) s.run.provenance_train();
    print_warnings(s.run.warnings);
    if (!o.edit.empty()) {
        const auto edit = load_edit(o.dir, o.edit);
        VHMN model = memory_of(s.run.model, "--edit");
        s.edit = o.edit;
        s.edit_masked = apply_edit(model, edit);
        std::cerr << "vhmn: edit '" << o.edit << "': " << s.edit_masked
                  << " stored slots masked at inference (the run on disk is unchanged)\n";
    }
    return s;
}

void report(const CommonOpts& o, const app::OpenedRun& run, ProbeResult r, const std::string& summary) {
    if (!o.edit.empty()) {  // kept apart from the unedited result of the same probe
        r.params["edit"] = o.edit;
        r.name += "@" + o.edit;
    }
    const auto written = app::save_probe(run, r);
    if (o.json) {
        nlohmann::json j;
        j["probe"] = r.name;
        j["params"] = r.params;
        j["columns"] = r.table.columns();
        j["rows"] = table_rows_json(r.table);
        j["written"] = written;
        std::cout << j.dump(2) << "\n";
        return;
    }
    if (!summary.empty()) std::cout << summary << "\n";
    for (const auto& w : written) std::cout << "wrote " << w << "\n";
}

nlohmann::json table_rows_json(const Table& t) {
    nlohmann::json rows = nlohmann::json::array();
    for (size_t i = 0; i < t.rows(); ++i) {
        nlohmann::json row;
        for (size_t c = 0; c < t.columns().size(); ++c) std::visit([&](const auto& v) { row[t.columns()[c]] = v; }, t.at(i, c));
        rows.push_back(row);
    }
    return rows;
}

void add_bank_options(CLI::App* cmd, int64_t& block, std::string& branch) {
    cmd->add_option("--block", block, "Block (default -1: the last)");
    cmd->add_option("--branch", branch, "local or global")->check(CLI::IsMember({"local", "global"}));
}

std::string class_name(const app::OpenedRun& run, int64_t c) {
    const auto& names = run.dataset.class_names;
    return c >= 0 && c < int64_t(names.size()) ? names[size_t(c)] : std::to_string(c);
}

int64_t parse_block(const std::string& text) {
    const auto b = parse_integer(text);
    if (!b) throw ConfigError("--block " + text + " is neither 'all' nor a block number");
    return *b;
}

int64_t resolve_block(const app::OpenedRun& run, int64_t block) {
    const int64_t depth = run.config.model.depth;
    const int64_t b = block < 0 ? depth + block : block;
    if (b < 0 || b >= depth)
        throw ConfigError("--block " + std::to_string(block) + " is outside [0, " + std::to_string(depth) +
                          ") (negative counts from the last block)");
    return b;
}

ProbeStart start_probe(const CommonOpts& o, int64_t block, bool provenance) {
    auto s = open(o, provenance);
    const int64_t b = resolve_block(s.run, block);
    auto in = app::probe_input(s.run, s.device, o.batch, o.limit);
    return {std::move(s), std::move(in), b};
}

}  // namespace vhmn::cli
