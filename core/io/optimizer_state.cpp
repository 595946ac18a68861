#include "core/io/optimizer_state.h"

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/torch_compat.h"

namespace vhmn {
namespace {

std::string key(size_t i, const char* what) { return "p" + std::to_string(i) + "_" + what; }

template <class State>
void write_states(const torch::optim::Optimizer& opt, const torch::OrderedDict<std::string, torch::Tensor>& params,
                  torch::serialize::OutputArchive& archive) {
    nlohmann::json names = nlohmann::json::array();
    for (size_t i = 0; i < params.size(); ++i) {
        const auto& p = params[i].value();
        names.push_back(params[i].key());
        const auto it = opt.state().find(compat::optimizer_state_key(p));
        if (it == opt.state().end()) {  // no step taken for this parameter yet
            archive.write(key(i, "step"), c10::IValue(int64_t(-1)));
            continue;
        }
        const auto& s = static_cast<const State&>(*it->second);
        archive.write(key(i, "step"), c10::IValue(s.step()));
        archive.write(key(i, "exp_avg"), s.exp_avg(), /*is_buffer=*/true);
        archive.write(key(i, "exp_avg_sq"), s.exp_avg_sq(), /*is_buffer=*/true);
        if (s.max_exp_avg_sq().defined()) archive.write(key(i, "max_exp_avg_sq"), s.max_exp_avg_sq(), true);
    }
    archive.write("names", c10::IValue(names.dump()));
}

template <class State>
void read_states(torch::optim::Optimizer& opt, const torch::OrderedDict<std::string, torch::Tensor>& params,
                 torch::serialize::InputArchive& archive, const std::string& path) {
    c10::IValue names_v;
    if (!archive.try_read("names", names_v) || !names_v.isString())
        throw FileError(path, "checkpoint's optimizer state has no parameter list");
    const auto names = nlohmann::json::parse(names_v.toStringRef());
    if (names.size() != params.size())
        throw FileError(path, "checkpoint's optimizer state is for " + std::to_string(names.size()) +
                                  " parameters, the model has " + std::to_string(params.size()));
    for (size_t i = 0; i < params.size(); ++i) {
        const auto& p = params[i].value();
        if (names[i].get<std::string>() != params[i].key())
            throw FileError(path, "checkpoint's optimizer state lists parameter " + std::to_string(i) + " as '" +
                                      names[i].get<std::string>() + "', the model has '" + params[i].key() + "'");
        c10::IValue step;
        if (!archive.try_read(key(i, "step"), step)) throw FileError(path, "optimizer state of " + params[i].key() + " missing");
        if (step.toInt() < 0) continue;
        torch::Tensor m, v, mx;
        if (!archive.try_read(key(i, "exp_avg"), m, true) || !archive.try_read(key(i, "exp_avg_sq"), v, true) ||
            m.sizes() != p.sizes() || v.sizes() != p.sizes())
            throw FileError(path, "optimizer state of " + params[i].key() + " is missing or has the wrong shape");
        auto s = std::make_unique<State>();
        s->step(step.toInt());
        s->exp_avg(m.to(p.device(), p.scalar_type()));
        s->exp_avg_sq(v.to(p.device(), p.scalar_type()));
        if (archive.try_read(key(i, "max_exp_avg_sq"), mx, true)) s->max_exp_avg_sq(mx.to(p.device(), p.scalar_type()));
        opt.state()[compat::optimizer_state_key(p)] = std::move(s);
    }
}

}  // namespace

void write_adam_state(const torch::optim::Optimizer& opt, const torch::OrderedDict<std::string, torch::Tensor>& params,
                      torch::serialize::OutputArchive& archive) {
    if (dynamic_cast<const torch::optim::AdamW*>(&opt)) return write_states<torch::optim::AdamWParamState>(opt, params, archive);
    if (dynamic_cast<const torch::optim::Adam*>(&opt)) return write_states<torch::optim::AdamParamState>(opt, params, archive);
    throw std::invalid_argument("write_adam_state: not an Adam or AdamW optimizer");
}

void read_adam_state(torch::optim::Optimizer& opt, const torch::OrderedDict<std::string, torch::Tensor>& params,
                     torch::serialize::InputArchive& archive, const std::string& path) {
    if (dynamic_cast<torch::optim::AdamW*>(&opt)) return read_states<torch::optim::AdamWParamState>(opt, params, archive, path);
    if (dynamic_cast<torch::optim::Adam*>(&opt)) return read_states<torch::optim::AdamParamState>(opt, params, archive, path);
    throw std::invalid_argument("read_adam_state: not an Adam or AdamW optimizer");
}

}  // namespace vhmn
