// `vhmn-studio` — the desktop app.
#include <torch/torch.h>  // before Qt (libtorch uses `slots` as an identifier)

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <QApplication>
#include <QCoreApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QIcon>
#include <QTimer>

#include "app/gui/training/curves_view.h"
#include "app/gui/training/experiment_panel.h"
#include "app/gui/analysis/corruptions_view.h"
#include "app/gui/analysis/forgetting_view.h"
#include "app/gui/analysis/inspector_view.h"
#include "app/gui/analysis/memory_map_view.h"
#include "app/gui/analysis/memory_view.h"
#include "app/gui/analysis/robustness_view.h"
#include "app/gui/analysis/run_session.h"
#include "app/gui/analysis/soak.h"
#include "app/gui/analysis/workspace.h"
#include "app/gui/main_window.h"
#include "app/gui/runs/runs_browser.h"
#include "app/gui/training/training_controller.h"
#include "core/runtime.h"

namespace {

/// --help and --version print and exit: they need no display, so no QApplication either.
bool printsAndExits(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        for (const char* flag : {"-h", "--help", "--help-all", "-?", "-v", "--version"})
            if (std::strcmp(argv[i], flag) == 0) return true;
    return false;
}

/// The app's options, one row each: name, help, value name ("" for a switch), default.
struct OptionRow {
    const char* name;
    const char* help;
    const char* value;
    const char* fallback;
};
const OptionRow kOptions[] = {
    {"data-dir", "Folder whose datasets are offered (default $VHMN_DATA_DIR).", "dir", ""},
    {"runs-dir", "Runs directory (default $VHMN_RUNS_DIR, else the last one, else ~/vhmn-runs).", "dir", ""},
    {"dataset", "Dataset path or 'builtin'.", "path", ""},
    {"preset", "Model preset.", "name", ""},
    {"epochs", "Epochs.", "n", ""},
    {"augment", "Augmentation recipe.", "name", ""},
    {"run-name", "Run folder name.", "name", ""},
    {"train", "Start training at once with the choices above.", "", ""},
    {"open", "Show a run folder's curves (repeat to overlay).", "dir", ""},
    {"tab", "Tab to show: training, runs, model, inspector, memory, forgetting, map, robustness (Fig. 2 and 6) or "
            "corruptions (CIFAR-10-C).", "name", ""},
    {"screenshot", "Save a PNG of the window after the delay and quit.", "file", ""},
    {"screenshot-delay", "Milliseconds before the screenshot (default 500).", "ms", "500"},
    {"size", "Window size WxH.", "WxH", ""},
    {"set", "Set an experiment field, e.g. --set fraction=0.2 (repeatable).", "key=value", ""},
    // Inspection of a trained run; with --screenshot the picture is taken once the asked work is
    // done (the image queried, the job finished).
    {"inspect", "Open a run folder in the Inspector, Memory and Robustness tabs.", "dir", ""},
    {"inspect-data", "Dataset of the inspected run (default: the one in its config).", "path", ""},
    {"inspect-index", "Test image to show in the inspector.", "n", ""},
    {"inspect-block", "Block whose prototypes are shown.", "n", ""},
    {"compute", "Job to run once the run is open: memory, robustness, stability, ablation, leave-class-out, map or "
                "corruptions (CIFAR-10-C).", "job", ""},
    {"probe-limit", "Test images for --compute (0: all; default 1000).", "n", "1000"},
    {"c-dir", "Released CIFAR-10-C files for --compute corruptions (default: generate them).", "dir", ""},
    {"inspect-corruption", "CIFAR-10-C corruption applied to the inspected image (e.g. fog).", "name", ""},
    {"inspect-severity", "Its severity, 1-5 (default 3).", "s", "3"},
    {"memory-class", "Class shown in the memory view.", "c", ""},
    {"soak", "With --inspect: click test images and recompute the Memory and Robustness tabs for this many seconds, "
             "logging resident memory every 10 s, then quit.", "seconds", ""},
    {"soak-log", "CSV written by --soak (default soak.csv).", "file", "soak.csv"},
    {"bash-completion", "Print the bash completion script of vhmn-studio and quit.", "", ""},
    {"figure-pack", "With --inspect: write the run's figure pack (Fig. 2, 3, 5, 6, Tables 3 and 9, CIFAR-10-C, evidence) "
                    "into this folder without a window (offscreen), then quit. CIFAR-10-C is computed over --probe-limit "
                    "test images when the run has no stored result.", "dir", ""},
};

/// The values --tab and --compute accept.
const QStringList kTabs{QStringLiteral("training"),   QStringLiteral("runs"),       QStringLiteral("model"),
                        QStringLiteral("inspector"),  QStringLiteral("memory"),     QStringLiteral("forgetting"),
                        QStringLiteral("map"),        QStringLiteral("robustness"), QStringLiteral("corruptions")};
const QStringList kJobs{QStringLiteral("memory"),   QStringLiteral("robustness"),      QStringLiteral("stability"),
                        QStringLiteral("ablation"), QStringLiteral("leave-class-out"), QStringLiteral("map"),
                        QStringLiteral("corruptions")};

/// The parsed command line, read by option name.
struct Args {
    QCommandLineParser parser;
    bool has(const char* name) const { return parser.isSet(QString::fromLatin1(name)); }
    QString value(const char* name) const { return parser.value(QString::fromLatin1(name)); }
    int number(const char* name) const { return value(name).toInt(); }
};

void defineOptions(QCommandLineParser& parser) {
    parser.setApplicationDescription(QStringLiteral("Train and inspect Vision Hopfield Memory Networks"));
    parser.addHelpOption();
    parser.addVersionOption();
    for (const auto& o : kOptions)
        parser.addOption(*o.value ? QCommandLineOption(QString::fromLatin1(o.name), QString::fromUtf8(o.help),
                                                       QString::fromLatin1(o.value), QString::fromLatin1(o.fallback))
                                  : QCommandLineOption(QString::fromLatin1(o.name), QString::fromUtf8(o.help)));
}

/// `vhmn-studio --bash-completion`: the completion script, from the option table above.
void printBashCompletion() {
    std::string opts = "--help --version";
    for (const auto& o : kOptions) opts += std::string(" --") + o.name;
    std::printf("# bash completion for vhmn-studio, generated from its option table by `vhmn-studio --bash-completion`\n"
                "_vhmn_studio() {\n"
                "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
                "  case \"$prev\" in\n"
                "    --tab) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return ;;\n"
                "    --compute) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return ;;\n"
                "  esac\n"
                "  if [[ \"$cur\" == -* ]]; then COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); else COMPREPLY=(); fi\n"
                "}\n"
                "complete -o default -F _vhmn_studio vhmn-studio\n",
                qPrintable(kTabs.join(QLatin1Char(' '))), qPrintable(kJobs.join(QLatin1Char(' '))), opts.c_str());
}

/// An unknown --tab or --compute value, or --figure-pack without --inspect: one message, false.
bool validateChoices(const Args& a) {
    for (const auto& [name, valid] : {std::pair{"tab", &kTabs}, std::pair{"compute", &kJobs}}) {
        if (a.has(name) && !valid->contains(a.value(name))) {
            std::fprintf(stderr, "vhmn-studio: error: --%s %s is none of: %s\n", name, qPrintable(a.value(name)),
                         qPrintable(valid->join(QStringLiteral(", "))));
            return false;
        }
    }
    if (a.has("figure-pack") && !a.has("inspect")) {
        std::fprintf(stderr, "vhmn-studio: error: --figure-pack needs --inspect RUN (the run whose pack is written)\n");
        return false;
    }
    return true;
}

/// --figure-pack DIR: once the run is open, CIFAR-10-C when the run has no stored result, then the
/// pack; its files are listed on stdout and the app quits (1 on any failure).
void figurePackThenQuit(const Args& a, vhmn::gui::MainWindow& window) {
    auto* ws = window.inspectWorkspace();
    auto* session = ws->session();
    const QString dir = a.value("figure-pack");
    auto pack = [ws, dir, limit = a.number("probe-limit")] {
        vhmn::gui::FigurePackRequest r;
        r.dir = dir;
        r.limit = limit;
        if (!ws->writeFigurePack(r)) QApplication::exit(1);
    };
    QObject::connect(session, &vhmn::gui::RunSession::opened, &window, [session, ws, pack] {
        if (session->corruptions().corruptions.isEmpty()) ws->corruptions()->run();
        else pack();
    });
    QObject::connect(session, &vhmn::gui::RunSession::jobFinished, &window,
                     [pack](const QString& job, const QString& outcome, const QString&) {
                         if (job == QLatin1String("CIFAR-10-C") && outcome == QLatin1String("finished")) pack();
                         else if (outcome != QLatin1String("finished")) QApplication::exit(1);
                     });
    QObject::connect(ws, &vhmn::gui::InspectWorkspace::figurePackWritten, &window, [](const QStringList& files, const QString& error) {
        if (!error.isEmpty()) {
            std::fprintf(stderr, "vhmn-studio: error: figure pack: %s\n", qPrintable(error));
            return QApplication::exit(1);
        }
        for (const QString& f : files) std::printf("wrote %s\n", qPrintable(f));
        std::fflush(stdout);
        QApplication::exit(0);
    });
    QObject::connect(session, &vhmn::gui::RunSession::failed, &window, [](const QString& what, const QString& m) {
        std::fprintf(stderr, "vhmn-studio: error: %s: %s\n", qPrintable(what), qPrintable(m));
        QApplication::exit(1);
    });
}

/// The experiment panel's fields from --dataset, --preset, --epochs, --augment, --run-name and --set.
/// False (after a message) for a --set that names no field.
bool applyPanelOptions(const Args& a, vhmn::gui::ExperimentPanel* panel) {
    if (a.has("dataset")) panel->setDataset(a.value("dataset"));
    if (a.has("preset")) panel->setPreset(a.value("preset"));
    if (a.has("epochs")) panel->setValue(QStringLiteral("epochs"), a.number("epochs"));
    if (a.has("augment")) panel->setValue(QStringLiteral("augment"), a.value("augment"));
    if (a.has("run-name")) panel->setValue(QStringLiteral("run_name"), a.value("run-name"));
    for (const QString& kv : a.parser.values(QStringLiteral("set"))) {
        const int eq = kv.indexOf(QLatin1Char('='));
        if (eq <= 0 || !panel->field(kv.left(eq))) {
            qCritical("--set %s: expected KEY=VALUE with a field of the experiment panel", qPrintable(kv));
            return false;
        }
        panel->setValue(kv.left(eq), kv.mid(eq + 1));
    }
    return true;
}

/// --open: the runs' curves, overlaid and compared. False when one could not be opened.
bool openRuns(const Args& a, vhmn::gui::MainWindow& window) {
    QStringList dirs;
    for (const QString& d : a.parser.values(QStringLiteral("open"))) {
        dirs << QDir(d).absolutePath();
        window.runsBrowser()->addRunFolder(dirs.back());
    }
    const bool ok = window.openRuns(dirs);
    window.runsBrowser()->select(dirs);
    window.runsBrowser()->compareSelected();
    return ok;
}

/// What --compute asks once the inspected run is open.
void startJob(const QString& job, vhmn::gui::InspectWorkspace* ws) {
    if (job == QLatin1String("memory")) ws->memory()->compute();
    else if (job == QLatin1String("robustness")) ws->robustness()->runRobustness();
    else if (job == QLatin1String("stability")) ws->robustness()->runStability();
    else if (job == QLatin1String("ablation")) ws->forgetting()->runAblation();
    else if (job == QLatin1String("leave-class-out")) ws->forgetting()->runLeaveClassOut();
    else if (job == QLatin1String("map")) ws->memoryMap()->draw();
    else if (job == QLatin1String("corruptions")) ws->corruptions()->run();
}

/// --inspect and the options that go with it. False when the run could not be opened.
bool inspect(const Args& a, vhmn::gui::MainWindow& window) {
    auto* ws = window.inspectWorkspace();
    const int limit = a.number("probe-limit");
    ws->memory()->setLimit(limit);
    ws->robustness()->setLimit(limit);
    ws->forgetting()->setLimit(limit);
    ws->corruptions()->setLimit(limit);
    if (a.has("c-dir")) ws->corruptions()->setReleasedDir(a.value("c-dir"));
    if (a.has("inspect-corruption"))
        ws->inspector()->setSuiteCorruption(a.value("inspect-corruption"), a.number("inspect-severity"));
    QObject::connect(ws->session(), &vhmn::gui::RunSession::opened, &window, [&a, &window, ws] {
        if (a.has("inspect-block")) ws->inspector()->setBlock(a.number("inspect-block"));
        if (a.has("memory-class")) ws->memory()->setClass(a.number("memory-class"));
        if (a.has("inspect-index")) ws->inspector()->inspect(a.number("inspect-index"));
        startJob(a.value("compute"), ws);
        if (a.has("tab")) window.showTab(a.value("tab"));
    });
    if (a.has("soak")) new vhmn::gui::SoakDriver(ws, a.number("soak"), a.value("soak-log"), &window);
    const bool ok = window.inspectRun(a.value("inspect"), a.value("inspect-data"));
    if (a.has("tab")) window.showTab(a.value("tab"));
    return ok;
}

/// --screenshot of an inspected run: after what was asked (the job, the queried image, or just the
/// opened run); any failure quits with 1.
void screenshotWhenInspected(const Args& a, vhmn::gui::MainWindow& window) {
    const QString file = a.value("screenshot");
    const int ms = a.number("screenshot-delay");
    auto later = [&window, file, ms] {
        QTimer::singleShot(ms, &window, [&window, file] { QApplication::exit(window.grab().save(file, "PNG") ? 0 : 1); });
    };
    auto* session = window.inspectWorkspace()->session();
    if (a.has("compute"))
        QObject::connect(session, &vhmn::gui::RunSession::jobFinished, &window,
                         [later](const QString& job, const QString&, const QString&) {
                             if (job != QLatin1String("open")) later();
                         });
    else if (a.has("inspect-index"))
        QObject::connect(window.inspectWorkspace()->inspector(), &vhmn::gui::InspectorView::resultShown, &window,
                         [later](int) { later(); });
    else
        QObject::connect(session, &vhmn::gui::RunSession::opened, &window, later);
    QObject::connect(session, &vhmn::gui::RunSession::failed, &window, [](const QString& what, const QString& m) {
        qCritical("%s: %s", qPrintable(what), qPrintable(m));
        QApplication::exit(1);
    });
}

/// --screenshot of the main window after the delay (quitting mid-training stops the run first).
void screenshotAfterDelay(const Args& a, vhmn::gui::MainWindow& window) {
    const QString file = a.value("screenshot");
    QTimer::singleShot(a.number("screenshot-delay"), &window, [&window, file] {
        window.curves()->flush();
        const bool ok = window.grab().save(file, "PNG");
        window.controller()->stop();  // the controller stops the run and joins its thread
        QApplication::exit(ok ? 0 : 1);
    });
}

}  // namespace

/// --figure-pack draws without a window: offscreen unless a platform was chosen.
void offscreenForFigurePack(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strncmp(argv[i], "--figure-pack", 13) == 0 && !std::getenv("QT_QPA_PLATFORM")) ::setenv("QT_QPA_PLATFORM", "offscreen", 1);
}

int main(int argc, char** argv) {
    vhmn::configure_allocator();
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--bash-completion") == 0) return printBashCompletion(), 0;
    offscreenForFigurePack(argc, argv);
    const std::unique_ptr<QCoreApplication> app =
        printsAndExits(argc, argv) ? std::make_unique<QCoreApplication>(argc, argv) : std::make_unique<QApplication>(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("V-HMN Studio"));
    QCoreApplication::setOrganizationName(QStringLiteral("vhmn-studio"));
    QCoreApplication::setApplicationVersion(QStringLiteral(VHMN_VERSION));
    Args a;
    defineOptions(a.parser);
    // A bad request (an unknown option, a missing value, a nonsense --tab) exits 2, as `vhmn` does.
    if (!a.parser.parse(QCoreApplication::arguments())) {
        std::fprintf(stderr, "vhmn-studio: error: %s\nRun with --help for the options.\n", qPrintable(a.parser.errorText()));
        return 2;
    }
    if (a.has("help")) a.parser.showHelp(0);
    if (a.has("version")) a.parser.showVersion();
    if (!validateChoices(a)) return 2;
    QGuiApplication::setDesktopFileName(QStringLiteral("vhmn-studio"));
    QApplication::setWindowIcon(QIcon(QStringLiteral(":/vhmn/vhmn-studio.svg")));

    vhmn::configure_threads();
    vhmn::gui::MainWindowOptions options;
    options.data_dir = a.value("data-dir");
    options.runs_dir = a.value("runs-dir");
    vhmn::gui::MainWindow window(options);
    auto* panel = window.panel();
    if (!applyPanelOptions(a, panel)) return 2;
    if (a.has("size")) {
        const QStringList wh = a.value("size").split(QLatin1Char('x'));
        if (wh.size() == 2) window.resize(wh[0].toInt(), wh[1].toInt());
    }
    const bool headlessPack = a.has("figure-pack");
    if (!headlessPack) window.show();
    int rc = 0;
    if (a.has("open") && !openRuns(a, window)) rc = 1;
    if (a.has("tab")) window.showTab(a.value("tab"));
    if (a.has("train")) {
        panel->validate();
        if (!window.startTraining()) {
            qCritical("%s", qPrintable(panel->issues().join(QLatin1Char('\n'))));
            rc = 1;
        }
    }
    const bool inspecting = a.has("inspect");
    if (headlessPack) figurePackThenQuit(a, window);
    if (inspecting && !inspect(a, window)) rc = 1;
    if (a.has("screenshot")) inspecting ? screenshotWhenInspected(a, window) : screenshotAfterDelay(a, window);
    if (rc != 0 && !a.has("screenshot")) return rc;
    return app->exec();
}
