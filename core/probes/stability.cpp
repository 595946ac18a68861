#include "core/probes/stability.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/models/hopfield.h"
#include "core/probes/common.h"
#include "core/runtime.h"

namespace vhmn {

using namespace probe_detail;

std::vector<StabilityRow> probe_stability(ProbeInput& in, int64_t block, Branch branch,
                                          const std::vector<Corruption>& corruptions, uint64_t seed,
                                          const ProbeControl& control) {
    check_input(in);
    for (const auto& c : corruptions) validate(c);
    c10::InferenceMode inference;
    ProbeScope scope(in.model);
    VHMN model = memory_of(in.model, "the stability probe");
    auto bank = model->bank(block, branch);
    const auto view = bank->view();
    if (view.filled == 0) throw ConfigError("stability probe: block " + std::to_string(block) + " " +
                                            branch_name(branch) + " bank is empty");
    auto valid = view.valid.to(in.device);
    auto mhat = view.memory_hat.to(in.device, torch::kFloat);
    const int64_t k5 = std::min<int64_t>(5, view.filled);
    std::vector<at::Generator> gens;
    for (size_t i = 0; i < corruptions.size(); ++i) gens.push_back(condition_generator(seed, i));
    struct Acc {
        int64_t consistent = 0, same = 0, correct = 0;
        double cosine = 0;
    };
    std::vector<Acc> acc(corruptions.size());
    int64_t queries = 0, images = 0;
    for_batches(in, control, "stability", [&](int64_t, int64_t, const torch::Tensor& x, const torch::Tensor& y) {
        auto labels = y.to(in.device);
        auto clean = model->forward_trace(normalized(in, x), {block});
        auto top5 = topk_filled(last_alpha(clean, block, branch), valid, k5);  // [Q, k]
        auto top1 = top5.select(1, 0);
        for (size_t i = 0; i < corruptions.size(); ++i) {
            auto tr = model->forward_trace(normalized(in, corrupt(x, corruptions[i], gens[i])), {block});
            auto c1 = topk_filled(last_alpha(tr, block, branch), valid, 1).view(-1);
            acc[i].consistent += top5.eq(c1.unsqueeze(1)).any(1).sum().item<int64_t>();
            acc[i].same += c1.eq(top1).sum().item<int64_t>();
            acc[i].cosine += (mhat.index({c1}) * mhat.index({top1})).sum(1).sum().item<double>();
            acc[i].correct += tr.logits.argmax(1).eq(labels).sum().item<int64_t>();
        }
        queries += top1.size(0);
        images += y.size(0);
    });
    std::vector<StabilityRow> rows;
    for (size_t i = 0; i < corruptions.size(); ++i) {
        const double q = double(std::max<int64_t>(queries, 1));
        rows.push_back({corruptions[i], 100.0 * double(acc[i].consistent) / q, acc[i].cosine / q,
                        100.0 * double(acc[i].same) / q, 100.0 * double(acc[i].correct) / double(std::max<int64_t>(images, 1)),
                        queries});
    }
    return rows;
}

ProbeResult stability_result(const std::vector<StabilityRow>& rows, int64_t block, Branch branch, uint64_t seed) {
    ProbeResult r;
    r.name = "stability";
    r.table = Table({"corruption", "severity", "top5_consistency", "cosine", "top1_same", "accuracy", "queries"});
    for (const auto& s : rows)
        r.table.add_row({s.corruption.kind, s.corruption.severity, s.top5_consistency, s.cosine, s.top1_same, s.accuracy,
                         s.queries});
    r.params = {{"block", block}, {"branch", branch_name(branch)}, {"seed", seed}};
    return r;
}

}  // namespace vhmn
