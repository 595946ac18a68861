#include <torch/torch.h>  // before Qt (libtorch uses `slots` as an identifier)

#include "app/gui/inspector/run_session.h"

#include "core/runtime.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>

#include <QElapsedTimer>
#include <QFileInfo>
#include <QMetaObject>

#include "app/data_location.h"
#include "app/experiment.h"
#include "app/figures.h"
#include "app/gui/inspector/session_state.h"
#include "app/gui/inspector/tensor_image.h"
#include "core/error.h"
#include "core/hopfield.h"
#include "core/model_io.h"
#include "core/probes/evidence.h"
#include "core/probes/memory_edit.h"
#include "core/run_record.h"
#include "core/trainer.h"
#include "datasets/corruptions/cifar_c.h"

namespace vhmn::gui {

namespace fs = std::filesystem;

namespace {

QString qs(const std::string& s) { return QString::fromStdString(s); }

Branch branch_of(int b) { return b == 0 ? Branch::Local : Branch::Global; }

QRect rect_of(const Box& b) { return QRect(int(b.x), int(b.y), int(b.w), int(b.h)); }

QVector<double> qvec(const std::vector<double>& v) { return QVector<double>(v.begin(), v.end()); }
QVector<int> qvec_int(const std::vector<int64_t>& v) {
    QVector<int> out;
    out.reserve(int(v.size()));
    for (int64_t x : v) out.push_back(int(x));
    return out;
}

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
        auto x = normalize_images(image.unsqueeze(0).to(torch::kFloat).div(255.0), cfg.data.mean, cfg.data.std);
        auto probs = torch::softmax(model->forward(x), 1)[0].to(torch::kDouble).contiguous();
        ImageResult out;
        out.request = r;
        out.input = tensor_to_image(image);
        out.label = int(label), out.prediction = int(probs.argmax().item<int64_t>());
        out.probabilities = QVector<double>(probs.data_ptr<double>(), probs.data_ptr<double>() + probs.numel());
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
            auto x = normalize_images(image.unsqueeze(0).to(torch::kFloat).div(255.0), cfg.data.mean, cfg.data.std);
            auto probs = torch::softmax(model->forward(x).to(torch::kFloat), 1)[0].to(torch::kDouble).contiguous();
            out.probabilitiesBefore = QVector<double>(probs.data_ptr<double>(), probs.data_ptr<double>() + probs.numel());
            out.predictionBefore = int(probs.argmax().item<int64_t>());
        }
        MemoryEdit edit;
        for (int s : r.forget) edit.sources.push_back(s);
        out.forgotten = r.forget;
        out.forgottenSlots = int(apply_edit(memory, edit));
    }
    ForwardTrace trace;  // one forward pass for the prototypes and the evidence
    auto p = probe_image(model, image, label, cfg.data.mean, cfg.data.std, train, r.k, r.token, torch::kCPU, &trace);
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
        auto a = w.mean_alpha.contiguous().to(torch::kDouble);
        m.meanAlpha.push_back(QVector<double>(a.data_ptr<double>(), a.data_ptr<double>() + a.numel()));
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

}  // namespace

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


RunSession::RunSession(QObject* parent) : QObject(parent) {
    long_ctx_ = new QObject;
    image_ctx_ = new QObject;
    long_ctx_->moveToThread(&long_thread_);
    image_ctx_->moveToThread(&image_thread_);
    connect(&long_thread_, &QThread::finished, long_ctx_, &QObject::deleteLater);
    connect(&image_thread_, &QThread::finished, image_ctx_, &QObject::deleteLater);
    long_thread_.setObjectName(QStringLiteral("vhmn-session-long"));
    image_thread_.setObjectName(QStringLiteral("vhmn-session-inspector"));
    long_thread_.start();
    image_thread_.start();
}

RunSession::~RunSession() {
    cancel_ = true;
    long_thread_.quit();
    image_thread_.quit();
    long_thread_.wait();
    image_thread_.wait();
}

void RunSession::post(std::function<void()> fn) {
    QMetaObject::invokeMethod(this, std::move(fn), Qt::QueuedConnection);
}

template <typename Fn>
bool RunSession::startJob(const QString& name, Fn&& work) {
    if (busy()) return false;
    job_ = name;
    cancel_ = false;
    Q_EMIT jobStarted(name);
    auto state = state_;
    QMetaObject::invokeMethod(
        long_ctx_,
        [this, name, state, work = std::forward<Fn>(work)]() mutable {
            QString outcome = QStringLiteral("finished"), message;
            try {
                work(*state);
            } catch (const ProbeCancelled&) {
                outcome = QStringLiteral("cancelled");
            } catch (const std::exception& e) {
                outcome = QStringLiteral("error"), message = QString::fromUtf8(e.what());
            } catch (...) {
                outcome = QStringLiteral("error"), message = tr("unknown error");
            }
            release_free_memory();  // the job's buffers are free now: give them back
            post([this, name, outcome, message] {
                job_.clear();
                if (outcome == QLatin1String("error")) Q_EMIT failed(name, message);
                Q_EMIT jobFinished(name, outcome, message);
            });
        },
        Qt::QueuedConnection);
    return true;
}

bool RunSession::startWork(const QString& name, std::function<void(SessionState&)> work) {
    return startJob(name, std::move(work));
}

bool RunSession::saveDataLocation(QString* error) {
    if (!open_ || !state_ || info_.located.isEmpty() || !state_->run.config.data.fingerprint) {
        if (error) *error = tr("no dataset was found by fingerprint for this run");
        return false;
    }
    try {
        app::save_data_location(info_.dir.toStdString(), info_.located.toStdString(), *state_->run.config.data.fingerprint);
    } catch (const std::exception& e) {
        if (error) *error = QString::fromStdString(e.what());
        return false;
    }
    info_.located.clear();
    return true;
}

bool RunSession::open(const QString& dir, const QString& data, int gridLimit) {
    if (busy()) return false;
    job_ = QStringLiteral("open");
    cancel_ = false;
    open_ = false;
    Q_EMIT jobStarted(job_);
    QMetaObject::invokeMethod(
        long_ctx_,
        [this, dir, data, gridLimit, batch = batch_, dirs = data_dirs_] {
            try {
                auto st = std::make_shared<SessionState>();
                post([this] { Q_EMIT jobProgress(0.0, tr("reading the run and its dataset")); });
                // No dataset given: open_run takes the one recorded in the run's config.
                app::OpenOptions options;
                for (const QString& d : dirs) options.data_dirs.push_back(d.toStdString());
                st->run = app::open_run(dir.toStdString(), data.toStdString(), torch::kCPU, options);
                const std::string& data_path = st->run.data_path;
                // The click worker's own copy of the model (the long-job worker uses run.model).
                st->image_model = load_model(app::weights_file(st->run.dir), torch::kCPU);
                st->image_model->eval();
                st->run.model->eval();
                load_stored(dir.toStdString(), *st);
                const auto& cfg = st->run.config;
                InspectedRun info;
                info.dir = dir, info.data = qs(data_path), info.name = QFileInfo(dir).fileName();
                for (const auto& w : st->run.warnings) info.warnings << qs(w);
                info.located = qs(st->run.located);
                info.provenanceRefusal = qs(st->run.data_check.provenance_refusal);
                for (const auto& n : st->run.dataset.class_names) info.classNames << qs(n);
                info.classes = int(cfg.model.classes), info.depth = int(cfg.model.depth);
                info.imageSize = int(cfg.model.image_size), info.channels = int(cfg.model.channels);
                info.patch = int(cfg.model.patch), info.window = int(cfg.model.window);
                info.localSlots = int(cfg.model.local_slots), info.globalSlots = int(cfg.model.global_slots);
                info.iterations = int(cfg.model.iterations);
                info.testSize = int(st->run.dataset.test.size()), info.trainSize = int(st->run.dataset.train.size());
                info.epochs = int(st->run.epochs);
                info.arch = qs(cfg.model.arch);
                info.hasMemory = cfg.model.has_memory();
                if (info.hasMemory) {
                    info.summary = tr("%1 · %2 · D=%3 · depth %4 · T=%5 · local/global slots %6/%7 · %8 epochs")
                                       .arg(info.name, qs(st->run.dataset.name))
                                       .arg(cfg.model.dim)
                                       .arg(info.depth)
                                       .arg(info.iterations)
                                       .arg(info.localSlots)
                                       .arg(info.globalSlots)
                                       .arg(info.epochs);
                } else {
                    info.summary = tr("%1 · %2 · %3 · D=%4 · depth %5 · %6 epochs")
                                       .arg(info.name, qs(st->run.dataset.name), qs(arch_display_name(cfg.model.arch)))
                                       .arg(cfg.model.dim)
                                       .arg(info.depth)
                                       .arg(info.epochs);
                    info.warnings << tr("This run is a %1 baseline: it has no memory banks, so there are no "
                                        "prototypes, retrieval weights or source images to show. Predictions, "
                                        "probabilities and the Robustness tab work as for any run.")
                                         .arg(qs(arch_display_name(cfg.model.arch)));
                }
                // Predict the grid's images (evenly spaced: image-folder splits are class-sorted).
                auto in = app::probe_input(st->run, torch::kCPU, batch, gridLimit);
                TestSet set;
                c10::InferenceMode inference;
                int64_t correct = 0;
                for (int64_t s = 0; s < in.test.size(); s += in.batch) {
                    if (cancel_) throw ProbeCancelled();
                    const int64_t e = std::min(in.test.size(), s + in.batch);
                    auto x = normalize_images(in.test.images.slice(0, s, e).to(torch::kFloat).div(255.0), in.mean, in.std);
                    auto probs = torch::softmax(st->run.model->forward(x), 1);
                    auto [conf, pred] = probs.max(1);
                    for (int64_t i = s; i < e; ++i) {
                        set.images.push_back(tensor_to_image(in.test.images[i]));
                        set.indices.push_back(int(in.test.index[i].item<int64_t>()));
                        set.labels.push_back(int(in.test.labels[i].item<int64_t>()));
                        set.predictions.push_back(int(pred[i - s].item<int64_t>()));
                        set.confidences.push_back(conf[i - s].item<double>());
                        correct += set.predictions.back() == set.labels.back();
                    }
                    const double f = double(e) / double(in.test.size());
                    post([this, f] { Q_EMIT jobProgress(f, tr("predicting the test images")); });
                }
                set.accuracy = set.labels.isEmpty() ? 0.0 : 100.0 * double(correct) / double(set.labels.size());
                auto robustness = convert(st->cache.robustness);
                auto stability = convert(st->cache.stability, st->cache.stability_block, st->cache.stability_branch);
                auto corruptions = st->corruptions ? convert(*st->corruptions) : CorruptionsResult();
                post([this, st, info, set, robustness, stability, corruptions] {
                    state_ = st;
                    info_ = info;
                    test_ = set;
                    robustness_ = robustness;
                    stability_ = stability;
                    corruptions_ = corruptions;
                    open_ = true;
                    job_.clear();
                    Q_EMIT opened();
                    if (!robustness_.isEmpty()) Q_EMIT robustnessReady(robustness_);
                    if (!stability_.points.isEmpty()) Q_EMIT stabilityReady(stability_);
                    Q_EMIT corruptionsReady(corruptions_);  // empty: "not computed yet"
                    Q_EMIT jobFinished(QStringLiteral("open"), QStringLiteral("finished"), {});
                });
            } catch (const ProbeCancelled&) {
                post([this] {
                    job_.clear();
                    Q_EMIT jobFinished(QStringLiteral("open"), QStringLiteral("cancelled"), {});
                });
            } catch (const std::exception& e) {
                const QString message = QString::fromUtf8(e.what());
                post([this, message] {
                    job_.clear();
                    Q_EMIT failed(QStringLiteral("open"), message);
                    Q_EMIT jobFinished(QStringLiteral("open"), QStringLiteral("error"), message);
                });
            }
        },
        Qt::QueuedConnection);
    return true;
}

int RunSession::requestImage(ImageRequest request) {
    if (!open_ || !state_) return 0;
    request.serial = ++serial_;
    {
        QMutexLocker lock(&pending_mutex_);
        pending_ = request;
        has_pending_ = true;
    }
    if (!image_posted_.exchange(true)) {
        auto state = state_;
        QMetaObject::invokeMethod(
            image_ctx_,
            [this, state] {
                image_posted_ = false;
                ImageRequest r;
                {
                    QMutexLocker lock(&pending_mutex_);
                    if (!has_pending_) return;
                    r = pending_;
                    has_pending_ = false;
                }
                try {
                    auto result = query_image(*state, state->image_model, r);
                    post([this, result] { Q_EMIT imageReady(result); });
                } catch (const std::exception& e) {
                    const QString message = QString::fromUtf8(e.what());
                    post([this, message] { Q_EMIT failed(QStringLiteral("inspector"), message); });
                }
            },
            Qt::QueuedConnection);
    }
    return request.serial;
}

void RunSession::cancel() { cancel_ = true; }

bool RunSession::computeMemory(int branch, int limit) {
    if (!open_) return false;
    return startJob(QStringLiteral("memory"), [this, branch, limit, batch = batch_](SessionState& st) {
        auto in = app::probe_input(st.run, torch::kCPU, batch, limit);
        const int64_t depth = st.run.config.model.depth;
        auto report = [this](double f, QString what) { post([this, f, what] { Q_EMIT jobProgress(f, what); }); };
        std::vector<SlotWeights> ws;
        for (int64_t b = 0; b < depth; ++b) {
            auto c = control_for(&cancel_, [report, b, depth](double f, QString what) {
                report((double(b) + f) / double(depth + 1), what + QStringLiteral(" (block %1)").arg(b));
            });
            ws.push_back(probe_weights(in, b, branch_of(branch), c));
        }
        auto hits = probe_hits(in, control_for(&cancel_, [report, depth](double f, QString what) {
                                   report((double(depth) + f) / double(depth + 1), what);
                               }));
        st.weights[branch == 0 ? 0 : 1] = ws;
        st.hits = hits;
        auto result = convert(st.run.model, ws, hits, branch, int(in.test.size()));
        post([this, result] { Q_EMIT memoryReady(result); });
    });
}

bool RunSession::runRobustness(const QVector<int>& iterations, int limit, quint64 seed) {
    if (!open_) return false;
    std::vector<int64_t> ts(iterations.begin(), iterations.end());
    return startJob(QStringLiteral("robustness"), [this, ts, limit, seed, batch = batch_](SessionState& st) {
        auto in = app::probe_input(st.run, torch::kCPU, batch, limit);
        auto rows = probe_robustness(in, robustness_corruptions(), ts, seed, control_for(&cancel_, [this](double f, QString w) {
                                         post([this, f, w] { Q_EMIT jobProgress(f, w); });
                                     }));
        st.cache.robustness = rows;
        st.cache.robustness_seed = seed;
        auto points = convert(rows);
        post([this, points] {
            robustness_ = points;
            Q_EMIT robustnessReady(points);
        });
    });
}

bool RunSession::runStability(int block, int branch, int limit, quint64 seed) {
    if (!open_) return false;
    return startJob(QStringLiteral("stability"), [this, block, branch, limit, seed, batch = batch_](SessionState& st) {
        auto in = app::probe_input(st.run, torch::kCPU, batch, limit);
        const int64_t b = block < 0 ? st.run.config.model.depth - 1 : block;
        auto rows = probe_stability(in, b, branch_of(branch), stability_corruptions(), seed,
                                    control_for(&cancel_, [this](double f, QString w) {
                                        post([this, f, w] { Q_EMIT jobProgress(f, w); });
                                    }));
        st.cache.stability = rows;
        st.cache.stability_block = b;
        st.cache.stability_branch = branch_of(branch);
        auto result = convert(rows, b, branch_of(branch));
        post([this, result] {
            stability_ = result;
            Q_EMIT stabilityReady(result);
        });
    });
}

bool RunSession::computeFigurePack(const FigurePackRequest& request) {
    if (!open_) return false;
    return startJob(QStringLiteral("figure pack"), [this, request, batch = batch_](SessionState& st) {
        app::FigureOptions o;
        o.iterations.assign(request.iterations.begin(), request.iterations.end());
        o.limit = request.limit;
        o.batch = batch;
        o.seed = request.seed;
        o.weights_branch = branch_of(request.weightsBranch);
        o.weights_class = request.weightsClass;
        app::FigureData d = st.cache;  // reuse what the views already computed
        d.weights = st.weights[request.weightsBranch == 0 ? 0 : 1];
        d.weights_class = request.weightsClass;
        d.hits = st.hits;
        auto report = [this](double f, QString w) { post([this, f, w] { Q_EMIT jobProgress(f * 0.9, w); }); };
        app::compute_figure_data(st.run, o, d, control_for(&cancel_, report));
        const auto written = app::write_figure_tables(d, request.dir.toStdString());
        FigurePackData out;
        out.dir = request.dir;
        for (const auto& w : written) out.written << qs(w);
        out.robustness = convert(d.robustness);
        out.stability = convert(d.stability, d.stability_block, d.stability_branch);
        out.memory = convert(st.run.model, d.weights, d.hits, request.weightsBranch,
                             int(app::probe_input(st.run, torch::kCPU, batch, request.limit).test.size()));
        out.weightsClass = request.weightsClass;
        // Fig. 3: the first correctly classified image of evenly spaced classes.
        const auto& test = st.run.dataset.test;
        const int64_t classes = st.run.config.model.classes;
        const int examples = std::max(1, request.examples);
        for (int e = 0; e < examples; ++e) {
            if (cancel_) throw ProbeCancelled();
            const int64_t cls = (int64_t(e) * classes) / examples;
            int64_t pick = -1, fallback = -1;
            auto idx = (test.labels == cls).nonzero().view(-1);
            for (int64_t j = 0; j < idx.size(0) && j < 64; ++j) {
                const int64_t i = idx[j].item<int64_t>();
                if (fallback < 0) fallback = i;
                ImageRequest r;
                r.index = int(i);
                r.k = 3;
                auto res = query_image(st, st.run.model, r);
                if (res.prediction == res.label) {
                    out.examples.push_back(res);
                    pick = i;
                    break;
                }
            }
            if (pick < 0 && fallback >= 0) {
                ImageRequest r;
                r.index = int(fallback);
                r.k = 3;
                out.examples.push_back(query_image(st, st.run.model, r));
            }
            post([this, e, examples] { Q_EMIT jobProgress(0.9 + 0.1 * (e + 1) / examples, tr("prototypes of example images")); });
        }
        post([this, out] { Q_EMIT figurePackReady(out); });
    });
}

}  // namespace vhmn::gui
