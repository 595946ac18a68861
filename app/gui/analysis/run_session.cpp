#include <torch/torch.h>  // before Qt (libtorch uses `slots` as an identifier)

#include "app/gui/analysis/run_session.h"

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
#include "core/io/run_record.h"
#include "core/train/trainer.h"
#include "datasets/corruptions/cifar_c.h"

namespace vhmn::gui {

namespace fs = std::filesystem;

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
        [this, dir, data, gridLimit, batch = batch_, dirs = data_dirs_, device = device_] {
            try {
                post([this] { Q_EMIT jobProgress(0.0, tr("reading the run and its dataset")); });
                const auto st = open_state(dir, data, dirs, parse_device(device.toStdString()));
                const InspectedRun info = describe_run(*st, dir);
                const TestSet set = predict_grid(*st, batch, gridLimit, cancel_, [this](double f) {
                    post([this, f] { Q_EMIT jobProgress(f, tr("predicting the test images")); });
                });
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
        auto in = app::probe_input(st.run, st.device, batch, limit);
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

}  // namespace vhmn::gui
