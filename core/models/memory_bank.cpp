#include "core/models/memory_bank.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "core/runtime.h"

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
    filled_ = valid.sum().item<int64_t>();
    filled_exact_ = true;
    host_key_ = valid.data_ptr();
    ++version_;
}

void MemoryBankImpl::set_filled(int64_t count) {
    filled_ = count;
    filled_exact_ = true;
}

void MemoryBankImpl::stage(const torch::Tensor& vectors, const torch::Tensor& labels,
                           const torch::Tensor& sources, const torch::Tensor& rows,
                           const torch::Tensor& cols, int64_t step_) {
    if (!is_training()) return;
    if (mask_.defined())
        throw std::logic_error("memory bank: writes staged while an inference-time mask is set (clear it first)");
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

MemoryBankImpl::StagedWrites MemoryBankImpl::take_staged() {
    StagedWrites w;
    if (staged_.empty()) return w;
    std::vector<torch::Tensor> v, l, s, r, c;
    for (const auto& e : staged_) {
        TORCH_CHECK(e.step == staged_.front().step, "bank take_staged: writes of several steps are staged");
        v.push_back(e.vectors), l.push_back(e.labels), s.push_back(e.sources), r.push_back(e.rows), c.push_back(e.cols);
    }
    w.step = staged_.front().step;
    staged_.clear();
    w.vectors = torch::cat(v), w.labels = torch::cat(l), w.sources = torch::cat(s), w.rows = torch::cat(r),
    w.cols = torch::cat(c);
    return w;
}

namespace {

/// Ring-buffer placement of one batch of writes with labels `lab` [n] into G banks of one shape
/// whose class cursors are `cursors` [G, classes]: the r-th write of class c (r counted within this
/// batch, in staging order) goes to slot c·per_class + (cursor_c + r) mod per_class. Ranks are
/// running counts per class, so the placement needs no host loop. When a batch writes a slot twice
/// the later write wins (it is the newer entry). written [G, K]: the slots a write fills; from
/// [G, K]: which write; cursor_after [G, classes]. (Another replacement policy is another
/// placement: store() and store_packed() take any written/from.)
struct Placement {
    torch::Tensor written, from, cursor_after;
};

/// The same elements in the same memory (stage() keeps a detached alias of what it is given).
bool same_memory(const torch::Tensor& a, const torch::Tensor& b) {
    return a.data_ptr() == b.data_ptr() && a.sizes() == b.sizes() && a.strides() == b.strides() &&
           a.scalar_type() == b.scalar_type() && a.device() == b.device();
}

/// G tensors of one shape as one [G, …] tensor: a view when they are consecutive blocks of one
/// storage (packed bank buffers, the rows of one [G, n] tensor), else a stacked copy.
torch::Tensor stacked(const std::vector<torch::Tensor>& ts) {
    const auto& a = ts.front();
    auto shape = a.sizes().vec();
    shape.insert(shape.begin(), int64_t(ts.size()));
    bool blocks = a.is_contiguous();
    for (size_t g = 1; g < ts.size() && blocks; ++g) {
        const auto& t = ts[g];
        blocks = t.is_contiguous() && t.sizes() == a.sizes() && t.scalar_type() == a.scalar_type() &&
                 t.device() == a.device() && t.storage().unsafeGetStorageImpl() == a.storage().unsafeGetStorageImpl() &&
                 t.storage_offset() == a.storage_offset() + int64_t(g) * a.numel();
    }
    if (blocks) return a.as_strided({int64_t(ts.size()) * a.numel()}, {1}).view(shape);
    return torch::stack(ts);
}

/// The G buffers *bufs as one [G, …] view, after moving them into consecutive blocks of one new
/// storage when they are not (each buffer keeps its identity: the module and its member see the move).
torch::Tensor pack(const std::vector<torch::Tensor*>& bufs) {
    std::vector<torch::Tensor> ts;
    for (auto* b : bufs) ts.push_back(*b);
    auto all = stacked(ts);
    if (all.is_view() && all.storage().unsafeGetStorageImpl() == ts.front().storage().unsafeGetStorageImpl())
        return all;  // already packed
    for (size_t g = 0; g < bufs.size(); ++g) {
        auto block = all[int64_t(g)];
        bufs[g]->set_(all.storage(), block.storage_offset(), block.sizes(), block.strides());
    }
    return all;
}

Placement place(const torch::Tensor& lab, const torch::Tensor& cursors, int64_t per_class, int64_t slots) {
    const int64_t n = lab.numel(), classes = cursors.size(1);
    // rank1[i]: 1 + the number of earlier writes of write i's class (a running count per class).
    auto seen = lab.unsqueeze(1).eq(torch::arange(classes, lab.options())).cumsum(0);  // [n, classes]
    auto rank1 = seen.gather(1, lab.unsqueeze(1)).squeeze(1);                           // [n]
    auto counts = seen[n - 1];                                                          // [classes]
    auto offset = (cursors.index_select(1, lab) + rank1).sub_(1).remainder_(per_class);  // [G, n]
    auto slot = at::add(offset, lab, per_class);
    // When a batch writes a slot twice the later write wins (it is the newer entry): write r of class
    // c is dropped when a write r + per_class of that class follows. Dropped writes all go to a spare
    // column K that is cut off, so the kept slots each have one writer and the scatter's result does
    // not depend on the order it runs in.
    auto dropped = (counts.index_select(0, lab) - rank1).ge(per_class);                  // [n]
    slot.masked_fill_(dropped, slots);
    auto who = torch::arange(n, lab.options()).unsqueeze(0).expand_as(slot);
    auto writer = torch::full({cursors.size(0), slots + 1}, -1, lab.options()).scatter_(1, slot, who).slice(1, 0, slots);
    return {writer.ge(0), writer.clamp_min(0), (cursors + counts).remainder_(per_class)};
}

}  // namespace

MemoryBankImpl::Write MemoryBankImpl::staged_write() {
    const auto dev = memory.device();
    Write w;
    w.step = staged_.front().step;
    std::vector<torch::Tensor> vecs, labs, srcs, rws, cls;
    for (const auto& s : staged_) {
        TORCH_CHECK(s.step == w.step, "bank commit: writes of several steps are staged");
        vecs.push_back(s.vectors.to(dev, memory.scalar_type()));
        labs.push_back(to_device(s.labels, dev));
        srcs.push_back(to_device(s.sources, dev));
        rws.push_back(to_device(s.rows, dev));
        cls.push_back(to_device(s.cols, dev));
    }
    staged_.clear();
    // One staged batch (a training step's): its tensors as they are, no copy.
    auto one = [](std::vector<torch::Tensor>& v) { return v.size() == 1 ? v.front() : torch::cat(v); };
    w.vectors = one(vecs), w.labels = one(labs), w.sources = one(srcs), w.rows = one(rws), w.cols = one(cls);
    if (w.labels.is_cpu() && w.labels.numel() > 0) {  // free on the CPU; CUDA runs check their labels once, when training starts
        const int64_t lo = w.labels.min().item<int64_t>(), hi = w.labels.max().item<int64_t>();
        for (int64_t c : {lo, hi})
            if (c < 0 || c >= classes_)
                throw std::out_of_range("memory bank: label " + std::to_string(c) + " outside [0, " +
                                        std::to_string(classes_) + ")");
    }
    return w;
}

void MemoryBankImpl::store(const Write& w, const torch::Tensor& written, const torch::Tensor& from,
                           const torch::Tensor& cursor_after) {
    // Each buffer takes its new entries where `written`, in place (where() into the buffer itself).
    auto put = [&](torch::Tensor& buf, const torch::Tensor& values) {
        at::where_out(buf, buf.dim() == 2 ? written.unsqueeze(1) : written, values.index_select(0, from), buf);
    };
    put(memory, w.vectors);
    put(label, w.labels);
    put(source, w.sources);
    put(row, w.rows);
    put(col, w.cols);
    step.masked_fill_(written, w.step);  // one step per commit
    valid.logical_or_(written);
    cursor.copy_(cursor_after);
    note_commit(memory.device().is_cpu() ? valid.sum().item<int64_t>() : -1);  // exact, and free on the CPU
}

void MemoryBankImpl::note_commit(int64_t exact) {
    ++version_;
    if (exact >= 0) {
        filled_ = exact;
        filled_exact_ = true;
    } else if (!(filled_exact_ && filled_ == slots_)) {
        // On a GPU the count would cost a synchronisation: keep a lower bound (the bank now holds at
        // least one entry), made exact by set_filled() at logging steps or filled() when asked.
        filled_ = std::max<int64_t>(filled_, 1);
        filled_exact_ = false;
    }
}

void MemoryBankImpl::store_packed(const std::vector<MemoryBankImpl*>& banks, const std::vector<const Write*>& writes,
                                  const torch::Tensor& written, const torch::Tensor& from,
                                  const torch::Tensor& cursor_after) {
    const int64_t G = int64_t(banks.size()), K = banks.front()->slots_, n = writes.front()->labels.numel();
    auto packed = [&](torch::Tensor MemoryBankImpl::*buffer) {
        std::vector<torch::Tensor*> bufs;
        for (auto* b : banks) bufs.push_back(&(b->*buffer));
        return pack(bufs);
    };
    // Write j of bank g is entry g·n + j of the stacked writes.
    const auto from_flat = from.reshape({-1});
    torch::Tensor from_stacked;
    auto gathered = [&](torch::Tensor Write::*field) {
        std::vector<torch::Tensor> values;
        for (const auto* w : writes) values.push_back(w->*field);
        auto shape = values.front().sizes().vec();
        shape[0] = K;
        shape.insert(shape.begin(), G);
        if (std::all_of(values.begin(), values.end(), [&](const torch::Tensor& v) { return same_memory(v, values.front()); }))
            return values.front().index_select(0, from_flat).view(shape);  // one tensor for all banks (labels)
        if (!from_stacked.defined())
            from_stacked = (from + torch::arange(0, G * n, n, from.options()).unsqueeze(1)).reshape({-1});
        auto all = stacked(values);
        auto rows = all.reshape({G * n, -1});
        return rows.index_select(0, from_stacked).view(shape);
    };
    auto put = [&](torch::Tensor buf, torch::Tensor Write::*field) {
        at::where_out(buf, buf.dim() == 3 ? written.unsqueeze(2) : written, gathered(field), buf);
    };
    put(packed(&MemoryBankImpl::memory), &Write::vectors);
    put(packed(&MemoryBankImpl::label), &Write::labels);
    put(packed(&MemoryBankImpl::source), &Write::sources);
    put(packed(&MemoryBankImpl::row), &Write::rows);
    put(packed(&MemoryBankImpl::col), &Write::cols);
    const int64_t step = writes.front()->step;
    const bool one_step = std::all_of(writes.begin(), writes.end(), [&](const Write* w) { return w->step == step; });
    if (one_step) {
        packed(&MemoryBankImpl::step).masked_fill_(written, step);
    } else {
        for (int64_t g = 0; g < G; ++g) banks[size_t(g)]->step.masked_fill_(written[g], writes[size_t(g)]->step);
    }
    auto valid = packed(&MemoryBankImpl::valid);
    valid.logical_or_(written);
    packed(&MemoryBankImpl::cursor).copy_(cursor_after);
    torch::Tensor filled;  // [G] on the CPU: exact and free there
    if (valid.is_cpu()) filled = valid.sum(1).contiguous();
    for (int64_t g = 0; g < G; ++g)
        banks[size_t(g)]->note_commit(filled.defined() ? filled.data_ptr<int64_t>()[g] : -1);
    // The retrieval caches of view(), made for the group: the same values as one bank's.
    auto memory = packed(&MemoryBankImpl::memory);
    c10::InferenceMode normal_tensors(false);
    auto hat = F::normalize(memory, F::NormalizeFuncOptions().p(2).dim(-1));
    const bool some_open = std::any_of(banks.begin(), banks.end(), [](const MemoryBankImpl* b) { return b->filled_ < b->slots_; });
    auto bias = some_open ? logit_bias_of(valid, memory.options()) : torch::Tensor();  // [1, G, K]
    for (int64_t g = 0; g < G; ++g) {
        auto* b = banks[size_t(g)];
        b->host_key_ = b->valid.data_ptr();
        b->memory_hat_ = hat[g];
        b->logit_bias_ = b->filled_ < b->slots_ ? bias.select(1, g) : torch::Tensor();
        b->cache_version_ = b->version_;
        b->cache_key_ = b->memory.data_ptr();
    }
}

int64_t MemoryBankImpl::commit() { return commit_all({this}); }

int64_t MemoryBankImpl::commit_all(const std::vector<MemoryBankImpl*>& banks) {
    torch::NoGradGuard no_grad;
    // Everything stays on the banks' device: no host synchronisation (a training step's commit).
    std::vector<std::pair<MemoryBankImpl*, Write>> todo;
    for (auto* b : banks) {
        if (b->staged_.empty()) continue;
        if (b->host_key_ != b->valid.data_ptr()) b->refresh();
        auto w = b->staged_write();
        if (w.labels.numel() > 0) todo.emplace_back(b, std::move(w));
    }
    int64_t stored = 0;
    std::vector<bool> done(todo.size(), false);
    for (size_t i = 0; i < todo.size(); ++i) {
        if (done[i]) continue;
        // The group of bank i: same shape and device, the same labels tensor.
        auto* first = todo[i].first;
        const auto& lab = todo[i].second.labels;
        std::vector<size_t> group;
        for (size_t j = i; j < todo.size(); ++j) {
            auto* b = todo[j].first;
            if (done[j] || b->slots_ != first->slots_ || b->per_class_ != first->per_class_ ||
                b->classes_ != first->classes_ || b->memory.device() != first->memory.device() ||
                !same_memory(todo[j].second.labels, lab))
                continue;
            group.push_back(j), done[j] = true;
        }
        std::vector<torch::Tensor> cursors;
        for (size_t j : group) cursors.push_back(todo[j].first->cursor);
        const auto p = place(lab, stacked(cursors),
                             first->per_class_, first->slots_);
        if (group.size() == 1) {
            first->store(todo[i].second, p.written[0], p.from[0], p.cursor_after[0]);
        } else {
            std::vector<MemoryBankImpl*> gb;
            std::vector<const Write*> gw;
            for (size_t j : group) gb.push_back(todo[j].first), gw.push_back(&todo[j].second);
            store_packed(gb, gw, p.written, p.from, p.cursor_after);
        }
        for (size_t j : group) stored += todo[j].second.labels.numel();
    }
    return stored;
}

torch::Tensor MemoryBankImpl::logit_bias(const torch::Tensor& retrievable) const {
    return logit_bias_of(retrievable, memory.options());
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
        logit_bias_ = filled_ < slots_ ? logit_bias(valid) : torch::Tensor();
        cache_version_ = version_;
        cache_key_ = key;
    }
    if (!mask_.defined()) return {memory, memory_hat_, valid, filled_, logit_bias_};
    if (mask_version_ != version_ || mask_key_ != valid.data_ptr() || !retrievable_.defined()) {
        c10::InferenceMode normal_tensors(false);
        retrievable_ = valid.logical_and(mask_.to(valid.device()).logical_not());
        retrievable_count_ = retrievable_.sum().item<int64_t>();  // once per edit: a sync is fine
        retrievable_bias_ = logit_bias(retrievable_);
        mask_version_ = version_;
        mask_key_ = valid.data_ptr();
    }
    return {memory, memory_hat_, retrievable_, retrievable_count_, retrievable_bias_};
}

void MemoryBankImpl::set_mask(const torch::Tensor& masked) {
    if (masked.defined()) {
        TORCH_CHECK(masked.dim() == 1 && masked.size(0) == slots_, "bank mask must be [", slots_, "], got ",
                    masked.sizes());
        c10::InferenceMode normal_tensors(false);
        mask_ = masked.to(valid.device(), torch::kBool).clone();
    } else {
        mask_ = torch::Tensor();
    }
    retrievable_ = torch::Tensor();
}

int64_t MemoryBankImpl::filled() {
    if (host_key_ != valid.data_ptr() || !filled_exact_) refresh();
    return filled_;
}

std::vector<int64_t> MemoryBankImpl::filled_per_class() {
    auto per = valid.view({classes_, per_class_}).sum(1).to(torch::kCPU, torch::kInt64).contiguous();
    return std::vector<int64_t>(per.data_ptr<int64_t>(), per.data_ptr<int64_t>() + classes_);
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
