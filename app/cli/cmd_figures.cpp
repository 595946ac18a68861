// `vhmn figure-pack RUN --out DIR [--data PATH]`: the tables of a run's figure pack (paper Fig. 2, 5,
// 6 as CSV; Tables 3 and 9 as Markdown and LaTeX). Headless: the figures themselves are drawn by
// the desktop app (Robustness tab → Figure pack), which writes these same tables beside them.
#include <cstdio>
#include <iostream>
#include <memory>

#include "app/cli/commands.h"
#include "app/cli/probe_common.h"
#include "app/cli/progress.h"
#include "app/common/experiment.h"
#include "app/common/figures.h"
#include "core/error.h"
#include "core/runtime.h"

namespace vhmn::cli {

void add_figure_pack(CLI::App& app) {
    struct Opts {
        std::string dir, data, out, device = "cpu", branch = "global";
        std::vector<std::string> data_dirs;
        bool json = false;
        int threads = 0;
        int64_t batch = 250, limit = 1000, cls = 0;
        std::vector<int64_t> iterations{0, 1, 2, 3};
        uint64_t seed = 0;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("figure-pack", "Tables of a run's figure pack: Fig. 2/5/6 data (CSV), Tables 3 and 9 "
                                                  "(Markdown + LaTeX); the app draws the figures");
    cmd->add_option("RUN", o->dir, "Run folder")->required();
    cmd->add_option("--data", o->data, "The dataset the run was trained on (folder or 'builtin'; default: the run's "
                                       "own, found by fingerprint in --data-dir when it moved)");
    cmd->add_option("--data-dir", o->data_dirs, "Where to look for the run's dataset by fingerprint (datasets or "
                                                "folders of datasets; also $VHMN_DATA_DIR)");
    cmd->add_flag("--json", o->json, "Print one JSON object: out, files (written), table3 (rows of Table 3)");
    cmd->add_option("--out", o->out, "Folder to write into (created)")->required();
    cmd->add_option("--limit", o->limit, "Test images, evenly spaced over the split (0: all; default 1000)")
        ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
    cmd->add_option("--iterations", o->iterations, "Inference-time T for Fig. 2 / Table 3 (default 0,1,2,3)")->delimiter(',');
    cmd->add_option("--class", o->cls, "Class whose inputs Fig. 5 averages over (default 0)");
    cmd->add_option("--branch", o->branch, "Fig. 5 branch: local or global")->check(CLI::IsMember({"local", "global"}));
    cmd->add_option("--seed", o->seed, "Seed of the corruptions");
    cmd->add_option("--batch", o->batch, "Images per forward pass")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
    cmd->add_option("--device", o->device, "cpu, cuda or cuda:N (emulated: a CPU stand-in for a GPU that refuses device mixing, for tests)");
    cmd->add_option("--threads", o->threads, "CPU threads")->check(CLI::Range(1, 4096));
    cmd->callback([o] {
        configure_threads(o->threads > 0 ? std::optional<int>(o->threads) : std::nullopt);
        validate_iterations(o->iterations);  // before the slow part: reading the run and its data
        app::OpenOptions opts;
        opts.data_dirs = o->data_dirs;
        auto run = app::open_run(o->dir, o->data, parse_device(o->device), opts);
        print_warnings(run.warnings);
        if (o->cls < 0 || o->cls >= run.config.model.classes)
            throw ConfigError("--class " + std::to_string(o->cls) + " is outside [0, " +
                              std::to_string(run.config.model.classes) + ")");
        app::FigureOptions f;
        f.iterations = o->iterations;
        f.limit = o->limit;
        f.batch = o->batch;
        f.seed = o->seed;
        f.weights_class = o->cls;
        f.weights_branch = parse_branch(o->branch);
        app::FigureData d;
        app::compute_figure_data(run, f, d, probe_progress());
        const auto files = app::write_figure_tables(d, o->out);
        const auto table3 = app::iterations_table(d.robustness);
        if (o->json) {
            std::cout << nlohmann::json{{"out", o->out}, {"files", files}, {"table3", table_rows_json(table3)}}.dump(2) << "\n";
            return;
        }
        for (const auto& path : files) std::cout << "wrote " << path << "\n";
        std::cout << table3.to_markdown(2);
    });
}

}  // namespace vhmn::cli
