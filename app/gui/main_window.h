#pragma once
// The main window is wiring only: the experiment panel (left), the training tab (controls,
// progress, live curves), the runs browser and the model summary; menus, shortcuts and remembered
// layout/choices. Training itself lives in TrainingController (worker thread).
#include <memory>

#include <QMainWindow>
#include <QString>

class QAction;
class QActionGroup;
class QSettings;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QTabWidget;
class QToolButton;

namespace vhmn {
struct StepStats;
}
namespace vhmn::widgets {
class CurvePlot;
class SummaryTable;
}  // namespace vhmn::widgets

namespace vhmn::gui {

class CurvesView;
class InspectWorkspace;
class ExperimentPanel;
class RunsBrowser;
class TrainingController;

struct MainWindowOptions {
    QString runs_dir;       ///< empty: remembered one, else $VHMN_RUNS_DIR, else ~/vhmn-runs
    QString data_dir;       ///< datasets offered in the panel (--data-dir / $VHMN_DATA_DIR)
    QString settings_file;  ///< empty: the user's settings; tests pass a temporary file
};

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(const MainWindowOptions& options = {}, QWidget* parent = nullptr);
    ~MainWindow() override;

    ExperimentPanel* panel() const { return panel_; }
    CurvesView* curves() const { return curves_; }
    RunsBrowser* runsBrowser() const { return runs_; }
    TrainingController* controller() const { return controller_; }
    /// The inspector, memory and robustness tabs and their run session.
    InspectWorkspace* inspectWorkspace() const { return inspect_; }
    QTabWidget* tabs() const { return tabs_; }
    QString errorText() const;
    QString progressText() const;
    int progressValue() const;

    /// Start a new run from the panel's values; false (with the problems shown) when invalid.
    bool startTraining();
    /// Continue a run folder from its checkpoint (epochs from the panel when larger).
    bool resumeRun(const QString& dir);
    void pauseTraining();
    void resumeTraining();
    void stopTraining();
    /// Show the curves of these run folders (overlaid when several) from their run.h5.
    bool openRuns(const QStringList& dirs);
    /// Export a plot through the file's suffix; an error is shown in the window.
    bool exportPlot(widgets::CurvePlot* plot, const QString& path, int dpi);
    void showTab(const QString& name);  ///< "training", "runs", "model", "inspector", "memory", "forgetting", "map", "robustness"
    /// Open a run in the inspection tabs (data empty: the dataset in its config).
    bool inspectRun(const QString& dir, const QString& data = {}, int gridLimit = 0);
    /// Where the Inspector's clicks and the Memory, Robustness, CIFAR-10-C, evidence and ablation
    /// jobs run ("cpu", "cuda:N"; remembered). An open run is reopened there. A device this machine
    /// does not have falls back to the CPU, with a message.
    void setAnalysisDevice(const QString& device, bool chosen = true);
    QString analysisDevice() const;

protected:
    void closeEvent(QCloseEvent* event) override;

private:
    void buildMenus();
    void buildTrainingActions();
    void buildFileMenu();
    void buildViewMenu();
    void buildAnalysisMenu();
    QWidget* buildTrainingTab();
    void connectSignals();
    void updateActions();
    void showError(const QString& message);
    void clearError();
    void log(const QString& message);
    void onStep(const StepStats& s);
    void onFinished(const QString& outcome);
    void exportInteractive(widgets::CurvePlot* plot);
    void updateModelSummary();
    void saveSettings();
    std::unique_ptr<QSettings> openSettings() const;
    void loadSettings();

    MainWindowOptions options_;
    ExperimentPanel* panel_ = nullptr;
    CurvesView* curves_ = nullptr;
    RunsBrowser* runs_ = nullptr;
    widgets::SummaryTable* summary_ = nullptr;
    TrainingController* controller_ = nullptr;
    InspectWorkspace* inspect_ = nullptr;
    QTabWidget* tabs_ = nullptr;
    QTabWidget* robustness_tabs_ = nullptr;  ///< inside the Robustness tab: Fig. 2/6, CIFAR-10-C
    QTabWidget* memory_tabs_ = nullptr;  ///< inside the Memory tab: weights and usage, forgetting
    QLabel* error_ = nullptr;
    QLabel* run_label_ = nullptr;
    QLabel* progress_label_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QPlainTextEdit* log_ = nullptr;
    QAction *start_ = nullptr, *pause_ = nullptr, *resume_ = nullptr, *stop_ = nullptr;
    QAction *export_ = nullptr, *open_run_ = nullptr, *log_scale_ = nullptr, *by_epoch_ = nullptr;
    QActionGroup* analysis_devices_ = nullptr;
    bool analysis_device_chosen_ = false;  ///< the user picked it (else it follows the default)
    bool close_after_stop_ = false;
    int total_epochs_ = 0;
};

}  // namespace vhmn::gui
