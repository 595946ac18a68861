#pragma once
// The memory view (paper Fig. 5 and Table 9): per branch, a heatmap of the slot weightings
// averaged over one class's test images (rows = blocks, slots ordered by class); for a chosen
// block the slot-usage histogram (how often each slot is a query's top-1) and the bank's fill per
// class; and the retrieval hit-rate table of every block and branch. Computed on the session's
// worker over N test images.
#include <QWidget>

#include "app/gui/analysis/figure_exports.h"
#include "app/gui/analysis/session_types.h"

class QComboBox;
class QLabel;
class QVBoxLayout;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace vhmn::widgets {
class BarPlot;
class Heatmap;
struct HeatmapData;
struct BarData;
}  // namespace vhmn::widgets

namespace vhmn::gui {

class JobBar;
class RunSession;

class MemoryView : public QWidget {
    Q_OBJECT
public:
    explicit MemoryView(RunSession* session, QWidget* parent = nullptr);

    /// Start computing (false when the session is busy or no run is open).
    bool compute();
    bool hasResult() const { return !result_.meanAlpha.isEmpty(); }
    const MemoryResult& result() const { return result_; }
    void setClass(int cls);
    void setBlock(int block);
    void setBranch(int branch);  ///< 0 local, 1 global
    void setLimit(int images);

    widgets::Heatmap* heatmap() const { return heatmap_; }
    widgets::BarPlot* usagePlot() const { return usage_; }
    widgets::BarPlot* fillPlot() const { return fill_; }
    QTableWidget* hitTable() const { return hits_; }
    JobBar* jobBar() const { return job_; }

    /// Export: heatmap/usage/fill as figures (.png/.svg/.pdf/.csv) — `what` is "heatmap", "usage"
    /// or "fill" — or the whole view ("view", .png/.svg/.pdf).
    bool exportTo(const QString& what, const QString& path, int dpi = 150, QString* error = nullptr);

    /// The Fig. 5 heatmap of a memory result for one class (also used by the figure pack).
    static widgets::HeatmapData heatmapData(const MemoryResult& m, const InspectedRun& info, int cls);

Q_SIGNALS:
    void updated();

private:
    void buildPlots(QVBoxLayout* l);
    void onOpened();
    void redraw();
    void exportInteractive();

    RunSession* session_;
    MemoryResult result_;
    QComboBox *branch_ = nullptr, *class_ = nullptr, *block_ = nullptr;
    QSpinBox* limit_ = nullptr;
    QPushButton* compute_ = nullptr;
    QLabel* summary_ = nullptr;
    JobBar* job_ = nullptr;
    widgets::Heatmap* heatmap_ = nullptr;
    widgets::BarPlot *usage_ = nullptr, *fill_ = nullptr;
    QTableWidget* hits_ = nullptr;
    QWidget* hit_box_ = nullptr;
    FigureExports exports_;
};

}  // namespace vhmn::gui
