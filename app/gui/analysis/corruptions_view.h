#pragma once
// The Robustness tab's CIFAR-10-C page (issue 14): a corruption × severity heatmap of top-1 for one
// inference-time T, a bar chart per family (every T side by side), and a summary line (clean, the
// mean over the reference cells, mCE when a baseline was given). Runs the suite as a session job
// (generated, or the released files) and shows the result stored in the run when it opens.
#include <QWidget>

#include "app/gui/analysis/figure_exports.h"
#include "app/gui/analysis/session_types.h"
#include "widgets/figure_plots.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace vhmn::gui {

class JobBar;
class RunSession;

class CorruptionsView : public QWidget {
    Q_OBJECT
public:
    explicit CorruptionsView(RunSession* session, QWidget* parent = nullptr);

    bool run();
    void setLimit(int images);
    void setReleasedDir(const QString& dir);
    /// Which T the heatmap shows (an index into the result's iterations).
    void showIteration(int index);

    widgets::Heatmap* heatmap() const { return heatmap_; }
    widgets::BarPlot* families() const { return families_; }
    QLabel* summary() const { return summary_; }
    JobBar* jobBar() const { return job_; }

    /// "heatmap" or "families" (.png/.svg/.pdf/.csv), or the whole "view".
    bool exportTo(const QString& what, const QString& path, int dpi = 150, QString* error = nullptr);

    /// The figures' data (also for the figure pack and the tests).
    static widgets::HeatmapData heatmapData(const CorruptionsResult& r, int iterationIndex);
    static widgets::BarData familyData(const CorruptionsResult& r);
    static QString summaryText(const CorruptionsResult& r);

Q_SIGNALS:
    void updated();

private:
    void show(const CorruptionsResult& r);
    void exportInteractive();

    RunSession* session_;
    CorruptionsResult result_;
    QComboBox* shownT_ = nullptr;
    QSpinBox *limit_ = nullptr, *seed_ = nullptr;
    QLineEdit* released_ = nullptr;
    QPushButton* run_ = nullptr;
    JobBar* job_ = nullptr;
    QLabel* summary_ = nullptr;
    widgets::Heatmap* heatmap_ = nullptr;
    widgets::BarPlot* families_ = nullptr;
    FigureExports exports_;
};

}  // namespace vhmn::gui
