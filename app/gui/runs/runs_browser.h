#pragma once
// The runs browser: every run folder under the runs directory (and any folder opened by hand, e.g.
// a run trained by the CLI on another machine) with its config and final metrics; open one or
// several (their curves come from run.h5), overlay them, and list where their configs differ.
#include <string>
#include <utility>
#include <vector>

#include <QWidget>

#include "app/gui/training/curves_view.h"
#include "core/io/table.h"

class QLabel;
class QPushButton;
class QTableWidget;
class QCheckBox;

namespace vhmn::gui {

/// One row of the runs table.
struct RunInfo {
    QString dir, name;
    QString dataset, preset, status;
    QString arch = QStringLiteral("vhmn");  ///< model family
    QString sweep;  ///< the sweep folder the run belongs to (empty: a single run)
    QString device, precision;  ///< what it trained on ("cpu", "cuda:0", …) and in (config.json)
    int epochs_done = 0, epochs = 0;
    double top1 = -1, top5 = -1, test_loss = -1;
    bool resumable = false, finished = false;
    QString error;  ///< why the run could not be read (empty when fine)
};

/// Read a run folder's config.json and run.h5 (metrics only); never throws (error in RunInfo).
RunInfo scan_run(const QString& dir);

/// The curves of a run folder, from run.h5. Throws vhmn::FileError naming the file on failure.
RunCurves load_run_curves(const QString& dir);

/// Config keys (JSON pointers, e.g. "/model/dim") whose values are not all equal across `configs`,
/// with each config's value as text ("—" when a config lacks the key). All keys when `all`.
std::vector<std::pair<QString, QStringList>> config_differences(const std::vector<QString>& config_json,
                                                                 bool all = false);

class RunsBrowser : public QWidget {
    Q_OBJECT
public:
    explicit RunsBrowser(QWidget* parent = nullptr);

    void setRunsDir(const QString& dir);
    QString runsDir() const { return runs_dir_; }
    /// Re-read the runs directory (and the folders added by hand).
    void refresh();
    /// Add a run folder from anywhere (e.g. copied from a GPU server); false + message if it is no run.
    bool addRunFolder(const QString& dir, QString* error = nullptr);
    const std::vector<RunInfo>& runs() const { return runs_; }

    void select(const QStringList& dirs);
    QStringList selectedDirs() const;
    /// Fill the difference table for the selected runs.
    void compareSelected();
    QTableWidget* differencesTable() const { return diff_; }
    /// The selected runs' final metrics by case (filled by compareSelected()).
    const Table& metricsTable() const { return metrics_; }
    QTableWidget* metricsView() const { return metrics_view_; }
    /// Write metricsTable() as .csv, .md or .tex (by the file's extension); false + message on failure.
    bool exportMetrics(const QString& path, QString* error = nullptr) const;
    QTableWidget* runsTable() const { return table_; }

Q_SIGNALS:
    void openRequested(const QStringList& dirs);
    void resumeRequested(const QString& dir);

private:
    QWidget* buildLower(QWidget* parent);
    void connectSignals(QPushButton* refresh, QPushButton* add);
    void updateButtons();

    QString runs_dir_;
    QStringList extra_dirs_;
    std::vector<RunInfo> runs_;
    QLabel* dir_label_ = nullptr;
    QTableWidget* table_ = nullptr;
    QTableWidget* diff_ = nullptr;
    QTableWidget* metrics_view_ = nullptr;
    QPushButton* export_ = nullptr;
    Table metrics_;
    QCheckBox* all_keys_ = nullptr;
    QPushButton* open_ = nullptr;
    QPushButton* compare_ = nullptr;
    QPushButton* resume_ = nullptr;
};

}  // namespace vhmn::gui
