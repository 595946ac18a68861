#include "core/probes/evidence.h"

#include <algorithm>
#include <map>

#include "core/error.h"
#include "core/probes/common.h"

namespace vhmn {

using namespace probe_detail;

namespace {

const char* kWeighting =
    "alpha at the last refinement step; local branch: per-token alpha combined by the attention-pooling weights "
    "(Eq. 3); every bank in view weighted equally (default view: each of the 2*depth retrievals carries "
    "1/(2*depth)); a bank with nothing retrievable is left out";

void check_options(const ModelConfig& cfg, const EvidenceOptions& options) {
    if (options.top < 0) throw ConfigError("--top must be >= 0 (0: every image with evidence)");
    if (options.block < -1 || options.block >= cfg.depth)
        throw ConfigError("--block " + std::to_string(options.block) + " is outside [0, " + std::to_string(cfg.depth) +
                          ") (-1: every block)");
    if (options.branch != "both") parse_branch(options.branch);  // the clear refusal
}

}  // namespace

torch::Tensor pooled_local_mass(const torch::Tensor& alpha, const torch::Tensor& pool) {
    TORCH_CHECK(alpha.dim() == 2 && pool.dim() == 1 && pool.size(0) == alpha.size(0),
                "pooled_local_mass: alpha [N, K] and pool [N] expected, got ", alpha.sizes(), " and ", pool.sizes());
    return (alpha.to(torch::kDouble) * pool.to(torch::kDouble).unsqueeze(1)).sum(0);
}

std::vector<EvidenceImage> aggregate_evidence(const std::vector<BankMass>& banks) {
    int64_t used = 0;
    for (const auto& b : banks) used += b.retrievable.any().item<bool>() ? 1 : 0;
    std::map<int64_t, EvidenceImage> by_source;
    for (const auto& b : banks) {
        if (!b.retrievable.any().item<bool>()) continue;
        const double share = 1.0 / double(used);
        const auto mass = b.mass.to(torch::kDouble).contiguous();
        const auto ok = b.retrievable.to(torch::kBool).contiguous();
        const auto src = b.source.contiguous(), lab = b.label.contiguous(), row = b.row.contiguous(),
                   col = b.col.contiguous(), step = b.step.contiguous();
        const double* m = mass.data_ptr<double>();
        const bool* r = ok.data_ptr<bool>();
        for (int64_t k = 0; k < mass.numel(); ++k) {
            if (!r[k] || !(m[k] > 0)) continue;
            const int64_t s = src.data_ptr<int64_t>()[k];
            auto& e = by_source[s];
            e.source = s;
            e.label = lab.data_ptr<int64_t>()[k];
            e.mass += m[k] * share;
            e.slots.push_back({b.block, b.branch, k, row.data_ptr<int64_t>()[k], col.data_ptr<int64_t>()[k],
                               step.data_ptr<int64_t>()[k], m[k] * share});
        }
    }
    std::vector<EvidenceImage> out;
    out.reserve(by_source.size());
    for (auto& [s, e] : by_source) {
        std::stable_sort(e.slots.begin(), e.slots.end(),
                         [](const EvidenceSlot& a, const EvidenceSlot& b) { return a.mass > b.mass; });
        out.push_back(std::move(e));
    }
    // by_source iterates by dataset index, so the stable sort breaks ties by index.
    std::stable_sort(out.begin(), out.end(),
                     [](const EvidenceImage& a, const EvidenceImage& b) { return a.mass > b.mass; });
    return out;
}

Evidence probe_evidence(Model any_model, const torch::Tensor& image, int64_t label, const std::vector<double>& mean,
                        const std::vector<double>& std, const EvidenceOptions& options, const torch::Device& device) {
    VHMN model = memory_of(any_model, "the evidence of a prediction");
    check_image(model->config(), image, "evidence");
    check_options(model->config(), options);
    c10::InferenceMode inference;
    ProbeScope scope(any_model);
    std::vector<int64_t> blocks;
    for (int64_t b = 0; b < model->config().depth; ++b)
        if (options.block < 0 || options.block == b) blocks.push_back(b);
    auto x = image.unsqueeze(0).to(torch::kFloat).div(255.0).to(device);
    return evidence_of(model, model->forward_trace(normalize_images(x, mean, std), blocks), label, options);
}

Evidence evidence_of(VHMN& model, const ForwardTrace& trace, int64_t label, const EvidenceOptions& options) {
    const auto& cfg = model->config();
    check_options(cfg, options);
    c10::InferenceMode inference;  // reads the trace's inference tensors
    Evidence e;
    e.options = options;
    e.label = label;
    e.iterations = model->iterations();
    const auto probs = torch::softmax(trace.logits.to(torch::kFloat), 1)[0].to(torch::kDouble);
    e.probabilities = to_vector<double>(probs);
    e.prediction = probs.argmax().item<int64_t>();
    const auto pool = trace.pool_weights[0].to(torch::kCPU, torch::kDouble);
    std::vector<BankMass> banks;
    for (int64_t b = 0; b < cfg.depth; ++b) {
        if (options.block >= 0 && options.block != b) continue;
        for (Branch br : branches_of(options.branch)) {
            auto bank = model->bank(b, br);
            const auto& tr = br == Branch::Local ? trace.blocks.at(size_t(b)).local : trace.blocks.at(size_t(b)).global;
            TORCH_CHECK(!tr.alpha.empty(), "evidence: the trace did not record block ", b);
            const auto alpha = tr.alpha.back()[0].to(torch::kCPU, torch::kDouble);  // local [N, K], global [K]
            BankMass m;
            m.block = b, m.branch = br;
            m.mass = br == Branch::Local ? pooled_local_mass(alpha, pool) : alpha;
            auto cpu = [](const torch::Tensor& t) { return t.to(torch::kCPU); };
            m.source = cpu(bank->source), m.label = cpu(bank->label), m.row = cpu(bank->row), m.col = cpu(bank->col);
            m.step = cpu(bank->step);
            const auto view = bank->view();
            m.retrievable = cpu(view.valid);
            e.banks_used += view.filled > 0 ? 1 : 0;
            banks.push_back(std::move(m));
        }
    }
    auto all = aggregate_evidence(banks);
    e.images_with_mass = int64_t(all.size());
    if (options.top > 0 && int64_t(all.size()) > options.top) all.resize(size_t(options.top));
    for (const auto& i : all) e.mass_listed += i.mass;
    e.images = std::move(all);
    return e;
}

ProbeResult evidence_result(const Evidence& e, int64_t index, const std::string& data_fingerprint) {
    ProbeResult r;
    r.name = "evidence";
    r.table = Table({"rank", "source", "class", "mass", "block", "branch", "slot", "row", "col", "step", "slot_mass"});
    std::vector<int64_t> sources;
    std::vector<double> masses;
    for (size_t i = 0; i < e.images.size(); ++i) {
        const auto& im = e.images[i];
        sources.push_back(im.source);
        masses.push_back(im.mass);
        for (const auto& s : im.slots)
            r.table.add_row({int64_t(i + 1), im.source, im.label, im.mass, s.block, branch_name(s.branch), s.slot,
                             s.row, s.col, s.step, s.mass});
    }
    r.arrays.push_back({"source", torch::tensor(sources, torch::kInt64)});
    r.arrays.push_back({"mass", torch::tensor(masses, torch::kDouble)});
    r.params = {{"index", index},
                {"label", e.label},
                {"prediction", e.prediction},
                {"probabilities", e.probabilities},
                {"iterations", e.iterations},
                {"block", e.options.block},
                {"branch", e.options.branch},
                {"top", e.options.top},
                {"weighting", kWeighting},
                {"banks_used", e.banks_used},
                {"images_with_mass", e.images_with_mass},
                {"mass_listed", e.mass_listed},
                {"data_fingerprint", data_fingerprint}};
    return r;
}

MemoryEdit forget_evidence_edit(const Evidence& e, int64_t n, int64_t index, const std::string& name) {
    if (n < 1) throw ConfigError("forgetting the top-N evidence images needs N >= 1");
    MemoryEdit edit;
    edit.name = name;
    for (int64_t i = 0; i < n && i < int64_t(e.images.size()); ++i) edit.sources.push_back(e.images[size_t(i)].source);
    edit.description = "the " + std::to_string(edit.sources.size()) +
                       " training images with the most evidence for test image " + std::to_string(index);
    edit.origin = {{"evidence_of", index}, {"top", n}, {"block", e.options.block}, {"branch", e.options.branch}};
    return edit;
}

}  // namespace vhmn
