#pragma once
// Memory ablations in the Memory tab (issue 15), run on the session's worker with progress and
// cancel and stored in the run like the CLI's `vhmn probe ablation | leave-class-out`:
//   the ablation curve — test top-1 as 0…100 % of every block's slots are masked, one panel per
//   branch (local, global, both), one line per order (random, most used first, least used first);
//   leave-one-class-out — the change of each class's top-1 (columns) when one class's memories
//   (rows) are masked.
#include <QWidget>

#include "app/gui/analysis/figure_exports.h"
#include "app/gui/analysis/session_types.h"

class QLabel;
class QPushButton;
class QSpinBox;

namespace vhmn::widgets {
class Heatmap;
class PanelPlot;
struct HeatmapData;
struct Panel;
}  // namespace vhmn::widgets

namespace vhmn::gui {

class JobBar;
class RunSession;

class ForgettingView : public QWidget {
    Q_OBJECT
public:
    explicit ForgettingView(RunSession* session, QWidget* parent = nullptr);

    bool runAblation();
    bool runLeaveClassOut();
    void setLimit(int images);
    void setUsageLimit(int images);

    bool hasAblation() const { return !ablation_.isEmpty(); }
    bool hasLeaveClassOut() const { return !lco_.accuracy.isEmpty(); }
    widgets::PanelPlot* ablationPlot() const { return curve_; }
    widgets::Heatmap* leaveClassOutMap() const { return matrix_; }
    JobBar* jobBar() const { return job_; }
    QLabel* summary() const { return summary_; }

    /// "ablation" or "leave-class-out" figure (.png/.svg/.pdf/.csv), or the whole "view".
    bool exportTo(const QString& what, const QString& path, int dpi = 150, QString* error = nullptr);

    static QVector<widgets::Panel> ablationPanels(const QVector<AblationPoint>& points);
    static widgets::HeatmapData leaveClassOutData(const LeaveClassOutResult& r, const InspectedRun& info);

Q_SIGNALS:
    void updated();

private:
    void showAblation(const QVector<AblationPoint>& points);
    void showLeaveClassOut(const LeaveClassOutResult& r);
    void updateSummary();
    void exportInteractive();

    RunSession* session_;
    QVector<AblationPoint> ablation_;
    LeaveClassOutResult lco_;
    QSpinBox *limit_ = nullptr, *usage_ = nullptr, *seed_ = nullptr;
    QPushButton *ablate_ = nullptr, *leave_ = nullptr;
    QLabel* summary_ = nullptr;
    JobBar* job_ = nullptr;
    widgets::PanelPlot* curve_ = nullptr;
    widgets::Heatmap* matrix_ = nullptr;
    FigureExports exports_;
};

}  // namespace vhmn::gui
