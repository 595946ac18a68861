#include "core/probes/weights.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/models/hopfield.h"
#include "core/probes/common.h"
#include "core/runtime.h"

namespace vhmn {

using namespace probe_detail;

SlotWeights probe_weights(ProbeInput& in, int64_t block, Branch branch, const ProbeControl& control) {
    check_input(in);
    c10::InferenceMode inference;
    ProbeScope scope(in.model);
    VHMN model = memory_of(in.model, "the weights probe");
    auto bank = model->bank(block, branch);
    const int64_t K = bank->slots(), classes = model->config().classes;
    SlotWeights w;
    w.block = block, w.branch = branch;
    w.filled = bank->filled();
    auto valid = bank->view().valid.to(in.device);  // filled and not masked by an edit
    auto sum = torch::zeros({classes, K}, torch::kDouble);
    auto count = torch::zeros({classes}, torch::kLong);
    auto top1 = torch::zeros({K}, torch::kLong);
    double entropy_sum = 0;
    for_batches(in, control, "weights", [&](int64_t, int64_t, const torch::Tensor& x, const torch::Tensor& y) {
        auto trace = model->forward_trace(normalized(in, x), {block});
        auto a = last_alpha(trace, block, branch);  // [B·q, K]
        const int64_t b = y.size(0);
        auto per_image = a.view({b, -1, K}).mean(1).to(torch::kCPU, torch::kDouble);  // [B, K]
        sum.index_add_(0, y, per_image);
        count.index_add_(0, y, torch::ones({b}, torch::kLong));
        if (w.filled > 0) top1 += topk_filled(a, valid, 1).view(-1).to(torch::kCPU).bincount({}, K);
        entropy_sum += entropy(a).sum().item<double>();
        w.queries += a.size(0);
    });
    w.mean_alpha = (sum / count.clamp_min(1).unsqueeze(1).to(torch::kDouble)).to(torch::kFloat);
    w.class_count = to_vector<int64_t>(count);
    w.top1_count = to_vector<int64_t>(top1);
    auto label = bank->label.to(torch::kCPU), valid_cpu = bank->valid.to(torch::kCPU);
    w.slot_class = to_vector<int64_t>(label.masked_fill(valid_cpu.logical_not(), -1));
    int64_t unused = 0;
    for (int64_t j = 0; j < K; ++j)
        if (w.slot_class[j] >= 0 && w.top1_count[j] == 0) ++unused;
    w.unused_fraction = w.filled > 0 ? double(unused) / double(w.filled) : 0.0;
    w.mean_entropy = w.queries > 0 ? entropy_sum / double(w.queries) : 0.0;
    return w;
}

ProbeResult weights_result(const SlotWeights& w, int64_t cls) {
    const int64_t classes = w.mean_alpha.size(0), K = w.mean_alpha.size(1);
    if (cls < 0 || cls >= classes)
        throw ConfigError("--class " + std::to_string(cls) + " is outside [0, " + std::to_string(classes) + ")");
    ProbeResult r;
    r.name = "weights";
    r.table = Table({"slot", "slot_class", "mean_alpha", "top1_count"});
    auto row = w.mean_alpha[cls].contiguous();
    const float* a = row.data_ptr<float>();
    std::vector<double> mass(size_t(classes), 0.0);
    for (int64_t j = 0; j < K; ++j) {
        r.table.add_row({j, w.slot_class[j], double(a[j]), w.top1_count[j]});
        if (w.slot_class[j] >= 0) mass[size_t(w.slot_class[j])] += a[j];
    }
    r.params = {{"block", w.block}, {"branch", branch_name(w.branch)}, {"class", cls},
                {"class_images", w.class_count[size_t(cls)]}, {"queries", w.queries}, {"filled", w.filled},
                {"unused_fraction", w.unused_fraction}, {"mean_entropy", w.mean_entropy},
                {"mass_by_slot_class", mass}};
    r.arrays = {{"mean_alpha", w.mean_alpha},
                {"top1_count", torch::tensor(w.top1_count, torch::kLong)},
                {"slot_class", torch::tensor(w.slot_class, torch::kLong)},
                {"class_count", torch::tensor(w.class_count, torch::kLong)}};
    return r;
}

}  // namespace vhmn
