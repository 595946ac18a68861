#include "core/models/vhmn.h"

#include <limits>
#include <sstream>

#include "core/error.h"
#include "core/runtime.h"

namespace vhmn {
namespace nn = torch::nn;

namespace {

constexpr int64_t as_i64(uint64_t v) { return static_cast<int64_t>(v); }

/// x >> s as an unsigned (logical) shift: torch shifts int64 arithmetically, so mask the sign fill.
torch::Tensor shift_right(const torch::Tensor& x, int s) {
    return torch::bitwise_right_shift(x, s).bitwise_and(as_i64((uint64_t(1) << (64 - s)) - 1));
}

/// Keep what was asked for from a refinement record: the trace, and/or the mean entropy (left on
/// the device: reading it here would cost a synchronisation per branch).
void keep(RefineTrace& rt, const torch::Tensor& q, BranchTrace* trace, bool stats, torch::Tensor& entropy_out) {
    if (stats && !rt.alpha.empty()) entropy_out = entropy(rt.alpha.back()).mean().detach().to(torch::kFloat);
    if (!trace) return;
    trace->alpha = std::move(rt.alpha);
    trace->distance = std::move(rt.distance);
    trace->query = q.detach();
}

}  // namespace

torch::Tensor mix64(const torch::Tensor& x) {
    auto z = x.bitwise_xor(shift_right(x, 30)).mul(as_i64(0xBF58476D1CE4E5B9ull));
    z = z.bitwise_xor(shift_right(z, 27)).mul(as_i64(0x94D049BB133111EBull));
    return z.bitwise_xor(shift_right(z, 31));
}

namespace {
/// Keys [blocks, B, tokens] for the given blocks: one stream per (seed, block), one sequence per
/// image, one draw per token.
torch::Tensor token_keys(uint64_t seed, const torch::Tensor& indices, const std::vector<int64_t>& blocks, int64_t tokens) {
    constexpr uint64_t golden = 0x9E3779B97F4A7C15ull;
    auto idx = indices.to(torch::kInt64).reshape({1, -1, 1});
    std::vector<int64_t> streams;
    for (int64_t b : blocks) streams.push_back(as_i64(mix_seed(seed, uint64_t(b), 7)));
    auto stream = to_device(torch::tensor(streams, torch::kInt64), idx.device()).reshape({-1, 1, 1});
    auto j = torch::arange(tokens, idx.options()).reshape({1, 1, -1}).mul(as_i64(golden));
    auto image = mix64(idx.mul(as_i64(golden)).add(stream));  // [blocks, B, 1]
    return mix64(image + j).bitwise_and(std::numeric_limits<int64_t>::max());
}
}  // namespace

torch::Tensor write_token_keys(uint64_t seed, const torch::Tensor& indices, int64_t block, int64_t tokens) {
    return token_keys(seed, indices, {block}, tokens)[0];
}

torch::Tensor write_token_keys_all(uint64_t seed, const torch::Tensor& indices, int64_t depth, int64_t tokens) {
    std::vector<int64_t> blocks(static_cast<size_t>(depth));
    for (int64_t b = 0; b < depth; ++b) blocks[size_t(b)] = b;
    return token_keys(seed, indices, blocks, tokens);
}

// ---------------------------------------------------------------------------------------------
LocalMemoryImpl::LocalMemoryImpl(const ModelConfig& cfg, int64_t block)
    : grid_(cfg.grid()), tokens_per_image_(cfg.tokens_per_image), block_(block) {
    query = register_module(
        "query", nn::Conv2d(nn::Conv2dOptions(cfg.dim, cfg.latent, cfg.window).padding(cfg.window / 2)));
    out = register_module("out", nn::Linear(2 * cfg.latent, cfg.dim));
    beta = register_parameter("beta", torch::full({1}, cfg.beta_init));
    bank = register_module("bank", MemoryBank(cfg.local_slots, cfg.latent, cfg.classes));
}

torch::Tensor LocalMemoryImpl::query_of(const torch::Tensor& y) {
    const int64_t B = y.size(0), D = y.size(2);
    // [B, D, h, w] as a channels-last view of the tokens (no copy); the convolution keeps that
    // layout, so its output read back as tokens [B, N, L] is contiguous (no copy either).
    auto img = y.contiguous().view({B, grid_, grid_, D}).permute({0, 3, 1, 2});
    return query(img).flatten(2).transpose(1, 2);
}

torch::Tensor LocalMemoryImpl::forward(const torch::Tensor& y, int64_t iterations,
                                       const WriteContext* ctx, BranchTrace* trace) {
    auto q = query_of(y);  // [B, N, L]
    RefineTrace rt;
    auto z = refine(q, bank->view(), beta, iterations, trace || record_stats ? &rt : nullptr);
    keep(rt, q, trace, record_stats, last_entropy);
    if (ctx && is_training()) {
        const int64_t B = q.size(0), N = q.size(1), L = q.size(2), t = tokens_per_image_;
        // The t tokens with the largest keys: [B, t], on q's device, no host round trip (made for
        // every block at once by run_traced).
        auto pick = ctx->picks.defined() ? ctx->picks[block_]
                                         : std::get<1>(write_token_keys(ctx->seed, ctx->indices, block_, N).topk(t, 1));
        auto vecs = q.detach().gather(1, pick.unsqueeze(-1).expand({B, t, L})).reshape({B * t, L});
        auto rep = [&](const torch::Tensor& v) { return v.unsqueeze(1).expand({B, t}).reshape({B * t}); };
        auto flat = pick.reshape({B * t});
        const bool shared = ctx->token_rows.defined();
        bank->stage(vecs, ctx->token_labels.defined() ? ctx->token_labels : rep(ctx->labels),
                    ctx->token_indices.defined() ? ctx->token_indices : rep(ctx->indices),
                    shared ? ctx->token_rows[block_] : flat.div(grid_, "floor"),
                    shared ? ctx->token_cols[block_] : flat.remainder(grid_), ctx->step);
    }
    return linear(out, torch::cat({q, z}, -1));
}

// ---------------------------------------------------------------------------------------------
GlobalMemoryImpl::GlobalMemoryImpl(const ModelConfig& cfg) {
    query = register_module("query", nn::Linear(cfg.dim, cfg.latent));
    out = register_module("out", nn::Linear(2 * cfg.latent, cfg.dim));
    beta = register_parameter("beta", torch::full({1}, cfg.beta_init));
    bank = register_module("bank", MemoryBank(cfg.global_slots, cfg.latent, cfg.classes));
}

torch::Tensor GlobalMemoryImpl::forward(const torch::Tensor& y, int64_t iterations,
                                        const WriteContext* ctx, BranchTrace* trace) {
    auto q = query(y.mean(1));  // [B, L]
    RefineTrace rt;
    auto z = refine(q, bank->view(), beta, iterations, trace || record_stats ? &rt : nullptr);
    keep(rt, q, trace, record_stats, last_entropy);
    if (ctx && is_training()) {
        auto none = ctx->no_cell.defined() ? ctx->no_cell
                                           : torch::full({q.size(0)}, -1, torch::TensorOptions(torch::kInt64).device(q.device()));
        bank->stage(q.detach(), ctx->labels, ctx->indices, none, none, ctx->step);
    }
    return out(torch::cat({q, z}, -1)).unsqueeze(1);  // [B, 1, D], broadcast over tokens
}

// ---------------------------------------------------------------------------------------------
HMNBlockImpl::HMNBlockImpl(const ModelConfig& cfg, int64_t index) {
    norm1 = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({cfg.dim})));
    local_memory = register_module("local_memory", LocalMemory(cfg, index));
    global_memory = register_module("global_memory", GlobalMemory(cfg));
    norm2 = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({cfg.dim})));
    fc1 = register_module("fc1", nn::Linear(cfg.dim, cfg.mlp_ratio * cfg.dim));
    fc2 = register_module("fc2", nn::Linear(cfg.mlp_ratio * cfg.dim, cfg.dim));
}

torch::Tensor HMNBlockImpl::forward(const torch::Tensor& x, int64_t iterations,
                                    const WriteContext* ctx, BlockTrace* trace) {
    auto y = norm1(x);
    auto h = x + local_memory(y, iterations, ctx, trace ? &trace->local : nullptr) +
             global_memory(y, iterations, ctx, trace ? &trace->global : nullptr);
    return h + linear(fc2, torch::gelu(linear(fc1, norm2(h))));
}

// ---------------------------------------------------------------------------------------------
VHMNImpl::VHMNImpl(const ModelConfig& cfg) : ClassifierImpl(cfg), iterations_(cfg.iterations) {
    if (!cfg.has_memory())
        throw ConfigError("a V-HMN cannot be built from a config of arch '" + cfg.arch + "'");
    make_stem(true);
    blocks = register_module("blocks", nn::ModuleList());
    for (int64_t i = 0; i < cfg.depth; ++i) blocks->push_back(HMNBlock(cfg, i));
    make_head();
}

void VHMNImpl::set_iterations(int64_t t) {
    if (t < 0 || t > 64) throw ConfigError("iterations must be between 0 and 64, got " + std::to_string(t));
    iterations_ = t;
}

torch::Tensor VHMNImpl::run_traced(const torch::Tensor& tokens, const WriteContext* ctx, ForwardTrace* trace,
                                   const std::vector<int64_t>& record) {
    // Bank writes use labels/indices on the model's device: move them there once (without a host
    // synchronisation), not per block and branch.
    WriteContext here;
    if (ctx && is_training()) {
        here = *ctx;
        here.labels = to_device(ctx->labels, tokens.device()).to(torch::kInt64);
        here.indices = to_device(ctx->indices, tokens.device()).to(torch::kInt64);
        const int64_t B = here.labels.size(0), N = tokens.size(1), t = cfg_.tokens_per_image;
        here.picks = std::get<1>(write_token_keys_all(here.seed, here.indices, int64_t(blocks->size()), N).topk(t, 2));
        auto rep = [&](const torch::Tensor& v) { return v.unsqueeze(1).expand({B, t}).reshape({B * t}); };
        here.token_labels = rep(here.labels), here.token_indices = rep(here.indices);
        const auto cells = here.picks.reshape({-1, B * t});  // [depth, B·t]
        here.token_rows = cells.div(cfg_.grid(), "floor"), here.token_cols = cells.remainder(cfg_.grid());
        here.no_cell = torch::full({B}, -1, here.labels.options());
        ctx = &here;
    } else {
        ctx = nullptr;
    }
    auto h = tokens;
    if (trace) trace->blocks.resize(blocks->size());
    for (size_t i = 0; i < blocks->size(); ++i) {
        const bool rec = trace && (record.empty() ||
                                   std::find(record.begin(), record.end(), int64_t(i)) != record.end());
        h = blocks[i]->as<HMNBlockImpl>()->forward(h, iterations_, ctx,
                                                   rec ? &trace->blocks[i] : nullptr);
    }
    return classify(h, trace ? &trace->pool_weights : nullptr);
}

ForwardTrace VHMNImpl::forward_trace(const torch::Tensor& x, const std::vector<int64_t>& record) {
    c10::InferenceMode inference;
    ForwardTrace trace;
    trace.logits = run_traced(embed(x), nullptr, &trace, record);
    return trace;
}

int64_t VHMNImpl::commit_memory() {
    // All banks at once: the local banks share one placement, the global ones another.
    std::vector<MemoryBankImpl*> banks;
    for (size_t i = 0; i < blocks->size(); ++i) {
        auto* b = blocks[i]->as<HMNBlockImpl>();
        banks.push_back(b->local_memory->bank.get());
        banks.push_back(b->global_memory->bank.get());
    }
    return MemoryBankImpl::commit_all(banks);
}

std::vector<VHMNImpl::BankWrites> VHMNImpl::write_banks() const {
    std::vector<BankWrites> out;
    for (size_t i = 0; i < blocks->size(); ++i) {
        auto* b = blocks->ptr(i)->as<HMNBlockImpl>();
        out.push_back({b->local_memory->bank, cfg_.tokens_per_image});
        out.push_back({b->global_memory->bank, 1});
    }
    return out;
}

void VHMNImpl::discard_staged_memory() {
    for (size_t i = 0; i < blocks->size(); ++i) {
        auto* b = blocks[i]->as<HMNBlockImpl>();
        b->local_memory->bank->discard_staged();
        b->global_memory->bank->discard_staged();
    }
}

void VHMNImpl::refresh_memory() {
    for (size_t i = 0; i < blocks->size(); ++i) {
        auto* b = blocks[i]->as<HMNBlockImpl>();
        b->local_memory->bank->refresh();
        b->global_memory->bank->refresh();
    }
}

void VHMNImpl::update_fill_counts() {
    std::vector<MemoryBank> banks;
    std::vector<torch::Tensor> counts;
    for (size_t i = 0; i < blocks->size(); ++i) {
        auto* b = blocks[i]->as<HMNBlockImpl>();
        for (auto& bank : {b->local_memory->bank, b->global_memory->bank}) {
            banks.push_back(bank);
            counts.push_back(bank->valid.sum());
        }
    }
    if (banks.empty()) return;
    auto host = torch::stack(counts).to(torch::kCPU, torch::kInt64).contiguous();  // one read for all
    for (size_t i = 0; i < banks.size(); ++i) banks[i]->set_filled(host.data_ptr<int64_t>()[i]);
}

MemoryBank VHMNImpl::bank(int64_t block, Branch branch) const {
    if (block < 0 || block >= int64_t(blocks->size()))
        throw std::out_of_range("block " + std::to_string(block) + " outside [0, " +
                                std::to_string(blocks->size()) + ")");
    auto* b = blocks->ptr(block)->as<HMNBlockImpl>();
    return branch == Branch::Local ? b->local_memory->bank : b->global_memory->bank;
}

namespace {
/// {local, global} pairs per block from 2·depth scalar tensors, read from the device at once.
std::vector<std::pair<double, double>> read_pairs(const std::vector<torch::Tensor>& values) {
    std::vector<std::pair<double, double>> out;
    if (values.empty()) return out;
    auto host = torch::stack(values).to(torch::kCPU, torch::kDouble).contiguous();
    const double* v = host.data_ptr<double>();
    for (size_t i = 0; i + 1 < values.size(); i += 2) out.emplace_back(v[i], v[i + 1]);
    return out;
}
}  // namespace

std::vector<std::pair<double, double>> VHMNImpl::betas() const {
    std::vector<torch::Tensor> v;
    for (size_t i = 0; i < blocks->size(); ++i) {
        auto* b = blocks->ptr(i)->as<HMNBlockImpl>();
        v.push_back(b->local_memory->beta.detach().reshape({}).to(torch::kFloat));
        v.push_back(b->global_memory->beta.detach().reshape({}).to(torch::kFloat));
    }
    return read_pairs(v);
}

void VHMNImpl::set_record_stats(bool on) {
    for (size_t i = 0; i < blocks->size(); ++i) {
        auto* b = blocks[i]->as<HMNBlockImpl>();
        b->local_memory->record_stats = on;
        b->global_memory->record_stats = on;
    }
}

std::vector<std::pair<double, double>> VHMNImpl::retrieval_entropies() const {
    std::vector<torch::Tensor> v;
    const auto zero = torch::zeros({}, pos_embed.options().dtype(torch::kFloat));
    for (size_t i = 0; i < blocks->size(); ++i) {
        auto* b = blocks->ptr(i)->as<HMNBlockImpl>();
        for (const auto& e : {b->local_memory->last_entropy, b->global_memory->last_entropy})
            v.push_back(e.defined() ? e.reshape({}) : zero);
    }
    return read_pairs(v);
}

VHMNImpl* ClassifierImpl::memory_model() { return dynamic_cast<VHMNImpl*>(this); }

VHMN memory_of(const Model& model, const std::string& what) {
    if (auto m = std::dynamic_pointer_cast<VHMNImpl>(model.ptr())) return VHMN(m);
    const auto& arch = model->config().arch;
    throw ConfigError("this run is a " + arch_display_name(arch) + " (arch '" + arch +
                      "'): it has no memory banks, so " + what + " does not apply (only V-HMN runs have them)");
}

}  // namespace vhmn
