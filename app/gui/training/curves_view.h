#pragma once
// The live-curves tab: loss, accuracy, learning rate, β per block, retrieval entropy, throughput
// and memory over training (unused slots, their age) of one or several runs (overlay), with the
// shared controls (smoothing, log scale, x by step or epoch). Histories come from the trainer's
// callbacks or from run.h5 files; they are turned into plain vectors here for the widgets. Redraws
// are coalesced on a 40 ms timer.
#include <vector>

#include <QTimer>
#include <QWidget>

#include "core/train/metrics.h"
#include "widgets/curve_plot.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QSlider;

namespace vhmn::gui {

struct RunCurves {
    QString name;
    History history;
    int64_t world_size = 1;  ///< processes of its (last) data-parallel launch
};

class CurvesView : public QWidget {
    Q_OBJECT
public:
    explicit CurvesView(QWidget* parent = nullptr);

    /// Show these runs (overlaid when more than one).
    void setRuns(std::vector<RunCurves> runs);
    const std::vector<RunCurves>& runs() const { return runs_; }
    /// Live updates to run 0 (the run being trained); cheap, redrawn on the coalescing timer.
    void appendStep(const StepStats& s);
    void appendEpoch(const EpochStats& e);

    void setSmoothing(double w);
    double smoothing() const;
    void setLogScale(bool on);
    bool logScale() const;
    void setXByEpoch(bool on);
    bool xByEpoch() const;

    /// Redraw now if an update is pending (tests, exports).
    void flush();
    int rebuildCount() const { return rebuilds_; }

    QVector<widgets::CurvePlot*> plots() const { return plots_; }
    widgets::CurvePlot* plot(const QString& title) const;
    /// The plot the user last clicked (export target); the first one by default.
    widgets::CurvePlot* currentPlot() const;

Q_SIGNALS:
    void exportRequested(vhmn::widgets::CurvePlot* plot);
    void settingsChanged();

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void markDirty();
    void rebuild();

    std::vector<RunCurves> runs_;
    QVector<widgets::CurvePlot*> plots_;
    widgets::CurvePlot* current_ = nullptr;
    QSlider* smoothing_ = nullptr;
    QLabel* smoothing_label_ = nullptr;
    QCheckBox* log_ = nullptr;
    QComboBox* x_axis_ = nullptr;
    QTimer timer_;
    int rebuilds_ = 0;
};

}  // namespace vhmn::gui
