#include "core/probes.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "core/hopfield.h"
#include "core/runtime.h"
#include "core/probes/common.h"
#include "core/trainer.h"

namespace vhmn {

using namespace probe_detail;

namespace {

using torch::indexing::Slice;

/// Indices of the k largest weights among filled slots, [Q, k].
torch::Tensor topk_filled(const torch::Tensor& alpha, const torch::Tensor& valid, int64_t k) {
    auto key = alpha.masked_fill(valid.logical_not().unsqueeze(0), -1.0f);
    return std::get<1>(key.topk(k, 1));
}

at::Generator condition_generator(uint64_t seed, size_t condition) {
    return at::make_generator<at::CPUGeneratorImpl>(mix_seed(seed, condition, 17));
}

}  // namespace

torch::Tensor source_image(const data::Split& train, int64_t source) {
    if (train.size() == 0 || source < 0) return {};
    if (source < train.size() && train.index[source].item<int64_t>() == source) return train.images[source].clone();
    auto hit = (train.index == source).nonzero();
    if (hit.size(0) == 0) return {};
    return train.images[hit[0][0].item<int64_t>()].clone();
}

torch::Tensor evenly_spaced_positions(int64_t total, int64_t n, torch::Device device) {
    // Integer arithmetic: floor(i · (total / n)) in doubles is one short for some (total, n),
    // e.g. 10,000 images and n = 76.
    return (torch::arange(n, torch::kLong) * total).div(n, "floor").to(device);
}

data::Split evenly_spaced(const data::Split& split, int64_t n) {
    const int64_t total = split.size();
    if (n <= 0 || n >= total) return split;
    // The index lives where the split does (the trainer keeps a GPU run's splits on the GPU).
    const auto pick = evenly_spaced_positions(total, n, split.images.device());
    data::Split out;
    out.images = split.images.index_select(0, pick);
    out.labels = split.labels.index_select(0, pick);
    out.index = split.index.index_select(0, pick);
    return out;
}

data::Split first_images(const data::Split& split, int64_t n) {
    if (n <= 0 || n >= split.size()) return split;
    return {split.images.slice(0, 0, n), split.labels.slice(0, 0, n),
            split.index.defined() ? split.index.slice(0, 0, n) : torch::Tensor()};
}

std::string branch_name(Branch b) { return b == Branch::Local ? "local" : "global"; }

Branch parse_branch(const std::string& name) {
    if (name == "local") return Branch::Local;
    if (name == "global") return Branch::Global;
    throw ConfigError("branch '" + name + "' is neither 'local' nor 'global'");
}

// ---- weights ------------------------------------------------------------------------------------
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

// ---- hits ---------------------------------------------------------------------------------------
std::vector<HitRow> probe_hits(ProbeInput& in, const ProbeControl& control) {
    check_input(in);
    c10::InferenceMode inference;
    ProbeScope scope(in.model);
    VHMN model = memory_of(in.model, "the hits probe");
    const int64_t depth = model->config().depth;
    std::vector<HitRow> rows;
    std::vector<std::pair<int64_t, int64_t>> hits;  // top1, top5 counts
    struct BankInfo {
        torch::Tensor valid, label;
        int64_t filled;
    };
    std::vector<BankInfo> banks;
    for (int64_t b = 0; b < depth; ++b)
        for (Branch br : {Branch::Local, Branch::Global}) {
            auto bank = model->bank(b, br);
            rows.push_back({b, br, 0, 0, 0});
            hits.push_back({0, 0});
            const auto view = bank->view();  // an edit's masked slots count as empty
            banks.push_back({view.valid.to(in.device), bank->label.to(in.device), view.filled});
        }
    for_batches(in, control, "hits", [&](int64_t, int64_t, const torch::Tensor& x, const torch::Tensor& y) {
        auto trace = model->forward_trace(normalized(in, x));
        auto labels = y.to(in.device);
        for (size_t i = 0; i < rows.size(); ++i) {
            auto a = last_alpha(trace, rows[i].block, rows[i].branch);
            const int64_t q = a.size(0) / labels.size(0);
            rows[i].queries += a.size(0);
            if (banks[i].filled == 0) continue;
            auto idx = topk_filled(a, banks[i].valid, std::min<int64_t>(5, banks[i].filled));  // [Q, k]
            auto cls = banks[i].label.index({idx});
            auto lab = labels.repeat_interleave(q).unsqueeze(1);
            auto same = cls.eq(lab);
            hits[i].first += same.select(1, 0).sum().item<int64_t>();
            hits[i].second += same.any(1).sum().item<int64_t>();
        }
    });
    for (size_t i = 0; i < rows.size(); ++i) {
        const double q = double(std::max<int64_t>(rows[i].queries, 1));
        rows[i].top1 = 100.0 * double(hits[i].first) / q;
        rows[i].top5 = 100.0 * double(hits[i].second) / q;
    }
    return rows;
}

ProbeResult hits_result(const std::vector<HitRow>& rows) {
    ProbeResult r;
    r.name = "hits";
    r.table = Table({"block", "branch", "top1_hit_rate", "top5_hit_rate", "queries"});
    for (const auto& h : rows) r.table.add_row({h.block, branch_name(h.branch), h.top1, h.top5, h.queries});
    r.params = {{"step", "last refinement step"}, {"k", 5}};
    return r;
}

// ---- image --------------------------------------------------------------------------------------
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

// ---- robustness ---------------------------------------------------------------------------------
void validate_iterations(const std::vector<int64_t>& iterations) {
    if (iterations.empty()) throw ConfigError("--iterations needs at least one value");
    for (int64_t t : iterations)
        if (t < 0 || t > 64) throw ConfigError("--iterations " + std::to_string(t) + " is outside [0, 64]");
}

std::vector<RobustnessRow> probe_robustness(ProbeInput& in, const std::vector<Corruption>& corruptions,
                                            const std::vector<int64_t>& iterations_asked, uint64_t seed,
                                            const ProbeControl& control) {
    check_input(in);
    for (const auto& c : corruptions) validate(c);
    validate_iterations(iterations_asked);
    // A baseline has no T: it is evaluated once (rows with iterations 0).
    const std::vector<int64_t> iterations = in.model->has_memory() ? iterations_asked : std::vector<int64_t>{0};
    c10::InferenceMode inference;
    ProbeScope scope(in.model);
    std::vector<at::Generator> gens;
    for (size_t i = 0; i < corruptions.size(); ++i) gens.push_back(condition_generator(seed, i));
    std::vector<int64_t> correct(corruptions.size() * iterations.size(), 0);
    int64_t count = 0;
    for_batches(in, control, "robustness", [&](int64_t, int64_t, const torch::Tensor& x, const torch::Tensor& y) {
        auto labels = y.to(in.device);
        for (size_t i = 0; i < corruptions.size(); ++i) {
            // The embedding does not depend on T: computed once per corrupted batch.
            auto tokens = in.model->embed(normalized(in, corrupt(x, corruptions[i], gens[i])));
            for (size_t t = 0; t < iterations.size(); ++t) {
                in.model->set_iterations(iterations[t]);
                auto pred = in.model->forward_embedded(tokens).argmax(1);
                correct[i * iterations.size() + t] += pred.eq(labels).sum().item<int64_t>();
            }
        }
        count += y.size(0);
    });
    std::vector<RobustnessRow> rows;
    for (size_t i = 0; i < corruptions.size(); ++i)
        for (size_t t = 0; t < iterations.size(); ++t)
            rows.push_back({corruptions[i], iterations[t], 100.0 * double(correct[i * iterations.size() + t]) / double(count),
                            count});
    return rows;
}

ProbeResult robustness_result(const std::vector<RobustnessRow>& rows, uint64_t seed) {
    ProbeResult r;
    r.name = "robustness";
    r.table = Table({"corruption", "severity", "iterations", "top1", "count"});
    std::vector<int64_t> ts;
    for (const auto& row : rows) {
        r.table.add_row({row.corruption.kind, row.corruption.severity, row.iterations, row.top1, row.count});
        if (std::find(ts.begin(), ts.end(), row.iterations) == ts.end()) ts.push_back(row.iterations);
    }
    // The paper's summary: mean top-1 over all corrupted conditions, per T.
    for (int64_t t : ts) {
        double sum = 0;
        int64_t n = 0, count = 0;
        for (const auto& row : rows)
            if (row.iterations == t && row.corruption.kind != "clean") sum += row.top1, ++n, count = row.count;
        if (n > 0) r.table.add_row({std::string("mean"), 0.0, t, sum / double(n), count});
    }
    r.params = {{"seed", seed}, {"mean", "mean top-1 over all corrupted conditions (clean excluded)"}};
    return r;
}

// ---- stability ----------------------------------------------------------------------------------
std::vector<StabilityRow> probe_stability(ProbeInput& in, int64_t block, Branch branch,
                                          const std::vector<Corruption>& corruptions, uint64_t seed,
                                          const ProbeControl& control) {
    check_input(in);
    for (const auto& c : corruptions) validate(c);
    c10::InferenceMode inference;
    ProbeScope scope(in.model);
    VHMN model = memory_of(in.model, "the stability probe");
    auto bank = model->bank(block, branch);
    const auto view = bank->view();
    if (view.filled == 0) throw ConfigError("stability probe: block " + std::to_string(block) + " " +
                                            branch_name(branch) + " bank is empty");
    auto valid = view.valid.to(in.device);
    auto mhat = view.memory_hat.to(in.device, torch::kFloat);
    const int64_t k5 = std::min<int64_t>(5, view.filled);
    std::vector<at::Generator> gens;
    for (size_t i = 0; i < corruptions.size(); ++i) gens.push_back(condition_generator(seed, i));
    struct Acc {
        int64_t consistent = 0, same = 0, correct = 0;
        double cosine = 0;
    };
    std::vector<Acc> acc(corruptions.size());
    int64_t queries = 0, images = 0;
    for_batches(in, control, "stability", [&](int64_t, int64_t, const torch::Tensor& x, const torch::Tensor& y) {
        auto labels = y.to(in.device);
        auto clean = model->forward_trace(normalized(in, x), {block});
        auto top5 = topk_filled(last_alpha(clean, block, branch), valid, k5);  // [Q, k]
        auto top1 = top5.select(1, 0);
        for (size_t i = 0; i < corruptions.size(); ++i) {
            auto tr = model->forward_trace(normalized(in, corrupt(x, corruptions[i], gens[i])), {block});
            auto c1 = topk_filled(last_alpha(tr, block, branch), valid, 1).view(-1);
            acc[i].consistent += top5.eq(c1.unsqueeze(1)).any(1).sum().item<int64_t>();
            acc[i].same += c1.eq(top1).sum().item<int64_t>();
            acc[i].cosine += (mhat.index({c1}) * mhat.index({top1})).sum(1).sum().item<double>();
            acc[i].correct += tr.logits.argmax(1).eq(labels).sum().item<int64_t>();
        }
        queries += top1.size(0);
        images += y.size(0);
    });
    std::vector<StabilityRow> rows;
    for (size_t i = 0; i < corruptions.size(); ++i) {
        const double q = double(std::max<int64_t>(queries, 1));
        rows.push_back({corruptions[i], 100.0 * double(acc[i].consistent) / q, acc[i].cosine / q,
                        100.0 * double(acc[i].same) / q, 100.0 * double(acc[i].correct) / double(std::max<int64_t>(images, 1)),
                        queries});
    }
    return rows;
}

ProbeResult stability_result(const std::vector<StabilityRow>& rows, int64_t block, Branch branch, uint64_t seed) {
    ProbeResult r;
    r.name = "stability";
    r.table = Table({"corruption", "severity", "top5_consistency", "cosine", "top1_same", "accuracy", "queries"});
    for (const auto& s : rows)
        r.table.add_row({s.corruption.kind, s.corruption.severity, s.top5_consistency, s.cosine, s.top1_same, s.accuracy,
                         s.queries});
    r.params = {{"block", block}, {"branch", branch_name(branch)}, {"seed", seed}};
    return r;
}

}  // namespace vhmn
