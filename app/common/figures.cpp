#include "app/common/figures.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "core/io/atomic_file.h"
#include "core/error.h"

namespace vhmn::app {

namespace fs = std::filesystem;

namespace {

/// Split a control's progress over consecutive stages.
ProbeControl stage(const ProbeControl& c, double from, double to) {
    ProbeControl s;
    s.cancel = c.cancel;
    if (c.progress)
        s.progress = [p = c.progress, from, to](double f, const std::string& what) { p(from + (to - from) * f, what); };
    return s;
}

}  // namespace

void compute_figure_data(OpenedRun& run, const FigureOptions& o, FigureData& d, const ProbeControl& control) {
    // Most of the pack is memory figures: a baseline is refused before the long robustness pass.
    memory_of(run.model, "the figure pack (prototypes, slot weights, hit rates, stability)");
    auto in = probe_input(run, run.model->parameters().front().device(), o.batch, o.limit);
    const int64_t depth = run.model->config().depth;
    if (d.robustness.empty()) {
        d.robustness = probe_robustness(in, robustness_corruptions(), o.iterations, o.seed, stage(control, 0.0, 0.45));
        d.robustness_seed = o.seed;
    }
    if (d.stability.empty()) {
        d.stability_block = o.stability_block < 0 ? depth - 1 : o.stability_block;
        d.stability_branch = o.stability_branch;
        d.stability = probe_stability(in, d.stability_block, d.stability_branch, stability_corruptions(), o.seed,
                                      stage(control, 0.45, 0.75));
    }
    if (d.weights.empty()) {
        d.weights_class = o.weights_class;
        for (int64_t b = 0; b < depth; ++b)
            d.weights.push_back(probe_weights(in, b, o.weights_branch,
                                              stage(control, 0.75 + 0.2 * double(b) / double(depth),
                                                    0.75 + 0.2 * double(b + 1) / double(depth))));
    }
    if (d.hits.empty()) d.hits = probe_hits(in, stage(control, 0.95, 1.0));
}

Table iterations_table(const std::vector<RobustnessRow>& rows) {
    std::vector<int64_t> ts;
    for (const auto& r : rows)
        if (std::find(ts.begin(), ts.end(), r.iterations) == ts.end()) ts.push_back(r.iterations);
    std::sort(ts.begin(), ts.end());
    Table t({"T", "clean_top1", "corrupted_mean_top1", "images"});
    for (int64_t T : ts) {
        double clean = -1, sum = 0;
        int64_t n = 0, count = 0;
        for (const auto& r : rows) {
            if (r.iterations != T) continue;
            if (r.corruption.kind == "clean") clean = r.top1, count = r.count;
            else sum += r.top1, ++n;
        }
        if (clean < 0) continue;
        t.add_row({T, clean, n > 0 ? sum / double(n) : clean, count});
    }
    return t;
}

Table hits_table(const std::vector<HitRow>& rows) {
    std::map<int64_t, std::pair<const HitRow*, const HitRow*>> by_block;
    for (const auto& r : rows) (r.branch == Branch::Local ? by_block[r.block].first : by_block[r.block].second) = &r;
    Table t({"block", "local_top1", "local_top5", "global_top1", "global_top5"});
    for (const auto& [b, p] : by_block) {
        if (!p.first || !p.second) continue;
        t.add_row({b, p.first->top1, p.first->top5, p.second->top1, p.second->top5});
    }
    return t;
}

Table slot_weights_table(const std::vector<SlotWeights>& weights, int64_t cls) {
    Table t({"block", "branch", "slot", "slot_class", "mean_alpha", "top1_count"});
    for (const auto& w : weights) {
        const auto r = weights_result(w, cls);  // validates cls
        for (size_t i = 0; i < r.table.rows(); ++i)
            t.add_row({w.block, branch_name(w.branch), r.table.at(i, 0), r.table.at(i, 1), r.table.at(i, 2), r.table.at(i, 3)});
    }
    return t;
}

std::vector<std::string> write_figure_tables(const FigureData& d, const std::string& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw FileError(dir, ec.message());
    std::vector<std::string> written;
    auto put = [&](const std::string& name, const std::string& text) {
        const std::string path = (fs::path(dir) / name).string();
        write_text_atomically(path, text);
        written.push_back(path);
    };
    if (!d.robustness.empty()) {
        put("fig2_robustness.csv", robustness_result(d.robustness, d.robustness_seed).table.to_csv());
        const Table t3 = iterations_table(d.robustness);
        put("table3_iterations.md", "Top-1 accuracy (%) by inference-time refinement iterations T\n\n" + t3.to_markdown(2));
        put("table3_iterations.tex", t3.to_latex("Top-1 accuracy (%) by inference-time refinement iterations T "
                                                 "(clean test images and mean over corruptions).", 2));
    }
    if (!d.weights.empty()) put("fig5_slot_weights.csv", slot_weights_table(d.weights, d.weights_class).to_csv());
    if (!d.stability.empty())
        put("fig6_stability.csv",
            stability_result(d.stability, d.stability_block, d.stability_branch, 0).table.to_csv());
    if (!d.hits.empty()) {
        const Table t9 = hits_table(d.hits);
        put("table9_hits.md", "Retrieval hit rate (%): the top-1 / any top-5 slot stores the input's class\n\n" +
                                  t9.to_markdown(2));
        put("table9_hits.tex", t9.to_latex("Retrieval top-1 and top-5 hit rates (%) per block and branch.", 2));
    }
    return written;
}

}  // namespace vhmn::app
