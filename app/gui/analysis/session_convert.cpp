// RunSession's torch side: probe results into plain Qt data, stored probes, the opened run's
// description and the grid's predictions.
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
#include "core/probes/memory_edit.h"
#include "core/io/predictions.h"
#include "core/io/run_record.h"
#include "core/train/trainer.h"
#include "datasets/corruptions/cifar_c.h"

namespace vhmn::gui {

namespace fs = std::filesystem;

QVector<RobustnessPoint> convert(const std::vector<RobustnessRow>& rows) {
    QVector<RobustnessPoint> out;
    for (const auto& r : rows)
        out.push_back({qs(r.corruption.kind), r.corruption.severity, int(r.iterations), r.top1, int(r.count)});
    return out;
}

StabilityResult convert(const std::vector<StabilityRow>& rows, int64_t block, Branch branch) {
    StabilityResult s;
    s.block = int(block), s.branch = qs(branch_name(branch));
    for (const auto& r : rows)
        s.points.push_back({qs(r.corruption.kind), r.corruption.severity, r.top5_consistency, r.cosine, r.top1_same, r.accuracy});
    return s;
}

MemoryResult convert(Model& model, const std::vector<SlotWeights>& ws, const std::vector<HitRow>& hits, int branch,
                     int images) {
    MemoryResult m;
    m.branch = branch;
    m.images = images;
    for (const auto& w : ws) {
        m.classes = int(w.mean_alpha.size(0)), m.slots = int(w.mean_alpha.size(1));
        m.meanAlpha.push_back(host_doubles(w.mean_alpha));
        m.slotClass.push_back(qvec_int(w.slot_class));
        m.top1Count.push_back(qvec_int(w.top1_count));
        m.fillPerClass.push_back(qvec_int(memory_of(model, "the Memory tab")->bank(w.block, w.branch)->filled_per_class()));
        m.unusedFraction.push_back(w.unused_fraction);
        m.meanEntropy.push_back(w.mean_entropy);
    }
    for (const auto& h : hits) m.hits.push_back({int(h.block), qs(branch_name(h.branch)), h.top1, h.top5, h.queries});
    return m;
}

/// Probe results stored in run.h5 by `vhmn probe` (nothing when absent or unreadable).
void load_stored(const std::string& dir, SessionState& st) {
    const std::string record = (fs::path(dir) / run_files::kRecord).string();
    if (!run_record_available() || !fs::exists(record)) return;
    std::vector<std::string> names;
    try {
        names = probe_names(record);
    } catch (const std::exception&) {
        return;
    }
    auto has = [&](const char* n) { return std::find(names.begin(), names.end(), n) != names.end(); };
    load_stored_corruptions(record, st);
    try {
        if (has("robustness")) {
            const auto p = read_probe_record(record, "robustness");
            const auto kind = p.table.texts("corruption");
            const auto sev = p.table.numbers("severity"), t = p.table.numbers("iterations"), top1 = p.table.numbers("top1"),
                       count = p.table.numbers("count");
            for (size_t i = 0; i < kind.size(); ++i)
                if (kind[i] != "mean")
                    st.cache.robustness.push_back({{kind[i], sev[i]}, int64_t(t[i]), top1[i], int64_t(count[i])});
            st.cache.robustness_seed = p.params.value("seed", uint64_t(0));
        }
        if (has("stability")) {
            const auto p = read_probe_record(record, "stability");
            const auto kind = p.table.texts("corruption");
            const auto sev = p.table.numbers("severity"), c5 = p.table.numbers("top5_consistency"),
                       cos = p.table.numbers("cosine"), same = p.table.numbers("top1_same"), acc = p.table.numbers("accuracy"),
                       q = p.table.numbers("queries");
            for (size_t i = 0; i < kind.size(); ++i)
                st.cache.stability.push_back({{kind[i], sev[i]}, c5[i], cos[i], same[i], acc[i], int64_t(q[i])});
            st.cache.stability_block = p.params.value("block", int64_t(-1));
            st.cache.stability_branch = parse_branch(p.params.value("branch", std::string("global")));
        }
    } catch (const std::exception&) {
        // A stored probe in an older layout is simply not shown; the sweeps can be run again.
        st.cache.robustness.clear();
        st.cache.stability.clear();
    }
}

ProbeControl control_for(std::atomic<bool>* cancel, std::function<void(double, QString)> report) {
    ProbeControl c;
    c.cancel = cancel;
    c.progress = [report = std::move(report), last = std::make_shared<QElapsedTimer>()](double f, const std::string& what) {
        if (last->isValid() && last->elapsed() < 50 && f < 1.0) return;
        last->start();
        report(f, QString::fromStdString(what));
    };
    return c;
}

std::shared_ptr<SessionState> open_state(const QString& dir, const QString& data, const QStringList& data_dirs,
                                         const torch::Device& device) {
    auto st = std::make_shared<SessionState>();
    st->device = device;
    // No dataset given: open_run takes the one recorded in the run's config.
    app::OpenOptions options;
    for (const QString& d : data_dirs) options.data_dirs.push_back(d.toStdString());
    st->run = app::open_run(dir.toStdString(), data.toStdString(), device, options);
    // The click worker's own copy of the model (the long-job worker uses run.model).
    st->image_model = load_model(app::weights_file(st->run.dir), device);
    st->image_model->eval();
    st->run.model->eval();
    load_stored(dir.toStdString(), *st);
    return st;
}

InspectedRun describe_run(const SessionState& st, const QString& dir) {
    const auto& cfg = st.run.config;
    InspectedRun info;
    info.dir = dir, info.data = qs(st.run.data_path), info.name = QFileInfo(dir).fileName();
    for (const auto& w : st.run.warnings) info.warnings << qs(w);
    info.located = qs(st.run.located);
    info.provenanceRefusal = qs(st.run.data_check.provenance_refusal);
    for (const auto& n : st.run.dataset.class_names) info.classNames << qs(n);
    info.classes = int(cfg.model.classes), info.depth = int(cfg.model.depth);
    info.imageSize = int(cfg.model.image_size), info.channels = int(cfg.model.channels);
    info.patch = int(cfg.model.patch), info.window = int(cfg.model.window);
    info.localSlots = int(cfg.model.local_slots), info.globalSlots = int(cfg.model.global_slots);
    info.iterations = int(cfg.model.iterations);
    info.testSize = int(st.run.dataset.test.size()), info.trainSize = int(st.run.dataset.train.size());
    info.epochs = int(st.run.epochs);
    info.arch = qs(cfg.model.arch);
    info.hasMemory = cfg.model.has_memory();
    if (info.hasMemory) {
        info.summary = QObject::tr("%1 · %2 · D=%3 · depth %4 · T=%5 · local/global slots %6/%7 · %8 epochs")
                           .arg(info.name, qs(st.run.dataset.name))
                           .arg(cfg.model.dim)
                           .arg(info.depth)
                           .arg(info.iterations)
                           .arg(info.localSlots)
                           .arg(info.globalSlots)
                           .arg(info.epochs);
    } else {
        info.summary = QObject::tr("%1 · %2 · %3 · D=%4 · depth %5 · %6 epochs")
                           .arg(info.name, qs(st.run.dataset.name), qs(arch_display_name(cfg.model.arch)))
                           .arg(cfg.model.dim)
                           .arg(info.depth)
                           .arg(info.epochs);
        info.warnings << QObject::tr("This run is a %1 baseline: it has no memory banks, so there are no "
                            "prototypes, retrieval weights or source images to show. Predictions, "
                            "probabilities and the Robustness tab work as for any run.")
                             .arg(qs(arch_display_name(cfg.model.arch)));
    }
    return info;
}

namespace {

/// Every test image's prediction and confidence: the ones stored in run.h5 when they belong to
/// these weights and this T (no forward pass: opening is instant), else computed in batches and
/// stored for the next opening (a read-only run folder just computes them again).
TestPredictions all_predictions(SessionState& st, int batch, const std::atomic<bool>& cancel,
                                const std::function<void(double)>& progress) {
    const auto& test = st.run.dataset.test;
    const int64_t iterations = st.run.model->config().iterations;
    const std::string record = (fs::path(st.run.dir) / run_files::kRecord).string();
    const bool has_record = run_record_available() && fs::exists(record);
    if (has_record)
        if (auto stored = read_predictions(record, test, st.run.epochs, iterations)) return *stored;
    auto in = app::probe_input(st.run, st.device, batch, 0);
    c10::InferenceMode inference;
    std::vector<torch::Tensor> preds, confs;
    for (int64_t s = 0; s < in.test.size(); s += in.batch) {
        if (cancel) throw ProbeCancelled();
        const int64_t e = std::min(in.test.size(), s + in.batch);
        auto x = normalize_images(in.test.images.slice(0, s, e).to(st.device).to(torch::kFloat).div(255.0), in.mean, in.std);
        auto [conf, pred] = torch::softmax(st.run.model->forward(x).to(torch::kFloat), 1).max(1);
        preds.push_back(pred.to(torch::kCPU)), confs.push_back(conf.to(torch::kCPU));
        progress(double(e) / double(in.test.size()));
    }
    c10::InferenceMode normal_tensors(false);
    TestPredictions out;
    out.prediction = preds.empty() ? torch::zeros({0}, torch::kLong) : torch::cat(preds).to(torch::kLong);
    out.confidence = confs.empty() ? torch::zeros({0}, torch::kDouble) : torch::cat(confs).to(torch::kDouble);
    if (has_record && st.run.epochs >= 0) {
        try {
            write_probe_record(record, predictions_result(out, test, st.run.epochs, iterations));
        } catch (const std::exception&) {
        }
    }
    return out;
}

}  // namespace

TestSet predict_grid(SessionState& st, int batch, int limit, const std::atomic<bool>& cancel,
                     const std::function<void(double)>& progress) {
    // The grid's images, evenly spaced (image-folder splits are class-sorted), with their predictions.
    const auto all = all_predictions(st, batch, cancel, progress);
    const auto& test = st.run.dataset.test;
    const int64_t n = test.size();
    const int64_t shown = limit > 0 ? std::min<int64_t>(limit, n) : n;
    const auto* pred = all.prediction.data_ptr<int64_t>();
    const auto* conf = all.confidence.data_ptr<double>();
    const auto labels = test.labels.to(torch::kCPU).contiguous(), index = test.index.to(torch::kCPU).contiguous();
    const auto pick = evenly_spaced_positions(n, shown).contiguous();  // the images probe_input(limit) takes
    TestSet set;
    int64_t correct = 0;
    for (int64_t k = 0; k < shown; ++k) {
        const int64_t i = pick.data_ptr<int64_t>()[k];
        set.images.push_back(tensor_to_image(test.images[i]));
        set.indices.push_back(int(index.data_ptr<int64_t>()[i]));
        set.labels.push_back(int(labels.data_ptr<int64_t>()[i]));
        set.predictions.push_back(int(pred[i]));
        set.confidences.push_back(conf[i]);
        correct += set.predictions.back() == set.labels.back();
    }
    set.accuracy = set.labels.isEmpty() ? 0.0 : 100.0 * double(correct) / double(set.labels.size());
    return set;
}

}  // namespace vhmn::gui
