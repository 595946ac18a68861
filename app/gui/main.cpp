// `vhmn-studio` — the desktop app.
#include <torch/torch.h>  // before Qt (libtorch uses `slots` as an identifier)

#include <cstring>
#include <memory>

#include <QApplication>
#include <QCoreApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QIcon>
#include <QTimer>

#include "app/gui/curves_view.h"
#include "app/gui/experiment_panel.h"
#include "app/gui/inspector/corruptions_view.h"
#include "app/gui/inspector/forgetting_view.h"
#include "app/gui/inspector/inspector_view.h"
#include "app/gui/inspector/memory_map_view.h"
#include "app/gui/inspector/memory_view.h"
#include "app/gui/inspector/robustness_view.h"
#include "app/gui/inspector/run_session.h"
#include "app/gui/inspector/soak.h"
#include "app/gui/inspector/workspace.h"
#include "app/gui/main_window.h"
#include "app/gui/runs_browser.h"
#include "app/gui/training_controller.h"
#include "core/runtime.h"

using QOption = QCommandLineOption;

namespace {

/// --help and --version print and exit: they need no display, so no QApplication either.
bool printsAndExits(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        for (const char* flag : {"-h", "--help", "--help-all", "-?", "-v", "--version"})
            if (std::strcmp(argv[i], flag) == 0) return true;
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    vhmn::configure_allocator();
    const std::unique_ptr<QCoreApplication> app =
        printsAndExits(argc, argv) ? std::make_unique<QCoreApplication>(argc, argv) : std::make_unique<QApplication>(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("V-HMN Studio"));
    QCoreApplication::setOrganizationName(QStringLiteral("vhmn-studio"));
    QCoreApplication::setApplicationVersion(QStringLiteral(VHMN_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Train and inspect Vision Hopfield Memory Networks"));
    parser.addHelpOption();
    parser.addVersionOption();
    const QCommandLineOption data_dir(QStringLiteral("data-dir"),
                                      QStringLiteral("Folder whose datasets are offered (default $VHMN_DATA_DIR)."),
                                      QStringLiteral("dir"));
    const QCommandLineOption runs_dir(QStringLiteral("runs-dir"),
                                      QStringLiteral("Runs directory (default $VHMN_RUNS_DIR, else the last one, else ~/vhmn-runs)."),
                                      QStringLiteral("dir"));
    const QCommandLineOption dataset(QStringLiteral("dataset"), QStringLiteral("Dataset path or 'builtin'."), QStringLiteral("path"));
    const QCommandLineOption preset(QStringLiteral("preset"), QStringLiteral("Model preset."), QStringLiteral("name"));
    const QCommandLineOption epochs(QStringLiteral("epochs"), QStringLiteral("Epochs."), QStringLiteral("n"));
    const QCommandLineOption augment(QStringLiteral("augment"), QStringLiteral("Augmentation recipe."), QStringLiteral("name"));
    const QCommandLineOption run_name(QStringLiteral("run-name"), QStringLiteral("Run folder name."), QStringLiteral("name"));
    const QCommandLineOption train(QStringLiteral("train"), QStringLiteral("Start training at once with the choices above."));
    const QCommandLineOption open(QStringLiteral("open"), QStringLiteral("Show a run folder's curves (repeat to overlay)."),
                                  QStringLiteral("dir"));
    const QCommandLineOption tab(QStringLiteral("tab"), QStringLiteral("Tab to show: training, runs, model, inspector, memory, forgetting, map, robustness (Fig. 2 and 6) or corruptions (CIFAR-10-C)."), QStringLiteral("name"));
    const QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                        QStringLiteral("Save a PNG of the window after the delay and quit."),
                                        QStringLiteral("file"));
    const QCommandLineOption delay(QStringLiteral("screenshot-delay"),
                                   QStringLiteral("Milliseconds before the screenshot (default 500)."),
                                   QStringLiteral("ms"), QStringLiteral("500"));
    const QCommandLineOption set(QStringLiteral("set"),
                                 QStringLiteral("Set an experiment field, e.g. --set fraction=0.2 (repeatable)."),
                                 QStringLiteral("key=value"));
    const QCommandLineOption size(QStringLiteral("size"), QStringLiteral("Window size WxH."), QStringLiteral("WxH"));
    // Inspection of a trained run (issue 6); with --screenshot the picture is taken once the asked
    // work is done (the image queried, the job finished).
    const QOption inspect(QStringLiteral("inspect"), QStringLiteral("Open a run folder in the Inspector, Memory and Robustness tabs."),
                          QStringLiteral("dir"));
    const QOption inspect_data(QStringLiteral("inspect-data"),
                               QStringLiteral("Dataset of the inspected run (default: the one in its config)."),
                               QStringLiteral("path"));
    const QOption inspect_index(QStringLiteral("inspect-index"), QStringLiteral("Test image to show in the inspector."),
                                QStringLiteral("n"));
    const QOption inspect_block(QStringLiteral("inspect-block"), QStringLiteral("Block whose prototypes are shown."),
                                QStringLiteral("n"));
    const QOption compute(QStringLiteral("compute"),
                          QStringLiteral("Job to run once the run is open: memory, robustness, stability, ablation, leave-class-out, map "
                                         "or corruptions (CIFAR-10-C)."),
                          QStringLiteral("job"));
    const QOption probe_limit(QStringLiteral("probe-limit"), QStringLiteral("Test images for --compute (0: all; default 1000)."),
                              QStringLiteral("n"), QStringLiteral("1000"));
    const QOption c_dir(QStringLiteral("c-dir"),
                        QStringLiteral("Released CIFAR-10-C files for --compute corruptions (default: generate them)."),
                        QStringLiteral("dir"));
    const QOption inspect_corruption(QStringLiteral("inspect-corruption"),
                                     QStringLiteral("CIFAR-10-C corruption applied to the inspected image (e.g. fog)."),
                                     QStringLiteral("name"));
    const QOption inspect_severity(QStringLiteral("inspect-severity"), QStringLiteral("Its severity, 1-5 (default 3)."),
                                   QStringLiteral("s"), QStringLiteral("3"));
    const QOption memory_class(QStringLiteral("memory-class"), QStringLiteral("Class shown in the memory view."),
                               QStringLiteral("c"));
    const QOption soak(QStringLiteral("soak"),
                       QStringLiteral("With --inspect: click test images and recompute the Memory and Robustness tabs for "
                                      "this many seconds, logging resident memory every 10 s, then quit."),
                       QStringLiteral("seconds"));
    const QOption soak_log(QStringLiteral("soak-log"), QStringLiteral("CSV written by --soak (default soak.csv)."),
                           QStringLiteral("file"), QStringLiteral("soak.csv"));
    parser.addOptions({soak, soak_log});
    parser.addOptions({data_dir, runs_dir, dataset, preset, epochs, augment, run_name, train, open, tab, screenshot, delay, size, set,
                       inspect, inspect_data, inspect_index, inspect_block, compute, probe_limit, c_dir, inspect_corruption,
                       inspect_severity, memory_class});
    parser.process(*app);  // --help / --version print and exit here
    QGuiApplication::setDesktopFileName(QStringLiteral("vhmn-studio"));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/vhmn/vhmn-studio.svg")));

    vhmn::configure_threads();
    vhmn::gui::MainWindowOptions options;
    options.data_dir = parser.value(data_dir);
    options.runs_dir = parser.value(runs_dir);
    vhmn::gui::MainWindow window(options);
    auto* panel = window.panel();
    if (parser.isSet(dataset)) panel->setDataset(parser.value(dataset));
    if (parser.isSet(preset)) panel->setPreset(parser.value(preset));
    if (parser.isSet(epochs)) panel->setValue(QStringLiteral("epochs"), parser.value(epochs).toInt());
    if (parser.isSet(augment)) panel->setValue(QStringLiteral("augment"), parser.value(augment));
    if (parser.isSet(run_name)) panel->setValue(QStringLiteral("run_name"), parser.value(run_name));
    for (const QString& kv : parser.values(set)) {
        const int eq = kv.indexOf(QLatin1Char('='));
        if (eq <= 0 || !panel->field(kv.left(eq))) {
            qCritical("--set %s: expected KEY=VALUE with a field of the experiment panel", qPrintable(kv));
            return 2;
        }
        panel->setValue(kv.left(eq), kv.mid(eq + 1));
    }
    if (parser.isSet(size)) {
        const QStringList wh = parser.value(size).split(QLatin1Char('x'));
        if (wh.size() == 2) window.resize(wh[0].toInt(), wh[1].toInt());
    }
    window.show();
    int rc = 0;
    if (parser.isSet(open)) {
        QStringList dirs;
        for (const QString& d : parser.values(open)) {
            dirs << QDir(d).absolutePath();
            window.runsBrowser()->addRunFolder(dirs.back());
        }
        if (!window.openRuns(dirs)) rc = 1;
        window.runsBrowser()->select(dirs);
        window.runsBrowser()->compareSelected();
    }
    if (parser.isSet(tab)) window.showTab(parser.value(tab));
    if (parser.isSet(train)) {
        panel->validate();
        if (!window.startTraining()) {
            qCritical("%s", qPrintable(panel->issues().join(QLatin1Char('\n'))));
            rc = 1;
        }
    }
    const bool inspecting = parser.isSet(inspect);
    if (inspecting) {
        auto* ws = window.inspectWorkspace();
        const QString job = parser.value(compute);
        const int limit = parser.value(probe_limit).toInt();
        ws->memory()->setLimit(limit);
        ws->robustness()->setLimit(limit);
        ws->forgetting()->setLimit(limit);
        ws->corruptions()->setLimit(limit);
        if (parser.isSet(c_dir)) ws->corruptions()->setReleasedDir(parser.value(c_dir));
        if (parser.isSet(inspect_corruption))
            ws->inspector()->setSuiteCorruption(parser.value(inspect_corruption), parser.value(inspect_severity).toInt());
        QObject::connect(ws->session(), &vhmn::gui::RunSession::opened, &window,
                         [&parser, &window, ws, job, inspect_index, inspect_block, memory_class, tab] {
                             if (parser.isSet(inspect_block)) ws->inspector()->setBlock(parser.value(inspect_block).toInt());
                             if (parser.isSet(memory_class)) ws->memory()->setClass(parser.value(memory_class).toInt());
                             if (parser.isSet(inspect_index)) ws->inspector()->inspect(parser.value(inspect_index).toInt());
                             if (job == QLatin1String("memory")) ws->memory()->compute();
                             else if (job == QLatin1String("robustness")) ws->robustness()->runRobustness();
                             else if (job == QLatin1String("stability")) ws->robustness()->runStability();
                             else if (job == QLatin1String("ablation")) ws->forgetting()->runAblation();
                             else if (job == QLatin1String("leave-class-out")) ws->forgetting()->runLeaveClassOut();
                             else if (job == QLatin1String("map")) ws->memoryMap()->draw();
                             else if (job == QLatin1String("corruptions")) ws->corruptions()->run();
                             if (parser.isSet(tab)) window.showTab(parser.value(tab));
                         });
        if (parser.isSet(soak))
            new vhmn::gui::SoakDriver(ws, parser.value(soak).toInt(), parser.value(soak_log), &window);
        if (!window.inspectRun(parser.value(inspect), parser.value(inspect_data))) rc = 1;
        if (parser.isSet(tab)) window.showTab(parser.value(tab));
    }
    if (parser.isSet(screenshot) && inspecting) {
        // After what was asked: the job, the queried image, or just the opened run.
        const QString file = parser.value(screenshot);
        const int ms = parser.value(delay).toInt();
        auto later = [&window, file, ms] {
            QTimer::singleShot(ms, &window, [&window, file] { QApplication::exit(window.grab().save(file, "PNG") ? 0 : 1); });
        };
        auto* session = window.inspectWorkspace()->session();
        if (parser.isSet(compute))
            QObject::connect(session, &vhmn::gui::RunSession::jobFinished, &window,
                             [later](const QString& job, const QString&, const QString&) {
                                 if (job != QLatin1String("open")) later();
                             });
        else if (parser.isSet(inspect_index))
            QObject::connect(window.inspectWorkspace()->inspector(), &vhmn::gui::InspectorView::resultShown, &window,
                             [later](int) { later(); });
        else
            QObject::connect(session, &vhmn::gui::RunSession::opened, &window, later);
        QObject::connect(session, &vhmn::gui::RunSession::failed, &window, [](const QString& what, const QString& m) {
            qCritical("%s: %s", qPrintable(what), qPrintable(m));
            QApplication::exit(1);
        });
    }
    if (parser.isSet(screenshot) && !inspecting) {
        const QString file = parser.value(screenshot);
        QTimer::singleShot(parser.value(delay).toInt(), &window, [&window, file] {
            window.curves()->flush();
            const bool ok = window.grab().save(file, "PNG");
            // Quitting mid-training: the controller stops the run and joins its thread.
            window.controller()->stop();
            QApplication::exit(ok ? 0 : 1);
        });
    }
    if (rc != 0 && !parser.isSet(screenshot)) return rc;
    return app->exec();
}
