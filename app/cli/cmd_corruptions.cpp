// `vhmn probe corruptions RUN` (the CIFAR-10-C suite on a run) and `vhmn data export-c` (the
// generated suite written in the released .npy layout).
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "app/cli/help.h"
#include "app/cli/probe_common.h"
#include "app/cli/progress.h"
#include "app/common/experiment.h"
#include "core/probes/robustness.h"
#include "core/error.h"
#include "core/probes/cifar_c.h"
#include "core/runtime.h"
#include "datasets/corruptions/cifar_c.h"
#include "datasets/readers/readers.h"

namespace vhmn::cli {

namespace fs = std::filesystem;

/// "1-5", "2", "1,3,5" or "1-2,5" → severities in 1..5 (ConfigError otherwise).
std::vector<int> parse_severities(const std::string& text) {
    std::vector<int> out;
    std::stringstream ss(text);
    std::string part;
    auto bad = [&] { return ConfigError("--severities '" + text + "': expected severities 1-5 such as 1-5, 3 or 1,3,5"); };
    while (std::getline(ss, part, ',')) {
        int a = 0, b = 0;
        char dash = 0, extra = 0;
        if (std::sscanf(part.c_str(), " %d %c %d %c", &a, &dash, &b, &extra) == 3 && dash == '-') {
        } else if (std::sscanf(part.c_str(), " %d %c", &a, &extra) == 1) {
            b = a;
        } else {
            throw bad();
        }
        if (a < 1 || b > 5 || a > b) throw bad();
        for (int s = a; s <= b; ++s)
            if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    }
    if (out.empty()) throw bad();
    std::sort(out.begin(), out.end());
    return out;
}

namespace {

std::string summary_text(const CorruptionsReport& r, int64_t split_size) {
    std::string text = r.description + "\n" + corruptions_grid(r).to_markdown(2);
    char buf[400];
    if (r.clean_count < split_size) {
        std::snprintf(buf, sizeof buf, "the corruptions hold %lld of the run's %lld test images: clean accuracy and every cell are over those %lld\n",
                      (long long)r.clean_count, (long long)split_size, (long long)r.clean_count);
        text += buf;
    }
    for (int64_t t : r.iterations) {
        const auto s = summarize(r, t);
        std::snprintf(buf, sizeof buf, "T=%lld: clean %.2f%% (%lld images), mean over %lld %s cells %.2f%%", (long long)t,
                      s.clean, (long long)r.clean_count, (long long)s.reference_cells, r.released ? "CIFAR-10-C" : "generated reference", s.mean);
        text += buf;
        for (const auto& [fam, v] : s.by_family) {
            std::snprintf(buf, sizeof buf, "; %s %.2f", fam.c_str(), v);
            text += buf;
        }
        if (s.mce >= 0) {
            std::snprintf(buf, sizeof buf, "; mCE %.1f%%, relative mCE %.1f%% (baseline clean %.2f%%)", s.mce,
                          s.relative_mce, r.baseline_clean_top1);
            text += buf;
        }
        text += "\n";
    }
    if (!r.ours.empty()) text += "not in any mean (ours, not the reference's): frost's texture is procedural\n";
    return text;
}

void add_corruptions_probe(CLI::App* probe) {
    struct Opts : CommonOpts {
        std::string c_dir, severities = "1-5", baseline;
        std::vector<int64_t> iterations;
        std::vector<std::string> corruptions;
        uint64_t seed = 0;
        bool extras = false;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = probe->add_subcommand(
        "corruptions", "CIFAR-10-C: top-1 per corruption x severity x T from the released files (--c-dir) or "
                       "generated with the reference parameters; per-family means, mean over the reference cells, mCE "
                       "against --baseline");
    add_common(cmd, *o);
    cmd->add_option("--c-dir", o->c_dir, "Folder of the released files (<corruption>.npy, labels.npy); without it the "
                                         "corruptions are generated from the test split");
    cmd->add_option("--severities", o->severities, "Severities, e.g. 1-5 (default), 3 or 1,3,5");
    cmd->add_option("--iterations", o->iterations, "Inference-time T to evaluate (default: the model's T)")->delimiter(',');
    cmd->add_option("--baseline", o->baseline, "A run evaluated on the same images, for the (relative) mCE");
    cmd->add_option("--corruptions", o->corruptions, "Only these corruptions (default: all the source has)")->delimiter(',');
    cmd->add_flag("--extras", o->extras, "Generated: also the 4 extra corruptions (speckle, gaussian blur, spatter, saturate)");
    cmd->add_option("--seed", o->seed, "Seed of the generated corruptions");
    cmd->callback([o] {
        const auto t0 = std::chrono::steady_clock::now();
        CorruptionsOptions opts;
        opts.severities = parse_severities(o->severities);
        opts.iterations = o->iterations;
        if (!opts.iterations.empty()) validate_iterations(opts.iterations);
        for (auto& c : o->corruptions) c = c_corruption(canonical_value(c)).name;
        std::unique_ptr<CorruptionSource> source;
        if (!o->c_dir.empty()) source = std::make_unique<data::ReleasedSource>(o->c_dir, o->limit);
        auto s = open(*o);
        if (!opts.iterations.empty() && !s.run.config.model.has_memory()) memory_of(s.run.model, "--iterations");
        // Released files: the whole test split, of which the probe scores the images the files hold
        // (--limit picks among those); generated: the --limit images themselves.
        auto in = app::probe_input(s.run, s.device, o->batch, source ? 0 : o->limit);
        if (!source) {
            if (!data::corruptions_available())
                throw ConfigError("this build has no OpenCV, so it cannot generate corruptions: give the released files with --c-dir");
            source = std::make_unique<data::GeneratedCorruptions>(in.test, o->seed, s.run.dataset.name);
            if (o->corruptions.empty())
                for (const auto& c : c_corruptions())
                    if (c.reference || o->extras) opts.corruptions.push_back(c.name);
        }
        if (!o->corruptions.empty()) opts.corruptions = o->corruptions;
        std::optional<app::OpenedRun> base;
        if (!o->baseline.empty()) {
            app::OpenOptions bo;
            bo.data_dirs = o->data_dirs;
            base = app::open_run(o->baseline, o->data.empty() ? s.run.data_path : o->data, s.device, bo);
            opts.baseline = base->model;
        }
        auto report_data = probe_corruptions(in, *source, opts, probe_progress());
        auto r = corruptions_result(report_data);
        if (base) r.params["baseline"] = o->baseline;
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        r.params["seconds"] = seconds;
        // Beside probe_corruptions.csv (one row per cell): the 15 x 5 grid and a RobustBench-shaped entry.
        const std::string stem = "corruptions" + (o->edit.empty() ? std::string() : "@" + o->edit);
        const auto tables = app::save_corruption_tables(o->dir, report_data, stem);
        char buf[200];
        std::snprintf(buf, sizeof buf, "\nwrote %s\nwrote %s\n(%.0f s)", tables[0].c_str(), tables[1].c_str(), seconds);
        report(*o, s.run, std::move(r), o->json ? std::string() : summary_text(report_data, s.run.dataset.test.size()) + buf);
    });
}

void add_export_c(CLI::App* data) {
    struct Opts {
        std::string path, out, severities = "1-5";
        std::vector<std::string> corruptions;
        int64_t limit = 0;
        uint64_t seed = 0;
        int threads = 0;
        bool extras = false, json = false;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = data->add_subcommand("export-c", "Generate the CIFAR-10-C corruptions of a dataset's test split and "
                                                 "write them in the released layout (<corruption>.npy, labels.npy)");
    add_data_path(cmd, o->path);
    cmd->add_option("--out", o->out, "Folder to write")->required();
    cmd->add_flag("--json", o->json, "Print one JSON object: out, corruptions, severities, images, seconds, ours");
    cmd->add_option("--limit", o->limit, "N test images evenly spaced (0: all)")->check(CLI::Range(int64_t(0), int64_t(1) << 40));
    cmd->add_option("--seed", o->seed, "Seed of the corruptions");
    cmd->add_option("--corruptions", o->corruptions, "Only these (default: the 15)")->delimiter(',');
    cmd->add_flag("--extras", o->extras, "Also the 4 extra corruptions");
    cmd->add_option("--threads", o->threads, "CPU threads")->check(CLI::Range(1, 4096));
    cmd->callback([o] {
        require_data_path(o->path);
        configure_threads(o->threads > 0 ? std::optional<int>(o->threads) : std::nullopt);
        for (auto& c : o->corruptions) c = c_corruption(canonical_value(c)).name;
        if (!data::corruptions_available()) throw ConfigError("this build has no OpenCV, so it cannot generate corruptions");
        const auto t0 = std::chrono::steady_clock::now();
        const auto ds = data::load_dataset(o->path);
        data::GeneratedCorruptions source(evenly_spaced(ds.test, o->limit), o->seed, ds.name);
        auto names = o->corruptions;
        if (names.empty())
            for (const auto& c : c_corruptions())
                if (c.reference || o->extras) names.push_back(c.name);
        double generating = 0;
        size_t done = 0;
        const size_t total = names.size();
        data::export_released(source, o->out, names, [&](const std::string& name, double seconds) {
            generating += seconds;
            std::fprintf(stderr, "export-c: %zu/%zu %s: 5 severities generated in %.1f s\n", ++done, total, name.c_str(), seconds);
        });
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const bool ours = std::any_of(names.begin(), names.end(), [](const std::string& n) { return c_corruption(n).ours_when_generated; });
        if (o->json) {
            std::cout << nlohmann::json{{"out", o->out}, {"corruptions", names}, {"severities", 5}, {"images", source.size()},
                                        {"seconds", seconds}, {"generating_seconds", generating}, {"ours", ours}}
                             .dump(2)
                      << "\n";
            return;
        }
        std::printf("wrote %zu corruptions x 5 severities x %lld images and labels.npy to %s in %.1f s (generating %.1f s)%s\n",
                    names.size(), (long long)source.size(), o->out.c_str(), seconds, generating,
                    ours ? " (frost.npy uses our procedural texture: not the reference's)" : "");
    });
}

}  // namespace

void add_corruptions(CLI::App* probe, CLI::App* data) {
    if (probe) add_corruptions_probe(probe);
    if (data) add_export_c(data);
}

}  // namespace vhmn::cli
