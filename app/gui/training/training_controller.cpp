#include <torch/torch.h>  // before Qt (libtorch uses `slots` as an identifier)

#include "app/gui/training/training_controller.h"

#include <new>

#include <QThread>

#include "core/devices.h"
#include "core/error.h"
#include "core/models/stats.h"

namespace vhmn::gui {
namespace {

/// A message for the user from whatever the worker caught.
QString describe(const std::exception& e) {
    QString what = QString::fromStdString(e.what());
    // libtorch appends a C++ backtrace ("Exception raised from ... frame #0 ..."); keep the first lines.
    const int cut = what.indexOf(QStringLiteral("\nException raised from"));
    if (cut > 0) what.truncate(cut);
    return what.trimmed();
}

}  // namespace

TrainingWorker::TrainingWorker(app::TrainRequest request, std::shared_ptr<TrainControl> control)
    : request_(std::move(request)), control_(std::move(control)) {}

void TrainingWorker::run() {
    QString outcome = QStringLiteral("failed");
    try {
        Q_EMIT messageReported(request_.resume ? tr("Resuming %1 (reading %2)…")
                                                     .arg(QString::fromStdString(request_.out),
                                                          QString::fromStdString(request_.data))
                                               : tr("Reading %1…").arg(QString::fromStdString(request_.data)));
        auto trainer = app::make_trainer(request_);
        const RunConfig& c = trainer->config();
        const QString summary =
            tr("%1 (%2): %3 train / %4 test images, %5 classes; %6, %7 parameters; device %8")
                .arg(QString::fromStdString(c.data.name), QString::fromStdString(c.data.format))
                .arg(c.data.train_size)
                .arg(c.data.test_size)
                .arg(c.model.classes)
                .arg(QString::fromStdString(c.preset))
                .arg(count_parameters(c.model))
                .arg(QString::fromStdString(c.train.device));
        Q_EMIT prepared(summary, int(trainer->steps_per_epoch()), int(c.train.epochs), int(trainer->epochs_done()));
        // On resume, replay what the run recorded so the curves start where it left off.
        for (const auto& s : trainer->history().steps) Q_EMIT stepReported(s);
        for (const auto& e : trainer->history().epochs) Q_EMIT epochReported(e);
        if (control_->stop_requested()) {
            outcome = QStringLiteral("stopped");
        } else {
            TrainCallbacks cb;
            cb.on_step = [this](const StepStats& s) { Q_EMIT stepReported(s); };
            cb.on_epoch = [this](const EpochStats& e) { Q_EMIT epochReported(e); };
            cb.on_message = [this](const std::string& m) { Q_EMIT messageReported(QString::fromStdString(m)); };
            const TrainOutcome r = trainer->run(cb, control_.get());
            outcome = r == TrainOutcome::Finished ? QStringLiteral("finished") : QStringLiteral("stopped");
        }
    } catch (const TrainingError& e) {
        Q_EMIT failed(tr("Training stopped: %1. The last finished epoch is saved; the run can be resumed.")
                          .arg(describe(e)));
    } catch (const c10::Error& e) {
        QString m = describe(e);
        if (m.contains(QStringLiteral("out of memory"), Qt::CaseInsensitive))
            m = tr("Out of memory on the device (%1). Try a smaller batch or model; the run can be resumed "
                   "from its last finished epoch.").arg(m.left(300));
        Q_EMIT failed(m);
    } catch (const std::bad_alloc&) {
        Q_EMIT failed(tr("Out of memory. Try a smaller batch, model or dataset fraction; the run can be "
                         "resumed from its last finished epoch."));
    } catch (const std::exception& e) {
        Q_EMIT failed(describe(e));
    } catch (...) {
        Q_EMIT failed(tr("Training failed with an unknown error."));
    }
    Q_EMIT done(outcome);
}

TrainingController::TrainingController(QObject* parent) : QObject(parent) {
    qRegisterMetaType<vhmn::StepStats>();
    qRegisterMetaType<vhmn::EpochStats>();
}

TrainingController::~TrainingController() {
    if (thread_) {
        control_->stop();
        thread_->wait();
    }
}

QString gpu_memory_text(const StepStats& s) {
    if (s.gpu_allocated < 0) return {};
    const auto gib = [](double b) { return QString::number(b / double(int64_t(1) << 30), 'f', 1); };
    return QObject::tr("GPU memory %1 GiB allocated, %2 reserved \u00b7 peak %3 / %4")
        .arg(gib(s.gpu_allocated), gib(s.gpu_reserved), gib(s.gpu_peak_allocated), gib(s.gpu_peak_reserved));
}

QString device_label(const QString& device) {
    const QString id = device == QLatin1String("cuda") ? QStringLiteral("cuda:0") : device;
    for (const auto& d : list_devices().devices)
        if (QString::fromStdString(d.id()) == id) return QString::fromStdString(d.label());
    return device.isEmpty() ? QStringLiteral("cpu") : device;
}

bool TrainingController::start(const app::TrainRequest& request) {
    if (thread_) return false;
    control_ = std::make_shared<TrainControl>();
    history_ = {};
    run_dir_ = QString::fromStdString(request.out);
    device_label_ = device_label(QString::fromStdString(request.train.device));
    thread_ = new QThread(this);
    auto* worker = new TrainingWorker(request, control_);
    worker->moveToThread(thread_);
    connect(thread_, &QThread::started, worker, &TrainingWorker::run);
    connect(worker, &TrainingWorker::prepared, this, [this](const QString& s, int spe, int epochs, int done) {
        if (state_ == State::Preparing) setState(control_->paused() ? State::Paused : State::Running);
        Q_EMIT prepared(s, spe, epochs, done);
    });
    connect(worker, &TrainingWorker::stepReported, this, [this](const StepStats& s) {
        history_.steps.push_back(s);
        Q_EMIT stepReported(s);
    });
    connect(worker, &TrainingWorker::epochReported, this, [this](const EpochStats& e) {
        history_.epochs.push_back(e);
        Q_EMIT epochReported(e);
    });
    connect(worker, &TrainingWorker::messageReported, this, &TrainingController::messageReported);
    connect(worker, &TrainingWorker::failed, this, &TrainingController::failed);
    // Direct: quit from the worker thread itself. A queued quit would wait for the GUI thread,
    // which may be blocked in wait() (destructor) — a deadlock.
    connect(worker, &TrainingWorker::done, thread_, &QThread::quit, Qt::DirectConnection);
    connect(worker, &TrainingWorker::done, this, [this](const QString& outcome) { last_outcome_ = outcome; });
    connect(thread_, &QThread::finished, worker, &QObject::deleteLater);
    connect(thread_, &QThread::finished, this, [this] {
        thread_->deleteLater();
        thread_ = nullptr;
        setState(State::Idle);
        Q_EMIT finished(last_outcome_);
    });
    last_outcome_ = QStringLiteral("failed");
    setState(State::Preparing);
    thread_->start();
    return true;
}

void TrainingController::pause() {
    if (!thread_ || state_ == State::Stopping) return;
    control_->pause();
    if (state_ == State::Running) setState(State::Paused);
}

void TrainingController::resume() {
    if (!thread_ || state_ == State::Stopping) return;
    control_->resume();
    if (state_ == State::Paused) setState(State::Running);
}

void TrainingController::stop() {
    if (!thread_) return;
    control_->stop();
    setState(State::Stopping);
}

bool TrainingController::wait(int ms) {
    if (!thread_) return true;
    return thread_->wait(QDeadlineTimer(ms));
}

void TrainingController::setState(State s) {
    if (s == state_) return;
    state_ = s;
    Q_EMIT stateChanged(s);
}

}  // namespace vhmn::gui
