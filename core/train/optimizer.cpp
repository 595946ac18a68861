#include "core/train/optimizer.h"

#include <cmath>
#include <map>

#include "core/torch_compat.h"

namespace vhmn {
namespace {

/// The parameters of one group that share a step count (normally all of them: a parameter that got
/// no gradient in some step, e.g. β with T = 0, has taken fewer steps), with their state.
struct Bucket {
    std::vector<torch::Tensor> params, grads, exp_avg, exp_avg_sq;
    std::vector<torch::optim::OptimizerParamState*> states;
};

/// libtorch's Adam / AdamW step (torch/csrc/api/src/optim/adam.cpp, adamw.cpp), operator for
/// operator, on lists: exp_avg = β1·exp_avg + (1 − β1)·g; exp_avg_sq = β2·exp_avg_sq + (1 − β2)·g²;
/// denom = √exp_avg_sq / √(1 − β2^t) + ε; p −= lr / (1 − β1^t) · exp_avg / denom. Adam adds
/// wd·p to g first; AdamW multiplies p by 1 − lr·wd first.
template <class Base, class Options, class State, bool kDecoupled>
class ForeachAdam final : public Base {
public:
    using Base::Base;

    torch::Tensor step(torch::optim::Optimizer::LossClosure closure = nullptr) override {
        torch::NoGradGuard no_grad;
        torch::Tensor loss;
        if (closure) {
            at::AutoGradMode grad(true);
            loss = closure();
        }
        for (auto& group : this->param_groups()) {
            auto& o = static_cast<Options&>(group.options());
            if (o.amsgrad()) return Base::step(nullptr);  // not used by the trainer: libtorch's own loop
            std::map<int64_t, Bucket> buckets;
            for (auto& p : group.params()) {
                if (!p.grad().defined()) continue;
                auto& slot = this->state()[compat::optimizer_state_key(p)];
                if (!slot) {
                    auto s = std::make_unique<State>();
                    s->step(0);
                    s->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
                    s->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
                    slot = std::move(s);
                }
                auto& s = static_cast<State&>(*slot);
                auto& b = buckets[s.step()];
                b.params.push_back(p), b.grads.push_back(p.grad());
                b.exp_avg.push_back(s.exp_avg()), b.exp_avg_sq.push_back(s.exp_avg_sq());
                b.states.push_back(&s);
            }
            for (auto& [done, b] : buckets) update(o, done + 1, b);
        }
        return loss;
    }

private:
    static void update(const Options& o, int64_t t, Bucket& b) {
        for (auto* s : b.states) static_cast<State*>(s)->step(t);
        const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
        const double bias1 = 1 - std::pow(beta1, double(t)), bias2 = 1 - std::pow(beta2, double(t));
        auto grads = b.grads;
        if (o.weight_decay() != 0) {
            if (kDecoupled) at::_foreach_mul_(b.params, 1 - o.lr() * o.weight_decay());
            else grads = at::_foreach_add(b.grads, b.params, o.weight_decay());
        }
        at::_foreach_mul_(b.exp_avg, beta1);
        at::_foreach_add_(b.exp_avg, grads, 1 - beta1);
        at::_foreach_mul_(b.exp_avg_sq, beta2);
        at::_foreach_addcmul_(b.exp_avg_sq, grads, grads, 1 - beta2);
        auto denom = at::_foreach_sqrt(b.exp_avg_sq);
        at::_foreach_div_(denom, std::sqrt(bias2));
        at::_foreach_add_(denom, o.eps());
        at::_foreach_addcdiv_(b.params, b.exp_avg, denom, -(o.lr() / bias1));
    }
};

using Adam = ForeachAdam<torch::optim::Adam, torch::optim::AdamOptions, torch::optim::AdamParamState, false>;
using AdamW = ForeachAdam<torch::optim::AdamW, torch::optim::AdamWOptions, torch::optim::AdamWParamState, true>;

}  // namespace

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& params, const TrainConfig& t) {
    if (t.optimizer == "adamw")
        return std::make_unique<AdamW>(params, torch::optim::AdamWOptions(t.lr).weight_decay(t.weight_decay));
    return std::make_unique<Adam>(params, torch::optim::AdamOptions(t.lr).weight_decay(t.weight_decay));
}

void clear_grads(const std::vector<torch::Tensor>& params) {
    for (const auto& p : params) const_cast<torch::Tensor&>(p).mutable_grad().reset();
}

void clip_grad_norm_on_device(const std::vector<torch::Tensor>& params, double max_norm) {
    std::vector<torch::Tensor> grads;
    for (const auto& p : params)
        if (p.grad().defined()) grads.push_back(p.grad());
    if (grads.empty()) return;
    auto norms = at::_foreach_norm(grads, 2);
    auto total = torch::stack(norms).to(torch::kFloat).norm(2);
    auto coef = (max_norm / (total + 1e-6)).clamp_max(1.0);
    compat::foreach_mul_by_tensor(grads, coef);
}

}  // namespace vhmn
