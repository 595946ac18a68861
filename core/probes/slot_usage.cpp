#include "core/probes/slot_usage.h"

#include "core/probes/common.h"

namespace vhmn {

using namespace probe_detail;

SlotUsage slot_usage(ProbeInput& in, const ProbeControl& control) {
    check_input(in);
    c10::InferenceMode inference;
    ProbeScope scope(in.model);
    VHMN model = memory_of(in.model, "slot usage");
    const int64_t depth = model->config().depth;
    SlotUsage u;
    std::vector<torch::Tensor> valid;
    for (int64_t b = 0; b < depth; ++b)
        for (Branch br : {Branch::Local, Branch::Global}) {
            auto bank = model->bank(b, br);
            u.top1.push_back(torch::zeros({bank->slots()}, torch::kInt64));
            valid.push_back(bank->view().valid.to(in.device));
        }
    for_batches(in, control, "usage", [&](int64_t, int64_t, const torch::Tensor& x, const torch::Tensor& y) {
        const auto trace = model->forward_trace(normalized(in, x));
        for (int64_t b = 0; b < depth; ++b)
            for (Branch br : {Branch::Local, Branch::Global}) {
                const size_t i = bank_index(b, br);
                const auto a = last_alpha(trace, b, br);  // [queries, K]
                if (!valid[i].any().item<bool>()) continue;
                auto key = a.masked_fill(valid[i].logical_not().unsqueeze(0), -1.0f);
                const auto top = key.argmax(1).to(torch::kCPU);
                u.top1[i] += top.bincount({}, a.size(1));
            }
        u.images += y.size(0);
    });
    return u;
}

}  // namespace vhmn
