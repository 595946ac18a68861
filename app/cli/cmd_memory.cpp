// Memory as evidence: `vhmn probe evidence | ablation | leave-class-out` and `vhmn edit`.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "app/cli/help.h"
#include "app/cli/probe_common.h"
#include "app/cli/progress.h"
#include "app/common/experiment.h"
#include "core/error.h"
#include "core/io/model_io.h"
#include "core/probes/ablation.h"
#include "core/probes/evidence.h"
#include "core/probes/memory_edit.h"
#include "core/probes/memory_map.h"

namespace vhmn::cli {

namespace {

std::string percent(double p) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * p);
    return buf;
}

/// The evidence listing: the prediction, then each training image with its mass and first slots.
std::string evidence_text(const app::OpenedRun& run, const Evidence& e, int64_t index, int64_t label) {
    std::string text;
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "test image %lld: label %s, predicted %s (p = %.3f), T = %lld\n"
                  "evidence from %lld training images over %lld retrievals; the %zu listed hold %s of it\n",
                  (long long)index, class_name(run, label).c_str(), class_name(run, e.prediction).c_str(),
                  e.probabilities[size_t(e.prediction)], (long long)e.iterations, (long long)e.images_with_mass,
                  (long long)e.banks_used, e.images.size(), percent(e.mass_listed).c_str());
    text += buf;
    for (size_t i = 0; i < e.images.size(); ++i) {
        const auto& im = e.images[i];
        std::snprintf(buf, sizeof buf, "  %2zu. training image %-7lld %-12s mass %6.2f%%  from %zu slot(s):", i + 1,
                      (long long)im.source, class_name(run, im.label).c_str(), 100.0 * im.mass, im.slots.size());
        text += buf;
        for (size_t k = 0; k < im.slots.size() && k < 4; ++k) {
            const auto& sl = im.slots[k];
            std::snprintf(buf, sizeof buf, " b%lld.%s#%lld", (long long)sl.block, branch_name(sl.branch).c_str(),
                          (long long)sl.slot);
            text += buf;
        }
        text += im.slots.size() > 4 ? " …\n" : "\n";
    }
    return text;
}

void add_evidence(CLI::App* probe) {
    struct Opts : CommonOpts {
        int64_t index = 0, top = 10, forget = 0;
        std::string block = "all";
        std::string branch = "both", save_edit;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = probe->add_subcommand("evidence", "Which training images one test image's prediction rests on: the "
                                                  "retrieval mass each received, over its slots, blocks and branches");
    add_common(cmd, *o);
    cmd->add_option("--index", o->index, "Test image index")->check(CLI::Range(int64_t(0), int64_t(1) << 40));
    cmd->add_option("--top", o->top, "Training images listed (0: all with any mass)")
        ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
    cmd->add_option("--block", o->block, "'all' (every block, weighted equally) or one block (-1: the last)");
    cmd->add_option("--branch", o->branch, "local, global or both")->check(CLI::IsMember({"local", "global", "both"}));
    cmd->add_option("--forget", o->forget, "Ask again with the top N evidence images forgotten (their slots masked)")
        ->check(CLI::Range(int64_t(1), int64_t(1) << 40));
    cmd->add_option("--save-edit", o->save_edit, "Save that forgetting as RUN/edits/NAME.json (with --forget)");
    cmd->callback([o] {
        if (!o->save_edit.empty()) {
            if (o->forget == 0) throw ConfigError("--save-edit needs --forget N (the evidence images to forget)");
            validate_edit_name(o->save_edit);
        }
        auto s = open(*o, true);  // source images are shown: the data must be the run's
        const auto& test = s.run.dataset.test;
        if (o->index >= test.size())
            throw ConfigError("--index " + std::to_string(o->index) + " is outside the test split (" +
                              std::to_string(test.size()) + " images)");
        const auto image = test.images[o->index];
        const int64_t label = test.labels[o->index].item<int64_t>();
        EvidenceOptions opts;
        opts.top = o->top, opts.block = o->block == "all" ? -1 : resolve_block(s.run, parse_block(o->block));
        opts.branch = o->branch;
        const auto& cfg = s.run.config;
        const auto e = probe_evidence(s.run.model, image, label, cfg.data.mean, cfg.data.std, opts, s.device);
        const auto fingerprint = app::data_fingerprint_text(s.run);
        auto r = evidence_result(e, o->index, fingerprint);
        std::string text = evidence_text(s.run, e, o->index, label);
        if (o->forget > 0) {
            const auto name = o->save_edit.empty() ? "forget-evidence-" + std::to_string(o->index) : o->save_edit;
            auto edit = forget_evidence_edit(e, o->forget, o->index, name);
            edit.data_fingerprint = fingerprint;
            VHMN model = memory_of(s.run.model, "--forget");
            const MaskScope restore(model);
            const int64_t masked = apply_edit(model, edit, true);
            const auto after = probe_evidence(s.run.model, image, label, cfg.data.mean, cfg.data.std, opts, s.device);
            char buf[512];
            r.params["forget"] = {{"top", o->forget},
                                  {"sources", edit.sources},
                                  {"masked_slots", masked},
                                  {"prediction", after.prediction},
                                  {"probabilities", after.probabilities}};
            std::snprintf(buf, sizeof buf,
                          "forgetting the top %zu image(s) (%lld slots masked): predicted %s (p = %.3f), was %s (p = %.3f); "
                          "p(%s) %.3f -> %.3f\n",
                          edit.sources.size(), (long long)masked, class_name(s.run, after.prediction).c_str(),
                          after.probabilities[size_t(after.prediction)], class_name(s.run, e.prediction).c_str(),
                          e.probabilities[size_t(e.prediction)], class_name(s.run, label).c_str(),
                          e.probabilities[size_t(label)], after.probabilities[size_t(label)]);
            text += buf;
            if (!o->save_edit.empty()) text += "saved the edit as " + save_edit(o->dir, edit) + "\n";
        }
        report(*o, s.run, std::move(r), text);
    });
}

void add_ablation(CLI::App* probe) {
    struct Opts : CommonOpts {
        AblationOptions ablation;
        int64_t usage_limit = 0;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = probe->add_subcommand("ablation", "Test top-1 as 0-100 % of every block's memory slots are masked "
                                                  "(random, most used first, least used first), per branch and both");
    add_common(cmd, *o);
    cmd->add_option("--order", o->ablation.orders, "random, most-used, least-used (default: all three)")
        ->delimiter(',')
        ->transform([](std::string v) { return canonical_value(v); });
    cmd->add_option("--branch", o->ablation.branches, "local, global, both (default: all three)")->delimiter(',');
    cmd->add_option("--fractions", o->ablation.fractions, "Masked fractions (default 0,0.1,...,1)")->delimiter(',');
    cmd->add_option("--seed", o->ablation.seed, "Seed of the random order and of ties in usage");
    cmd->add_option("--usage-limit", o->usage_limit, "Training images over which slot usage is counted, evenly "
                                                     "spaced (0: the whole training split)")
        ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
    cmd->callback([o] {
        validate_ablation(o->ablation);
        auto s = open(*o, true);  // usage is counted on the run's own training images
        memory_of(s.run.model, "the memory ablation");
        auto usage_in = app::probe_input(s.run, s.device, o->batch, o->usage_limit, &s.run.provenance_train());
        const auto usage = slot_usage(usage_in, probe_progress());
        auto in = app::probe_input(s.run, s.device, o->batch, o->limit);
        const auto rows = probe_ablation(in, usage, o->ablation, probe_progress());
        auto r = ablation_result(rows, o->ablation, usage.images);
        // Pivot for the terminal: one line per (order, branch), one column per fraction.
        std::vector<std::string> cols{"order", "branch"};
        for (double f : o->ablation.fractions) cols.push_back(percent(f));
        Table pivot(cols);
        const size_t nf = o->ablation.fractions.size();
        for (size_t i = 0; i < rows.size(); i += nf) {
            std::vector<Cell> row;
            row.emplace_back(rows[i].order);
            row.emplace_back(rows[i].branch);
            for (size_t f = 0; f < nf; ++f) row.push_back(rows[i + f].top1);
            pivot.add_row(row);
        }
        report(*o, s.run, std::move(r),
               "test top-1 (%) by masked fraction of every block's slots (usage over " +
                   std::to_string(usage.images) + " training images)\n" + pivot.to_markdown(2));
    });
}

void add_leave_class_out(CLI::App* probe) {
    auto o = std::make_shared<CommonOpts>();
    auto* cmd = probe->add_subcommand("leave-class-out", "Per-class test top-1 when one class's memories are masked: "
                                                         "a class x class matrix");
    add_common(cmd, *o);
    cmd->callback([o] {
        auto [s, in, block] = start_probe(*o);
        const auto lco = probe_leave_class_out(in, probe_progress());
        const int64_t classes = int64_t(lco.baseline.size());
        std::vector<std::string> cols{"masked", "all"};
        for (int64_t c = 0; c < classes; ++c) cols.push_back(class_name(s.run, c));
        Table t(cols);
        std::vector<Cell> base;
        base.emplace_back(std::string("(none)"));
        base.emplace_back(lco.baseline_top1);
        for (double v : lco.baseline) base.push_back(v);
        t.add_row(base);
        for (int64_t m = 0; m < classes; ++m) {
            std::vector<Cell> row;
            row.emplace_back(class_name(s.run, m));
            row.emplace_back(lco.top1[size_t(m)]);
            for (double v : lco.accuracy[size_t(m)]) row.push_back(v);
            t.add_row(row);
        }
        report(*o, s.run, leave_class_out_result(lco),
               "test top-1 (%) per class (columns) with one class's memories masked (rows)\n" + t.to_markdown(1));
    });
}

void add_map(CLI::App* probe) {
    struct Opts : CommonOpts {
        int64_t block = -1, index = -1, token = -1;
        std::string branch = "global";
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = probe->add_subcommand("map", "A 2-D map (PCA) of one bank's stored vectors, coloured by class, with a "
                                             "test image's refinement trajectory z_0 -> z_T");
    add_common(cmd, *o);
    add_bank_options(cmd, o->block, o->branch);
    cmd->add_option("--index", o->index, "Test image whose query trajectory is drawn (default: none)");
    cmd->add_option("--token", o->token, "Local branch: the token to follow (default: the most informative)");
    cmd->callback([o] {
        auto s = open(*o);
        const int64_t block = resolve_block(s.run, o->block);
        const auto map = memory_map(memory_of(s.run.model, "the memory map"), block, parse_branch(o->branch));
        auto r = memory_map_result(map);
        char buf[256];
        std::snprintf(buf, sizeof buf, "block %lld %s: %zu stored vectors; the two axes explain %.1f%% and %.1f%% of their variance",
                      (long long)block, o->branch.c_str(), map.slots.size(), 100.0 * map.axes.explained[0],
                      100.0 * map.axes.explained[1]);
        std::string text = buf;
        if (o->index >= 0) {
            const auto& test = s.run.dataset.test;
            if (o->index >= test.size())
                throw ConfigError("--index " + std::to_string(o->index) + " is outside the test split (" +
                                  std::to_string(test.size()) + " images)");
            const auto path = map_trajectory(s.run.model, map, test.images[o->index], s.run.config.data.mean,
                                             s.run.config.data.std, o->token, s.device);
            r.arrays.push_back({"trajectory", path});
            r.params["index"] = o->index;
            std::vector<std::vector<double>> points;
            for (int64_t t = 0; t < path.size(0); ++t) points.push_back({path[t][0].item<double>(), path[t][1].item<double>()});
            r.params["trajectory"] = points;
            std::snprintf(buf, sizeof buf, "\ntest image %lld: z_0 at (%.3f, %.3f), z_T at (%.3f, %.3f)", (long long)o->index,
                          points.front()[0], points.front()[1], points.back()[0], points.back()[1]);
            text += buf;
        }
        report(*o, s.run, std::move(r), text);
    });
}

/// "BLOCK:BRANCH:SLOT" → SlotRef.
SlotRef parse_slot_ref(const std::string& text) {
    const auto a = text.find(':'), b = text.rfind(':');
    if (a == std::string::npos || a == b)
        throw ConfigError("--slot '" + text + "': expected BLOCK:BRANCH:SLOT, e.g. 0:local:17");
    try {
        return {std::stoll(text.substr(0, a)), parse_branch(text.substr(a + 1, b - a - 1)), std::stoll(text.substr(b + 1))};
    } catch (const std::logic_error&) {
        throw ConfigError("--slot '" + text + "': expected BLOCK:BRANCH:SLOT, e.g. 0:local:17");
    }
}

}  // namespace

void add_memory_probes(CLI::App* probe) {
    add_evidence(probe);
    add_ablation(probe);
    add_leave_class_out(probe);
    add_map(probe);
}

void add_edit(CLI::App& app) {
    struct Opts {
        std::string dir, name, description, branch = "both";
        std::vector<int64_t> classes, sources, blocks, steps;
        std::vector<std::string> slots;
        bool list = false, force = false, json = false;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("edit", "Save a memory edit (slots masked at inference, the run unchanged) as "
                                           "RUN/edits/NAME.json, for --edit NAME of eval and every probe");
    cmd->add_option("RUN", o->dir, "Run folder")->required();
    cmd->add_option("NAME", o->name, "Edit name (letters, digits, '-', '_', '.')");
    cmd->add_option("--class", o->classes, "Mask every slot storing these classes")->delimiter(',');
    cmd->add_option("--source", o->sources, "Mask every slot written by these training images (dataset indices)")
        ->delimiter(',');
    cmd->add_option("--steps", o->steps, "Mask every slot written at a training step in FIRST,LAST")
        ->delimiter(',')
        ->expected(2);
    cmd->add_option("--slot", o->slots, "Mask single slots BLOCK:BRANCH:SLOT (repeatable)");
    cmd->add_option("--block", o->blocks, "Restrict to these blocks (default: all)")->delimiter(',');
    cmd->add_option("--branch", o->branch, "Restrict to local, global or both")
        ->check(CLI::IsMember({"local", "global", "both"}));
    cmd->add_option("--description", o->description, "Free text kept in the edit");
    cmd->add_flag("--list", o->list, "List the run's saved edits");
    cmd->add_flag("--force", o->force, "Replace an edit of that name");
    cmd->add_flag("--json", o->json, "Print one JSON object: edits (with --list), or written and masked");
    cmd->callback([o] {
        if (o->list) {
            const auto names = list_edits(o->dir);
            if (o->json) std::cout << nlohmann::json{{"run", o->dir}, {"edits", names}}.dump(2) << "\n";
            else
                for (const auto& n : names) std::cout << n << "\n";
            return;
        }
        if (o->name.empty()) throw ConfigError("vhmn edit: give the edit a NAME (or --list)");
        MemoryEdit edit;
        edit.name = o->name;
        edit.description = o->description;
        edit.classes = o->classes, edit.sources = o->sources, edit.blocks = o->blocks, edit.branch = o->branch;
        for (const auto& s : o->slots) edit.slots.push_back(parse_slot_ref(s));
        if (!o->steps.empty()) {
            if (o->steps[0] > o->steps[1]) throw ConfigError("--steps FIRST,LAST needs FIRST <= LAST");
            edit.steps = std::make_pair(o->steps[0], o->steps[1]);
        }
        if (edit.selects_nothing())
            throw ConfigError("vhmn edit: nothing to mask (give --class, --source, --steps or --slot)");
        const auto path = edit_path(o->dir, o->name);
        if (!o->force && std::filesystem::exists(path))
            throw ConfigError(path + " exists (--force replaces it)");
        // Check the edit against the run's model (blocks, slots) and say what it masks.
        const std::string weights = app::weights_file(o->dir);
        Model model = load_model(weights);
        VHMN memory = memory_of(model, "a memory edit");
        const int64_t masked = apply_edit(memory, edit);
        const auto cfg = read_run_config(o->dir);
        if (cfg.data.fingerprint) edit.data_fingerprint = "train " + describe(cfg.data.fingerprint->train);
        const auto written = save_edit(o->dir, edit);
        if (o->json) std::cout << nlohmann::json{{"written", written}, {"masked", masked}, {"weights", weights}}.dump(2) << "\n";
        else std::cout << "wrote " << written << ": masks " << masked << " stored slots of " << weights << "\n";
    });
}

}  // namespace vhmn::cli
