#include "core/probes/memory_map.h"

#include <algorithm>

#include "core/error.h"
#include "core/probes/common.h"
#include "core/probes/image.h"

namespace vhmn {

using namespace probe_detail;

Pca pca(const torch::Tensor& x_any, int64_t k) {
    TORCH_CHECK(x_any.dim() == 2, "pca: rows [n, L] expected, got ", x_any.sizes());
    const auto x = x_any.to(torch::kCPU, torch::kDouble);
    const int64_t n = x.size(0), L = x.size(1);
    if (n < 2) throw ConfigError("a map needs at least 2 stored vectors, the bank holds " + std::to_string(n));
    k = std::min(k, L);
    Pca p;
    p.mean = x.mean(0);
    const auto c = x - p.mean;
    const auto cov = c.t().mm(c) / double(n - 1);                    // [L, L]
    const auto [values, vectors] = at::linalg_eigh(cov, "L");  // ascending
    const double total = std::max(values.sum().item<double>(), 1e-300);
    auto axes = vectors.flip({1}).slice(1, 0, k).t().contiguous();  // [k, L], largest first
    for (int64_t i = 0; i < k; ++i) {
        auto a = axes[i];
        if (a[a.abs().argmax()].item<double>() < 0) a.neg_();
        p.explained.push_back(std::max(0.0, values[L - 1 - i].item<double>()) / total);
    }
    p.axes = axes;
    return p;
}

MemoryMap memory_map(VHMN model, int64_t block, Branch branch) {
    auto bank = model->bank(block, branch);
    MemoryMap m;
    m.block = block, m.branch = branch;
    const auto valid = bank->valid.to(torch::kCPU);
    const auto idx = valid.nonzero().view(-1);
    const auto unit = torch::nn::functional::normalize(bank->memory.detach().to(torch::kCPU, torch::kDouble).index_select(0, idx),
                                                       torch::nn::functional::NormalizeFuncOptions().dim(1));
    m.axes = pca(unit, 2);
    m.coords = (unit - m.axes.mean).mm(m.axes.axes.t());
    auto take = [&](const torch::Tensor& t) { return to_vector<int64_t>(t.to(torch::kCPU).index_select(0, idx)); };
    m.slots = to_vector<int64_t>(idx);
    m.labels = take(bank->label), m.sources = take(bank->source), m.rows = take(bank->row), m.cols = take(bank->col);
    m.steps = take(bank->step);
    return m;
}

torch::Tensor project(const MemoryMap& map, const torch::Tensor& z) {
    const auto unit = torch::nn::functional::normalize(z.detach().to(torch::kCPU, torch::kDouble).reshape({-1, z.size(-1)}),
                                                       torch::nn::functional::NormalizeFuncOptions().dim(1));
    return (unit - map.axes.mean).mm(map.axes.axes.t());
}

torch::Tensor map_trajectory(Model any_model, const MemoryMap& map, const torch::Tensor& image, const std::vector<double>& mean,
                             const std::vector<double>& std, int64_t token, const torch::Device& device) {
    VHMN model = memory_of(any_model, "the memory map");
    check_image(model->config(), image, "map");
    c10::InferenceMode inference;
    ProbeScope scope(any_model);
    auto x = normalize_images(image.unsqueeze(0).to(torch::kFloat).div(255.0).to(device), mean, std);
    const auto trace = model->forward_trace(x, {map.block});
    const auto& tr = map.branch == Branch::Local ? trace.blocks[size_t(map.block)].local : trace.blocks[size_t(map.block)].global;
    torch::Tensor q;
    if (map.branch == Branch::Local) {
        const int64_t n = tr.query.size(1);
        if (token >= n) throw ConfigError("token " + std::to_string(token) + " is outside [0, " + std::to_string(n) + ")");
        const int64_t t = token >= 0 ? token : trace.pool_weights[0].argmax().item<int64_t>();
        q = tr.query[0][t].unsqueeze(0);
    } else {
        q = tr.query[0].unsqueeze(0);
    }
    const auto replay = replay_refinement(model, map.block, map.branch, q, model->iterations() + 1);
    return project(map, torch::cat(replay.z));
}

ProbeResult memory_map_result(const MemoryMap& map) {
    ProbeResult r;
    r.name = "map";
    r.table = Table({"slot", "class", "source", "row", "col", "step", "x", "y"});
    const auto c = map.coords.contiguous();
    for (size_t i = 0; i < map.slots.size(); ++i)
        r.table.add_row({map.slots[i], map.labels[i], map.sources[i], map.rows[i], map.cols[i], map.steps[i],
                         c[int64_t(i)][0].item<double>(), c[int64_t(i)][1].item<double>()});
    r.arrays.push_back({"coords", map.coords});
    r.arrays.push_back({"axes", map.axes.axes});
    r.params = {{"block", map.block},
                {"branch", branch_name(map.branch)},
                {"projection", "PCA of the filled slots' unit vectors"},
                {"explained", map.axes.explained}};
    return r;
}

}  // namespace vhmn
