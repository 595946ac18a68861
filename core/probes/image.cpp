#include "core/probes/image.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/models/hopfield.h"
#include "core/probes/common.h"
#include "core/runtime.h"

namespace vhmn {

using namespace probe_detail;

Replay replay_refinement(VHMN& model, int64_t block, Branch branch, const torch::Tensor& q, int64_t steps) {
    auto* blk = model->blocks[size_t(block)]->as<HMNBlockImpl>();
    const auto& beta = branch == Branch::Local ? blk->local_memory->beta : blk->global_memory->beta;
    const auto view = model->bank(block, branch)->view();
    Replay out;
    auto z = q;
    for (int64_t t = 0; t < steps; ++t) {
        const auto r = retrieve(z, view);
        out.z.push_back(z);
        out.m.push_back(r.m);
        z = z + beta * (r.m - z);
    }
    return out;
}

Box token_box(const ModelConfig& cfg, int64_t row, int64_t col) {
    return {col * cfg.patch, row * cfg.patch, cfg.patch, cfg.patch};
}

Box window_box(const ModelConfig& cfg, int64_t row, int64_t col) {
    const int64_t grid = cfg.image_size / cfg.patch, r = cfg.window / 2;
    const int64_t r0 = std::max<int64_t>(0, row - r), r1 = std::min<int64_t>(grid - 1, row + r);
    const int64_t c0 = std::max<int64_t>(0, col - r), c1 = std::min<int64_t>(grid - 1, col + r);
    return {c0 * cfg.patch, r0 * cfg.patch, (c1 - c0 + 1) * cfg.patch, (r1 - r0 + 1) * cfg.patch};
}

ImageProbe probe_image(Model any_model, const torch::Tensor& image, int64_t label, const std::vector<double>& mean,
                       const std::vector<double>& std, const data::Split& train, int64_t k, int64_t token,
                       const torch::Device& device, ForwardTrace* keep_trace) {
    VHMN model = memory_of(any_model, "probing an image's retrieved memories");
    const auto& cfg = model->config();
    check_image(cfg, image, "image");
    c10::InferenceMode inference;
    ProbeScope scope(any_model);
    auto x = image.unsqueeze(0).to(torch::kFloat).div(255.0).to(device);
    auto trace = model->forward_trace(normalize_images(x, mean, std));
    ImageProbe p;
    p.label = label;
    auto probs = torch::softmax(trace.logits.to(torch::kFloat), 1)[0];
    for (float v : to_vector<float>(probs)) p.probabilities.push_back(v);
    p.prediction = probs.argmax().item<int64_t>();
    for (float v : to_vector<float>(trace.pool_weights[0].to(torch::kFloat))) p.pool_weights.push_back(v);
    const int64_t n = int64_t(p.pool_weights.size()), grid = cfg.image_size / cfg.patch;
    if (token >= n) throw ConfigError("token " + std::to_string(token) + " is outside [0, " + std::to_string(n) + ")");
    p.token = token >= 0 ? token
                         : int64_t(std::max_element(p.pool_weights.begin(), p.pool_weights.end()) - p.pool_weights.begin());
    p.token_row = p.token / grid, p.token_col = p.token % grid;
    p.token_box = token_box(cfg, p.token_row, p.token_col);
    p.window_box = window_box(cfg, p.token_row, p.token_col);
    const Box whole{0, 0, cfg.image_size, cfg.image_size};
    for (int64_t b = 0; b < cfg.depth; ++b) {
        BlockPrototypes bp;
        const auto& bt = trace.blocks[size_t(b)];
        for (Branch br : {Branch::Local, Branch::Global}) {
            const auto& tr = br == Branch::Local ? bt.local : bt.global;
            auto pick = [&](const torch::Tensor& t) { return br == Branch::Local ? t[0][p.token] : t[0]; };
            auto& out = br == Branch::Local ? bp.local : bp.global;
            for (const auto& hit : top_slots(model, b, br, pick(tr.alpha.back()), k)) {
                Prototype proto;
                proto.hit = hit;
                proto.box = br == Branch::Local ? token_box(cfg, hit.provenance.row, hit.provenance.col) : whole;
                proto.source = source_image(train, hit.provenance.source);
                out.push_back(std::move(proto));
            }
            auto& steps = br == Branch::Local ? bp.local_steps : bp.global_steps;
            for (const auto& d : tr.distance) steps.distance.push_back(pick(d).item<double>());
            for (const auto& a : tr.alpha) steps.entropy.push_back(entropy(pick(a)).item<double>());
            // Replay Eq. 4 for this one query (cheap: one vector) to get ‖z_t − m(z_t)‖ up to t = T.
            const auto replay = replay_refinement(model, b, br, pick(tr.query).unsqueeze(0), int64_t(tr.distance.size()));
            for (size_t t = 0; t < replay.z.size(); ++t) steps.memory_distance.push_back((replay.z[t] - replay.m[t]).norm().item<double>());
        }
        p.blocks.push_back(std::move(bp));
    }
    if (keep_trace) *keep_trace = std::move(trace);
    return p;
}

ProbeResult image_result(const ImageProbe& p, int64_t index, const torch::Tensor& image) {
    ProbeResult r;
    r.name = "image";
    r.table = Table({"block", "branch", "rank", "slot", "class", "weight", "source", "row", "col", "step", "box_x",
                     "box_y", "box_w", "box_h"});
    nlohmann::json trajectories = nlohmann::json::array();
    r.arrays.push_back({"input", image.to(torch::kCPU)});
    r.arrays.push_back({"probabilities", torch::tensor(p.probabilities, torch::kDouble)});
    r.arrays.push_back({"pool_weights", torch::tensor(p.pool_weights, torch::kDouble)});
    for (size_t b = 0; b < p.blocks.size(); ++b) {
        const auto& bp = p.blocks[b];
        nlohmann::json tj;
        for (Branch br : {Branch::Local, Branch::Global}) {
            const auto& protos = br == Branch::Local ? bp.local : bp.global;
            const auto& steps = br == Branch::Local ? bp.local_steps : bp.global_steps;
            const std::string key = "block_" + std::to_string(b) + "/" + branch_name(br);
            std::vector<torch::Tensor> sources;
            for (size_t i = 0; i < protos.size(); ++i) {
                const auto& h = protos[i].hit;
                const auto& pv = h.provenance;
                r.table.add_row({int64_t(b), branch_name(br), int64_t(i + 1), pv.slot, pv.label, h.weight, pv.source,
                                 pv.row, pv.col, pv.step, protos[i].box.x, protos[i].box.y, protos[i].box.w,
                                 protos[i].box.h});
                if (protos[i].source.defined()) sources.push_back(protos[i].source);
            }
            if (!sources.empty() && sources.size() == protos.size())
                r.arrays.push_back({key + "/sources", torch::stack(sources)});
            r.arrays.push_back({key + "/distance", torch::tensor(steps.distance, torch::kDouble)});
            r.arrays.push_back({key + "/entropy", torch::tensor(steps.entropy, torch::kDouble)});
            r.arrays.push_back({key + "/memory_distance", torch::tensor(steps.memory_distance, torch::kDouble)});
            tj[branch_name(br)] = {{"distance", steps.distance}, {"entropy", steps.entropy},
                                   {"memory_distance", steps.memory_distance}};
        }
        trajectories.push_back(tj);
    }
    auto box = [](const Box& b) { return nlohmann::json{b.x, b.y, b.w, b.h}; };
    r.params = {{"index", index}, {"label", p.label}, {"prediction", p.prediction},
                {"probabilities", p.probabilities}, {"token", p.token}, {"token_row", p.token_row},
                {"token_col", p.token_col}, {"token_box", box(p.token_box)}, {"window_box", box(p.window_box)},
                {"trajectories", trajectories}};
    return r;
}

}  // namespace vhmn
