#include "core/probes/hits.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/models/hopfield.h"
#include "core/probes/common.h"
#include "core/runtime.h"

namespace vhmn {

using namespace probe_detail;

std::vector<HitRow> probe_hits(ProbeInput& in, const ProbeControl& control) {
    check_input(in);
    c10::InferenceMode inference;
    ProbeScope scope(in.model);
    VHMN model = memory_of(in.model, "the hits probe");
    const int64_t depth = model->config().depth;
    std::vector<HitRow> rows;
    std::vector<std::pair<int64_t, int64_t>> hits;  // top1, top5 counts
    struct BankInfo {
        torch::Tensor valid, label;
        int64_t filled;
    };
    std::vector<BankInfo> banks;
    for (int64_t b = 0; b < depth; ++b)
        for (Branch br : {Branch::Local, Branch::Global}) {
            auto bank = model->bank(b, br);
            rows.push_back({b, br, 0, 0, 0});
            hits.push_back({0, 0});
            const auto view = bank->view();  // an edit's masked slots count as empty
            banks.push_back({view.valid.to(in.device), bank->label.to(in.device), view.filled});
        }
    for_batches(in, control, "hits", [&](int64_t, int64_t, const torch::Tensor& x, const torch::Tensor& y) {
        auto trace = model->forward_trace(normalized(in, x));
        auto labels = y.to(in.device);
        for (size_t i = 0; i < rows.size(); ++i) {
            auto a = last_alpha(trace, rows[i].block, rows[i].branch);
            const int64_t q = a.size(0) / labels.size(0);
            rows[i].queries += a.size(0);
            if (banks[i].filled == 0) continue;
            auto idx = topk_filled(a, banks[i].valid, std::min<int64_t>(5, banks[i].filled));  // [Q, k]
            auto cls = banks[i].label.index({idx});
            auto lab = labels.repeat_interleave(q).unsqueeze(1);
            auto same = cls.eq(lab);
            hits[i].first += same.select(1, 0).sum().item<int64_t>();
            hits[i].second += same.any(1).sum().item<int64_t>();
        }
    });
    for (size_t i = 0; i < rows.size(); ++i) {
        const double q = double(std::max<int64_t>(rows[i].queries, 1));
        rows[i].top1 = 100.0 * double(hits[i].first) / q;
        rows[i].top5 = 100.0 * double(hits[i].second) / q;
    }
    return rows;
}

ProbeResult hits_result(const std::vector<HitRow>& rows) {
    ProbeResult r;
    r.name = "hits";
    r.table = Table({"block", "branch", "top1_hit_rate", "top5_hit_rate", "queries"});
    for (const auto& h : rows) r.table.add_row({h.block, branch_name(h.branch), h.top1, h.top5, h.queries});
    r.params = {{"step", "last refinement step"}, {"k", 5}};
    return r;
}

}  // namespace vhmn
