// The desktop app, driven as a user would (offscreen): train on builtin-small and watch the curves,
// pause/resume/stop repeatedly, close mid-training, flag invalid values, show errors from the
// worker, open CLI-made runs (overlay + config differences), remember choices.
#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include <QAction>
#include <QComboBox>
#include <QElapsedTimer>
#include <QProcess>
#include <QSettings>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include "app/common/experiment.h"
#include "app/gui/training/curves_view.h"
#include "app/gui/training/experiment_panel.h"
#include "app/gui/main_window.h"
#include "core/devices.h"
#include "app/gui/runs/runs_browser.h"
#include "app/gui/training/training_controller.h"
#include "core/io/atomic_file.h"
#include "core/io/model_io.h"
#include "core/io/run_record.h"
#include <nlohmann/json.hpp>
#include "tests/dataset_writers.h"
#include "tests/suite.h"
#include "tests/patience.h"
#include "widgets/curve_plot.h"

using namespace vhmn;
using gui::MainWindow;
using State = gui::TrainingController::State;
namespace fs = std::filesystem;

namespace {

/// A window on a temporary runs folder and settings file, set up for a seconds-long run:
/// builtin-small (16×16, 300 + 100 images), a 2-block D = 16 model, batch 64 (5 steps per epoch).
std::unique_ptr<MainWindow> make_window(const QTemporaryDir& tmp, int epochs, const QString& run) {
    gui::MainWindowOptions o;
    o.runs_dir = tmp.filePath(QStringLiteral("runs"));
    o.settings_file = tmp.filePath(QStringLiteral("settings.ini"));
    auto w = std::make_unique<MainWindow>(o);
    auto* p = w->panel();
    p->setDataset(QStringLiteral("builtin-small"));
    p->setPreset(QStringLiteral("cpu-tiny"));
    p->setValue(QStringLiteral("dim"), 16);
    p->setValue(QStringLiteral("latent"), 16);
    p->setValue(QStringLiteral("depth"), 2);
    p->setValue(QStringLiteral("local_slots"), 40);
    p->setValue(QStringLiteral("global_slots"), 20);
    p->setValue(QStringLiteral("batch"), 64);
    p->setValue(QStringLiteral("epochs"), epochs);
    p->setValue(QStringLiteral("log_every"), 1);
    p->setValue(QStringLiteral("augment"), QStringLiteral("basic"));
    p->setValue(QStringLiteral("run_name"), run);
    p->validate();
    w->resize(1200, 800);
    w->show();
    return w;
}

QString run_dir(const QTemporaryDir& tmp, const QString& run) { return tmp.filePath(QStringLiteral("runs/") + run); }

/// `vhmn train` on builtin-small into `out` (a run made by the CLI, as on another machine).
bool cli_train(const QString& out, const QString& lr) {
    QProcess p;
    p.start(QStringLiteral(VHMN_CLI_PATH),
            {QStringLiteral("train"), QStringLiteral("--data"), QStringLiteral("builtin-small"), QStringLiteral("--preset"),
             QStringLiteral("cpu-tiny"), QStringLiteral("--epochs"), QStringLiteral("2"), QStringLiteral("--batch"),
             QStringLiteral("100"), QStringLiteral("--augment"), QStringLiteral("none"), QStringLiteral("--log-every"),
             QStringLiteral("1"), QStringLiteral("--lr"), lr, QStringLiteral("--out"), out});
    return p.waitForFinished(test::patience_ms()) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
}

}  // namespace

class TestGui : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void dataDirectoryOffersItsDatasets() {
        // The panel lists the data directory's datasets (the same search a moved run uses), and the
        // directory itself when it is one.
        QTemporaryDir tmp;
        const fs::path root = tmp.path().toStdString();
        test::writers::write_cifar10(root / "cifar" / "cifar-10-batches-bin");
        fs::create_directories(root / "notes");
        test::writers::write_text(root / "notes" / "readme.txt", "not a dataset");
        auto w = make_window(tmp, 1, QStringLiteral("r"));
        auto* combo = w->panel()->findChild<QComboBox*>(QStringLiteral("dataset"));
        QVERIFY(combo);
        w->panel()->setDataDir(QString::fromStdString(root.string()));
        QVERIFY(combo->findText(QString::fromStdString((root / "cifar").string())) >= 0);
        QVERIFY(combo->findText(QString::fromStdString((root / "notes").string())) < 0);
        const int before = combo->count();
        w->panel()->setDataDir(QString::fromStdString((root / "cifar").string()));  // a dataset itself
        QCOMPARE(combo->count(), before);  // already listed: not added twice
        QVERIFY(w->panel()->knownDataPlaces().contains(QString::fromStdString((root / "cifar").string())));
    }

    void trainingUpdatesCurvesAndFinishes() {
        QTemporaryDir tmp;
        auto w = make_window(tmp, 3, QStringLiteral("short"));
        QVERIFY(QTest::qWaitForWindowExposed(w.get()));
        auto* c = w->controller();
        QString outcome;
        connect(c, &gui::TrainingController::finished, this, [&](const QString& o) { outcome = o; });
        // The event loop keeps running while the worker trains: measure its longest stall.
        qint64 worst_gap = 0;
        QElapsedTimer tick;
        QTimer probe;
        probe.setInterval(10);
        connect(&probe, &QTimer::timeout, this, [&] {
            worst_gap = std::max(worst_gap, tick.restart());
        });
        tick.start();
        probe.start();
        QElapsedTimer started;
        started.start();
        QVERIFY(w->startTraining());
        // Start only hands the request to the worker thread: it returns at once (well under the
        // training's own seconds, even on a busy machine), still busy.
        QVERIFY2(started.elapsed() < 2000, qPrintable(QString::number(started.elapsed())));
        QVERIFY(c->busy());
        QVERIFY(outcome.isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(!outcome.isEmpty(), 120000);
        probe.stop();
        QCOMPARE(outcome, QStringLiteral("finished"));
        QVERIFY2(w->errorText().isEmpty(), qPrintable(w->errorText()));
        // 3 epochs × 5 steps, every step logged; 3 evaluations.
        QCOMPARE(c->history().steps.size(), size_t(15));
        QCOMPARE(c->history().epochs.size(), size_t(3));
        w->curves()->flush();
        auto* loss = w->curves()->plot(QStringLiteral("Loss"));
        QCOMPARE(loss->curves().size(), 2);  // train loss (steps) + test loss (epochs)
        QCOMPARE(loss->curves()[0].y.size(), 15);
        QCOMPARE(loss->curves()[1].y.size(), 3);
        QVERIFY(loss->drawnPoints() >= 15 + 3);
        QCOMPARE(w->curves()->plot(QStringLiteral("β per block"))->curves().size(), 4);  // 2 blocks × 2 branches
        QCOMPARE(w->progressValue(), 1000);
        QVERIFY2(w->progressText().contains(QStringLiteral("epoch 3/3")), qPrintable(w->progressText()));
        // Redraws are coalesced on the 40 ms timer (TestPlots checks bursts in detail).
        const qint64 ms = started.elapsed();
        QVERIFY2(w->curves()->rebuildCount() <= ms / 40 + 6,
                 qPrintable(QStringLiteral("%1 redraws in %2 ms").arg(w->curves()->rebuildCount()).arg(ms)));
        QVERIFY2(worst_gap < 1000, qPrintable(QStringLiteral("event loop stalled %1 ms").arg(worst_gap)));
        // The run folder is complete and the runs browser lists it as finished.
        const QString dir = run_dir(tmp, QStringLiteral("short"));
        for (const char* f : {"config.json", "checkpoint.pt", "model.pt", "run.h5"})
            QVERIFY2(QFile::exists(dir + QLatin1Char('/') + QLatin1String(f)), f);
        const auto& runs = w->runsBrowser()->runs();
        QCOMPARE(runs.size(), size_t(1));
        QVERIFY(runs[0].finished);
        QCOMPARE(runs[0].epochs_done, 3);
        QCOMPARE(runs[0].top1, c->history().epochs.back().test_top1);
        // The run name is now taken: the panel says so on the field, Start is disabled.
        QVERIFY(!w->panel()->valid());
        QVERIFY(!w->panel()->problemOf(QStringLiteral("run_name")).isEmpty());
        QVERIFY(!w->startTraining());
    }

    void pauseResumeStopTenTimes() {
        QTemporaryDir tmp;
        auto w = make_window(tmp, 1000, QStringLiteral("r0"));
        auto* c = w->controller();
        for (int i = 0; i < 10; ++i) {
            w->panel()->setValue(QStringLiteral("run_name"), QStringLiteral("r%1").arg(i));
            w->panel()->validate();
            QVERIFY2(w->startTraining(), qPrintable(w->panel()->issues().join(QLatin1Char(';'))));
            QTRY_VERIFY_WITH_TIMEOUT(c->history().steps.size() >= 2, 60000);
            w->pauseTraining();
            QCOMPARE(c->state(), State::Paused);
            const size_t at_pause = c->history().steps.size();
            // The step in flight finishes, then the trainer holds between steps (however slow the
            // machine); once its queued reports are delivered nothing more arrives.
            QTRY_VERIFY_WITH_TIMEOUT(c->held(), 30000);
            QTest::qWait(100);
            const size_t steps = c->history().steps.size();
            QVERIFY2(steps <= at_pause + 3, qPrintable(QStringLiteral("%1 -> %2").arg(at_pause).arg(steps)));
            QTest::qWait(500);  // unpaused, ~10 steps or more would arrive here
            QCOMPARE(c->history().steps.size(), steps);
            w->resumeTraining();
            QCOMPARE(c->state(), State::Running);
            QTRY_VERIFY_WITH_TIMEOUT(c->history().steps.size() > steps, 30000);
            if (i % 2) {  // stop while paused too
                w->pauseTraining();
            }
            w->stopTraining();
            QTRY_VERIFY_WITH_TIMEOUT(c->state() == State::Idle, 30000);
            QVERIFY2(w->errorText().isEmpty(), qPrintable(w->errorText()));
        }
        QCOMPARE(w->runsBrowser()->runs().size(), size_t(10));
    }

    void closingMidTrainingLeavesAResumableRun() {
        QTemporaryDir tmp;
        auto w = make_window(tmp, 500, QStringLiteral("closed"));
        auto* c = w->controller();
        QVERIFY(w->startTraining());
        QTRY_VERIFY_WITH_TIMEOUT(c->history().epochs.size() >= 1, 60000);
        QTRY_VERIFY_WITH_TIMEOUT(c->history().steps.size() > c->history().epochs.back().step + 1, 60000);
        QVERIFY(!w->close());  // refused for now: stopping first
        QTRY_VERIFY_WITH_TIMEOUT(!w->isVisible(), 60000);
        QCOMPARE(c->state(), State::Idle);
        const QString dir = run_dir(tmp, QStringLiteral("closed"));
        QVERIFY(QFile::exists(dir + QStringLiteral("/checkpoint.pt")));
        QVERIFY(!QFile::exists(dir + QStringLiteral("/model.pt")));
        const RunRecord rec = read_run_record((dir + QStringLiteral("/run.h5")).toStdString());
        QVERIFY(!rec.history.epochs.empty());
        // Resumable with the same code path the GUI and the CLI use.
        app::TrainRequest r;
        r.out = dir.toStdString();
        r.data = "builtin-small";
        r.resume = true;
        r.train.epochs = 1;
        auto trainer = app::make_trainer(r);
        QCOMPARE(trainer->epochs_done(), int64_t(rec.history.epochs.size()));
        QCOMPARE(trainer->config().train.epochs, int64_t(500));
        // ... and from the window: the Runs tab's resume continues it.
        auto w2 = make_window(tmp, 1, QStringLiteral("unused"));
        QVERIFY(w2->resumeRun(dir));
        QTRY_VERIFY_WITH_TIMEOUT(w2->controller()->history().steps.size() > rec.history.steps.size(), 60000);
        QCOMPARE(w2->controller()->history().epochs.size() >= rec.history.epochs.size(), true);
        w2->stopTraining();
        QTRY_VERIFY_WITH_TIMEOUT(!w2->controller()->busy(), 30000);
    }

    void destroyingTheWindowMidTrainingJoinsTheWorker() {
        QTemporaryDir tmp;
        auto w = make_window(tmp, 500, QStringLiteral("destroyed"));
        QVERIFY(w->startTraining());
        QTRY_VERIFY_WITH_TIMEOUT(w->controller()->history().epochs.size() >= 1, 60000);
        // As when the application quits with a run in progress: the controller's destructor stops
        // the run and joins the worker thread (it must not wait for the blocked GUI thread).
        QElapsedTimer t;
        t.start();
        w.reset();
        QVERIFY2(t.elapsed() < 30000, qPrintable(QString::number(t.elapsed())));
        const RunRecord rec = read_run_record(run_dir(tmp, QStringLiteral("destroyed")).toStdString() + "/run.h5");
        QVERIFY(!rec.history.epochs.empty());
    }

    void invalidValuesAreFlaggedInPlace() {
        QTemporaryDir tmp;
        auto w = make_window(tmp, 1, QStringLiteral("v"));
        auto* p = w->panel();
        QVERIFY2(p->valid(), qPrintable(p->issues().join(QLatin1Char(';'))));
        p->setValue(QStringLiteral("window"), 4);
        p->validate();
        QVERIFY(!p->valid());
        QVERIFY(p->problemOf(QStringLiteral("window")).contains(QStringLiteral("odd")));
        QVERIFY(p->field(QStringLiteral("window"))->styleSheet().contains(QStringLiteral("border")));
        QCOMPARE(p->field(QStringLiteral("window"))->toolTip(), p->problemOf(QStringLiteral("window")));
        QVERIFY(!w->startTraining());
        QVERIFY(!w->errorText().isEmpty());
        p->setValue(QStringLiteral("window"), 3);
        p->setValue(QStringLiteral("patch"), 3);  // 16 is not a multiple of 3 (builtin-small is 16×16)
        p->validate();
        QVERIFY(p->problemOf(QStringLiteral("patch")).contains(QStringLiteral("multiple")));
        QVERIFY(p->field(QStringLiteral("window"))->styleSheet().isEmpty());
        p->setValue(QStringLiteral("patch"), 4);
        p->setValue(QStringLiteral("min_lr"), 0.5);  // above lr
        p->validate();
        QVERIFY(!p->problemOf(QStringLiteral("min_lr")).isEmpty());
        p->setValue(QStringLiteral("min_lr"), 0.0);
        p->setDataset(tmp.filePath(QStringLiteral("no-such-dataset")));
        p->validate();
        QVERIFY(p->problemOf(QStringLiteral("dataset")).contains(QStringLiteral("no-such-dataset")));
        p->setDataset(QStringLiteral("builtin-small"));
        p->validate();
        QVERIFY2(p->valid(), qPrintable(p->issues().join(QLatin1Char(';'))));
    }

    void workerErrorsShowInTheWindow() {
        QTemporaryDir tmp;
        // Looks like MNIST (IDX file names) but the files are garbage: the worker's reader fails.
        const QString data = tmp.filePath(QStringLiteral("broken-idx"));
        QDir().mkpath(data);
        for (const char* f : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                              "t10k-labels-idx1-ubyte"}) {
            QFile file(data + QLatin1Char('/') + QLatin1String(f));
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write("not an idx file");
        }
        auto w = make_window(tmp, 1, QStringLiteral("broken"));
        w->panel()->setDataset(data);
        w->panel()->validate();
        QString outcome;
        connect(w->controller(), &gui::TrainingController::finished, this, [&](const QString& o) { outcome = o; });
        QVERIFY2(w->startTraining(), qPrintable(w->panel()->issues().join(QLatin1Char(';'))));
        QTRY_VERIFY_WITH_TIMEOUT(!outcome.isEmpty(), 30000);
        QCOMPARE(outcome, QStringLiteral("failed"));
        QVERIFY2(w->errorText().contains(QStringLiteral("ubyte")), qPrintable(w->errorText()));
        // The window still works: a good run starts and stops afterwards.
        w->panel()->setDataset(QStringLiteral("builtin-small"));
        w->panel()->setValue(QStringLiteral("run_name"), QStringLiteral("after-error"));
        w->panel()->validate();
        QVERIFY(w->startTraining());
        QVERIFY(w->errorText().isEmpty());
        w->stopTraining();
        QTRY_VERIFY_WITH_TIMEOUT(!w->controller()->busy(), 30000);
    }

    void opensCliRunsOverlaysAndComparesConfigs() {
        QTemporaryDir tmp;
        const QString a = tmp.filePath(QStringLiteral("server/cli-a")), b = tmp.filePath(QStringLiteral("server/cli-b"));
        QVERIFY(cli_train(a, QStringLiteral("0.001")));
        // A second run: the same record, its config saying another learning rate.
        fs::copy(a.toStdString(), b.toStdString(), fs::copy_options::recursive);
        {  // ... recorded as trained on 2 processes (data-parallel; the record is otherwise the same)
            const std::string h5 = (fs::path(b.toStdString()) / "run.h5").string();
            auto rec = read_run_record(h5);
            rec.config.train.world_size = 2;
            write_run_record(h5, rec.config, rec.history, load_model((fs::path(b.toStdString()) / "model.pt").string()));
        }
        {
            const std::string cfg = (fs::path(b.toStdString()) / "config.json").string();
            std::ifstream in(cfg);
            nlohmann::json j = nlohmann::json::parse(in);
            in.close();
            j["train"]["lr"] = 0.002;
            std::ofstream(cfg) << j.dump(2);
        }
        auto w = make_window(tmp, 1, QStringLiteral("x"));
        QString error;
        QVERIFY2(w->runsBrowser()->addRunFolder(a, &error), qPrintable(error));
        QVERIFY2(w->runsBrowser()->addRunFolder(b, &error), qPrintable(error));
        QVERIFY(!w->runsBrowser()->addRunFolder(tmp.filePath(QStringLiteral("server")), &error));
        QVERIFY(error.contains(QStringLiteral("config.json")));
        QCOMPARE(w->runsBrowser()->runs().size(), size_t(2));
        QCOMPARE(w->runsBrowser()->runs()[0].epochs_done, 2);
        QVERIFY(w->runsBrowser()->runs()[0].top1 >= 0);

        QVERIFY(w->openRuns({a}));
        w->curves()->flush();
        auto* loss = w->curves()->plot(QStringLiteral("Loss"));
        QCOMPARE(loss->curves().size(), 2);
        QCOMPARE(loss->curves()[0].y.size(), 6);  // 2 epochs × 3 steps (300 images, batch 100)
        QVERIFY(loss->drawnPoints() > 0);
        QCOMPARE(w->curves()->runs()[0].world_size, int64_t(1));
        QVERIFY(w->openRuns({b}));  // a data-parallel run opens like any other and says so
        QCOMPARE(w->curves()->runs()[0].world_size, int64_t(2));

        QVERIFY(w->openRuns({a, b}));  // overlay
        w->curves()->flush();
        QCOMPARE(loss->curves().size(), 4);
        QVERIFY(loss->curves()[0].name.startsWith(QStringLiteral("cli-a")));
        QVERIFY(loss->curves()[2].name.startsWith(QStringLiteral("cli-b")));
        QVERIFY(loss->curves()[0].color != loss->curves()[2].color);

        w->runsBrowser()->select({QDir(a).absolutePath(), QDir(b).absolutePath()});
        QCOMPARE(w->runsBrowser()->selectedDirs().size(), 2);
        w->runsBrowser()->compareSelected();
        auto* diff = w->runsBrowser()->differencesTable();
        QCOMPARE(diff->rowCount(), 1);  // only the learning rate differs
        QCOMPARE(diff->item(0, 0)->text(), QStringLiteral("/train/lr"));
        QCOMPARE(diff->item(0, 1)->text(), QStringLiteral("0.001"));
        QCOMPARE(diff->item(0, 2)->text(), QStringLiteral("0.002"));
        // Final metrics: two cases (the learning rates), one run each, exportable.
        const Table& m = w->runsBrowser()->metricsTable();
        QCOMPARE(m.rows(), size_t(2));
        QCOMPARE(m.columns()[2], std::string("lr"));
        QCOMPARE(std::get<int64_t>(m.at(0, m.column("runs"))), int64_t(1));
        QCOMPARE(w->runsBrowser()->metricsView()->rowCount(), 2);
        for (const char* ext : {"csv", "md", "tex"}) {
            const QString path = tmp.filePath(QStringLiteral("final.") + QLatin1String(ext));
            QVERIFY(w->runsBrowser()->exportMetrics(path));
            QVERIFY(QFileInfo(path).size() > 0);
        }
        QVERIFY(read_text_file(tmp.filePath(QStringLiteral("final.tex")).toStdString()).find("$\\pm$") != std::string::npos);
        QVERIFY(!w->runsBrowser()->exportMetrics(tmp.filePath(QStringLiteral("final.xls"))));

        QVERIFY(!w->openRuns({tmp.filePath(QStringLiteral("server"))}));
        QVERIFY(w->errorText().contains(QStringLiteral("run.h5")));
    }

    void configDifferencesListMissingKeys() {
        const auto d = gui::config_differences(
            {QStringLiteral(R"({"model":{"dim":64,"depth":4},"train":{"lr":0.001}})"),
             QStringLiteral(R"({"model":{"dim":128,"depth":4}})")});
        QCOMPARE(d.size(), size_t(2));
        QCOMPARE(d[0].first, QStringLiteral("/model/dim"));
        QCOMPARE(d[0].second, (QStringList{QStringLiteral("64"), QStringLiteral("128")}));
        QCOMPARE(d[1].first, QStringLiteral("/train/lr"));
        QCOMPARE(d[1].second[1], QStringLiteral("—"));
        QCOMPARE(gui::config_differences({QStringLiteral(R"({"a":1})")}, true).size(), size_t(1));
        // Arrays are one value (class names are not split into one row per class).
        const auto names = gui::config_differences({QStringLiteral(R"({"data":{"class_names":["a","b"]}})"),
                                                    QStringLiteral(R"({"data":{"class_names":["a","c"]}})")});
        QCOMPARE(names.size(), size_t(1));
        QCOMPARE(names[0].first, QStringLiteral("/data/class_names"));
        QCOMPARE(names[0].second[1], QStringLiteral(R"(["a","c"])"));
    }

    void deviceListIsTheRuntimes() {
        // The panel's Device list is the runtime's: cpu, then each visible GPU as
        // "cuda:N — NAME, X GiB"; here (no GPU) exactly cpu, and the tooltip says why.
        QTemporaryDir tmp;
        auto w = make_window(tmp, 1, QStringLiteral("d"));
        auto* device = w->panel()->findChild<QComboBox*>(QStringLiteral("device"));
        QVERIFY(device);
        const auto list = list_devices();
        QCOMPARE(device->count(), int(list.devices.size()));
        for (int i = 0; i < device->count(); ++i) {
            QCOMPARE(device->itemText(i), QString::fromStdString(list.devices[size_t(i)].label()));
            QCOMPARE(device->itemData(i).toString(), QString::fromStdString(list.devices[size_t(i)].id()));
        }
        QCOMPARE(device->itemText(0), QStringLiteral("cpu"));
        if (list.devices.size() == 1)
            QVERIFY2(device->toolTip().contains(QString::fromStdString(list.cpu_only_reason)), qPrintable(device->toolTip()));
        // Precision is a GPU's: greyed for the CPU, whose request keeps the defaults (fp32 runs).
        auto* precision = w->panel()->findChild<QComboBox*>(QStringLiteral("precision"));
        auto* tf32 = w->panel()->findChild<QComboBox*>(QStringLiteral("tf32"));
        QVERIFY(precision && tf32);
        w->panel()->setValue(QStringLiteral("device"), QStringLiteral("cpu"));
        QVERIFY(!precision->isEnabled() && !tf32->isEnabled());
        // Greyed, they show what a CPU run computes in.
        QCOMPARE(w->panel()->value(QStringLiteral("precision")).toString(), QStringLiteral("fp32"));
        QCOMPARE(w->panel()->value(QStringLiteral("tf32")).toString(), QStringLiteral("off"));
        const auto r = w->panel()->request();
        QCOMPARE(r.train.device, std::string("cpu"));
        QVERIFY(r.train.bf16 && r.train.tf32);  // the CPU ignores them; the request is as before
    }

    void progressLineShowsTheDeviceAndGpuMemory() {
        // A GPU run's step carries the caching allocator's figures; the Training tab shows them
        // with the device (fed here as a GPU run's step would arrive).
        QTemporaryDir tmp;
        auto w = make_window(tmp, 1, QStringLiteral("g"));
        StepStats s;
        s.step = 3, s.total_steps = 10, s.epochs = 1, s.images_per_s = 1234, s.eta_s = 5;
        Q_EMIT w->controller()->stepReported(s);
        QVERIFY2(!w->progressText().contains(QStringLiteral("GPU memory")), qPrintable(w->progressText()));
        s.gpu_allocated = 1.5 * double(1 << 30), s.gpu_reserved = 2.0 * double(1 << 30);
        s.gpu_peak_allocated = 1.75 * double(1 << 30), s.gpu_peak_reserved = 2.5 * double(1 << 30);
        Q_EMIT w->controller()->stepReported(s);
        QVERIFY2(w->progressText().contains(QStringLiteral("1234 img/s")), qPrintable(w->progressText()));
        QVERIFY2(w->progressText().contains(QStringLiteral("GPU memory 1.5 GiB allocated, 2.0 reserved \u00b7 peak 1.8 / 2.5")),
                 qPrintable(w->progressText()));
        // And the step's JSON keeps them (run.h5, checkpoints), absent for a CPU step.
        const nlohmann::json j = s;
        QCOMPARE(j["gpu_peak_reserved"].get<double>(), 2.5 * double(1 << 30));
        StepStats back = j.get<StepStats>();
        QCOMPARE(back.gpu_allocated, s.gpu_allocated);
        QVERIFY(!nlohmann::json(StepStats{}).contains("gpu_allocated"));
        QCOMPARE(nlohmann::json(StepStats{}).get<StepStats>().gpu_allocated, -1.0);
    }

    void runsShowTheirDeviceAndAnalysisDeviceIsRemembered() {
        QTemporaryDir tmp;
        const QString run = tmp.filePath(QStringLiteral("runs/cli"));
        QVERIFY(cli_train(run, QStringLiteral("0.001")));
        {
            auto w = make_window(tmp, 1, QStringLiteral("x"));
            w->runsBrowser()->refresh();
            auto* table = w->runsBrowser()->runsTable();
            QCOMPARE(table->horizontalHeaderItem(5)->text(), QStringLiteral("Device"));
            QCOMPARE(table->item(0, 5)->text(), QStringLiteral("cpu"));
            QVERIFY2(table->item(0, 5)->toolTip().contains(QStringLiteral("fp32")), qPrintable(table->item(0, 5)->toolTip()));
            // The analysis device: the CPU by default (the panel trains on the CPU), remembered once chosen.
            QCOMPARE(w->analysisDevice(), QStringLiteral("cpu"));
            w->setAnalysisDevice(QStringLiteral("emulated"));
            QCOMPARE(w->analysisDevice(), QStringLiteral("emulated"));
            QVERIFY(w->close());
        }
        gui::MainWindowOptions o;
        o.runs_dir = tmp.filePath(QStringLiteral("runs"));
        o.settings_file = tmp.filePath(QStringLiteral("settings.ini"));
        MainWindow w(o);
        QCOMPARE(w.analysisDevice(), QStringLiteral("emulated"));
        w.setAnalysisDevice(QStringLiteral("cuda:9"));  // not on this machine: the CPU, said in Messages
        QCOMPARE(w.analysisDevice(), QStringLiteral("cpu"));
    }

    void choicesAreRemembered() {
        QTemporaryDir tmp;
        {
            auto w = make_window(tmp, 7, QStringLiteral("s"));
            w->curves()->setSmoothing(0.85);
            w->curves()->setXByEpoch(true);
            w->panel()->setValue(QStringLiteral("dim"), 24);
            QVERIFY(w->close());
        }
        gui::MainWindowOptions o;
        o.runs_dir = tmp.filePath(QStringLiteral("runs"));
        o.settings_file = tmp.filePath(QStringLiteral("settings.ini"));
        MainWindow w(o);
        QCOMPARE(w.panel()->value(QStringLiteral("epochs")).toInt(), 7);
        QCOMPARE(w.panel()->value(QStringLiteral("dim")).toInt(), 24);
        QCOMPARE(w.panel()->dataset(), QStringLiteral("builtin-small"));
        QCOMPARE(w.curves()->smoothing(), 0.85);
        QVERIFY(w.curves()->xByEpoch());
    }
};
VHMN_TEST_SUITE(TestGui);

#include "test_gui.moc"
