#include "core/probes/inspect.h"

namespace vhmn {

torch::Tensor retrieval_weights(VHMN& model, const torch::Tensor& x, int64_t block, Branch branch,
                                int64_t step) {
    (void)model->bank(block, branch);  // range check with a clear message
    auto trace = model->forward_trace(x, {block});
    const auto& alphas = branch == Branch::Local ? trace.blocks[block].local.alpha
                                                 : trace.blocks[block].global.alpha;
    const int64_t n = static_cast<int64_t>(alphas.size());
    const int64_t t = step < 0 ? n + step : step;
    if (t < 0 || t >= n)
        throw std::out_of_range("refinement step " + std::to_string(step) + " outside [0, " +
                                std::to_string(n) + ")");
    return alphas[t];
}

std::vector<SlotHit> top_slots(VHMN& model, int64_t block, Branch branch, const torch::Tensor& alpha,
                               int64_t k) {
    auto bank = model->bank(block, branch);
    TORCH_CHECK(alpha.dim() == 1 && alpha.size(0) == bank->slots(), "top_slots: alpha must be [",
                bank->slots(), "], got ", alpha.sizes());
    auto a = alpha.detach().to(torch::kCPU).to(torch::kFloat);
    const auto view = bank->view();  // filled, unmasked slots (an edit's masked ones are left out)
    const int64_t n = std::min<int64_t>(k, view.filled);
    if (n <= 0) return {};
    // Empty slots have α = 0 but so may filled ones; rank empty slots last explicitly.
    auto key = a.masked_fill(view.valid.to(torch::kCPU).logical_not(), -1.0f);
    auto idx = std::get<1>(key.topk(n)).contiguous();
    std::vector<int64_t> slots(idx.data_ptr<int64_t>(), idx.data_ptr<int64_t>() + n);
    auto prov = bank->provenance(slots);
    std::vector<SlotHit> out(n);
    for (int64_t i = 0; i < n; ++i) out[i] = {prov[i], a[slots[i]].item<double>()};
    return out;
}

}  // namespace vhmn
