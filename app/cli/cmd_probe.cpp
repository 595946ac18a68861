// `vhmn probe <name> RUN --data PATH` and `vhmn bench-probe RUN --data PATH`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <numeric>

#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "app/cli/help.h"
#include "app/cli/probe_common.h"
#include "app/cli/progress.h"
#include "app/common/experiment.h"
#include "core/probes/weights.h"
#include "core/probes/hits.h"
#include "core/probes/image.h"
#include "core/probes/robustness.h"
#include "core/probes/stability.h"
#include "core/probes/perturbations.h"
#include "core/error.h"
#include "core/probes/evidence.h"
#include "core/runtime.h"

namespace vhmn::cli {

namespace {

void add_weights(CLI::App* probe) {
    struct Opts : CommonOpts {
        int64_t block = -1, cls = 0;
        std::string branch = "global";
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = probe->add_subcommand("weights", "Fig. 5: mean retrieval weights of one class's test inputs per slot, "
                                                 "and slot usage over the whole test set");
    add_common(cmd, *o);
    add_bank_options(cmd, o->block, o->branch);
    cmd->add_option("--class", o->cls, "Class whose inputs are averaged (default 0)");
    cmd->callback([o] {
        auto [s, in, block] = start_probe(*o, o->block);
        const auto w = probe_weights(in, block, parse_branch(o->branch), probe_progress());
        auto r = weights_result(w, o->cls);
        const auto mass = r.params["mass_by_slot_class"].get<std::vector<double>>();
        char buf[512];
        std::snprintf(buf, sizeof buf,
                      "block %lld %s, class %lld (%s), %lld images: %.1f%% of the weight on the class's own slots "
                      "(uniform: %.1f%%)\nslot usage over %lld queries: %lld/%lld filled slots, %.1f%% never top-1, "
                      "mean entropy of alpha %.3f nats",
                      (long long)block, o->branch.c_str(), (long long)o->cls, class_name(s.run, o->cls).c_str(),
                      (long long)w.class_count[size_t(o->cls)], 100.0 * mass[size_t(o->cls)], 100.0 / double(mass.size()),
                      (long long)w.queries, (long long)w.filled, (long long)w.mean_alpha.size(1),
                      100.0 * w.unused_fraction, w.mean_entropy);
        report(*o, s.run, std::move(r), buf);
    });
}

void add_hits(CLI::App* probe) {
    auto o = std::make_shared<CommonOpts>();
    auto* cmd = probe->add_subcommand("hits", "Table 9: top-1/top-5 retrieval hit rates, local and global, per block");
    add_common(cmd, *o);
    cmd->callback([o] {
        auto [s, in, block] = start_probe(*o);
        auto r = hits_result(probe_hits(in, probe_progress()));
        report(*o, s.run, r, r.table.to_markdown(2));
    });
}

void add_image(CLI::App* probe) {
    struct Opts : CommonOpts {
        int64_t index = 0, k = 5, token = -1;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = probe->add_subcommand("image", "Fig. 3: one test image's prediction, most informative token and its "
                                               "top-k local/global prototypes with source pixels");
    add_common(cmd, *o);
    cmd->add_option("--index", o->index, "Test image index")->check(CLI::Range(int64_t(0), int64_t(1) << 40));
    cmd->add_option("--top", o->k, "Prototypes per branch")->check(CLI::Range(int64_t(1), int64_t(1000)));
    hide(cmd->add_option("--k", o->k, "Prototypes per branch (old name of --top)")->check(CLI::Range(int64_t(1), int64_t(1000))));
    cmd->add_option("--token", o->token, "Token to query (default: the most informative one)");
    cmd->callback([o] {
        auto s = open(*o, true);
        const auto& test = s.run.dataset.test;
        if (o->index >= test.size())
            throw ConfigError("--index " + std::to_string(o->index) + " is outside the test split (" +
                              std::to_string(test.size()) + " images)");
        const auto image = test.images[o->index];
        const int64_t label = test.labels[o->index].item<int64_t>();
        const auto p = probe_image(s.run.model, image, label, s.run.config.data.mean, s.run.config.data.std,
                                   s.run.provenance_train(), o->k, o->token, s.device);
        std::string text;
        char buf[400];
        std::snprintf(buf, sizeof buf, "test image %lld: label %s, predicted %s (p = %.3f); token %lld (row %lld, col %lld), "
                      "pooling weight %.3f\n", (long long)o->index, class_name(s.run, label).c_str(),
                      class_name(s.run, p.prediction).c_str(), p.probabilities[size_t(p.prediction)], (long long)p.token,
                      (long long)p.token_row, (long long)p.token_col, p.pool_weights[size_t(p.token)]);
        text += buf;
        for (size_t b = 0; b < p.blocks.size(); ++b) {
            for (Branch br : {Branch::Local, Branch::Global}) {
                const auto& protos = br == Branch::Local ? p.blocks[b].local : p.blocks[b].global;
                const auto& st = br == Branch::Local ? p.blocks[b].local_steps : p.blocks[b].global_steps;
                std::snprintf(buf, sizeof buf, "  block %zu %-6s |z_T - q| = %.3f:", b, branch_name(br).c_str(),
                              st.distance.empty() ? 0.0 : st.distance.back());
                text += buf;
                for (const auto& pr : protos) {
                    std::snprintf(buf, sizeof buf, " [slot %lld %s w=%.3f img %lld]", (long long)pr.hit.provenance.slot,
                                  class_name(s.run, pr.hit.provenance.label).c_str(), pr.hit.weight,
                                  (long long)pr.hit.provenance.source);
                    text += buf;
                }
                text += "\n";
            }
        }
        report(*o, s.run, image_result(p, o->index, image), text);
    });
}

void add_robustness(CLI::App* probe) {
    struct Opts : CommonOpts {
        std::vector<int64_t> iterations{0, 1, 2, 3};
        uint64_t seed = 0;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = probe->add_subcommand("robustness", "Fig. 2: top-1 accuracy under noise, occlusion and contrast "
                                                    "corruptions, for each inference-time T");
    add_common(cmd, *o);
    cmd->add_option("--iterations", o->iterations, "Refinement iterations T to evaluate (default 0 1 2 3)")
        ->delimiter(',');
    cmd->add_option("--seed", o->seed, "Seed of the corruptions");
    cmd->callback([o, cmd] {
        validate_iterations(o->iterations);  // before the slow part: reading the run and its data
        auto s = open(*o);
        // A baseline has no T: one evaluation per condition (an explicit --iterations is refused).
        const bool memory = s.run.config.model.has_memory();
        if (!memory && cmd->count("--iterations")) memory_of(s.run.model, "--iterations");
        const std::vector<int64_t> ts = memory ? o->iterations : std::vector<int64_t>{0};
        auto in = app::probe_input(s.run, s.device, o->batch, o->limit);
        const auto rows = probe_robustness(in, robustness_corruptions(), ts, o->seed, probe_progress());
        auto r = robustness_result(rows, o->seed);
        // Pivot for the terminal: one line per condition, one column per T.
        std::vector<std::string> cols{"corruption", "severity"};
        for (int64_t t : ts) cols.push_back(memory ? "T=" + std::to_string(t) : arch_display_name(s.run.config.model.arch));
        Table pivot(cols);
        for (size_t i = 0; i < r.table.rows(); i += ts.size()) {
            std::vector<Cell> row{r.table.at(i, 0), r.table.at(i, 1)};
            for (size_t t = 0; t < ts.size(); ++t) row.push_back(r.table.at(i + t, 3));
            pivot.add_row(row);
        }
        report(*o, s.run, r, "top-1 accuracy (%)\n" + pivot.to_markdown(2));
    });
}

void add_stability(CLI::App* probe) {
    struct Opts : CommonOpts {
        int64_t block = -1;
        std::string branch = "global";
        uint64_t seed = 0;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = probe->add_subcommand("stability", "Fig. 6: top-5 consistency and cosine similarity of top-1 "
                                                   "prototypes under noise and occlusion");
    add_common(cmd, *o);
    add_bank_options(cmd, o->block, o->branch);
    cmd->add_option("--seed", o->seed, "Seed of the corruptions");
    cmd->callback([o] {
        auto [s, in, block] = start_probe(*o, o->block);
        const auto branch = parse_branch(o->branch);
        auto r = stability_result(probe_stability(in, block, branch, stability_corruptions(), o->seed, probe_progress()),
                                  block, branch, o->seed);
        report(*o, s.run, r, r.table.to_markdown(3));
    });
}

}  // namespace

void add_probe(CLI::App& app) {
    auto* probe = app.add_subcommand("probe", "Memory probes on a trained run; results go to run.h5 /probes/<name> "
                                              "and RUN/probe_<name>.csv");
    probe->require_subcommand(1);
    add_weights(probe);
    add_hits(probe);
    add_image(probe);
    add_robustness(probe);
    add_stability(probe);
    add_memory_probes(probe);
    add_corruptions(probe, nullptr);
}

void add_bench_probe(CLI::App& app) {
    struct Opts : CommonOpts {
        int64_t repeat = 50, k = 5;
        bool evidence = false;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("bench-probe", "Time single-image prototype queries (probe image) on a run");
    add_common(cmd, *o);
    cmd->add_option("--repeat", o->repeat, "Timed queries (after 3 warm-up ones)")->check(CLI::Range(int64_t(1), int64_t(100000)));
    cmd->add_option("--top", o->k, "Prototypes per branch")->check(CLI::Range(int64_t(1), int64_t(1000)));
    hide(cmd->add_option("--k", o->k, "Prototypes per branch (old name of --top)")->check(CLI::Range(int64_t(1), int64_t(1000))));
    cmd->add_flag("--evidence", o->evidence, "Time the inspector's whole query: prototypes and the top-8 evidence images");
    cmd->callback([o] {
        using Clock = std::chrono::steady_clock;
        const auto t0 = Clock::now();
        auto s = open(*o, true);
        const double load_s = std::chrono::duration<double>(Clock::now() - t0).count();
        const auto& test = s.run.dataset.test;
        const int64_t n = test.size();
        std::vector<double> ms;
        for (int64_t i = 0; i < o->repeat + 3; ++i) {
            const int64_t idx = (i * 7919) % n;  // spread over the test split
            const auto q0 = Clock::now();
            ForwardTrace trace;
            const auto p = probe_image(s.run.model, test.images[idx], test.labels[idx].item<int64_t>(),
                                       s.run.config.data.mean, s.run.config.data.std, s.run.provenance_train(), o->k, -1,
                                       s.device, o->evidence ? &trace : nullptr);
            if (o->evidence) {  // as the inspector does it: from the same forward pass
                EvidenceOptions eo;
                eo.top = 8;
                VHMN memory = memory_of(s.run.model, "--evidence");
                (void)evidence_of(memory, trace, test.labels[idx].item<int64_t>(), eo);
            }
            if (s.device.is_cuda()) torch::cuda::synchronize();
            const double dt = std::chrono::duration<double, std::milli>(Clock::now() - q0).count();
            if (i >= 3) ms.push_back(dt);
            (void)p;
        }
        std::sort(ms.begin(), ms.end());
        auto pct = [&](double q) { return ms[std::min(ms.size() - 1, size_t(q * double(ms.size())))]; };
        const double mean = std::accumulate(ms.begin(), ms.end(), 0.0) / double(ms.size());
        nlohmann::json j;
        j["run"] = o->dir, j["preset"] = s.run.config.preset, j["device"] = o->device;
        j["threads"] = torch::get_num_threads(), j["queries"] = ms.size(), j["k"] = o->k, j["evidence"] = o->evidence;
        j["median_ms"] = pct(0.5), j["p90_ms"] = pct(0.9), j["max_ms"] = ms.back(), j["mean_ms"] = mean;
        j["load_s"] = load_s;
        if (o->json) {
            std::cout << j.dump(2) << "\n";
        } else {
            std::printf("single-image prototype query%s (%s, %lld blocks, top-%lld local+global with source pixels): "
                        "median %.1f ms, p90 %.1f ms, max %.1f ms over %zu queries (%d threads; loading took %.1f s)\n",
                        o->evidence ? " + evidence" : "", s.run.config.preset.c_str(), (long long)s.run.config.model.depth, (long long)o->k, pct(0.5),
                        pct(0.9), ms.back(), ms.size(), torch::get_num_threads(), load_s);
        }
    });
}

}  // namespace vhmn::cli
