#include "core/probes/robustness.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/models/hopfield.h"
#include "core/probes/common.h"
#include "core/runtime.h"

namespace vhmn {

using namespace probe_detail;

void validate_iterations(const std::vector<int64_t>& iterations) {
    if (iterations.empty()) throw ConfigError("--iterations needs at least one value");
    for (int64_t t : iterations)
        if (t < 0 || t > 64) throw ConfigError("--iterations " + std::to_string(t) + " is outside [0, 64]");
}

std::vector<RobustnessRow> probe_robustness(ProbeInput& in, const std::vector<Corruption>& corruptions,
                                            const std::vector<int64_t>& iterations_asked, uint64_t seed,
                                            const ProbeControl& control) {
    check_input(in);
    for (const auto& c : corruptions) validate(c);
    validate_iterations(iterations_asked);
    // A baseline has no T: it is evaluated once (rows with iterations 0).
    const std::vector<int64_t> iterations = in.model->has_memory() ? iterations_asked : std::vector<int64_t>{0};
    c10::InferenceMode inference;
    ProbeScope scope(in.model);
    std::vector<at::Generator> gens;
    for (size_t i = 0; i < corruptions.size(); ++i) gens.push_back(condition_generator(seed, i));
    std::vector<int64_t> correct(corruptions.size() * iterations.size(), 0);
    int64_t count = 0;
    for_batches(in, control, "robustness", [&](int64_t, int64_t, const torch::Tensor& x, const torch::Tensor& y) {
        auto labels = y.to(in.device);
        for (size_t i = 0; i < corruptions.size(); ++i) {
            // The embedding does not depend on T: computed once per corrupted batch.
            auto tokens = in.model->embed(normalized(in, corrupt(x, corruptions[i], gens[i])));
            for (size_t t = 0; t < iterations.size(); ++t) {
                in.model->set_iterations(iterations[t]);
                auto pred = in.model->forward_embedded(tokens).argmax(1);
                correct[i * iterations.size() + t] += pred.eq(labels).sum().item<int64_t>();
            }
        }
        count += y.size(0);
    });
    std::vector<RobustnessRow> rows;
    for (size_t i = 0; i < corruptions.size(); ++i)
        for (size_t t = 0; t < iterations.size(); ++t)
            rows.push_back({corruptions[i], iterations[t], 100.0 * double(correct[i * iterations.size() + t]) / double(count),
                            count});
    return rows;
}

ProbeResult robustness_result(const std::vector<RobustnessRow>& rows, uint64_t seed) {
    ProbeResult r;
    r.name = "robustness";
    r.table = Table({"corruption", "severity", "iterations", "top1", "count"});
    std::vector<int64_t> ts;
    for (const auto& row : rows) {
        r.table.add_row({row.corruption.kind, row.corruption.severity, row.iterations, row.top1, row.count});
        if (std::find(ts.begin(), ts.end(), row.iterations) == ts.end()) ts.push_back(row.iterations);
    }
    // The paper's summary: mean top-1 over all corrupted conditions, per T.
    for (int64_t t : ts) {
        double sum = 0;
        int64_t n = 0, count = 0;
        for (const auto& row : rows)
            if (row.iterations == t && row.corruption.kind != "clean") sum += row.top1, ++n, count = row.count;
        if (n > 0) r.table.add_row({std::string("mean"), 0.0, t, sum / double(n), count});
    }
    r.params = {{"seed", seed}, {"mean", "mean top-1 over all corrupted conditions (clean excluded)"}};
    return r;
}

}  // namespace vhmn
