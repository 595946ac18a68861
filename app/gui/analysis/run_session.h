#pragma once
// One opened run for the inspector, memory and robustness views. All libtorch work happens on two
// worker threads owned here: a "long" thread (opening the run and its dataset, predicting the test
// split, weights/hits probes, robustness and stability sweeps, the figure pack's data — one job at
// a time, with progress and cancel) and an "inspector" thread with its own copy of the model for
// single-image queries, which are coalesced (only the latest request is processed, so sliders stay
// smooth). Results arrive as plain Qt data (session_types.h) through signals on the GUI thread.
// No torch in this header: the views include it.
#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>

#include <QMutex>
#include <QObject>
#include <QString>
#include <QThread>

#include "app/gui/analysis/session_types.h"

namespace vhmn::gui {

struct SessionState;  // torch side, run_session.cpp

class RunSession : public QObject {
    Q_OBJECT
public:
    explicit RunSession(QObject* parent = nullptr);
    ~RunSession() override;

    /// Open `dir` with the dataset it was trained on (on the long thread) and predict `gridLimit`
    /// test images evenly spaced over the split (0: all) for the grid. Results of probes stored in
    /// the run's run.h5 (robustness, stability) are loaded too.
    bool open(const QString& dir, const QString& data, int gridLimit = 0);
    /// Datasets (or folders of datasets) where a run's dataset is looked for by fingerprint when
    /// it is not at its recorded path (the data directory, recent datasets).
    void setDataDirs(const QStringList& dirs) { data_dirs_ = dirs; }
    /// The device the session's queries and jobs run on ("cpu", "cuda:N", "emulated"), from the
    /// next open() on (the app reopens the run when it changes). An unusable one fails that open.
    void setDevice(const QString& device) { device_ = device; }
    QString device() const { return device_; }
    /// Re-point the open run to the dataset found by fingerprint (info().located), saved in the
    /// run folder (data_location.json). False with `error` set when it cannot be written.
    bool saveDataLocation(QString* error = nullptr);
    bool isOpen() const { return open_; }
    const InspectedRun& info() const { return info_; }
    const TestSet& testSet() const { return test_; }

    /// Query one test image (optionally corrupted) on the inspector thread. Coalesced: a request
    /// made while another waits replaces it. Returns the request's serial (0: no run open).
    int requestImage(ImageRequest request);
    int lastImageSerial() const { return serial_; }

    // Long jobs: false when a job is already running or no run is open.
    bool busy() const { return !job_.isEmpty(); }
    QString currentJob() const { return job_; }
    bool computeMemory(int branch, int limit);
    bool runRobustness(const QVector<int>& iterations, int limit, quint64 seed);
    bool runStability(int block, int branch, int limit, quint64 seed);
    bool computeFigurePack(const FigurePackRequest& request);
    /// Memory ablation curve (every order and branch, masked fractions 0, 0.1, …, 1) over `limit` test
    /// images, slot usage over `usageLimit` training images; stored in run.h5 and probe_ablation.csv.
    bool runAblation(int limit, int usageLimit, quint64 seed);
    /// Leave-one-class-out matrix over `limit` test images; stored like the CLI's.
    bool runLeaveClassOut(int limit);
    /// The map of one bank (block, branch 0 local / 1 global) with test image `index`'s trajectory
    /// (−1: none). Quick; it still waits for no other job (false while one runs).
    bool computeMap(int block, int branch, int index);
    /// The CIFAR-10-C suite (generated, or the released files); stored in run.h5 and beside the
    /// run as the CLI's `vhmn probe corruptions` stores it.
    bool runCorruptions(const CorruptionsRequest& request);
    /// The CIFAR-10-C suite's corruptions as (release name, label) pairs, the 15 then the 4 extras;
    /// a label says "ours" where the generator's images are not the reference's (frost).
    static QVector<QPair<QString, QString>> suiteCorruptions();
    /// Ask the running job to stop (it ends with outcome "cancelled").
    void cancel();
    /// Test images per forward pass of the long jobs (progress and cancel act between batches).
    void setBatch(int batch) { batch_ = std::max(1, batch); }

    const QVector<RobustnessPoint>& robustness() const { return robustness_; }
    const StabilityResult& stability() const { return stability_; }
    const CorruptionsResult& corruptions() const { return corruptions_; }

Q_SIGNALS:
    void opened();
    void imageReady(const vhmn::gui::ImageResult& result);
    void jobStarted(const QString& job);
    void jobProgress(double fraction, const QString& what);
    /// outcome: "finished", "cancelled" or "error" (the message is in `message`).
    void jobFinished(const QString& job, const QString& outcome, const QString& message);
    void memoryReady(const vhmn::gui::MemoryResult& result);
    void robustnessReady(const QVector<vhmn::gui::RobustnessPoint>& points);
    void stabilityReady(const vhmn::gui::StabilityResult& result);
    void figurePackReady(const vhmn::gui::FigurePackData& data);
    void ablationReady(const QVector<vhmn::gui::AblationPoint>& points);
    void leaveClassOutReady(const vhmn::gui::LeaveClassOutResult& result);
    void mapReady(const vhmn::gui::MapResult& result);
    void corruptionsReady(const vhmn::gui::CorruptionsResult& result);
    /// Any failure: opening, a query, a job.
    void failed(const QString& what, const QString& message);

private:
    template <typename Fn>
    bool startJob(const QString& name, Fn&& work);
    /// startJob for the session's other translation unit (run_session_memory.cpp).
    bool startWork(const QString& name, std::function<void(SessionState&)> work);
    void processImages();
    void post(std::function<void()> fn);

    QThread long_thread_, image_thread_;
    QObject* long_ctx_ = nullptr;
    QObject* image_ctx_ = nullptr;
    std::shared_ptr<SessionState> state_;
    bool open_ = false;
    InspectedRun info_;
    TestSet test_;
    QVector<RobustnessPoint> robustness_;
    StabilityResult stability_;
    CorruptionsResult corruptions_;
    QString job_;
    std::atomic<bool> cancel_{false};
    QMutex pending_mutex_;
    ImageRequest pending_;
    bool has_pending_ = false;
    std::atomic<bool> image_posted_{false};
    int serial_ = 0;
    int batch_ = 250;
    QStringList data_dirs_;
    QString device_ = QStringLiteral("cpu");
};

}  // namespace vhmn::gui
