#include "core/probes/cifar_c.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "core/probes/common.h"
#include "core/probes/robustness.h"

namespace vhmn {

using namespace probe_detail;

// ---- the probe ------------------------------------------------------------------------------------
namespace {

int64_t count_correct(Model& model, const torch::Tensor& tokens, const torch::Tensor& labels, int64_t t) {
    if (model->has_memory()) model->set_iterations(t);
    return model->forward_embedded(tokens).argmax(1).eq(labels).sum().item<int64_t>();
}

std::vector<std::string> chosen_corruptions(const CorruptionSource& source, const CorruptionsOptions& opts) {
    const auto have = source.corruptions();
    if (opts.corruptions.empty()) return have;
    std::vector<std::string> out;
    for (const auto& name : opts.corruptions) {
        c_corruption(name);  // a name the suite knows
        if (std::find(have.begin(), have.end(), name) == have.end())
            throw ConfigError("corruption '" + name + "' is not in " + source.description());
        out.push_back(name);
    }
    return out;
}

/// Positions in `test` of the images whose Split::index is `wanted` (a split without an index is
/// the file's own order). An image the split does not hold: ConfigError naming the source.
torch::Tensor positions_of(const data::Split& test, const torch::Tensor& wanted, const CorruptionSource& source) {
    const auto want = wanted.to(torch::kCPU, torch::kLong).contiguous();
    const auto have = test.index.defined() ? test.index.to(torch::kCPU, torch::kLong).contiguous()
                                           : torch::arange(test.size(), torch::kLong);
    std::unordered_map<int64_t, int64_t> at;
    const int64_t* h = have.data_ptr<int64_t>();
    for (int64_t p = 0; p < have.numel(); ++p) at.emplace(h[p], p);
    std::vector<int64_t> out;
    out.reserve(size_t(want.numel()));
    const int64_t* w = want.data_ptr<int64_t>();
    for (int64_t k = 0; k < want.numel(); ++k) {
        const auto it = at.find(w[k]);
        if (it == at.end())
            throw ConfigError(source.description() + " holds test image " + std::to_string(w[k]) + ", which the run's test split (" +
                              std::to_string(test.size()) + " images) does not: these files are not a corrupted copy of it");
        out.push_back(it->second);
    }
    return torch::tensor(out, torch::kLong);
}

/// The clean images the cells are corrupted copies of: `in.test` for a generated source; for files,
/// the images of `in.test` (the run's whole test split) that their test_index() names. Their labels
/// must be the split's there, or the files are not a corrupted copy of this run's test split.
ProbeInput clean_images_of(const ProbeInput& in, const CorruptionSource& source) {
    ProbeInput out = in;
    const auto wanted = source.test_index();
    if (wanted.defined()) {
        const auto p = positions_of(in.test, wanted, source);
        out.test = {in.test.images.index_select(0, p.to(in.test.images.device())),
                    in.test.labels.index_select(0, p.to(in.test.labels.device())),
                    in.test.index.defined() ? in.test.index.index_select(0, p.to(in.test.index.device()))
                                            : wanted.to(in.test.images.device(), torch::kLong)};
    }
    if (out.test.size() != source.size())
        throw ConfigError(source.description() + ": " + std::to_string(source.size()) + " images per severity, but " +
                          std::to_string(out.test.size()) + " clean test images to compare them with");
    const auto mine = source.labels().to(torch::kCPU, torch::kLong), theirs = out.test.labels.to(torch::kCPU, torch::kLong);
    const auto differ = mine.ne(theirs).nonzero();
    if (differ.size(0) > 0) {
        const int64_t k = differ[0][0].item<int64_t>();
        const int64_t at = wanted.defined() ? wanted[k].item<int64_t>() : k;
        const std::string what = "image " + std::to_string(at) + " is labelled " + std::to_string(mine[k].item<int64_t>()) +
                                 " there and " + std::to_string(theirs[k].item<int64_t>()) + " in the run's test split (" +
                                 std::to_string(differ.size(0)) + " of " + std::to_string(mine.numel()) +
                                 " labels differ): these files are not a corrupted copy of this run's test split, whose "
                                 "first images, in order, they must hold — check --c-dir and the run's --data";
        if (!source.labels_file().empty()) throw FileError(source.labels_file(), what);
        throw ConfigError(source.description() + ": " + what);
    }
    return out;
}

}  // namespace

CorruptionsReport probe_corruptions(ProbeInput& in, CorruptionSource& source, const CorruptionsOptions& opts,
                                    const ProbeControl& control) {
    check_input(in);
    if (opts.severities.empty()) throw ConfigError("--severities needs at least one severity");
    for (int s : opts.severities)
        if (s < 1 || s > 5) throw ConfigError("severity " + std::to_string(s) + " is outside 1-5");
    CorruptionsReport r;
    r.iterations = opts.iterations.empty() ? std::vector<int64_t>{in.model->has_memory() ? in.model->iterations() : 0}
                                           : opts.iterations;
    if (in.model->has_memory()) validate_iterations(r.iterations);
    else r.iterations = {0};
    const auto names = chosen_corruptions(source, opts);
    if (source.size() < 1) throw ConfigError(source.description() + " has no images");
    r.released = source.released();
    r.source = source.params();
    r.description = source.description();
    for (const auto& n : names)
        if (source.ours(n)) r.ours.push_back(n);

    const ProbeInput clean_in = clean_images_of(in, source);
    c10::InferenceMode inference;
    ProbeScope scope(in.model);
    std::unique_ptr<ProbeScope> base_scope;
    Model base = opts.baseline;
    if (base) base_scope = std::make_unique<ProbeScope>(base);
    const size_t nt = r.iterations.size();
    const double total = double(names.size() * opts.severities.size() * size_t(source.size()) + size_t(clean_in.test.size()));
    double done = 0;

    // Clean accuracy on the images the cells hold, uncorrupted.
    std::vector<int64_t> clean(nt, 0);
    int64_t clean_base = 0;
    for_batches(clean_in, {}, "clean", [&](int64_t s, int64_t e, const torch::Tensor& x, const torch::Tensor& y) {
        if (control.cancel && control.cancel->load()) throw ProbeCancelled();
        auto labels = y.to(in.device);
        auto xn = normalized(in, x);
        auto tokens = in.model->embed(xn);
        for (size_t t = 0; t < nt; ++t) clean[t] += count_correct(in.model, tokens, labels, r.iterations[t]);
        if (base) clean_base += count_correct(base, base->embed(xn), labels, base->iterations());
        done += double(e - s);
        if (control.progress) control.progress(done / total, "clean");
    });
    r.clean_count = clean_in.test.size();
    for (size_t t = 0; t < nt; ++t) r.clean_top1[r.iterations[t]] = 100.0 * double(clean[t]) / double(r.clean_count);
    if (base) r.baseline_clean_top1 = 100.0 * double(clean_base) / double(r.clean_count);

    const auto labels_all = source.labels();
    const int64_t n = source.size();
    for (const auto& name : names) {
        for (int sev : opts.severities) {
            std::vector<int64_t> correct(nt, 0);
            int64_t correct_base = 0;
            for (int64_t b = 0; b < n; b += in.batch) {
                if (control.cancel && control.cancel->load()) throw ProbeCancelled();
                const int64_t count = std::min(in.batch, n - b);
                auto x = source.images(name, sev, b, count).to(torch::kFloat).div_(255.0);
                auto labels = labels_all.slice(0, b, b + count).to(in.device);
                auto xn = normalized(in, x);
                auto tokens = in.model->embed(xn);  // the embedding does not depend on T
                for (size_t t = 0; t < nt; ++t) correct[t] += count_correct(in.model, tokens, labels, r.iterations[t]);
                if (base) correct_base += count_correct(base, base->embed(xn), labels, base->iterations());
                done += double(count);
                if (control.progress) control.progress(done / total, name + " " + std::to_string(sev));
            }
            for (size_t t = 0; t < nt; ++t) {
                CCell c;
                c.corruption = name, c.severity = sev, c.iterations = r.iterations[t], c.count = n;
                c.top1 = 100.0 * double(correct[t]) / double(n);
                c.baseline_top1 = base ? 100.0 * double(correct_base) / double(n) : -1.0;
                r.cells.push_back(c);
            }
        }
    }
    return r;
}

// ---- aggregates -----------------------------------------------------------------------------------
bool counts_in_mean(const CorruptionsReport& r, const std::string& corruption) {
    return c_corruption(corruption).reference &&
           std::find(r.ours.begin(), r.ours.end(), corruption) == r.ours.end();
}

CorruptionsSummary summarize(const CorruptionsReport& r, int64_t t) {
    CorruptionsSummary s;
    s.iterations = t;
    auto clean = r.clean_top1.find(t);
    if (clean == r.clean_top1.end()) throw ConfigError("no corruption results at T = " + std::to_string(t));
    s.clean = clean->second;
    std::map<std::string, std::pair<double, int>> corr, fam;
    std::map<std::string, std::pair<double, double>> ce;  // Σ err, Σ err_baseline
    std::map<std::string, std::pair<double, double>> rce;  // Σ (err − clean err), same for the baseline
    double sum = 0;
    const bool base = r.baseline_clean_top1 >= 0;
    for (const auto& c : r.cells) {
        if (c.iterations != t) continue;
        auto& a = corr[c.corruption];
        a.first += c.top1, a.second += 1;
        if (!counts_in_mean(r, c.corruption)) continue;
        sum += c.top1, ++s.reference_cells;
        auto& f = fam[c_corruption(c.corruption).family];
        f.first += c.top1, f.second += 1;
        if (base) {
            const double err = 100.0 - c.top1, berr = 100.0 - c.baseline_top1;
            ce[c.corruption].first += err, ce[c.corruption].second += berr;
            rce[c.corruption].first += err - (100.0 - s.clean);
            rce[c.corruption].second += berr - (100.0 - r.baseline_clean_top1);
        }
    }
    for (const auto& [k, v] : corr) s.by_corruption[k] = v.first / v.second;
    for (const auto& [k, v] : fam) s.by_family[k] = v.first / v.second;
    if (s.reference_cells == 0) throw ConfigError("no reference corruption was evaluated at T = " + std::to_string(t));
    s.mean = sum / double(s.reference_cells);
    if (base && !ce.empty()) {
        double m = 0, rm = 0;
        for (const auto& [k, v] : ce) m += v.second > 0 ? v.first / v.second : std::nan("");
        for (const auto& [k, v] : rce) rm += v.second != 0 ? v.first / v.second : std::nan("");
        s.mce = 100.0 * m / double(ce.size());
        s.relative_mce = 100.0 * rm / double(rce.size());
    }
    return s;
}

std::string corruption_note(const CorruptionsReport& r, const std::string& corruption) {
    if (std::find(r.ours.begin(), r.ours.end(), corruption) != r.ours.end())
        return "ours, not the reference's (procedural texture): in no mean";
    if (!c_corruption(corruption).reference) return "extra: in no mean";
    return "";
}

ProbeResult corruptions_result(const CorruptionsReport& r) {
    ProbeResult out;
    out.name = "corruptions";
    out.table = Table({"corruption", "family", "severity", "iterations", "top1", "baseline_top1", "count", "in_mean", "note"});
    for (const auto& c : r.cells)
        out.table.add_row({c.corruption, c_corruption(c.corruption).family, int64_t(c.severity), c.iterations, c.top1,
                           c.baseline_top1, c.count, int64_t(counts_in_mean(r, c.corruption) ? 1 : 0),
                           corruption_note(r, c.corruption)});
    auto& p = out.params;
    p["source"] = r.source;
    p["source_description"] = r.description;
    p["label"] = r.released ? "CIFAR-10-C (released files)"
                            : "generated with the CIFAR-10-C parameters (not the released CIFAR-10-C)";
    p["released"] = r.released;
    p["ours"] = r.ours;
    p["clean_count"] = r.clean_count;
    p["baseline_clean_top1"] = r.baseline_clean_top1;
    nlohmann::json clean = nlohmann::json::object(), summaries = nlohmann::json::array();
    for (const auto& [t, v] : r.clean_top1) clean[std::to_string(t)] = v;
    p["clean_top1"] = clean;
    p["iterations"] = r.iterations;
    for (int64_t t : r.iterations) {
        const auto s = summarize(r, t);
        summaries.push_back({{"iterations", t},
                             {"clean", s.clean},
                             {"mean", s.mean},
                             {"reference_cells", s.reference_cells},
                             {"by_family", s.by_family},
                             {"by_corruption", s.by_corruption},
                             {"mce", s.mce},
                             {"relative_mce", s.relative_mce}});
    }
    p["summaries"] = summaries;
    return out;
}

CorruptionsReport corruptions_from_result(const Table& table, const nlohmann::json& params) {
    CorruptionsReport r;
    try {
        r.released = params.at("released").get<bool>();
        r.source = params.at("source");
        r.description = params.value("source_description", std::string());
        r.ours = params.at("ours").get<std::vector<std::string>>();
        r.clean_count = params.at("clean_count").get<int64_t>();
        r.baseline_clean_top1 = params.at("baseline_clean_top1").get<double>();
        r.iterations = params.at("iterations").get<std::vector<int64_t>>();
        for (const auto& [k, v] : params.at("clean_top1").items()) r.clean_top1[std::stoll(k)] = v.get<double>();
    } catch (const nlohmann::json::exception& e) {
        throw ConfigError(std::string("stored corruptions result: bad params (") + e.what() + ")");
    }
    const auto names = table.texts("corruption");
    const auto sev = table.numbers("severity"), its = table.numbers("iterations"), top1 = table.numbers("top1"),
               base = table.numbers("baseline_top1"), count = table.numbers("count");
    for (size_t i = 0; i < names.size(); ++i)
        r.cells.push_back({names[i], int(sev[i]), int64_t(its[i]), top1[i], base[i], int64_t(count[i])});
    return r;
}

Table corruptions_grid(const CorruptionsReport& r) {
    Table g({"corruption", "family", "iterations", "s1", "s2", "s3", "s4", "s5", "mean", "note"});
    std::vector<std::string> order;
    for (const auto& c : c_corruptions())
        for (const auto& cell : r.cells)
            if (cell.corruption == c.name) {
                order.push_back(c.name);
                break;
            }
    for (int64_t t : r.iterations)
        for (const auto& name : order) {
            std::vector<Cell> row{name, c_corruption(name).family, t};
            double sum = 0;
            int n = 0;
            for (int s = 1; s <= 5; ++s) {
                double v = std::nan("");
                for (const auto& cell : r.cells)
                    if (cell.corruption == name && cell.severity == s && cell.iterations == t) v = cell.top1;
                if (!std::isnan(v)) sum += v, ++n;
                row.push_back(v);
            }
            row.push_back(n ? sum / n : std::nan(""));
            row.push_back(corruption_note(r, name));
            g.add_row(row);
        }
    return g;
}

nlohmann::json robustbench_entry(const CorruptionsReport& r, const std::string& model_name) {
    auto entry = [&](int64_t t) {
        const auto s = summarize(r, t);
        nlohmann::json j;
        j["name"] = model_name;
        j["dataset"] = "cifar10";
        j["threat_model"] = "corruptions";
        j["corruptions_source"] = r.released ? "CIFAR-10-C (released files)"
                                             : "generated with the CIFAR-10-C parameters (not the released files)";
        j["iterations"] = t;
        j["clean_acc"] = s.clean;
        j["n_examples"] = r.clean_count;  // clean and every corrupted cell: the same images
        // Only a mean over the released files is "CIFAR-10-C accuracy"; a generated one says so in its key.
        j[r.released ? "corruptions_acc" : "corruptions_acc_generated"] = s.mean;
        j["corruptions_acc_cells"] = s.reference_cells;
        nlohmann::json per = nlohmann::json::object();
        for (const auto& c : r.cells) {
            if (c.iterations != t) continue;
            per[c.corruption][std::to_string(c.severity)] = c.top1;
        }
        j["unaggregated"] = per;
        j["by_corruption"] = s.by_corruption;
        j["by_family"] = s.by_family;
        if (s.mce >= 0) j["mCE"] = s.mce, j["relative_mCE"] = s.relative_mce;
        if (!r.ours.empty()) j["not_reference"] = r.ours;  // ours (procedural frost), outside every mean
        return j;
    };
    auto j = entry(r.iterations.front());
    if (r.iterations.size() > 1) {
        nlohmann::json by = nlohmann::json::object();
        for (int64_t t : r.iterations) by[std::to_string(t)] = entry(t);
        j["by_iterations"] = by;
    }
    return j;
}

}  // namespace vhmn
