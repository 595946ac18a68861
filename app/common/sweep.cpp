#include "app/common/sweep.h"

#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "app/common/run_compare.h"
#include "app/common/train_fields.h"
#include "core/io/atomic_file.h"
#include "core/error.h"
#include "core/models/stats.h"
#include "core/train/train_config.h"

namespace vhmn::app {
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kMetrics = {"test_top1", "test_top5", "test_loss", "train_loss", "train_acc", "best_top1"};
constexpr const char* kResult = "result.json";

std::string value_text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string run_name(const nlohmann::json& fields, uint64_t seed) {
    std::string name;
    for (auto it = fields.begin(); it != fields.end(); ++it)
        name += it.key() + "=" + value_text(*it) + "_";
    name += "seed=" + std::to_string(seed);
    for (char& c : name)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '=' || c == '-' || c == '_')) c = '-';
    return name;
}

}  // namespace

SweepSpec read_sweep(const std::string& path) {
    SweepSpec s;
    s.file = path;
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(read_text_file(path));
    } catch (const nlohmann::json::exception& e) {
        throw FileError(path, std::string("not valid JSON: ") + e.what());
    }
    auto bad = [&](const std::string& key, const std::string& problem) { throw FileError(path, key + ": " + problem); };
    if (!j.is_object()) throw FileError(path, "a sweep file is one JSON object");
    static const std::set<std::string> known = {"name", "description", "data", "out", "base", "vary", "cases", "seeds", "metrics"};
    for (auto it = j.begin(); it != j.end(); ++it)
        if (!known.count(it.key())) bad(it.key(), "unknown key (known: name, description, data, out, base, vary, cases, seeds, metrics)");
    auto text = [&](const char* key, std::string& out) {
        if (!j.contains(key)) return;
        if (!j[key].is_string()) bad(key, "expected a string");
        out = j[key].get<std::string>();
    };
    text("name", s.name);
    text("data", s.data);
    text("out", s.out);
    if (j.contains("base")) {
        if (!j["base"].is_object()) bad("base", "expected an object of config fields");
        s.base = j["base"];
    }
    if (j.contains("vary")) {
        if (!j["vary"].is_object()) bad("vary", "expected an object {field: [values]}");
        for (auto it = j["vary"].begin(); it != j["vary"].end(); ++it) {
            if (!it->is_array() || it->empty()) bad("vary." + it.key(), "expected a non-empty list of values");
            s.vary.push_back({it.key(), it->get<std::vector<nlohmann::json>>()});
        }
    }
    if (j.contains("cases")) {
        if (!j["cases"].is_array()) bad("cases", "expected a list of objects");
        for (const auto& c : j["cases"]) {
            if (!c.is_object() || c.empty()) bad("cases", "every case must be a non-empty object of config fields");
            s.cases.push_back(c);
        }
    }
    if (j.contains("seeds")) {
        if (!j["seeds"].is_array() || j["seeds"].empty()) bad("seeds", "expected a non-empty list of integers");
        s.seeds.clear();
        for (const auto& v : j["seeds"]) {
            if (!v.is_number_unsigned()) bad("seeds", "seeds must be integers >= 0, got " + v.dump());
            s.seeds.push_back(v.get<uint64_t>());
        }
    }
    if (j.contains("metrics")) {
        if (!j["metrics"].is_array() || j["metrics"].empty()) bad("metrics", "expected a non-empty list");
        s.metrics.clear();
        for (const auto& v : j["metrics"]) {
            if (!v.is_string() || std::find(kMetrics.begin(), kMetrics.end(), v.get<std::string>()) == kMetrics.end())
                bad("metrics", v.dump() + " is not one of test_top1, test_top5, test_loss, train_loss, train_acc, best_top1");
            s.metrics.push_back(v.get<std::string>());
        }
    }
    if (s.base.contains("seed")) bad("base.seed", "list seeds under \"seeds\"");
    for (const auto& [k, v] : s.vary)
        if (k == "seed") bad("vary.seed", "list seeds under \"seeds\"");
    try {
        (void)expand_sweep(s);
    } catch (const ConfigError& e) {
        throw FileError(path, e.what());
    }
    return s;
}

std::vector<SweepRun> expand_sweep(const SweepSpec& spec) {
    // Cases × grid combinations, in file order.
    std::vector<nlohmann::json> combos{nlohmann::json::object()};
    for (const auto& [key, values] : spec.vary) {
        std::vector<nlohmann::json> next;
        for (const auto& c : combos)
            for (const auto& v : values) {
                auto n = c;
                n[key] = v;
                next.push_back(n);
            }
        combos = std::move(next);
    }
    std::vector<nlohmann::json> cases = spec.cases.empty() ? std::vector<nlohmann::json>{nlohmann::json::object()} : spec.cases;
    std::vector<SweepRun> runs;
    std::set<std::string> names;
    for (const auto& c : cases)
        for (const auto& g : combos) {
            nlohmann::json fields = nlohmann::json::object();
            for (auto it = c.begin(); it != c.end(); ++it) fields[it.key()] = *it;
            for (auto it = g.begin(); it != g.end(); ++it) fields[it.key()] = *it;
            if (fields.contains("seed")) throw ConfigError("cases.seed: list seeds under \"seeds\"");
            for (uint64_t seed : spec.seeds) {
                SweepRun run;
                run.fields = fields;
                run.seed = seed;
                run.name = run_name(fields, seed);
                if (!names.insert(run.name).second) throw ConfigError("two runs would share the folder " + run.name);
                TrainRequest& r = run.request;
                r.preset = "cpu-tiny";
                r.model = preset(r.preset);
                r.data = spec.data.empty() ? "builtin" : spec.data;
                nlohmann::json all = spec.base;
                for (auto it = fields.begin(); it != fields.end(); ++it) all[it.key()] = *it;
                try {
                    apply_fields(r, all);
                } catch (const ConfigError& e) {
                    throw ConfigError("run " + run.name + ": " + e.what());
                }
                r.train.seed = seed;
                r.out = (fs::path(spec.out.empty() ? "sweep" : spec.out) / run.name).string();
                r.train.validate();
                r.augment.validate();
                runs.push_back(std::move(run));
            }
        }
    return runs;
}

SweepOutcome summarize_sweep(const SweepSpec& spec) {
    SweepOutcome out;
    const auto runs = expand_sweep(spec);
    // Field columns: every varied key in order of first appearance.
    std::vector<std::string> keys;
    for (const auto& r : runs)
        for (auto it = r.fields.begin(); it != r.fields.end(); ++it)
            if (std::find(keys.begin(), keys.end(), it.key()) == keys.end()) keys.push_back(it.key());
    std::vector<std::string> run_cols{"run"};
    run_cols.insert(run_cols.end(), keys.begin(), keys.end());
    for (const char* c : {"seed", "epochs"}) run_cols.push_back(c);
    run_cols.insert(run_cols.end(), spec.metrics.begin(), spec.metrics.end());
    run_cols.push_back("seconds");
    out.runs = Table(run_cols);
    std::vector<std::string> sum_cols(keys);
    sum_cols.push_back("parameters");  // of the case's model (the tables list size beside accuracy)
    sum_cols.push_back("seeds");
    for (const auto& m : spec.metrics) sum_cols.push_back(m + "_mean"), sum_cols.push_back(m + "_std");
    out.summary = Table(sum_cols);

    std::vector<std::string> case_order;  // field signature → metric values over seeds
    std::map<std::string, std::pair<nlohmann::json, std::vector<std::vector<double>>>> cases;
    std::map<std::string, int64_t> parameters;
    for (const auto& r : runs) {
        const fs::path result = fs::path(r.request.out) / kResult;
        if (!fs::exists(result)) continue;
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(read_text_file(result.string()));
        } catch (const nlohmann::json::exception& e) {
            throw FileError(result.string(), std::string("corrupt run result: ") + e.what());
        }
        std::vector<Cell> row{r.name};
        for (const auto& k : keys) row.emplace_back(r.fields.contains(k) ? value_text(r.fields[k]) : std::string("-"));
        row.emplace_back(int64_t(r.seed));
        row.emplace_back(j.value("epochs", int64_t(0)));
        const std::string sig = r.fields.dump();
        auto& entry = cases[sig];
        if (entry.second.empty()) {
            case_order.push_back(sig);
            entry.first = r.fields;
            // Parameters as trained (inputs and classes come from the data): the run's own config.
            int64_t params = 0;
            try {
                params = count_parameters(read_run_config(r.request.out).model);
            } catch (const std::exception&) {
                params = count_parameters(r.request.model);
            }
            parameters[sig] = params;
            entry.second.resize(spec.metrics.size());
        }
        for (size_t m = 0; m < spec.metrics.size(); ++m) {
            const double v = j.at("metrics").value(spec.metrics[m], std::nan(""));
            row.emplace_back(v);
            entry.second[m].push_back(v);
        }
        row.emplace_back(j.value("seconds", 0.0));
        out.runs.add_row(std::move(row));
    }
    for (const auto& sig : case_order) {
        const auto& [fields, values] = cases[sig];
        std::vector<Cell> row;
        for (const auto& k : keys) row.emplace_back(fields.contains(k) ? value_text(fields[k]) : std::string("-"));
        row.emplace_back(parameters[sig]);
        row.emplace_back(int64_t(values.front().size()));
        for (const auto& v : values) {
            const auto [mean, sd] = mean_and_sample_std(v);
            row.emplace_back(mean);
            row.emplace_back(sd);
        }
        out.summary.add_row(std::move(row));
    }
    return out;
}

namespace {

/// The summary as "mean ± std" text cells, for Markdown and LaTeX.
Table display_table(const SweepSpec& spec, const Table& summary) {
    std::vector<std::string> cols;
    const size_t fixed = summary.columns().size() - 2 * spec.metrics.size();
    for (size_t c = 0; c < fixed; ++c) cols.push_back(summary.columns()[c]);
    for (const auto& m : spec.metrics) cols.push_back(m);
    Table t(cols);
    for (size_t i = 0; i < summary.rows(); ++i) {
        std::vector<Cell> row;
        for (size_t c = 0; c < fixed; ++c) row.push_back(summary.at(i, c));
        for (size_t m = 0; m < spec.metrics.size(); ++m)
            row.emplace_back(format_cell(summary.at(i, fixed + 2 * m), 2) + " \xC2\xB1 " +
                             format_cell(summary.at(i, fixed + 2 * m + 1), 2));
        t.add_row(std::move(row));
    }
    return t;
}

}  // namespace

void write_sweep_tables(const SweepSpec& spec, SweepOutcome& out) {
    const fs::path dir(spec.out.empty() ? "sweep" : spec.out);
    const Table shown = display_table(spec, out.summary);
    const std::string title = spec.name.empty() ? fs::path(spec.file).stem().string() : spec.name;
    const std::vector<std::pair<std::string, std::string>> files = {
        {"runs.csv", out.runs.to_csv()},
        {"results.csv", out.summary.to_csv()},
        {"results.md", "## " + title + "\n\nmean \xC2\xB1 std over seeds of the final epoch\n\n" + shown.to_markdown(2)},
        {"results.tex", shown.to_latex(title + " (mean \xC2\xB1 std over seeds)", 2)},
    };
    for (const auto& [name, text] : files) {
        write_text_atomically((dir / name).string(), text);
        out.written.push_back((dir / name).string());
    }
}

SweepOutcome run_sweep(const SweepSpec& spec, const SweepCallbacks& cb, TrainControl* control) {
    const auto runs = expand_sweep(spec);
    const fs::path dir(spec.out.empty() ? "sweep" : spec.out);
    fs::create_directories(dir);
    if (!spec.file.empty() && fs::exists(spec.file))
        write_text_atomically((dir / "sweep.json").string(), read_text_file(spec.file));
    size_t trained = 0, resumed = 0, skipped = 0;
    bool stopped = false;
    for (size_t i = 0; i < runs.size() && !stopped; ++i) {
        const auto& run = runs[i];
        const fs::path rd(run.request.out);
        if (fs::exists(rd / kResult)) {
            ++skipped;
            if (cb.on_run) cb.on_run(i, runs.size(), run, "skip");
            continue;
        }
        TrainRequest req = run.request;
        if (fs::exists(rd / run_files::kCheckpoint)) {
            req.resume = true;
            ++resumed;
        } else {
            // Started but interrupted before its first checkpoint: nothing to keep.
            if (fs::exists(rd)) fs::remove_all(rd);
            ++trained;
        }
        if (cb.on_run) cb.on_run(i, runs.size(), run, req.resume ? "resume" : "train");
        auto trainer = make_trainer(req);
        if (trainer->run(cb.train, control) == TrainOutcome::Stopped) {
            stopped = true;
            break;
        }
        const auto& h = trainer->history();
        nlohmann::json j;
        j["run"] = run.name, j["fields"] = run.fields, j["seed"] = run.seed;
        j["epochs"] = int64_t(h.epochs.size());
        double seconds = 0;  // training + evaluation time over all epochs, across resumptions
        for (const auto& e : h.epochs) seconds += e.seconds;
        j["seconds"] = seconds;
        nlohmann::json m = nlohmann::json::object();
        if (!h.epochs.empty()) {
            const auto& e = h.epochs.back();
            m["test_top1"] = e.test_top1, m["test_top5"] = e.test_top5, m["test_loss"] = e.test_loss;
            m["train_loss"] = e.train_loss, m["train_acc"] = e.train_acc;
            double best = 0;
            for (const auto& x : h.epochs) best = std::max(best, x.test_top1);
            m["best_top1"] = best;
        }
        j["metrics"] = m;
        write_text_atomically((rd / kResult).string(), j.dump(2) + "\n");
    }
    SweepOutcome out = summarize_sweep(spec);
    out.trained = trained, out.resumed = resumed, out.skipped = skipped, out.stopped = stopped;
    write_sweep_tables(spec, out);
    return out;
}

}  // namespace vhmn::app
