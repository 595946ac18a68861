#include "core/train/data_parallel.h"

#include <algorithm>
#include <map>

#include "core/models/vhmn.h"

namespace vhmn::dist {

std::pair<int64_t, int64_t> rank_slice(int64_t m, int rank, int world) {
    return {m * rank / world, m * (rank + 1) / world};
}

DataParallel::DataParallel(Group& group, Model model, int64_t bucket_bytes)
    : group_(group), model_(std::move(model)), params_(model_->parameters()), in_use_(params_.size(), true) {
    size_t first = 0;
    int64_t bytes = 0;
    for (size_t i = 0; i < params_.size(); ++i) {
        bytes += params_[i].numel() * int64_t(sizeof(float));
        if (bytes >= bucket_bytes || i + 1 == params_.size()) {
            buckets_.push_back({first, i + 1});
            first = i + 1, bytes = 0;
        }
    }
}

void DataParallel::broadcast_state() {
    torch::NoGradGuard no_grad;
    // One flat buffer per element type (bool buffers travel as int64).
    std::map<c10::ScalarType, std::vector<torch::Tensor>> groups;
    for (const auto& p : model_->parameters()) groups[p.scalar_type()].push_back(p);
    for (const auto& b : model_->buffers())
        groups[b.scalar_type() == torch::kBool ? torch::kInt64 : b.scalar_type()].push_back(b);
    std::vector<torch::Tensor> flats;
    for (auto& [type, ts] : groups) {
        std::vector<torch::Tensor> parts;
        for (const auto& t : ts) parts.push_back(t.reshape({-1}).to(group_.device(), type));
        flats.push_back(torch::cat(parts));
    }
    group_.broadcast(flats, "the start-up broadcast of rank 0's parameters and memory banks");
    size_t g = 0;
    for (auto& [type, ts] : groups) {
        int64_t off = 0;
        for (auto& t : ts) {
            t.copy_(flats[g].slice(0, off, off + t.numel()).view(t.sizes()));
            off += t.numel();
        }
        ++g;
    }
    model_->refresh_memory();
}

void DataParallel::all_reduce_grads(bool local_batch_empty) {
    torch::NoGradGuard no_grad;
    const auto dev = group_.device();
    const auto fopt = torch::TensorOptions(torch::kFloat).device(dev);
    // Which parameters take part: those with a gradient here. A parameter the forward pass does
    // not use has none on any rank that saw data, so the ranks agree without a collective (and on
    // a GPU without a host read); a rank with no images this step repeats its last answer.
    if (!local_batch_empty)
        for (size_t i = 0; i < params_.size(); ++i) in_use_[i] = params_[i].grad().defined();
    std::vector<torch::Tensor> flats;
    for (const auto& [first, last] : buckets_) {
        std::vector<torch::Tensor> parts;
        for (size_t i = first; i < last; ++i) {
            if (!in_use_[i]) continue;
            const auto& g = params_[i].grad();
            parts.push_back(g.defined() ? g.reshape({-1}).to(dev, torch::kFloat) : torch::zeros({params_[i].numel()}, fopt));
        }
        flats.push_back(parts.empty() ? torch::zeros({1}, fopt) : torch::cat(parts));
    }
    group_.all_reduce_sum(flats, "the gradient all-reduce");
    for (size_t b = 0; b < buckets_.size(); ++b) {
        int64_t off = 0;
        for (size_t i = buckets_[b].first; i < buckets_[b].second; ++i) {
            auto& p = params_[i];
            if (!in_use_[i]) {
                p.mutable_grad() = torch::Tensor();
                continue;
            }
            auto summed = flats[b].slice(0, off, off + p.numel()).view(p.sizes());
            off += p.numel();
            if (p.grad().defined())
                p.mutable_grad().copy_(summed);
            else
                p.mutable_grad() = summed.to(p.scalar_type()).clone();
        }
    }
}

void DataParallel::gather_bank_writes(int64_t global_count, int64_t step) {
    VHMNImpl* vm = model_->memory_model();
    if (!vm) return;
    torch::NoGradGuard no_grad;
    const int W = world(), me = rank();
    std::vector<int64_t> n(W);
    int64_t nmax = 0;
    for (int r = 0; r < W; ++r) {
        const auto [lo, hi] = rank_slice(global_count, r, W);
        n[r] = hi - lo, nmax = std::max(nmax, n[r]);
    }
    const auto dev = group_.device();
    auto banks = vm->write_banks();
    // One float buffer per rank: per bank, the vectors [nmax·f, L] then the provenance (label, source,
    // row, col as int64, carried bit for bit as float pairs) [nmax·f, 8], padded to the longest rank.
    std::vector<torch::Tensor> parts;
    std::vector<int64_t> part_len;
    for (auto& bw : banks) {
        auto w = bw.bank->take_staged();
        const int64_t L = bw.bank->dim(), rows = nmax * bw.per_image, mine = n[me] * bw.per_image;
        const int64_t have = w.vectors.defined() ? w.vectors.size(0) : 0;
        TORCH_CHECK(have == mine, "data-parallel bank gather: rank ", me, " staged ", have, " writes, expected ", mine);
        auto vec = torch::zeros({rows, L}, torch::TensorOptions(torch::kFloat).device(dev));
        auto meta = torch::full({rows, 4}, -1, torch::TensorOptions(torch::kInt64).device(dev));
        if (mine > 0) {
            vec.slice(0, 0, mine).copy_(w.vectors.to(dev, torch::kFloat));
            meta.slice(0, 0, mine).copy_(torch::stack({w.labels, w.sources, w.rows, w.cols}, 1).to(dev));
        }
        parts.push_back(vec.reshape({-1}));
        parts.push_back(meta.view(torch::kFloat).reshape({-1}));
    }
    auto all = group_.all_gather(torch::cat(parts), "the gather of memory-bank writes");
    int64_t off = 0;
    for (auto& bw : banks) {
        const int64_t L = bw.bank->dim(), rows = nmax * bw.per_image;
        std::vector<torch::Tensor> vecs, metas;
        for (int r = 0; r < W; ++r) {
            const int64_t keep = n[r] * bw.per_image;
            auto v = all[r].slice(0, off, off + rows * L).view({rows, L});
            auto m = all[r].slice(0, off + rows * L, off + rows * L + rows * 8).contiguous().view(torch::kInt64).view({rows, 4});
            vecs.push_back(v.slice(0, 0, keep)), metas.push_back(m.slice(0, 0, keep));
        }
        off += rows * L + rows * 8;
        auto meta = torch::cat(metas);
        bw.bank->stage(torch::cat(vecs), meta.select(1, 0), meta.select(1, 1), meta.select(1, 2), meta.select(1, 3), step);
    }
}

}  // namespace vhmn::dist
