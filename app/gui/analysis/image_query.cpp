// One inspector query: a test image (corrupted by the sliders) through the model, with its prototypes,
// evidence and what forgetting it changes. Runs on the RunSession's inspector thread.
#include <algorithm>
#include <torch/torch.h>  // before Qt (libtorch uses `slots` as an identifier)

#include "core/runtime.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>

#include <QElapsedTimer>
#include <QFileInfo>
#include <QMetaObject>

#include "app/common/data_location.h"
#include "app/common/experiment.h"
#include "app/common/figures.h"
#include "app/gui/analysis/session_state.h"
#include "app/gui/analysis/tensor_image.h"
#include "core/error.h"
#include "core/models/hopfield.h"
#include "core/io/model_io.h"
#include "core/probes/evidence.h"
#include "core/probes/image.h"
#include "core/probes/perturbations.h"
#include "core/probes/memory_edit.h"
#include "core/io/run_record.h"
#include "core/train/trainer.h"
#include "datasets/corruptions/cifar_c.h"

namespace vhmn::gui {

namespace {

QRect rect_of(const Box& b) { return QRect(int(b.x), int(b.y), int(b.w), int(b.h)); }

/// The clicked image with the sliders' corruption applied (uint8 [C, H, W]); `key` is its dataset
/// index (the CIFAR-10-C generator's key).
torch::Tensor corrupted(torch::Tensor image, const CorruptionParams& c, int index, int64_t key) {
    if (c.isClean()) return image;
    if (!c.suite.isEmpty()) image = data::corrupt_image(image, c.suite.toStdString(), c.suiteSeverity, 0, key);
    auto x = image.unsqueeze(0).to(torch::kFloat).div(255.0);
    if (c.contrast != 1.0) x = scale_contrast(x, c.contrast);
    if (c.noise > 0) {
        auto gen = at::make_generator<at::CPUGeneratorImpl>(c.seed * 1000003ULL + uint64_t(index));
        x = gaussian_noise(x, c.noise, gen);
    }
    if (c.occlusion > 0) x = occlude_at(x, c.occlusionRow, c.occlusionCol, c.occlusion);
    return x.mul(255.0).round_().clamp_(0, 255).to(torch::kUInt8)[0];
}

QVector<PrototypeInfo> convert(const std::vector<Prototype>& ps) {
    QVector<PrototypeInfo> out;
    for (const auto& p : ps) {
        PrototypeInfo i;
        const auto& pv = p.hit.provenance;
        i.slot = int(pv.slot), i.cls = int(pv.label), i.source = int(pv.source), i.row = int(pv.row);
        i.col = int(pv.col), i.step = int(pv.step);
        i.weight = p.hit.weight;
        i.box = rect_of(p.box);
        if (p.source.defined()) i.sourceImage = tensor_to_image(p.source);
        out.push_back(std::move(i));
    }
    return out;
}

QVector<EvidenceItem> convert(const Evidence& e, const ModelConfig& cfg, const data::Split& train) {
    QVector<EvidenceItem> out;
    const Box whole{0, 0, cfg.image_size, cfg.image_size};
    for (const auto& im : e.images) {
        EvidenceItem item;
        item.source = int(im.source), item.cls = int(im.label), item.mass = im.mass;
        const auto pixels = source_image(train, im.source);
        if (pixels.defined()) item.image = tensor_to_image(pixels);
        for (const auto& sl : im.slots) {
            const bool local = sl.branch == Branch::Local;
            const QRect box = rect_of(local ? token_box(cfg, sl.row, sl.col) : whole);
            if (!item.boxes.contains(box)) item.boxes.push_back(box);
            item.slotLines << (local ? QObject::tr("block %1 local slot %2 (row %3, col %4), step %5: %6 %")
                                           .arg(sl.block).arg(sl.slot).arg(sl.row).arg(sl.col).arg(sl.step)
                                           .arg(100.0 * sl.mass, 0, 'f', 2)
                                     : QObject::tr("block %1 global slot %2, step %3: %4 %")
                                           .arg(sl.block).arg(sl.slot).arg(sl.step).arg(100.0 * sl.mass, 0, 'f', 2));
        }
        out.push_back(std::move(item));
    }
    return out;
}

/// Masks put on the inspector's model for one query, always taken off again.
struct ForgetScope {
    VHMN model;
    ~ForgetScope() { clear_edit(model); }
};

}  // namespace

ImageResult query_image(SessionState& st, Model& model, const ImageRequest& r) {
    QElapsedTimer timer;
    timer.start();
    const auto& test = st.run.dataset.test;
    if (r.index < 0 || r.index >= test.size())
        throw ConfigError("test image " + std::to_string(r.index) + " is outside [0, " + std::to_string(test.size()) + ")");
    const auto& cfg = st.run.config;
    auto image = corrupted(test.images[r.index], r.corruption, r.index,
                           test.index.defined() ? test.index[r.index].item<int64_t>() : int64_t(r.index));
    const int64_t label = test.labels[r.index].item<int64_t>();
    if (!model->has_memory()) {
        // A baseline: the prediction and its probabilities (no prototypes to retrieve).
        c10::InferenceMode inference;
        auto x = normalize_images(image.unsqueeze(0).to(st.device).to(torch::kFloat).div(255.0), cfg.data.mean, cfg.data.std);
        auto probs = host_doubles(torch::softmax(model->forward(x), 1)[0]);
        ImageResult out;
        out.request = r;
        out.input = tensor_to_image(image);
        out.label = int(label), out.prediction = int(std::max_element(probs.begin(), probs.end()) - probs.begin());
        out.probabilities = probs;
        out.grid = int(cfg.model.image_size / cfg.model.patch);
        out.milliseconds = double(timer.nsecsElapsed()) / 1e6;
        return out;
    }
    // No source pixels when the dataset is not the run's training data (the refusal is shown).
    static const data::Split none;
    const data::Split& train = st.run.provenance_ok() ? st.run.dataset.train : none;
    ImageResult out;
    VHMN memory = memory_of(model, "the inspector");
    ForgetScope forgetting{memory};
    if (!r.forget.isEmpty()) {
        // "Forget these": the probabilities without the edit first, then everything below with it.
        {
            c10::InferenceMode inference;
            model->eval();
            auto x = normalize_images(image.unsqueeze(0).to(st.device).to(torch::kFloat).div(255.0), cfg.data.mean, cfg.data.std);
            out.probabilitiesBefore = host_doubles(torch::softmax(model->forward(x).to(torch::kFloat), 1)[0]);
            out.predictionBefore = int(std::max_element(out.probabilitiesBefore.begin(), out.probabilitiesBefore.end()) -
                                       out.probabilitiesBefore.begin());
        }
        MemoryEdit edit;
        for (int s : r.forget) edit.sources.push_back(s);
        out.forgotten = r.forget;
        out.forgottenSlots = int(apply_edit(memory, edit));
    }
    ForwardTrace trace;  // one forward pass for the prototypes and the evidence
    auto p = probe_image(model, image, label, cfg.data.mean, cfg.data.std, train, r.k, r.token, st.device, &trace);
    EvidenceOptions eo;
    eo.top = std::max(1, r.evidenceTop);
    const auto ev = evidence_of(memory, trace, label, eo);
    out.evidence = convert(ev, cfg.model, train);
    out.evidenceImages = int(ev.images_with_mass);
    out.request = r;
    out.input = tensor_to_image(image);
    out.label = int(p.label), out.prediction = int(p.prediction);
    out.probabilities = qvec(p.probabilities);
    out.poolWeights = qvec(p.pool_weights);
    out.grid = int(cfg.model.image_size / cfg.model.patch);
    out.token = int(p.token), out.tokenRow = int(p.token_row), out.tokenCol = int(p.token_col);
    out.tokenBox = rect_of(p.token_box), out.windowBox = rect_of(p.window_box);
    for (const auto& b : p.blocks) {
        BlockResult br;
        br.local = convert(b.local), br.global = convert(b.global);
        br.localSteps.distanceToQuery = qvec(b.local_steps.distance);
        br.localSteps.entropy = qvec(b.local_steps.entropy);
        br.localSteps.distanceToMemory = qvec(b.local_steps.memory_distance);
        br.globalSteps.distanceToQuery = qvec(b.global_steps.distance);
        br.globalSteps.entropy = qvec(b.global_steps.entropy);
        br.globalSteps.distanceToMemory = qvec(b.global_steps.memory_distance);
        out.blocks.push_back(std::move(br));
    }
    out.milliseconds = double(timer.nsecsElapsed()) / 1e6;
    return out;
}

}  // namespace vhmn::gui
