#include "core/models/hopfield.h"

#include <cstdlib>
#include <string>

#include <algorithm>
#include <cmath>
#include <limits>
#include <tuple>

#include <ATen/Parallel.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

namespace vhmn {
namespace F = torch::nn::functional;

namespace {

/// Rows of queries processed together on the CPU: their [rows, K] similarities stay in the core's
/// L2 cache from the GEMM through the softmax to the weighted sum.
int64_t cpu_chunk_rows(int64_t slots) { return std::clamp<int64_t>(65536 / std::max<int64_t>(slots, 1), 32, 256); }

/// The CPU's chunked path (above), unless VHMN_RETRIEVAL_CHUNKS=off: then the CPU computes as a GPU
/// does, whole-matrix GEMMs that the BLAS itself spreads over the threads. The same arithmetic in
/// another order (results agree to rounding); a switch for measuring which is faster with which
/// BLAS (benchmarks, docs/performance.md), read once.
bool cpu_chunks(const torch::Tensor& t) {
    static const bool on = [] {
        const char* v = std::getenv("VHMN_RETRIEVAL_CHUNKS");
        return !(v && std::string(v) == "off");
    }();
    return on && t.device().is_cpu();
}

}  // namespace

torch::Tensor logit_bias_of(const torch::Tensor& valid, const torch::TensorOptions& options) {
    return torch::where(valid.unsqueeze(0), 0.0, -std::numeric_limits<double>::infinity()).to(options.dtype());
}

namespace {

/// out = scale · a·b (+ bias): one GEMM. Without a bias, addmm's β = 0 ignores its first operand
/// (a zero-dim view of `a`, no kernel and no read).
torch::Tensor bias_or_ignored(const torch::Tensor& bias, const torch::Tensor& a) {
    if (bias.defined()) return bias;
    return a.numel() > 0 ? a.flatten()[0] : torch::zeros({}, a.options());
}
void scaled_mm_out(torch::Tensor& out, const torch::Tensor& bias, const torch::Tensor& a, const torch::Tensor& b,
                   double scale) {
    at::addmm_out(out, bias_or_ignored(bias, a), a, b, bias.defined() ? 1.0 : 0.0, scale);
}
torch::Tensor scaled_mm(const torch::Tensor& bias, const torch::Tensor& a, const torch::Tensor& b, double scale) {
    return at::addmm(bias_or_ignored(bias, a), a, b, bias.defined() ? 1.0 : 0.0, scale);
}

/// α = softmax(scale·ẑ·M̂ᵀ + bias) and m = α·M for unit queries ẑ [P, L]. On the CPU, in chunks of
/// rows spread over the threads (each GEMM single-threaded inside the parallel region), so the
/// [P, K] similarities are never written to and re-read from main memory between the steps.
/// With `store_alpha` false, α lives only chunk by chunk (inference without a trace).
void retrieve_rows(const torch::Tensor& zhat, double scale, const torch::Tensor& memory, const torch::Tensor& memory_hat,
                   const torch::Tensor& bias, bool store_alpha, torch::Tensor& alpha, torch::Tensor& m) {
    const int64_t P = zhat.size(0), K = memory.size(0);
    const auto mhat_t = memory_hat.t();
    if (P == 0 || !cpu_chunks(zhat)) {
        alpha = torch::softmax(scaled_mm(bias, zhat, mhat_t, scale), 1);
        m = torch::mm(alpha, memory);
        return;
    }
    const int64_t rows = cpu_chunk_rows(K);
    if (store_alpha) alpha = torch::empty({P, K}, zhat.options());
    m = torch::empty({P, memory.size(1)}, zhat.options());
    at::parallel_for(0, (P + rows - 1) / rows, 1, [&](int64_t c0, int64_t c1) {
        torch::Tensor scratch;
        for (int64_t c = c0; c < c1; ++c) {
            const int64_t s = c * rows, e = std::min(P, s + rows);
            if (!store_alpha && !scratch.defined()) scratch = torch::empty({rows, K}, zhat.options());
            auto a = store_alpha ? alpha.slice(0, s, e) : scratch.slice(0, 0, e - s);
            scaled_mm_out(a, bias, zhat.slice(0, s, e), mhat_t, scale);
            a.sub_(std::get<0>(a.max(1, true))).exp_();
            a.div_(a.sum(1, true));
            auto mc = m.slice(0, s, e);
            at::mm_out(mc, a, memory);
        }
    });
}

/// d(ẑ) from dm: dα = dm·Mᵀ, dS = α ⊙ (dα − Σ_k α dα), dẑ = scale·dS·M̂ — in chunks on the CPU.
torch::Tensor retrieve_rows_backward(const torch::Tensor& dm, const torch::Tensor& alpha, const torch::Tensor& memory,
                                     const torch::Tensor& memory_hat, double scale) {
    const auto m_t = memory.t();
    const torch::Tensor none;
    if (dm.size(0) == 0 || !cpu_chunks(dm)) {
        auto dalpha = torch::mm(dm, m_t);
        return scaled_mm(none, at::_softmax_backward_data(dalpha, alpha, 1, alpha.scalar_type()), memory_hat, scale);
    }
    const int64_t P = dm.size(0), K = memory.size(0);
    auto dz = torch::empty({P, memory_hat.size(1)}, dm.options());
    const int64_t rows = cpu_chunk_rows(K);
    at::parallel_for(0, (P + rows - 1) / rows, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) {
            const int64_t s = c * rows, e = std::min(P, s + rows);
            auto a = alpha.slice(0, s, e);
            auto d = torch::mm(dm.slice(0, s, e), m_t);      // dα
            d.sub_((a * d).sum(1, true)).mul_(a);            // dS, in place
            auto out = dz.slice(0, s, e);
            scaled_mm_out(out, none, d, memory_hat, scale);
        }
    });
    return dz;
}

/// The unit queries ẑ = z/‖z‖ (‖z‖ clamped at 1e-12, as F::normalize) in the bank's precision.
struct UnitQueries {
    torch::Tensor zf, zhat, norm;  // z in the bank's dtype [P, L]; ẑ [P, L]; ‖z‖ [P, 1]
};
UnitQueries unit_queries(const torch::Tensor& z, const torch::Tensor& memory) {
    UnitQueries u;
    u.zf = z.to(memory.scalar_type());
    u.norm = u.zf.norm(2, 1, true).clamp_min(1e-12);
    u.zhat = (u.zf / u.norm).contiguous();
    return u;
}

/// dz from dẑ through ẑ = z/‖z‖: (dẑ − ẑ(ẑ·dẑ))/‖z‖, plus `base` when defined (one addcdiv).
torch::Tensor unit_backward(const torch::Tensor& dzhat, const torch::Tensor& zhat, const torch::Tensor& norm,
                            const torch::Tensor& base) {
    auto tangent = torch::addcmul(dzhat, zhat, (zhat * dzhat).sum(1, true), -1.0);
    return base.defined() ? torch::addcdiv(base, tangent, norm) : tangent / norm;
}

/// The bank's similarity bias when some slot must be left out (bank.logit_bias or made here);
/// none for a full bank. An optional, because libtorch 1.13's Function::apply rejects an
/// undefined Tensor argument.
using OptionalBias = c10::optional<torch::Tensor>;
OptionalBias bias_for(const BankView& bank, const torch::Tensor& like) {
    if (bank.filled >= bank.slots()) return c10::nullopt;
    return bank.logit_bias.defined() ? bank.logit_bias : logit_bias_of(bank.valid.to(like.device()), like.options());
}
torch::Tensor bias_tensor(const OptionalBias& bias) { return bias.has_value() ? *bias : torch::Tensor(); }

/// The forward pass both autograd nodes share: unit queries, then α and m (α empty when not stored).
std::tuple<UnitQueries, torch::Tensor, torch::Tensor> retrieve_forward(const torch::Tensor& z, const torch::Tensor& memory,
                                                                       const torch::Tensor& memory_hat,
                                                                       const OptionalBias& bias, bool store_alpha) {
    auto u = unit_queries(z, memory);
    torch::Tensor alpha, m;
    retrieve_rows(u.zhat, std::sqrt(double(z.size(1))), memory, memory_hat, bias_tensor(bias), store_alpha, alpha, m);
    if (!alpha.defined()) alpha = torch::empty({0}, u.zhat.options());
    return {std::move(u), alpha, m};
}

/// Eq. 1–2 on flat queries z [P, L] against one bank, as one autograd node: the √L scale is the
/// GEMM's α, empty slots a bias added by the same GEMM, the similarities, softmax and weighted
/// sum fused per chunk of rows on the CPU (above), and the backward pass written out:
///   dα = dm·Mᵀ;  dS = α ⊙ (dα − Σ_k α dα);  dẑ = √L·dS·M̂;  dz = (dẑ − ẑ(ẑ·dẑ))/‖z‖.
/// The bank (M, M̂) is a buffer and gets no gradient. Outputs: m [P, L] and α [P, K] (α not
/// differentiable: probes and statistics read it).
/// Eq. 1–2 run in the bank's precision (fp32; TF32 matmuls where allowed) even under bf16
/// autocast: a bf16 product would round the logits, up to √L ≈ 17, to steps of 0.125 before the
/// softmax. The results are fp32; the next autocast operator casts them again.
struct RetrieveFunction : public torch::autograd::Function<RetrieveFunction> {
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& z,
                                                  const torch::Tensor& memory, const torch::Tensor& memory_hat,
                                                  const OptionalBias& bias, bool store_alpha) {
        c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
        const auto [u, alpha, m] = retrieve_forward(z, memory, memory_hat, bias, store_alpha);
        ctx->save_for_backward({u.zhat, u.norm, alpha, memory, memory_hat});
        ctx->mark_non_differentiable({alpha});
        ctx->set_materialize_grads(false);  // α's gradient is never made (it would be a [P, K] of zeros)
        return {m, alpha};
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        const torch::Tensor none;
        if (!grads[0].defined()) return {none, none, none, none, none};
        const auto saved = ctx->get_saved_variables();
        const auto &zhat = saved[0], &norm = saved[1], &alpha = saved[2], &memory = saved[3], &memory_hat = saved[4];
        const double scale = std::sqrt(double(zhat.size(1)));
        auto dzhat = retrieve_rows_backward(grads[0].to(memory.scalar_type()).contiguous(), alpha, memory, memory_hat, scale);
        return {unit_backward(dzhat, zhat, norm, none), none, none, none, none};
    }
};

/// One refinement step (Eq. 4) as one autograd node: z' = z + β (m(z) − z), m from Eq. 1–2 as in
/// RetrieveFunction. Backward, with g = dL/dz':
///   dβ = Σ g ⊙ (m − z);  dm = β g;  dz = (1 − β) g + (retrieval's dz from dm).
/// Outputs z' [P, L] (the bank's dtype) and α [P, K] (not differentiable).
struct RefineStepFunction : public torch::autograd::Function<RefineStepFunction> {
    static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& z,
                                                  const torch::Tensor& beta, const torch::Tensor& memory,
                                                  const torch::Tensor& memory_hat, const OptionalBias& bias,
                                                  bool store_alpha) {
        c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
        const auto [u, alpha, m] = retrieve_forward(z, memory, memory_hat, bias, store_alpha);
        const auto b = beta.to(memory.scalar_type());
        auto diff = m - u.zf;
        auto next = torch::addcmul(u.zf, diff, b);
        ctx->save_for_backward({u.zhat, u.norm, alpha, memory, memory_hat, diff, b});
        ctx->mark_non_differentiable({alpha});
        ctx->set_materialize_grads(false);
        return {next, alpha};
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grads) {
        const torch::Tensor none;
        if (!grads[0].defined()) return {none, none, none, none, none, none};
        const auto saved = ctx->get_saved_variables();
        const auto &zhat = saved[0], &norm = saved[1], &alpha = saved[2], &memory = saved[3], &memory_hat = saved[4];
        const auto &diff = saved[5], &beta = saved[6];
        const double scale = std::sqrt(double(zhat.size(1)));
        const auto g = grads[0].to(memory.scalar_type());
        auto dbeta = (g * diff).sum().reshape(beta.sizes());
        auto dm = g * beta;
        auto dzhat = retrieve_rows_backward(dm, alpha, memory, memory_hat, scale);
        return {unit_backward(dzhat, zhat, norm, g - dm), dbeta, none, none, none, none};
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
    auto out = RetrieveFunction::apply(flat, bank.memory, bank.memory_hat, bias_for(bank, bank.memory), store);
    auto shape_k = lead;
    shape_k.push_back(K);
    return {store ? out[1].reshape(shape_k) : torch::Tensor(), out[0].reshape(z.sizes())};
}

torch::Tensor refine(const torch::Tensor& q, const BankView& bank, const torch::Tensor& beta,
                     int64_t iterations, RefineTrace* trace) {
    auto z = q;
    if (trace) trace->distance.push_back(torch::zeros(q.sizes().slice(0, q.dim() - 1), q.options()));
    if (iterations == 0 && trace) trace->alpha.push_back(retrieve(q, bank).alpha.detach());
    const int64_t K = bank.slots(), L = q.size(-1);
    auto lead = q.sizes().vec();
    lead.pop_back();
    auto shape_k = lead;
    shape_k.push_back(K);
    const auto bias = bias_for(bank, bank.memory);
    for (int64_t t = 0; t < iterations; ++t) {
        torch::Tensor alpha;
        if (bank.filled == 0) {
            // Nothing stored: m = z, so z stays (written as the update, so β still gets its zero gradient).
            auto r = retrieve(z, bank, trace != nullptr);
            z = z + beta * (r.m - z);
            alpha = r.alpha;
        } else {
            const bool store = trace != nullptr || (torch::GradMode::is_enabled() && (z.requires_grad() || beta.requires_grad()));
            auto out = RefineStepFunction::apply(z.reshape({-1, L}), beta, bank.memory, bank.memory_hat, bias, store);
            z = out[0].reshape(q.sizes());
            if (store) alpha = out[1].reshape(shape_k);
        }
        if (trace) {
            trace->alpha.push_back(alpha.detach());
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
