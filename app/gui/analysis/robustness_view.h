#pragma once
// The robustness panel: runs the Fig. 2 sweep (top-1 under Gaussian noise, occlusion and contrast,
// per inference-time T) and the Fig. 6 stability sweep (top-5 consistency and cosine similarity of
// the top-1 prototype under noise and occlusion) on the session's worker, with progress and cancel,
// and plots them. Results already stored in the run's run.h5 are shown when the run opens.
#include <QWidget>

#include "app/gui/analysis/figure_exports.h"
#include "app/gui/analysis/session_types.h"

class QComboBox;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace vhmn::widgets {
class PanelPlot;
struct Panel;
}  // namespace vhmn::widgets

namespace vhmn::gui {

class JobBar;
class RunSession;

class RobustnessView : public QWidget {
    Q_OBJECT
public:
    explicit RobustnessView(RunSession* session, QWidget* parent = nullptr);

    bool runRobustness();
    bool runStability();
    void cancel();
    void setLimit(int images);
    void setIterations(const QString& list);  ///< e.g. "0,1,2,3"

    widgets::PanelPlot* robustnessPlot() const { return fig2_; }
    widgets::PanelPlot* stabilityPlot() const { return fig6_; }
    JobBar* jobBar() const { return job_; }
    QPushButton* cancelButton() const;

    /// "robustness" or "stability" figure (.png/.svg/.pdf/.csv), or the whole "view".
    bool exportTo(const QString& what, const QString& path, int dpi = 150, QString* error = nullptr);

    /// Panels of Fig. 2 and Fig. 6 (also used by the figure pack).
    static QVector<widgets::Panel> robustnessPanels(const QVector<RobustnessPoint>& points);
    static QVector<widgets::Panel> stabilityPanels(const StabilityResult& s);
    static QString stabilityTitle(const StabilityResult& s);

Q_SIGNALS:
    void updated();

private:
    void showRobustness(const QVector<RobustnessPoint>& points);
    void showStability(const StabilityResult& s);
    void exportInteractive();

    RunSession* session_;
    QLineEdit* iterations_ = nullptr;
    QSpinBox *limit_ = nullptr, *seed_ = nullptr;
    QComboBox *block_ = nullptr, *branch_ = nullptr;
    QPushButton *run2_ = nullptr, *run6_ = nullptr;
    JobBar* job_ = nullptr;
    widgets::PanelPlot *fig2_ = nullptr, *fig6_ = nullptr;
    FigureExports exports_;
};

}  // namespace vhmn::gui
