// `vhmn sweep FILE`: run a sweep of trainings, resumable, and tabulate mean ± std over seeds.
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "app/cli/probe_common.h"
#include "app/cli/progress.h"
#include "app/common/sweep.h"
#include "core/runtime.h"

namespace vhmn::cli {

void add_sweep(CLI::App& app) {
    struct Opts {
        std::string file, data, out;
        int threads = 0;
        bool dry_run = false, summary_only = false, json = false;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("sweep", "Run a sweep file's trainings one after another (resumable) and write "
                                            "results.csv/.md/.tex with mean ± std over seeds");
    cmd->add_option("FILE", o->file, "Sweep file (JSON; see examples/sweeps)")->required();
    cmd->add_option("--data", o->data, "Dataset (overrides the file's \"data\")");
    cmd->add_option("--out", o->out, "Sweep folder (overrides the file's \"out\")");
    cmd->add_option("--threads", o->threads, "CPU threads")->check(CLI::Range(1, 4096));
    cmd->add_flag("--dry-run", o->dry_run, "List the runs and what would happen to each; train nothing");
    cmd->add_flag("--summary", o->summary_only, "Only rewrite the tables from the runs finished so far");
    cmd->add_flag("--json", o->json, "Print one JSON object: out, trained, resumed, skipped, runs and summary (rows), "
                                     "written (progress goes to stderr); with --dry-run: out and runs (name, preset, epochs)");
    cmd->callback([o] {
        configure_threads(o->threads > 0 ? std::optional<int>(o->threads) : std::nullopt);
        app::SweepSpec spec = app::read_sweep(o->file);
        if (!o->data.empty()) spec.data = o->data;
        if (!o->out.empty()) spec.out = o->out;
        if (spec.out.empty()) spec.out = "sweep";
        if (o->dry_run) {
            const auto runs = app::expand_sweep(spec);
            if (o->json) {
                nlohmann::json rows = nlohmann::json::array();
                for (const auto& r : runs)
                    rows.push_back({{"name", r.name}, {"preset", r.request.preset}, {"epochs", r.request.train.epochs},
                                    {"fields", r.fields}, {"seed", r.seed}});
                std::cout << nlohmann::json{{"out", spec.out}, {"runs", rows}}.dump(2) << "\n";
                return;
            }
            std::cout << runs.size() << " runs in " << spec.out << "\n";
            for (const auto& r : runs) std::cout << "  " << r.name << "  (" << r.request.preset << ", "
                                                 << r.request.train.epochs << " epochs)\n";
            return;
        }
        app::SweepOutcome out;
        if (o->summary_only) {
            out = app::summarize_sweep(spec);
            app::write_sweep_tables(spec, out);
        } else {
            ProgressPrinter printer(o->json);
            app::SweepCallbacks cb;
            int64_t epochs = 0;
            cb.on_run = [&](size_t i, size_t n, const app::SweepRun& r, const std::string& what) {
                epochs = r.request.train.epochs;
                printer.message("[" + std::to_string(i + 1) + "/" + std::to_string(n) + "] " + what + " " + r.name);
            };
            cb.train.on_step = [&](const StepStats& s) { printer.step(s); };
            cb.train.on_epoch = [&](const EpochStats& e) { printer.epoch(e, epochs); };
            cb.train.on_message = [&](const std::string& m) { printer.message(m); };
            out = app::run_sweep(spec, cb);
            printer.message(std::to_string(out.trained) + " trained, " + std::to_string(out.resumed) + " resumed, " +
                            std::to_string(out.skipped) + " already finished");
        }
        if (o->json) {
            std::cout << nlohmann::json{{"out", spec.out},          {"trained", out.trained},
                                        {"resumed", out.resumed},   {"skipped", out.skipped},
                                        {"runs", table_rows_json(out.runs)}, {"summary", table_rows_json(out.summary)},
                                        {"written", out.written}}
                             .dump(2)
                      << "\n";
            return;
        }
        std::cout << out.summary.to_markdown(2);
        for (const auto& w : out.written) std::cout << "wrote " << w << "\n";
    });
}

}  // namespace vhmn::cli
