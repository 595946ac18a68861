#include "app/gui/analysis/soak.h"

#include <cstdio>

#include <unistd.h>

#include <QCoreApplication>
#include <QFile>
#include <QTextStream>
#include <QTimer>

#include "app/gui/analysis/inspector_view.h"
#include "app/gui/analysis/memory_view.h"
#include "app/gui/analysis/robustness_view.h"
#include "app/gui/analysis/run_session.h"
#include "app/gui/analysis/workspace.h"
#include "core/runtime.h"

namespace vhmn::gui {

double residentMiB() {
    long pages = 0, resident = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

double peakResidentMiB() { return double(peak_rss_kib()) / 1024.0; }

SoakDriver::SoakDriver(InspectWorkspace* workspace, int seconds, QString logFile, QObject* parent)
    : QObject(parent), ws_(workspace), seconds_(seconds), log_(std::move(logFile)) {
    connect(ws_->session(), &RunSession::opened, this, &SoakDriver::start);
    connect(ws_->inspector(), &InspectorView::resultShown, this, [this](int) {
        ++clicks_;
        QTimer::singleShot(20, this, &SoakDriver::click);  // the next click, as fast as a user could
    });
    connect(ws_->session(), &RunSession::jobFinished, this, [this](const QString& job, const QString&, const QString&) {
        if (job != QLatin1String("open")) ++jobs_;
    });
}

void SoakDriver::start() {
    clock_.start();
    QFile f(log_);
    if (f.open(QIODevice::WriteOnly | QIODevice::Truncate))
        QTextStream(&f) << "elapsed_s,rss_mib,peak_rss_mib,clicks,jobs\n";
    sample();
    auto* timer = new QTimer(this);
    connect(timer, &QTimer::timeout, this, &SoakDriver::sample);
    timer->start(10000);
    nextJobMs_ = 5000;
    click();
}

void SoakDriver::click() {
    if (clock_.elapsed() >= qint64(seconds_) * 1000) {
        sample();
        QCoreApplication::exit(0);
        return;
    }
    if (clock_.elapsed() >= nextJobMs_ && !ws_->session()->busy()) startJob();
    const int n = ws_->session()->testSet().images.size();
    if (n == 0) return;
    rng_ = rng_ * 1664525u + 1013904223u;
    ws_->inspector()->inspect(ws_->session()->testSet().indices[int(rng_ % quint32(n))]);
}

void SoakDriver::startJob() {
    // Alternate the Memory tab's computation and the Robustness tab's sweep, once a minute.
    if (jobs_ % 2 == 0) ws_->memory()->compute();
    else ws_->robustness()->runRobustness();
    nextJobMs_ = clock_.elapsed() + 60000;
}

void SoakDriver::sample() {
    QFile f(log_);
    if (!f.open(QIODevice::Append)) return;
    QTextStream(&f) << QString::number(clock_.elapsed() / 1000.0, 'f', 1) << ',' << QString::number(residentMiB(), 'f', 1)
                    << ',' << QString::number(peakResidentMiB(), 'f', 1) << ',' << clicks_ << ',' << jobs_ << '\n';
}

}  // namespace vhmn::gui
