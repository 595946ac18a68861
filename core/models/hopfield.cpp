#include "core/models/hopfield.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <ATen/Parallel.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

namespace vhmn {
namespace F = torch::nn::functional;

namespace {

/// Rows of queries processed together on the CPU: their [rows, K] similarities stay in the core's
/// L2 cache from the GEMM through the softmax to the weighted sum.
int64_t cpu_chunk_rows(int64_t slots) { return std::clamp<int64_t>(65536 / std::max<int64_t>(slots, 1), 32, 256); }

/// α = softmax(zs·M̂ᵀ) (masked) and m = α·M for zs = √L·ẑ [P, L]. On the CPU, in chunks of rows
/// spread over the threads (each GEMM single-threaded inside the parallel region), so the [P, K]
/// similarities are never written to and re-read from main memory between the steps.
/// With `store_alpha` false, α lives only chunk by chunk (inference without a trace).
void retrieve_rows(const torch::Tensor& zs, const torch::Tensor& memory, const torch::Tensor& memory_hat,
                   const torch::Tensor& valid, bool masked, bool store_alpha, torch::Tensor& alpha,
                   torch::Tensor& m) {
    const int64_t P = zs.size(0), K = memory.size(0);
    const auto invalid = masked ? valid.logical_not().unsqueeze(0) : torch::Tensor();
    const auto mhat_t = memory_hat.t();
    if (!zs.device().is_cpu()) {
        auto logits = torch::mm(zs, mhat_t);
        if (masked) logits.masked_fill_(invalid, -std::numeric_limits<float>::infinity());
        alpha = torch::softmax(logits, 1);
        m = torch::mm(alpha, memory);
        return;
    }
    const int64_t rows = cpu_chunk_rows(K);
    if (store_alpha) alpha = torch::empty({P, K}, zs.options());
    m = torch::empty({P, memory.size(1)}, zs.options());
    at::parallel_for(0, (P + rows - 1) / rows, 1, [&](int64_t c0, int64_t c1) {
        torch::Tensor scratch;
        for (int64_t c = c0; c < c1; ++c) {
            const int64_t s = c * rows, e = std::min(P, s + rows);
            if (!store_alpha && !scratch.defined()) scratch = torch::empty({rows, K}, zs.options());
            auto a = store_alpha ? alpha.slice(0, s, e) : scratch.slice(0, 0, e - s);
            at::mm_out(a, zs.slice(0, s, e), mhat_t);
            if (masked) a.masked_fill_(invalid, -std::numeric_limits<float>::infinity());
            a.sub_(std::get<0>(a.max(1, true))).exp_();
            a.div_(a.sum(1, true));
            auto mc = m.slice(0, s, e);
            at::mm_out(mc, a, memory);
        }
    });
}

/// d(zs) from dm: dα = dm·Mᵀ, dS = α ⊙ (dα − Σ_k α dα), d(zs) = dS·M̂ — in chunks on the CPU.
torch::Tensor retrieve_rows_backward(const torch::Tensor& dm, const torch::Tensor& alpha, const torch::Tensor& memory,
                                     const torch::Tensor& memory_hat) {
    const auto m_t = memory.t();
    if (!dm.device().is_cpu()) {
        auto dalpha = torch::mm(dm, m_t);
        return torch::mm(at::_softmax_backward_data(dalpha, alpha, 1, alpha.scalar_type()), memory_hat);
    }
    const int64_t P = dm.size(0), K = memory.size(0);
    auto dzs = torch::empty({P, memory_hat.size(1)}, dm.options());
    const int64_t rows = cpu_chunk_rows(K);
    at::parallel_for(0, (P + rows - 1) / rows, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            const int64_t s = c * rows, e = std::min(P, s + rows);
            auto a = alpha.slice(0, s, e);
            auto d = torch::mm(dm.slice(0, s, e), m_t);      // dα
            d.sub_((a * d).sum(1, true)).mul_(a);            // dS, in place
            auto out = dzs.slice(0, s, e);
            at::mm_out(out, d, memory_hat);
        }
    });
    return dzs;
}

/// Eq. 1–2 on flat queries z [P, L] against one bank, as one autograd node: the √L scale is folded
/// into the query normalisation (a [P, L] pass instead of a [P, K] one, forward and backward), the
/// similarities, softmax and weighted sum are fused per chunk of rows (above), and the backward
/// pass is written out:
///   dα = dm·Mᵀ;  dS = α ⊙ (dα − Σ_k α dα);  d(√L·ẑ) = dS·M̂;  dz from the normalisation (below).
/// The bank (M, M̂) is a buffer and gets no gradient. Outputs: m [P, L] and α [P, K] (α not
/// differentiable: probes and statistics read it).
struct RetrieveFunction : public torch::autograd::Function<RetrieveFunction> {
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& z,
                                                  const torch::Tensor& memory, const torch::Tensor& memory_hat,
                                                  const torch::Tensor& valid, bool masked, bool store_alpha) {
        // Eq. 1–2 in the bank's precision (fp32; TF32 matmuls where allowed) even under bf16
        // autocast: a bf16 product would round the logits, up to √L ≈ 17, to steps of 0.125 before
        // the softmax. The result m is fp32; the next autocast operator casts it again.
        c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
        const double scale = std::sqrt(double(z.size(1)));
        const auto zf = z.to(memory.scalar_type());
        auto norm = zf.norm(2, 1, true).clamp_min(1e-12);  // [P, 1], as F::normalize (eps 1e-12)
        auto zs = (zf / norm * scale).contiguous();         // √L·ẑ
        torch::Tensor alpha, m;
        retrieve_rows(zs, memory, memory_hat, valid, masked, store_alpha, alpha, m);
        if (!alpha.defined()) alpha = torch::empty({0}, zs.options());
        ctx->save_for_backward({zs, norm, alpha, memory, memory_hat});
        ctx->mark_non_differentiable({alpha});
        return {m, alpha};
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const auto &memory = saved[3], &memory_hat = saved[4];
        // In the bank's precision (fp32) even when the forward pass ran under bf16 autocast.
        const auto dtype = memory.scalar_type();
        const auto zs = saved[0].to(dtype), norm = saved[1].to(dtype), alpha = saved[2].to(dtype);
        const double scale = std::sqrt(double(zs.size(1)));
        if (!grads[0].defined()) return {torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
        auto dzs = retrieve_rows_backward(grads[0].to(dtype).contiguous(), alpha, memory, memory_hat);  // d(√L·ẑ)
        // zs = √L·z/‖z‖  ⇒  dz = (√L/‖z‖)·(dzs − ẑ(ẑ·dzs)) with ẑ = zs/√L.
        auto zhat = zs / scale;
        auto dz = (dzs - zhat * (zhat * dzs).sum(1, true)) * (scale / norm);
        return {dz, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

}  // namespace

Retrieval retrieve(const torch::Tensor& z, const BankView& bank, bool want_alpha) {
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
    auto flat = z.reshape({-1, L});  // [P, L]
    // Empty slots are masked out (−∞ logit); a full bank needs no mask.
    // α is stored whole when the caller reads it or backward will need it.
    const bool store = want_alpha || (torch::GradMode::is_enabled() && z.requires_grad());
    auto out = RetrieveFunction::apply(flat, bank.memory, bank.memory_hat, bank.valid, bank.filled < K, store);
    auto shape_k = lead;
    shape_k.push_back(K);
    return {store ? out[1].reshape(shape_k) : torch::Tensor(), out[0].reshape(z.sizes())};
}

torch::Tensor refine(const torch::Tensor& q, const BankView& bank, const torch::Tensor& beta,
                     int64_t iterations, RefineTrace* trace) {
    auto z = q;
    if (trace) trace->distance.push_back(torch::zeros(q.sizes().slice(0, q.dim() - 1), q.options()));
    if (iterations == 0 && trace) trace->alpha.push_back(retrieve(q, bank).alpha.detach());
    for (int64_t t = 0; t < iterations; ++t) {
        auto r = retrieve(z, bank, trace != nullptr);
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
