#include <torch/torch.h>  // before Qt (libtorch uses `slots` as an identifier)

#include "app/gui/main_window.h"

#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QScrollArea>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTime>
#include <QToolBar>
#include <QVBoxLayout>

#include "app/gui/training/curves_view.h"
#include "app/gui/training/experiment_panel.h"
#include "app/gui/analysis/corruptions_view.h"
#include "app/gui/analysis/forgetting_view.h"
#include "app/gui/analysis/inspector_view.h"
#include "app/gui/analysis/memory_map_view.h"
#include "app/gui/analysis/memory_view.h"
#include "app/gui/analysis/robustness_view.h"
#include "app/gui/analysis/run_session.h"
#include "app/gui/analysis/workspace.h"
#include "app/gui/runs/runs_browser.h"
#include "app/gui/training/training_controller.h"
#include "app/common/model_summary.h"
#include "core/devices.h"
#include "core/io/run_record.h"
#include "core/models/stats.h"
#include "widgets/curve_plot.h"
#include "widgets/summary_table.h"

namespace vhmn::gui {
namespace {

QString duration(double seconds) {
    if (!(seconds >= 0) || seconds > 1e7) return QStringLiteral("—");
    const int s = int(seconds + 0.5);
    if (s >= 3600) return QStringLiteral("%1:%2:%3").arg(s / 3600).arg(s / 60 % 60, 2, 10, QLatin1Char('0')).arg(s % 60, 2, 10, QLatin1Char('0'));
    return QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

}  // namespace

MainWindow::MainWindow(const MainWindowOptions& options, QWidget* parent) : QMainWindow(parent), options_(options) {
    setWindowTitle(tr("V-HMN Studio"));
    setObjectName(QStringLiteral("MainWindow"));
    controller_ = new TrainingController(this);

    // Left: the experiment panel.
    panel_ = new ExperimentPanel;
    auto* scroll = new QScrollArea;
    scroll->setWidget(panel_);
    scroll->setWidgetResizable(true);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setMinimumWidth(panel_->sizeHint().width() + 24);
    auto* panel_dock = new QDockWidget(tr("Experiment"), this);
    panel_dock->setObjectName(QStringLiteral("experimentDock"));
    panel_dock->setWidget(scroll);
    panel_dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
    addDockWidget(Qt::LeftDockWidgetArea, panel_dock);

    // Centre: training (controls, progress, curves), runs, model.
    tabs_ = new QTabWidget(this);
    tabs_->addTab(buildTrainingTab(), tr("Training"));
    runs_ = new RunsBrowser;
    tabs_->addTab(runs_, tr("Runs"));
    summary_ = new widgets::SummaryTable;
    tabs_->addTab(summary_, tr("Model"));
    // Inspection of a trained run (issue 6): memories, slot weightings, robustness.
    inspect_ = new InspectWorkspace(tabs_);
    tabs_->addTab(inspect_->inspector(), tr("Inspector"));
    // The Memory tab: slot weightings and usage (Fig. 5, Table 9), and forgetting (ablations, issue 15).
    memory_tabs_ = new QTabWidget;
    memory_tabs_->addTab(inspect_->memory(), tr("Weights and usage"));
    memory_tabs_->addTab(inspect_->forgetting(), tr("Forgetting"));
    memory_tabs_->addTab(inspect_->memoryMap(), tr("Map"));
    tabs_->addTab(memory_tabs_, tr("Memory"));
    // The Robustness tab: the paper's Fig. 2 and Fig. 6, and the CIFAR-10-C suite (issue 14).
    robustness_tabs_ = new QTabWidget;
    robustness_tabs_->addTab(inspect_->robustness(), tr("Fig. 2 and Fig. 6"));
    robustness_tabs_->addTab(inspect_->corruptions(), tr("CIFAR-10-C"));
    tabs_->addTab(robustness_tabs_, tr("Robustness"));
    setCentralWidget(tabs_);

    // Bottom: messages.
    log_ = new QPlainTextEdit;
    log_->setReadOnly(true);
    log_->setMaximumBlockCount(5000);
    auto* log_dock = new QDockWidget(tr("Messages"), this);
    log_dock->setObjectName(QStringLiteral("messagesDock"));
    log_dock->setWidget(log_);
    addDockWidget(Qt::BottomDockWidgetArea, log_dock);
    resizeDocks({log_dock}, {110}, Qt::Vertical);

    buildMenus();

    connectSignals();

    loadSettings();
    updateActions();
    updateModelSummary();
}

/// The Training tab: error banner, run line, progress and the live curves.
QWidget* MainWindow::buildTrainingTab() {
    auto* training = new QWidget;
    auto* tl = new QVBoxLayout(training);
    error_ = new QLabel(training);
    error_->setObjectName(QStringLiteral("errorBanner"));
    error_->setWordWrap(true);
    error_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    error_->setStyleSheet(QStringLiteral("background: #fde7e7; color: #8a1c1c; border: 1px solid #e0a0a0; padding: 6px;"));
    error_->hide();
    tl->addWidget(error_);
    run_label_ = new QLabel(tr("No run yet: choose an experiment on the left and press Start (Ctrl+R)."), training);
    run_label_->setWordWrap(true);
    tl->addWidget(run_label_);
    auto* bar = new QHBoxLayout;
    progress_ = new QProgressBar(training);
    progress_->setRange(0, 1000);
    progress_->setValue(0);
    progress_->setTextVisible(true);
    progress_->setFormat(QStringLiteral("%p%"));
    bar->addWidget(progress_, 2);
    progress_label_ = new QLabel(training);
    progress_label_->setMinimumWidth(progress_label_->fontMetrics().horizontalAdvance(QLatin1Char('M')) * 34);
    bar->addWidget(progress_label_, 3);
    tl->addLayout(bar);
    curves_ = new CurvesView(training);
    tl->addWidget(curves_, 1);
    return training;
}

void MainWindow::connectSignals() {
    connect(panel_, &ExperimentPanel::validityChanged, this, &MainWindow::updateActions);
    connect(controller_, &TrainingController::stateChanged, this, &MainWindow::updateActions);
    connect(controller_, &TrainingController::stepReported, this, &MainWindow::onStep);
    connect(controller_, &TrainingController::epochReported, this, [this](const EpochStats& e) {
        curves_->appendEpoch(e);
        log(tr("epoch %1/%2: train loss %3, acc %4%; test top-1 %5%, top-5 %6%, loss %7 (%8)")
                .arg(e.epoch)
                .arg(total_epochs_)
                .arg(e.train_loss, 0, 'f', 4)
                .arg(e.train_acc, 0, 'f', 2)
                .arg(e.test_top1, 0, 'f', 2)
                .arg(e.test_top5, 0, 'f', 2)
                .arg(e.test_loss, 0, 'f', 4)
                .arg(duration(e.seconds)));
    });
    connect(controller_, &TrainingController::prepared, this, [this](const QString& summary, int spe, int epochs, int) {
        total_epochs_ = epochs;
        progress_->setRange(0, 1000);
        progress_->setValue(0);
        run_label_->setText(tr("<b>%1</b> — %2; %3 steps per epoch")
                                .arg(QFileInfo(controller_->runDir()).fileName().toHtmlEscaped(), summary.toHtmlEscaped())
                                .arg(spe));
        log(summary);
    });
    connect(controller_, &TrainingController::messageReported, this, &MainWindow::log);
    connect(controller_, &TrainingController::failed, this, &MainWindow::showError);
    connect(controller_, &TrainingController::finished, this, &MainWindow::onFinished);
    connect(curves_, &CurvesView::exportRequested, this, &MainWindow::exportInteractive);
    connect(runs_, &RunsBrowser::openRequested, this, &MainWindow::openRuns);
    connect(runs_, &RunsBrowser::resumeRequested, this, &MainWindow::resumeRun);
    connect(tabs_, &QTabWidget::currentChanged, this, [this] {
        if (tabs_->currentWidget() == summary_) updateModelSummary();
    });
}

MainWindow::~MainWindow() = default;  // the controller (a child) stops and joins its thread

void MainWindow::buildMenus() {
    buildTrainingActions();
    buildFileMenu();
    auto* train = menuBar()->addMenu(tr("&Training"));
    train->addActions({start_, pause_, resume_, stop_});
    buildViewMenu();
    buildAnalysisMenu();
    auto* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About"), this, [this] {
        QMessageBox::about(this, tr("About V-HMN Studio"),
                           tr("<b>V-HMN Studio %1</b><p>Train and inspect Vision Hopfield Memory Networks.</p>")
                               .arg(QApplication::applicationVersion()));
    });
}

/// Start, pause, resume and stop, on the toolbar.
void MainWindow::buildTrainingActions() {
    auto* tb = addToolBar(tr("Training"));
    tb->setObjectName(QStringLiteral("trainingToolbar"));
    tb->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    auto icon = [this](QStyle::StandardPixmap p) { return style()->standardIcon(p); };

    start_ = new QAction(icon(QStyle::SP_MediaPlay), tr("&Start"), this);
    start_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    start_->setToolTip(tr("Start a new run with the experiment on the left (Ctrl+R)"));
    pause_ = new QAction(icon(QStyle::SP_MediaPause), tr("&Pause"), this);
    pause_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
    resume_ = new QAction(icon(QStyle::SP_MediaSeekForward), tr("Res&ume"), this);
    resume_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P));
    stop_ = new QAction(icon(QStyle::SP_MediaStop), tr("S&top"), this);
    stop_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Period));
    stop_->setToolTip(tr("Stop after the current step; the last finished epoch stays resumable (Ctrl+.)"));
    connect(start_, &QAction::triggered, this, &MainWindow::startTraining);
    connect(pause_, &QAction::triggered, this, &MainWindow::pauseTraining);
    connect(resume_, &QAction::triggered, this, &MainWindow::resumeTraining);
    connect(stop_, &QAction::triggered, this, &MainWindow::stopTraining);
    tb->addActions({start_, pause_, resume_, stop_});

}

void MainWindow::buildFileMenu() {
    open_run_ = new QAction(tr("&Open run folder…"), this);
    open_run_->setShortcut(QKeySequence::Open);
    connect(open_run_, &QAction::triggered, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Run folder"), runs_->runsDir());
        if (dir.isEmpty()) return;
        QString error;
        if (!runs_->addRunFolder(dir, &error)) return showError(error);
        openRuns({QDir(dir).absolutePath()});
    });
    auto* runs_dir = new QAction(tr("Choose runs &directory…"), this);
    connect(runs_dir, &QAction::triggered, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Runs directory"), runs_->runsDir());
        if (dir.isEmpty()) return;
        runs_->setRunsDir(dir);
        panel_->setRunsDir(dir);
    });
    export_ = new QAction(tr("&Export plot…"), this);
    export_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_E));
    export_->setToolTip(tr("Export the plot last clicked to PNG, SVG, PDF or CSV"));
    connect(export_, &QAction::triggered, this, [this] { exportInteractive(curves_->currentPlot()); });
    auto* inspect = new QAction(tr("&Inspect run…"), this);
    inspect->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_I));
    inspect->setToolTip(tr("Open a trained run in the Inspector, Memory and Robustness tabs"));
    connect(inspect, &QAction::triggered, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Run folder to inspect"), runs_->runsDir());
        if (!dir.isEmpty()) inspectRun(dir);
    });
    auto* pack = new QAction(tr("Write &figure pack…"), this);
    pack->setToolTip(tr("Fig. 2, 3, 5, 6 and Tables 3, 9 of the inspected run into one folder"));
    connect(pack, &QAction::triggered, this, [this] {
        if (!inspect_->session()->isOpen()) return showError(tr("Inspect a run first (File → Inspect run…)."));
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder for the figure pack"),
                                                              inspect_->session()->info().dir);
        if (dir.isEmpty()) return;
        FigurePackRequest r;
        r.dir = dir;
        if (!inspect_->writeFigurePack(r)) showError(tr("The run session is busy; wait or cancel the running job."));
    });
    connect(inspect_, &InspectWorkspace::figurePackWritten, this, [this](const QStringList& files, const QString& error) {
        if (!error.isEmpty()) return showError(tr("Figure pack: %1").arg(error));
        log(tr("figure pack: wrote %1 files (%2)").arg(files.size()).arg(files.join(QStringLiteral(", "))));
    });
    connect(inspect_->session(), &RunSession::failed, this, [this](const QString& what, const QString& message) {
        showError(tr("%1: %2").arg(what, message));
    });
    auto* quit = new QAction(tr("&Quit"), this);
    quit->setShortcut(QKeySequence::Quit);
    connect(quit, &QAction::triggered, this, &QWidget::close);

    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(open_run_);
    file->addAction(runs_dir);
    file->addSeparator();
    file->addAction(export_);
    file->addSeparator();
    file->addAction(inspect);
    file->addAction(pack);
    file->addSeparator();
    file->addAction(quit);
}

void MainWindow::buildViewMenu() {
    auto* view = menuBar()->addMenu(tr("&View"));
    const QStringList tab_names = {tr("&Training"), tr("&Runs"), tr("&Model"), tr("&Inspector"), tr("M&emory"),
                                   tr("R&obustness")};
    for (int i = 0; i < tab_names.size(); ++i) {
        auto* a = view->addAction(tab_names[i]);
        a->setShortcut(QKeySequence(Qt::CTRL | (Qt::Key_1 + i)));
        connect(a, &QAction::triggered, this, [this, i] { tabs_->setCurrentIndex(i); });
    }
    view->addSeparator();
    log_scale_ = view->addAction(tr("&Log scale"));
    log_scale_->setCheckable(true);
    log_scale_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_L));
    connect(log_scale_, &QAction::toggled, curves_, &CurvesView::setLogScale);
    by_epoch_ = view->addAction(tr("x axis by &epoch"));
    by_epoch_->setCheckable(true);
    by_epoch_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_B));
    connect(by_epoch_, &QAction::toggled, curves_, &CurvesView::setXByEpoch);
    connect(curves_, &CurvesView::settingsChanged, this, [this] {
        log_scale_->setChecked(curves_->logScale());
        by_epoch_->setChecked(curves_->xByEpoch());
    });
    auto* refresh = view->addAction(tr("Refresh runs"));
    refresh->setShortcut(QKeySequence::Refresh);
    connect(refresh, &QAction::triggered, runs_, &RunsBrowser::refresh);
    view->addSeparator();
    for (auto* dock : findChildren<QDockWidget*>()) view->addAction(dock->toggleViewAction());
}

void MainWindow::updateActions() {
    const auto st = controller_->state();
    using S = TrainingController::State;
    start_->setEnabled(st == S::Idle && panel_->valid());
    pause_->setEnabled(st == S::Running || st == S::Preparing);
    resume_->setEnabled(st == S::Paused);
    stop_->setEnabled(st != S::Idle && st != S::Stopping);
    panel_->setEnabled(st == S::Idle);
    static const char* names[] = {"idle", "reading data", "training", "paused", "stopping"};
    if (st != S::Idle) statusBar()->showMessage(tr("Run %1: %2").arg(QFileInfo(controller_->runDir()).fileName(), tr(names[int(st)])));
}

bool MainWindow::startTraining() {
    if (controller_->busy()) return false;
    panel_->validate();
    if (!panel_->valid()) {
        showError(tr("The experiment has invalid values:\n%1").arg(panel_->issues().join(QLatin1Char('\n'))));
        return false;
    }
    app::TrainRequest r = panel_->request();
    if (!QDir().mkpath(panel_->runsDir())) {
        showError(tr("%1: cannot create the runs directory").arg(panel_->runsDir()));
        return false;
    }
    clearError();
    panel_->addRecentDataset(panel_->dataset());
    const QString name = QFileInfo(QString::fromStdString(r.out)).fileName();
    curves_->setRuns({{name, {}}});
    progress_->setRange(0, 0);  // busy until the data is read (Stop cancels)
    progress_label_->setText(tr("reading data…"));
    log(tr("Starting %1 → %2").arg(QString::fromStdString(r.data), QString::fromStdString(r.out)));
    total_epochs_ = int(r.train.epochs);
    tabs_->setCurrentIndex(0);
    saveSettings();
    return controller_->start(r);
}

bool MainWindow::resumeRun(const QString& dir) {
    if (controller_->busy()) return false;
    RunConfig cfg;
    try {
        cfg = read_run_config(dir.toStdString());
    } catch (const std::exception& e) {
        showError(QString::fromStdString(e.what()));
        return false;
    }
    app::TrainRequest r;
    r.out = dir.toStdString();
    r.resume = true;
    // The run's own data when it is here (or built in); else the dataset chosen in the panel.
    const QString recorded = QString::fromStdString(cfg.data.path);
    r.data = (recorded.startsWith(QLatin1String("builtin")) || QFileInfo::exists(recorded)) ? cfg.data.path
                                                                                              : panel_->dataset().toStdString();
    r.train.epochs = std::max<int64_t>(1, panel_->value(QStringLiteral("epochs")).toLongLong());
    r.train.device = panel_->value(QStringLiteral("device")).toString().toStdString();
    clearError();
    curves_->setRuns({{QFileInfo(dir).fileName(), {}}});
    progress_label_->setText(tr("reading data…"));
    total_epochs_ = int(std::max(r.train.epochs, cfg.train.epochs));
    tabs_->setCurrentIndex(0);
    return controller_->start(r);
}

void MainWindow::pauseTraining() { controller_->pause(); }
void MainWindow::resumeTraining() { controller_->resume(); }
void MainWindow::stopTraining() {
    if (controller_->busy()) log(tr("Stopping after the current step…"));
    controller_->stop();
}

void MainWindow::onStep(const StepStats& s) {
    curves_->appendStep(s);
    if (s.total_steps > 0) progress_->setValue(int(1000.0 * double(s.step) / double(s.total_steps)));
    progress_label_->setText(tr("epoch %1/%2 · step %3/%4 · %5 img/s · ETA %6")
                                 .arg(s.epoch + 1)
                                 .arg(s.epochs)
                                 .arg(s.step)
                                 .arg(s.total_steps)
                                 .arg(s.images_per_s, 0, 'f', 0)
                                 .arg(duration(s.eta_s)) +
                             QStringLiteral(" \u00b7 ") + controller_->deviceLabel() +
                             (s.gpu_allocated >= 0 ? QStringLiteral(" \u00b7 ") + gpu_memory_text(s) : QString()));
}

void MainWindow::onFinished(const QString& outcome) {
    const QString run = QFileInfo(controller_->runDir()).fileName();
    if (progress_->maximum() == 0) progress_->setRange(0, 1000);  // failed or stopped while reading the data
    if (outcome == QLatin1String("finished")) {
        progress_->setValue(1000);
        log(tr("Run %1 finished.").arg(run));
        statusBar()->showMessage(tr("Run %1 finished").arg(run));
    } else if (outcome == QLatin1String("stopped")) {
        log(tr("Run %1 stopped; its last finished epoch is saved and can be resumed from the Runs tab.").arg(run));
        statusBar()->showMessage(tr("Run %1 stopped").arg(run));
    } else {
        statusBar()->showMessage(tr("Run %1 failed").arg(run));
    }
    progress_label_->setText(progress_label_->text() + QStringLiteral(" — ") + outcome);
    curves_->flush();
    runs_->refresh();
    panel_->validate();  // the run name is taken now
    updateActions();
    if (close_after_stop_) close();
}

std::unique_ptr<QSettings> MainWindow::openSettings() const {
    if (options_.settings_file.isEmpty()) return std::make_unique<QSettings>();
    return std::make_unique<QSettings>(options_.settings_file, QSettings::IniFormat);
}

void MainWindow::showError(const QString& message) {
    error_->setText(message);
    error_->show();
    log(tr("Error: %1").arg(message));
}

void MainWindow::clearError() {
    error_->clear();
    error_->hide();
}

QString MainWindow::errorText() const { return error_->isVisible() || !error_->text().isEmpty() ? error_->text() : QString(); }
QString MainWindow::progressText() const { return progress_label_->text(); }
int MainWindow::progressValue() const { return progress_->value(); }

void MainWindow::log(const QString& message) {
    log_->appendPlainText(QTime::currentTime().toString(QStringLiteral("HH:mm:ss  ")) + message);
}

bool MainWindow::openRuns(const QStringList& dirs) {
    if (dirs.isEmpty()) return false;
    if (controller_->busy()) {
        showError(tr("A run is training; stop it before showing other runs' curves."));
        return false;
    }
    std::vector<RunCurves> runs;
    for (const QString& d : dirs) {
        try {
            runs.push_back(load_run_curves(d));
        } catch (const std::exception& e) {
            showError(QString::fromStdString(e.what()));
            return false;
        }
    }
    clearError();
    QStringList names;
    for (const auto& r : runs) names << r.name;
    const QString ranks = runs.size() == 1 && runs.front().world_size > 1
                              ? tr("; trained on %1 processes").arg(runs.front().world_size)
                              : QString();
    run_label_->setText(runs.size() == 1 ? tr("Run <b>%1</b> (from its run.h5%2)").arg(names.front().toHtmlEscaped(), ranks)
                                         : tr("Overlay of %1 runs: %2").arg(runs.size()).arg(names.join(QStringLiteral(", ")).toHtmlEscaped()));
    curves_->setRuns(std::move(runs));
    tabs_->setCurrentIndex(0);
    return true;
}

bool MainWindow::exportPlot(widgets::CurvePlot* plot, const QString& path, int dpi) {
    QString error;
    if (!plot->exportFile(path, dpi, &error)) {
        showError(error);
        return false;
    }
    log(tr("Exported %1 to %2").arg(plot->title(), path));
    return true;
}

void MainWindow::exportInteractive(widgets::CurvePlot* plot) {
    if (!plot) return;
    auto settings = openSettings();
    QSettings& s = *settings;
    const QString dir = s.value(QStringLiteral("export/dir"), QDir::homePath()).toString();
    QString filter = s.value(QStringLiteral("export/filter"), tr("PNG image (*.png)")).toString();
    QString base = plot->title().section(QLatin1Char(' '), 0, 0).toLower();
    const QString path = QFileDialog::getSaveFileName(
        this, tr("Export %1").arg(plot->title()), QDir(dir).filePath(base),
        tr("PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf);;CSV data (*.csv)"), &filter);
    if (path.isEmpty()) return;
    QString file = path;
    if (QFileInfo(file).suffix().isEmpty()) file += QLatin1Char('.') + filter.section(QStringLiteral("*."), 1).left(3);
    int dpi = s.value(QStringLiteral("export/dpi"), 150).toInt();
    if (QFileInfo(file).suffix().toLower() == QLatin1String("png")) {
        bool ok = false;
        dpi = QInputDialog::getInt(this, tr("PNG resolution"), tr("DPI"), dpi, 24, 2400, 1, &ok);
        if (!ok) return;
    }
    s.setValue(QStringLiteral("export/dir"), QFileInfo(file).absolutePath());
    s.setValue(QStringLiteral("export/filter"), filter);
    s.setValue(QStringLiteral("export/dpi"), dpi);
    exportPlot(plot, file, dpi);
}

void MainWindow::updateModelSummary() {
    const app::TrainRequest r = panel_->request();
    try {
        const auto summary = app::summarize(r.preset, r.model);
        QVector<std::pair<QString, QString>> rows;
        for (const auto& [label, value] : summary.rows())
            rows.push_back({QString::fromStdString(label), QString::fromStdString(value)});
        summary_->setRows(rows);
    } catch (const std::exception& e) {
        summary_->setRows({{tr("error"), QString::fromStdString(e.what())}});
    }
}

void MainWindow::showTab(const QString& name) {
    if (name == QLatin1String("runs")) tabs_->setCurrentWidget(runs_);
    else if (name == QLatin1String("model")) tabs_->setCurrentWidget(summary_);
    else if (name == QLatin1String("inspector")) tabs_->setCurrentWidget(inspect_->inspector());
    else if (name == QLatin1String("memory") || name == QLatin1String("forgetting") || name == QLatin1String("map")) {
        tabs_->setCurrentWidget(memory_tabs_);
        memory_tabs_->setCurrentIndex(name == QLatin1String("memory") ? 0 : name == QLatin1String("forgetting") ? 1 : 2);
    }
    else if (name == QLatin1String("robustness") || name == QLatin1String("corruptions")) {
        tabs_->setCurrentWidget(robustness_tabs_);
        robustness_tabs_->setCurrentIndex(name == QLatin1String("robustness") ? 0 : 1);
    }
    else tabs_->setCurrentIndex(0);
}

bool MainWindow::inspectRun(const QString& dir, const QString& data, int gridLimit) {
    inspect_->session()->setDataDirs(panel_->knownDataPlaces());
    if (!inspect_->openRun(dir, data, gridLimit)) {
        showError(tr("The run session is busy; wait or cancel the running job."));
        return false;
    }
    log(tr("inspecting %1").arg(dir));
    tabs_->setCurrentWidget(inspect_->inspector());
    return true;
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (controller_->busy()) {
        // Stop between steps, then close once the worker has finished; the last finished epoch's
        // checkpoint stays the resumable state.
        close_after_stop_ = true;
        stopTraining();
        statusBar()->showMessage(tr("Stopping the run; the window closes when the current step has finished…"));
        event->ignore();
        return;
    }
    saveSettings();
    event->accept();
}

void MainWindow::buildAnalysisMenu() {
    auto* menu = menuBar()->addMenu(tr("&Analysis"));
    auto* devices = menu->addMenu(tr("&Device for queries and probes"));
    devices->setToolTipsVisible(true);
    analysis_devices_ = new QActionGroup(this);
    const auto list = list_devices();
    for (const auto& d : list.devices) {
        const QString id = QString::fromStdString(d.id());
        auto* a = devices->addAction(QString::fromStdString(d.label()));
        a->setData(id);
        a->setCheckable(true);
        analysis_devices_->addAction(a);
        connect(a, &QAction::triggered, this, [this, id] { setAnalysisDevice(id); });
    }
    if (!list.cpu_only_reason.empty())
        devices->setToolTip(tr("Only the CPU: %1").arg(QString::fromStdString(list.cpu_only_reason)));
}

QString MainWindow::analysisDevice() const { return inspect_->session()->device(); }

void MainWindow::setAnalysisDevice(const QString& device, bool chosen) {
    QString use = device;
    const auto actions = analysis_devices_->actions();
    const bool known = device == QLatin1String("emulated") ||
                       std::any_of(actions.begin(), actions.end(), [&](QAction* a) { return a->data().toString() == device; });
    if (!known) {
        log(tr("Analysis device %1 is not on this machine; queries run on the CPU.").arg(device));
        use = QStringLiteral("cpu");
    }
    analysis_device_chosen_ = analysis_device_chosen_ || chosen;
    for (QAction* a : actions) a->setChecked(a->data().toString() == use);
    RunSession* session = inspect_->session();
    if (session->device() == use) return;
    session->setDevice(use);
    log(tr("Queries and probes run on %1.").arg(device_label(use)));
    if (session->isOpen() && !session->busy()) inspectRun(session->info().dir);
}

void MainWindow::saveSettings() {
    auto settings = openSettings();
    QSettings& s = *settings;
    s.setValue(QStringLiteral("window/geometry"), saveGeometry());
    s.setValue(QStringLiteral("window/state"), saveState());
    s.setValue(QStringLiteral("window/tab"), tabs_->currentIndex());
    s.setValue(QStringLiteral("curves/smoothing"), curves_->smoothing());
    s.setValue(QStringLiteral("curves/log"), curves_->logScale());
    s.setValue(QStringLiteral("curves/byEpoch"), curves_->xByEpoch());
    s.setValue(QStringLiteral("runs/dir"), runs_->runsDir());
    if (analysis_device_chosen_) s.setValue(QStringLiteral("analysis/device"), analysisDevice());
    panel_->saveSettings(s);
}

void MainWindow::loadSettings() {
    auto settings = openSettings();
    QSettings& s = *settings;
    if (!restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray())) resize(1400, 900);
    restoreState(s.value(QStringLiteral("window/state")).toByteArray());
    curves_->setSmoothing(s.value(QStringLiteral("curves/smoothing"), 0.6).toDouble());
    curves_->setLogScale(s.value(QStringLiteral("curves/log"), false).toBool());
    curves_->setXByEpoch(s.value(QStringLiteral("curves/byEpoch"), false).toBool());
    tabs_->setCurrentIndex(s.value(QStringLiteral("window/tab"), 0).toInt());

    QString runs = options_.runs_dir;
    if (runs.isEmpty()) runs = qEnvironmentVariable("VHMN_RUNS_DIR");
    if (runs.isEmpty()) runs = s.value(QStringLiteral("runs/dir")).toString();
    if (runs.isEmpty()) runs = QDir(QStandardPaths::writableLocation(QStandardPaths::HomeLocation)).filePath(QStringLiteral("vhmn-runs"));
    QString data = options_.data_dir;
    if (data.isEmpty()) data = qEnvironmentVariable("VHMN_DATA_DIR");
    if (data.isEmpty() && QDir(QStringLiteral("../shared/datasets")).exists()) data = QDir(QStringLiteral("../shared/datasets")).absolutePath();
    if (!data.isEmpty()) panel_->setDataDir(data);
    panel_->setRunsDir(runs);
    panel_->loadSettings(s);
    runs_->setRunsDir(runs);
    // The analysis device: the user's choice, else the GPU the app trains on, else the CPU.
    const QString trains_on = panel_->value(QStringLiteral("device")).toString();
    if (s.contains(QStringLiteral("analysis/device")))
        setAnalysisDevice(s.value(QStringLiteral("analysis/device")).toString());
    else
        setAnalysisDevice(trains_on.startsWith(QLatin1String("cuda")) ? trains_on : QStringLiteral("cpu"), false);
}

}  // namespace vhmn::gui
