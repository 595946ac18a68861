#include "core/probes/ablation.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <limits>
#include <map>

#include "core/error.h"
#include "core/probes/common.h"
#include "core/probes/memory_edit.h"

namespace vhmn {

using namespace probe_detail;

namespace {

/// Put `extra` (per bank, bank_index order; undefined: nothing more) on top of each bank's base
/// mask (the user's edit) for the scope's lifetime.
void set_masks(VHMN& model, const MaskScope& scope, const std::vector<torch::Tensor>& extra) {
    for (int64_t b = 0; b < model->config().depth; ++b)
        for (Branch br : {Branch::Local, Branch::Global}) {
            const auto& base = scope.base(b, br);
            const auto& more = extra[bank_index(b, br)];
            if (!more.defined()) model->bank(b, br)->set_mask(base);
            else model->bank(b, br)->set_mask(base.defined() ? more.logical_or(base.to(torch::kCPU)) : more);
        }
}

}  // namespace

torch::Tensor predict_all(ProbeInput& in, const ProbeControl& control, const std::string& what, double from,
                          double to) {
    check_input(in);
    c10::InferenceMode inference;
    ProbeScope scope(in.model);
    auto out = torch::empty({in.test.size()}, torch::kInt64);
    ProbeControl sub = control;
    if (control.progress)
        sub.progress = [&](double f, const std::string& w) { control.progress(from + (to - from) * f, w); };
    for_batches(in, sub, what, [&](int64_t s, int64_t e, const torch::Tensor& x, const torch::Tensor&) {
        out.slice(0, s, e).copy_(in.model->forward(normalized(in, x)).argmax(1).to(torch::kCPU));
    });
    return out;
}

AblationOrder parse_ablation_order(const std::string& name) {
    if (name == "random") return AblationOrder::Random;
    if (name == "most_used") return AblationOrder::MostUsed;
    if (name == "least_used") return AblationOrder::LeastUsed;
    throw ConfigError("ablation order '" + name + "' is none of random, most_used, least_used");
}

std::string ablation_order_name(AblationOrder order) {
    switch (order) {
        case AblationOrder::Random: return "random";
        case AblationOrder::MostUsed: return "most_used";
        case AblationOrder::LeastUsed: return "least_used";
    }
    return "?";
}

torch::Tensor ablation_mask(const torch::Tensor& valid_any, const torch::Tensor& usage, AblationOrder order,
                            double fraction, uint64_t seed, int64_t bank_index) {
    const auto valid = valid_any.to(torch::kCPU, torch::kBool);
    const int64_t K = valid.numel(), filled = valid.sum().item<int64_t>();
    const int64_t n = std::min<int64_t>(filled, std::llround(fraction * double(filled)));
    auto mask = torch::zeros({K}, torch::kBool);
    if (n <= 0) return mask;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(mix_seed(seed, uint64_t(bank_index), 41));
    const auto tie = torch::rand({K}, gen, torch::kDouble);  // in [0, 1): breaks ties within one usage count
    const auto use = usage.to(torch::kCPU, torch::kDouble);
    torch::Tensor key;  // ascending: the first n filled slots are masked
    switch (order) {
        case AblationOrder::Random: key = tie; break;
        case AblationOrder::MostUsed: key = -use + 0.5 * tie; break;
        case AblationOrder::LeastUsed: key = use + 0.5 * tie; break;
    }
    key = key.masked_fill(valid.logical_not(), std::numeric_limits<double>::infinity());
    const auto first = std::get<1>(key.sort()).slice(0, 0, n);
    return mask.index_fill_(0, first, true);
}

void validate_ablation(const AblationOptions& o) {
    if (o.orders.empty() || o.branches.empty() || o.fractions.empty())
        throw ConfigError("ablation: --order, --branch and --fractions each need at least one value");
    for (const auto& s : o.orders) parse_ablation_order(s);
    for (const auto& b : o.branches)
        if (b != "both") parse_branch(b);
    for (double f : o.fractions)
        if (!(f >= 0.0 && f <= 1.0))
            throw ConfigError("ablation: masked fraction " + std::to_string(f) + " is outside [0, 1]");
}

std::vector<AblationRow> probe_ablation(ProbeInput& in, const SlotUsage& usage, const AblationOptions& o,
                                        const ProbeControl& control) {
    validate_ablation(o);
    check_input(in);
    VHMN model = memory_of(in.model, "the memory ablation");
    const int64_t depth = model->config().depth;
    if (int64_t(usage.top1.size()) != 2 * depth) throw ConfigError("ablation: slot usage was counted on another model");
    const MaskScope scope(model);
    // Stored (filled) slots per bank; the ablation masks a fraction of these.
    std::vector<torch::Tensor> valid;
    for (int64_t b = 0; b < depth; ++b)
        for (Branch br : {Branch::Local, Branch::Global}) valid.push_back(model->bank(b, br)->valid.to(torch::kCPU));
    const auto labels = in.test.labels.to(torch::kCPU);
    std::vector<AblationRow> rows;
    // Conditions masking the same slots give the same answer: 0 % (any order, any branch) and 100 %
    // (any order) are evaluated once.
    std::map<std::string, double> done;
    const size_t total = o.orders.size() * o.branches.size() * o.fractions.size();
    size_t index = 0;
    for (const auto& order_name : o.orders) {
        const auto order = parse_ablation_order(order_name);
        for (const auto& branch : o.branches) {
            for (double f : o.fractions) {
                std::vector<torch::Tensor> extra(size_t(2 * depth));
                int64_t masked = 0;
                for (int64_t b = 0; b < depth; ++b)
                    for (Branch br : branches_of(branch)) {
                        const size_t i = bank_index(b, br);
                        extra[i] = ablation_mask(valid[i], usage.top1[i], order, f, o.seed, int64_t(i));
                        masked += extra[i].sum().item<int64_t>();
                    }
                const std::string key = masked == 0 ? "none"
                                        : f >= 1.0  ? "all/" + branch
                                                    : order_name + "/" + branch + "/" + std::to_string(f);
                const double lo = double(index) / double(total), hi = double(index + 1) / double(total);
                ++index;
                auto it = done.find(key);
                if (it == done.end()) {
                    set_masks(model, scope, extra);
                    const auto pred = predict_all(in, control, "ablation " + order_name + " " + branch, lo, hi);
                    it = done.emplace(key, 100.0 * pred.eq(labels).sum().item<double>() / double(labels.numel())).first;
                }
                rows.push_back({order_name, branch, f, it->second, masked, labels.numel()});
            }
        }
    }
    return rows;
}

ProbeResult ablation_result(const std::vector<AblationRow>& rows, const AblationOptions& o, int64_t usage_images) {
    ProbeResult r;
    r.name = "ablation";
    r.table = Table({"order", "branch", "masked_fraction", "top1", "masked_slots", "count"});
    for (const auto& row : rows)
        r.table.add_row({row.order, row.branch, row.masked_fraction, row.top1, row.masked_slots, row.count});
    r.params = {{"orders", o.orders},
                {"branches", o.branches},
                {"fractions", o.fractions},
                {"seed", o.seed},
                {"usage", "top-1 counts over the training split"},
                {"usage_images", usage_images},
                {"masked", "a fraction of every block's filled slots of the branch; 100 % gives z = q (T = 0)"}};
    return r;
}

LeaveClassOut probe_leave_class_out(ProbeInput& in, const ProbeControl& control) {
    check_input(in);
    VHMN model = memory_of(in.model, "leave-one-class-out");
    const int64_t classes = model->config().classes, depth = model->config().depth;
    const MaskScope scope(model);
    const auto labels = in.test.labels.to(torch::kCPU);
    LeaveClassOut r;
    const auto count = labels.bincount({}, classes);
    r.class_count = to_vector<int64_t>(count);
    auto per_class = [&](const torch::Tensor& pred) {
        const auto hit = pred.eq(labels).to(torch::kLong);
        const auto hits = torch::zeros({classes}, torch::kLong).index_add_(0, labels, hit);
        std::vector<double> acc(size_t(classes), 0.0);
        for (int64_t c = 0; c < classes; ++c)
            acc[size_t(c)] = r.class_count[size_t(c)] ? 100.0 * double(hits[c].item<int64_t>()) / double(r.class_count[size_t(c)]) : 0.0;
        return std::make_pair(acc, 100.0 * hit.sum().item<double>() / double(labels.numel()));
    };
    const double steps = double(classes + 1);
    std::tie(r.baseline, r.baseline_top1) = per_class(predict_all(in, control, "leave-class-out: nothing masked", 0, 1 / steps));
    for (int64_t c = 0; c < classes; ++c) {
        MemoryEdit edit;
        edit.classes = {c};
        std::vector<torch::Tensor> extra(size_t(2 * depth));
        int64_t masked = 0;
        for (int64_t b = 0; b < depth; ++b)
            for (Branch br : {Branch::Local, Branch::Global}) {
                auto& m = extra[bank_index(b, br)];
                m = edit_mask(model, edit, b, br);
                masked += m.sum().item<int64_t>();
            }
        set_masks(model, scope, extra);
        auto [acc, top1] = per_class(predict_all(in, control, "leave-class-out: class " + std::to_string(c) + " masked",
                                                 double(c + 1) / steps, double(c + 2) / steps));
        r.accuracy.push_back(acc);
        r.top1.push_back(top1);
        r.masked_slots.push_back(masked);
    }
    return r;
}

ProbeResult leave_class_out_result(const LeaveClassOut& r) {
    ProbeResult out;
    out.name = "leave_class_out";
    out.table = Table({"masked_class", "class", "top1", "change", "count", "masked_slots"});
    const int64_t classes = int64_t(r.baseline.size());
    for (int64_t c = 0; c < classes; ++c)
        out.table.add_row({int64_t(-1), c, r.baseline[size_t(c)], 0.0, r.class_count[size_t(c)], int64_t(0)});
    auto matrix = torch::zeros({classes, classes}, torch::kDouble);
    for (int64_t m = 0; m < int64_t(r.accuracy.size()); ++m)
        for (int64_t c = 0; c < classes; ++c) {
            const double a = r.accuracy[size_t(m)][size_t(c)];
            matrix[m][c] = a;
            out.table.add_row({m, c, a, a - r.baseline[size_t(c)], r.class_count[size_t(c)], r.masked_slots[size_t(m)]});
        }
    out.arrays.push_back({"accuracy", matrix});
    out.arrays.push_back({"baseline", torch::tensor(r.baseline, torch::kDouble)});
    out.params = {{"baseline_top1", r.baseline_top1},
                  {"top1_per_masked_class", r.top1},
                  {"masked", "every slot (all blocks, both branches) storing an image of the masked class"},
                  {"rows", "masked_class -1: nothing masked; change = top1 - the class's top-1 with nothing masked"}};
    return out;
}

}  // namespace vhmn
