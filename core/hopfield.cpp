#include "core/hopfield.h"

#include <cmath>

namespace vhmn {
namespace F = torch::nn::functional;

Retrieval retrieve(const torch::Tensor& z, const BankView& bank) {
    const int64_t K = bank.slots();
    auto lead = z.sizes().vec();
    lead.pop_back();
    if (bank.filled == 0) {
        // Nothing stored: no retrieval, the prototype is the query itself.
        auto shape = lead;
        shape.push_back(K);
        return {torch::zeros(shape, z.options()), z};
    }
    const int64_t L = z.size(-1);
    auto flat = z.reshape({-1, L});                                           // [P, L]
    auto z_hat = F::normalize(flat, F::NormalizeFuncOptions().p(2).dim(-1));  // [P, L]
    auto logits = torch::matmul(z_hat, bank.memory_hat.t()) * std::sqrt(double(L));  // [P, K]
    if (bank.filled < K) {
        logits = logits.masked_fill(bank.valid.logical_not().unsqueeze(0),
                                    -std::numeric_limits<float>::infinity());
    }
    auto alpha = torch::softmax(logits, -1);  // [P, K]
    auto m = torch::matmul(alpha, bank.memory);
    auto shape_k = lead;
    shape_k.push_back(K);
    return {alpha.reshape(shape_k), m.reshape(z.sizes())};
}

torch::Tensor refine(const torch::Tensor& q, const BankView& bank, const torch::Tensor& beta,
                     int64_t iterations, RefineTrace* trace) {
    auto z = q;
    if (trace) trace->distance.push_back(torch::zeros(q.sizes().slice(0, q.dim() - 1), q.options()));
    if (iterations == 0 && trace) trace->alpha.push_back(retrieve(q, bank).alpha.detach());
    for (int64_t t = 0; t < iterations; ++t) {
        auto r = retrieve(z, bank);
        z = z + beta * (r.m - z);
        if (trace) {
            trace->alpha.push_back(r.alpha.detach());
            trace->distance.push_back((z - q).norm(2, -1).detach());
        }
    }
    return z;
}

torch::Tensor entropy(const torch::Tensor& alpha) {
    auto plogp = torch::where(alpha > 0, alpha * torch::log(alpha.clamp_min(1e-30)),
                              torch::zeros_like(alpha));
    return -plogp.sum(-1);
}

}  // namespace vhmn
