#pragma once
// Training on a worker thread. TrainingController (GUI thread) owns a QThread running one
// TrainingWorker per run; pause/resume/stop go straight to the trainer's thread-safe TrainControl.
// The worker reports through queued signals only and catches every exception (libtorch's
// c10::Error, std::bad_alloc, ...), so a failed run becomes an error message, never a crash.
// Include torch headers before this one (QT_NO_KEYWORDS targets).
#include <memory>

#include <QMetaType>
#include <QObject>
#include <QString>

#include "app/common/experiment.h"
#include "core/train/metrics.h"

class QThread;

Q_DECLARE_METATYPE(vhmn::StepStats)
Q_DECLARE_METATYPE(vhmn::EpochStats)

namespace vhmn::gui {

/// A GPU run's live memory figures for the progress line ("GPU memory 3.1 GiB allocated, 4.0
/// reserved · peak 3.5 / 4.2"); empty when the step has none (a CPU run).
QString gpu_memory_text(const StepStats& s);
/// The device lists' label for a --device value (its own text when no listed device has it).
QString device_label(const QString& device);

/// Runs one TrainRequest: make_trainer (reads the data), then Trainer::run. Lives on the thread.
class TrainingWorker : public QObject {
    Q_OBJECT
public:
    TrainingWorker(app::TrainRequest request, std::shared_ptr<TrainControl> control);

    void run();  ///< called on the worker thread

Q_SIGNALS:
    /// Data read, trainer built: the run's config and the history so far (non-empty on resume).
    void prepared(const QString& summary, int steps_per_epoch, int epochs, int epochs_done);
    void stepReported(const vhmn::StepStats& stats);
    void epochReported(const vhmn::EpochStats& stats);
    void messageReported(const QString& message);
    void failed(const QString& message);
    /// Always the last signal; `outcome` is "finished", "stopped" or "failed".
    void done(const QString& outcome);

private:
    app::TrainRequest request_;
    std::shared_ptr<TrainControl> control_;
};

class TrainingController : public QObject {
    Q_OBJECT
public:
    enum class State { Idle, Preparing, Running, Paused, Stopping };
    Q_ENUM(State)

    explicit TrainingController(QObject* parent = nullptr);
    /// Stops a run in progress and waits for its thread (the run on disk stays resumable).
    ~TrainingController() override;

    /// Starts a run on a new worker thread; false (and nothing started) while one is active.
    bool start(const app::TrainRequest& request);
    void pause();
    void resume();
    void stop();
    /// Blocks until the worker thread has ended (used when quitting). True when it did.
    bool wait(int ms);

    State state() const { return state_; }
    bool busy() const { return state_ != State::Idle; }
    QString runDir() const { return run_dir_; }
    /// The device the current (or last) run trains on, as the device lists name it
    /// ("cpu", "cuda:0 — NAME, 80 GiB", "emulated").
    QString deviceLabel() const { return device_label_; }
    /// The history reported by the current (or last) run: steps and epochs as they arrived.
    const History& history() const { return history_; }
    /// True while a paused trainer is blocked between steps (no step in flight).
    bool held() const { return control_ && control_->held(); }

Q_SIGNALS:
    void stateChanged(vhmn::gui::TrainingController::State state);
    void prepared(const QString& summary, int steps_per_epoch, int epochs, int epochs_done);
    void stepReported(const vhmn::StepStats& stats);
    void epochReported(const vhmn::EpochStats& stats);
    void messageReported(const QString& message);
    void failed(const QString& message);
    void finished(const QString& outcome);

private:
    void setState(State s);

    State state_ = State::Idle;
    QThread* thread_ = nullptr;
    std::shared_ptr<TrainControl> control_;
    QString run_dir_;
    QString device_label_;
    QString last_outcome_;
    History history_;
};

}  // namespace vhmn::gui
