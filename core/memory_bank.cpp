#include "core/memory_bank.h"

#include <algorithm>
#include <map>

#include "core/error.h"

namespace vhmn {
namespace F = torch::nn::functional;

MemoryBankImpl::MemoryBankImpl(int64_t slots, int64_t dim, int64_t classes)
    : slots_(slots), dim_(dim), classes_(classes), per_class_(slots / classes) {
    if (per_class_ < 1)
        throw ConfigError("memory bank of " + std::to_string(slots) + " slots cannot hold " +
                          std::to_string(classes) + " classes");
    // Slots beyond per_class·classes (when K is not a multiple of classes) are never used; keep
    // K = per_class·classes so that every slot belongs to a class.
    slots_ = per_class_ * classes_;
    auto i64 = torch::TensorOptions().dtype(torch::kInt64);
    memory = register_buffer("memory", torch::zeros({slots_, dim_}));
    valid = register_buffer("valid", torch::zeros({slots_}, torch::kBool));
    label = register_buffer("label", torch::full({slots_}, -1, i64));
    source = register_buffer("source", torch::full({slots_}, -1, i64));
    row = register_buffer("row", torch::full({slots_}, -1, i64));
    col = register_buffer("col", torch::full({slots_}, -1, i64));
    step = register_buffer("step", torch::full({slots_}, -1, i64));
    cursor = register_buffer("cursor", torch::zeros({classes_}, i64));
    refresh();
}

void MemoryBankImpl::refresh() {
    auto v = valid.to(torch::kCPU).to(torch::kUInt8).contiguous();
    valid_host_.assign(v.data_ptr<uint8_t>(), v.data_ptr<uint8_t>() + v.numel());
    auto c = cursor.to(torch::kCPU).contiguous();
    cursor_host_.assign(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
    filled_ = std::count(valid_host_.begin(), valid_host_.end(), uint8_t(1));
    host_key_ = valid.data_ptr();
    ++version_;
}

void MemoryBankImpl::stage(const torch::Tensor& vectors, const torch::Tensor& labels,
                           const torch::Tensor& sources, const torch::Tensor& rows,
                           const torch::Tensor& cols, int64_t step_) {
    if (!is_training()) return;
    TORCH_CHECK(vectors.dim() == 2 && vectors.size(1) == dim_, "bank stage: vectors must be [n, ",
                dim_, "], got ", vectors.sizes());
    const int64_t n = vectors.size(0);
    TORCH_CHECK(labels.numel() == n && sources.numel() == n && rows.numel() == n &&
                    cols.numel() == n,
                "bank stage: provenance tensors must have one entry per vector");
    staged_.push_back({vectors.detach(), labels.detach().to(torch::kInt64),
                       sources.detach().to(torch::kInt64), rows.detach().to(torch::kInt64),
                       cols.detach().to(torch::kInt64), step_});
}

int64_t MemoryBankImpl::staged() const {
    int64_t n = 0;
    for (const auto& s : staged_) n += s.vectors.size(0);
    return n;
}

void MemoryBankImpl::discard_staged() { staged_.clear(); }

int64_t MemoryBankImpl::commit() {
    if (staged_.empty()) return 0;
    if (host_key_ != valid.data_ptr()) refresh();
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> vecs, labs, srcs, rws, cls, stp;
    for (const auto& s : staged_) {
        vecs.push_back(s.vectors);
        labs.push_back(s.labels.to(torch::kCPU));
        srcs.push_back(s.sources.to(torch::kCPU));
        rws.push_back(s.rows.to(torch::kCPU));
        cls.push_back(s.cols.to(torch::kCPU));
        stp.push_back(torch::full({s.vectors.size(0)}, s.step, torch::kInt64));
    }
    staged_.clear();
    auto lab = torch::cat(labs).contiguous();
    const int64_t n = lab.numel();
    const int64_t* l = lab.data_ptr<int64_t>();

    // Ring-buffer placement, in staging order; when one commit writes a slot twice the later write
    // wins (it is the newer entry), so only the last writer of each slot is copied.
    std::map<int64_t, int64_t> last_writer;  // slot -> write index (ordered by slot)
    for (int64_t i = 0; i < n; ++i) {
        const int64_t c = l[i];
        if (c < 0 || c >= classes_)
            throw std::out_of_range("memory bank: label " + std::to_string(c) +
                                    " outside [0, " + std::to_string(classes_) + ")");
        const int64_t slot = c * per_class_ + cursor_host_[c];
        cursor_host_[c] = (cursor_host_[c] + 1) % per_class_;
        last_writer[slot] = i;
    }
    std::vector<int64_t> dst, src;
    dst.reserve(last_writer.size());
    src.reserve(last_writer.size());
    for (const auto& [slot, i] : last_writer) {
        dst.push_back(slot);
        src.push_back(i);
        if (!valid_host_[slot]) {
            valid_host_[slot] = 1;
            ++filled_;
        }
    }
    auto dst_cpu = torch::tensor(dst, torch::kInt64);
    auto src_cpu = torch::tensor(src, torch::kInt64);
    auto dst_dev = dst_cpu.to(memory.device());
    memory.index_copy_(0, dst_dev,
                       torch::cat(vecs).index_select(0, src_cpu.to(vecs[0].device()))
                           .to(memory.device(), memory.scalar_type()));
    valid.index_fill_(0, dst_dev, true);
    auto put = [&](torch::Tensor& buf, const std::vector<torch::Tensor>& parts) {
        buf.index_copy_(0, dst_dev, torch::cat(parts).index_select(0, src_cpu).to(buf.device()));
    };
    put(label, labs);
    put(source, srcs);
    put(row, rws);
    put(col, cls);
    put(step, stp);
    cursor.copy_(torch::tensor(cursor_host_, torch::kInt64));
    ++version_;
    return static_cast<int64_t>(n);
}

BankView MemoryBankImpl::view() {
    if (host_key_ != valid.data_ptr()) refresh();
    const void* key = memory.data_ptr();
    if (cache_version_ != version_ || cache_key_ != key || !memory_hat_.defined()) {
        // The cache outlives the call: made during an evaluation (inference mode), it must still be
        // a normal tensor, or the next training step could not save it for backward.
        c10::InferenceMode normal_tensors(false);
        torch::NoGradGuard no_grad;
        memory_hat_ = F::normalize(memory, F::NormalizeFuncOptions().p(2).dim(-1));
        cache_version_ = version_;
        cache_key_ = key;
    }
    return {memory, memory_hat_, valid, filled_};
}

int64_t MemoryBankImpl::filled() {
    if (host_key_ != valid.data_ptr()) refresh();
    return filled_;
}

std::vector<int64_t> MemoryBankImpl::filled_per_class() {
    if (host_key_ != valid.data_ptr()) refresh();
    std::vector<int64_t> out(classes_, 0);
    for (int64_t j = 0; j < slots_; ++j) out[j / per_class_] += valid_host_[j];
    return out;
}

std::vector<SlotProvenance> MemoryBankImpl::provenance(const std::vector<int64_t>& slots) {
    auto idx = torch::tensor(slots, torch::kInt64);
    if (!slots.empty() && (idx.min().item<int64_t>() < 0 || idx.max().item<int64_t>() >= slots_))
        throw std::out_of_range("memory bank: slot index out of range");
    auto take = [&](const torch::Tensor& b) {
        return b.to(torch::kCPU).index_select(0, idx).contiguous();
    };
    auto lab = take(label), src = take(source), r = take(row), c = take(col), s = take(step);
    std::vector<SlotProvenance> out(slots.size());
    for (size_t i = 0; i < slots.size(); ++i) {
        out[i] = {slots[i], lab.data_ptr<int64_t>()[i], src.data_ptr<int64_t>()[i],
                  r.data_ptr<int64_t>()[i], c.data_ptr<int64_t>()[i], s.data_ptr<int64_t>()[i]};
    }
    return out;
}

void MemoryBankImpl::clear() {
    torch::NoGradGuard no_grad;
    memory.zero_();
    valid.fill_(false);
    for (auto* b : {&label, &source, &row, &col, &step}) b->fill_(-1);
    cursor.zero_();
    staged_.clear();
    refresh();
}

}  // namespace vhmn
