#pragma once
// A long sitting in the app, driven automatically (`vhmn-studio --inspect RUN --soak SECONDS`): the
// user clicks test images one after another and, once a minute, recomputes the Memory tab and the
// Robustness tab's sweep. Every 10 s a CSV line records the resident memory, so a leak or
// unbounded growth of the allocator shows as a rising column (README, "Memory").
#include <QElapsedTimer>
#include <QObject>
#include <QString>

namespace vhmn::gui {

class InspectWorkspace;

class SoakDriver : public QObject {
    Q_OBJECT
public:
    /// Starts when the workspace's run is opened; quits the application after `seconds`.
    SoakDriver(InspectWorkspace* workspace, int seconds, QString logFile, QObject* parent = nullptr);

private:
    void start();
    void click();
    void sample();
    void startJob();

    InspectWorkspace* ws_;
    int seconds_;
    QString log_;
    QElapsedTimer clock_;
    qint64 clicks_ = 0, jobs_ = 0, nextJobMs_ = 0;
    quint32 rng_ = 12345;
};

/// Resident set size of this process in MiB (now, and the peak so far).
double residentMiB();
double peakResidentMiB();

}  // namespace vhmn::gui
