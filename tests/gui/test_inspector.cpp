// The memory inspector, memory view, robustness panel and figure pack (issue 6), driven as a user
// would (offscreen) on a run trained by the CLI on builtin-small: what the views show is compared
// with core's probes on the same run.
#include <algorithm>

#include <torch/torch.h>

#include <QCheckBox>
#include <QDialog>
#include <QFile>
#include <QImage>
#include <QListView>
#include <QProcess>
#include <QPushButton>
#include <QSignalSpy>
#include <QSlider>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <fstream>

#include "app/common/data_location.h"
#include "app/common/experiment.h"
#include "app/gui/analysis/figure_pack.h"
#include "app/gui/analysis/inspector_view.h"
#include "app/gui/analysis/job_bar.h"
#include "app/gui/analysis/memory_view.h"
#include "app/gui/analysis/robustness_view.h"
#include "app/gui/analysis/run_session.h"
#include "app/gui/analysis/tensor_image.h"
#include "app/gui/analysis/workspace.h"
#include "core/io/predictions.h"
#include "core/io/run_record.h"
#include "core/probes/perturbations.h"
#include "core/runtime.h"
#include "core/probes/framework.h"
#include "core/probes/weights.h"
#include "core/probes/hits.h"
#include "core/probes/image.h"
#include "core/probes/robustness.h"
#include "tests/inspector_fixture.h"
#include "tests/suite.h"
#include "tests/patience.h"
#include "widgets/figure_plots.h"
#include "widgets/curve_plot.h"
#include "widgets/image_grid.h"
#include "widgets/image_view.h"
#include "widgets/prototype_strip.h"

using namespace vhmn;
using namespace vhmn::gui;
namespace fs = std::filesystem;
using namespace vhmn::test;

namespace {

/// The prototypes a strip shows equal core's, in order: slot, class, weight, source, box, pixels.
bool same_prototypes(const QVector<widgets::PrototypeCard>& cards, const std::vector<Prototype>& core, QString* why) {
    if (cards.size() != int(core.size())) return *why = QStringLiteral("%1 cards vs %2").arg(cards.size()).arg(core.size()), false;
    for (int i = 0; i < cards.size(); ++i) {
        const auto& c = cards[i];
        const auto& p = core[size_t(i)];
        if (c.slot != p.hit.provenance.slot || c.cls != p.hit.provenance.label || c.source != p.hit.provenance.source ||
            std::abs(c.weight - p.hit.weight) > 1e-6 || c.box != rect_of(p.box) ||
            c.image != tensor_to_image(p.source).convertToFormat(c.image.format()))
            return *why = QStringLiteral("card %1: slot %2/%3 class %4/%5 weight %6/%7 source %8/%9")
                              .arg(i)
                              .arg(c.slot)
                              .arg(p.hit.provenance.slot)
                              .arg(c.cls)
                              .arg(p.hit.provenance.label)
                              .arg(c.weight)
                              .arg(p.hit.weight)
                              .arg(c.source)
                              .arg(p.hit.provenance.source),
                   false;
    }
    return true;
}

}  // namespace

class TestInspector : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QVERIFY2(!shared_run().isEmpty(), "could not train the test run"); }

    void clickShowsTheCoreProbesPrototypes() {
        QWidget window;
        RunSession session;
        auto* view = new InspectorView(&session, &window);
        window.resize(1400, 900);
        view->resize(1400, 900);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(open_session(&session));
        auto& ref = reference();
        QCOMPARE(view->grid()->itemCount(), int(ref.dataset.test.size()));
        // Filters: one class, then only the wrong predictions.
        view->grid()->setFilter(3, widgets::ImageGrid::All);
        QCOMPARE(view->grid()->visibleCount(), int((ref.dataset.test.labels == 3).sum().item<int64_t>()));
        for (int r = 0; r < view->grid()->visibleCount(); ++r)
            QCOMPARE(ref.dataset.test.labels[view->grid()->indexAt(r)].item<int64_t>(), int64_t(3));
        view->grid()->setFilter(-1, widgets::ImageGrid::All);
        const auto& t = session.testSet();
        int wrong = 0;
        for (int i = 0; i < t.labels.size(); ++i) wrong += t.labels[i] != t.predictions[i];
        view->grid()->setFilter(-1, widgets::ImageGrid::Incorrect);
        QCOMPARE(view->grid()->visibleCount(), wrong);
        view->grid()->setFilter(-1, widgets::ImageGrid::All, 0.0, 1.0);

        for (int row : {7, 42}) {
            const int index = view->grid()->indexAt(row);
            QSignalSpy shown(view, &InspectorView::resultShown);
            click_cell(view->grid(), row);
            QVERIFY(shown.wait(30000));
            QCOMPARE(view->shownIndex(), index);
            const auto image = ref.dataset.test.images[index];
            const int64_t label = ref.dataset.test.labels[index].item<int64_t>();
            const auto expected = probe_image(ref.model, image, label, ref.config.data.mean, ref.config.data.std,
                                              ref.dataset.train, 5);
            // The input is the test image, the box its most informative patch, the prediction core's.
            QCOMPARE(view->inputView()->image(), tensor_to_image(image));
            QCOMPARE(view->shown().prediction, int(expected.prediction));
            QCOMPARE(view->inputView()->boxes().back().rect, rect_of(expected.token_box));
            QCOMPARE(view->probabilities()->probabilities().size(), int(expected.probabilities.size()));
            for (size_t c = 0; c < expected.probabilities.size(); ++c)
                QVERIFY(std::abs(view->probabilities()->probabilities()[int(c)] - expected.probabilities[c]) < 1e-6);
            // Every block: exactly core's top-k local and global prototypes.
            for (int b = 0; b < int(expected.blocks.size()); ++b) {
                view->setBlock(b);
                QString why;
                QVERIFY2(same_prototypes(view->localStrip()->cards(), expected.blocks[size_t(b)].local, &why), qPrintable(why));
                QVERIFY2(same_prototypes(view->globalStrip()->cards(), expected.blocks[size_t(b)].global, &why), qPrintable(why));
                // The refinement plot draws core's ‖z_t − q‖ (t = 0..T) and our ‖z_t − m_t‖.
                const auto& steps = view->shown().blocks[b].localSteps;
                QCOMPARE(steps.distanceToQuery.size(), int(expected.blocks[size_t(b)].local_steps.distance.size()));
                QCOMPARE(steps.distanceToMemory.size(), steps.distanceToQuery.size());
                QCOMPARE(steps.distanceToQuery.front(), 0.0);
            }
            QVERIFY(view->lastClickToResultMs() > 0);
        }
        // The overlay shows the pooling weights on the token grid.
        QTest::mouseClick(view->overlayCheck(), Qt::LeftButton, {}, QPoint(5, view->overlayCheck()->height() / 2));
        QVERIFY(view->inputView()->overlayVisible());
        // Clicking a prototype opens its source image with the stored patch boxed.
        view->setBlock(1);
        auto* card = view->localStrip()->cardWidget(1);
        QVERIFY(card);
        QTest::mouseClick(card, Qt::LeftButton, {}, card->rect().center());
        QVERIFY(view->sourceDialog() && view->sourceDialog()->isVisible());
        QCOMPARE(view->sourceImageView()->image(), view->localStrip()->cards()[1].image);
        QCOMPARE(view->sourceImageView()->boxes().front().rect, view->localStrip()->cards()[1].box);
        QCOMPARE(view->localStrip()->cards()[1].box.size(), QSize(4, 4));  // one 4×4 patch
        card = view->globalStrip()->cardWidget(0);
        QTest::mouseClick(card, Qt::LeftButton, {}, card->rect().center());
        QCOMPARE(view->sourceImageView()->boxes().front().rect, QRect(0, 0, 16, 16));  // global: the whole image
    }

    void slidersCorruptTheImageAndRequery() {
        QWidget window;
        RunSession session;
        auto* view = new InspectorView(&session, &window);
        view->resize(1400, 900);
        window.show();
        QVERIFY(open_session(&session));
        auto& ref = reference();
        QSignalSpy shown(view, &InspectorView::resultShown);
        view->inspect(11);
        QVERIFY(shown.wait(30000));
        const QImage clean = view->inputView()->image();
        // Occlusion at a chosen place: the shown input has a black 6×6 square there and the
        // prototypes are core's for that occluded image.
        view->occlusionRowSlider()->setValue(2);
        view->occlusionColSlider()->setValue(5);
        const int before = session.lastImageSerial();
        view->occlusionSlider()->setValue(6);
        QTRY_VERIFY_WITH_TIMEOUT(view->shown().request.serial > before && view->shown().request.serial == session.lastImageSerial(), 30000);
        QCOMPARE(view->shown().request.corruption.occlusion, 6);
        const QImage occluded = view->inputView()->image();
        QVERIFY(occluded != clean);
        for (int y = 0; y < 16; ++y)
            for (int x = 0; x < 16; ++x) {
                const bool inside = y >= 2 && y < 8 && x >= 5 && x < 11;
                if (inside) QCOMPARE(occluded.pixelColor(x, y), QColor(Qt::black));
                else QCOMPARE(occluded.pixel(x, y), clean.pixel(x, y));
            }
        auto x01 = ref.dataset.test.images[11].unsqueeze(0).to(torch::kFloat).div(255.0);
        auto corrupted = occlude_at(x01, 2, 5, 6).mul(255.0).round().to(torch::kUInt8)[0];
        const auto expected = probe_image(ref.model, corrupted, ref.dataset.test.labels[11].item<int64_t>(),
                                          ref.config.data.mean, ref.config.data.std, ref.dataset.train, 5);
        view->setBlock(3);
        QString why;
        QVERIFY2(same_prototypes(view->localStrip()->cards(), expected.blocks[3].local, &why), qPrintable(why));
        QVERIFY2(same_prototypes(view->globalStrip()->cards(), expected.blocks[3].global, &why), qPrintable(why));
        // Noise and contrast change the input again; the same σ gives the same (seeded) noise.
        view->occlusionSlider()->setValue(0);
        view->noiseSlider()->setValue(30);
        QTRY_VERIFY_WITH_TIMEOUT(view->shown().request.serial == session.lastImageSerial(), 30000);
        const QImage noisy = view->inputView()->image();
        QVERIFY(noisy != clean && noisy != occluded);
        QVERIFY(std::abs(view->shown().request.corruption.noise - 0.3) < 1e-9);
        view->contrastSlider()->setValue(50);
        QTRY_VERIFY_WITH_TIMEOUT(view->shown().request.serial == session.lastImageSerial(), 30000);
        QVERIFY(view->inputView()->image() != noisy);
        // Dragging: many moves are coalesced — far fewer queries than moves, the last one wins.
        shown.clear();
        for (int v = 0; v <= 40; ++v) view->noiseSlider()->setValue(v);
        QTRY_VERIFY_WITH_TIMEOUT(view->shown().request.serial == session.lastImageSerial(), 30000);
        QTest::qWait(100);
        QVERIFY2(shown.count() < 30, qPrintable(QString::number(shown.count())));
        QVERIFY(std::abs(view->shown().request.corruption.noise - 0.40) < 1e-9);
    }

    void clickToResultTime() {
        // On the test run here, or on the run named by VHMN_INSPECT_RUN (+ VHMN_INSPECT_DATA) —
        // the README's figure is measured on a cpu-small CIFAR-10 run this way.
        const QString run = qEnvironmentVariable("VHMN_INSPECT_RUN", shared_run());
        const QString data = qEnvironmentVariable("VHMN_INSPECT_DATA", kData);
        QWidget window;
        RunSession session;
        auto* view = new InspectorView(&session, &window);
        window.resize(1400, 900);
        view->resize(1400, 900);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        session.open(run, data, 200);
        QSignalSpy opened(&session, &RunSession::jobFinished);
        QVERIFY(opened.wait(600000) && session.isOpen());
        std::vector<double> ms;
        for (int i = 0; i < 21; ++i) {
            QSignalSpy shown(view, &InspectorView::resultShown);
            click_cell(view->grid(), (i * 37) % view->grid()->visibleCount());
            QVERIFY(shown.wait(30000));
            if (i > 0) ms.push_back(view->lastClickToResultMs());  // the first one warms up
        }
        std::sort(ms.begin(), ms.end());
        const double median = ms[ms.size() / 2], p90 = ms[ms.size() * 9 / 10];
        qInfo("click-to-result on %s: median %.1f ms, p90 %.1f ms, max %.1f ms (%zu clicks)", qPrintable(run), median,
              p90, ms.back(), ms.size());
        QVERIFY2(median < 150.0, qPrintable(QString::number(median)));
    }

    void movedRunIsFoundByFingerprintAndRepointed() {
        // A run whose recorded dataset path is gone (copied from another machine) is opened with
        // the dataset found among the known ones; re-pointing writes data_location.json only.
        QTemporaryDir dir;
        const fs::path run = fs::path(dir.path().toStdString()) / "run";
        fs::copy(shared_run().toStdString(), run, fs::copy_options::recursive);
        auto cfg = nlohmann::json::parse(std::ifstream(run / "config.json"));
        cfg["data"]["path"] = "/nonexistent/server/datasets/builtin-small";
        std::ofstream(run / "config.json") << cfg.dump(2);
        const std::string before = nlohmann::json::parse(std::ifstream(run / "config.json")).dump();
        RunSession session;
        session.setDataDirs({kData});
        QVERIFY(session.open(QString::fromStdString(run.string()), {}, 20));
        QSignalSpy opened(&session, &RunSession::jobFinished);
        QVERIFY(opened.wait(120000) && session.isOpen());
        QCOMPARE(session.info().located, kData);
        QVERIFY(session.info().warnings.join(' ').contains("found the same images by fingerprint"));
        QVERIFY(session.saveDataLocation());
        QCOMPARE(app::saved_data_location(run.string()), kData.toStdString());
        QCOMPARE(nlohmann::json::parse(std::ifstream(run / "config.json")).dump(), before);
    }

    void foreignTrainingDataShowsNoSourceImages() {
        // The run's recorded training split differs from the dataset given: prototypes are shown
        // without source pictures, and the refusal names both fingerprints.
        QTemporaryDir dir;
        const fs::path run = fs::path(dir.path().toStdString()) / "run";
        fs::copy(shared_run().toStdString(), run, fs::copy_options::recursive);
        auto cfg = nlohmann::json::parse(std::ifstream(run / "config.json"));
        cfg["data"]["fingerprint"]["train"]["content"] = "0123456789abcdef";
        std::ofstream(run / "config.json") << cfg.dump(2);
        RunSession session;
        QVERIFY(session.open(QString::fromStdString(run.string()), kData, 20));
        QSignalSpy opened(&session, &RunSession::jobFinished);
        QVERIFY(opened.wait(120000) && session.isOpen());
        QVERIFY2(session.info().provenanceRefusal.contains("0123456789abcdef"), qPrintable(session.info().provenanceRefusal));
        ImageResult result;
        bool got = false;
        connect(&session, &RunSession::imageReady, this, [&](const ImageResult& r) { result = r, got = true; });
        ImageRequest r;
        r.index = 3;
        QVERIFY(session.requestImage(r) > 0);
        QTRY_VERIFY_WITH_TIMEOUT(got, 60000);
        int prototypes = 0;
        for (const auto& b : result.blocks)
            for (const auto* list : {&b.local, &b.global})
                for (const auto& p : *list) {
                    QVERIFY(p.sourceImage.isNull());
                    QVERIFY(p.slot >= 0);  // the slot itself is still shown
                    ++prototypes;
                }
        QVERIFY(prototypes > 0);
    }

    void queriesAndJobsRunOnTheChosenDevice_data() {
        QTest::addColumn<QString>("device");
        // The emulated device refuses any host tensor mixed with device ones (what breaks a first
        // GPU run) and runs everywhere; a real GPU where there is one.
        QTest::newRow("emulated") << QStringLiteral("emulated");
        QTest::newRow("cuda") << QStringLiteral("cuda:0");
    }
    void queriesAndJobsRunOnTheChosenDevice() {
        // The app's own queries on another device: the same grid predictions, the same click result
        // (prototypes, probabilities, evidence) and the same memory job as on the CPU.
        QFETCH(QString, device);
        if (device.startsWith(QLatin1String("cuda")) && !cuda_available()) QSKIP("no GPU here (exit 77 in the CUDA suite)");
        auto query = [&](RunSession& session, std::vector<double>* alpha) {
            ImageResult result;
            bool got = false;
            QObject ctx;
            connect(&session, &RunSession::imageReady, &ctx, [&](const ImageResult& r) { result = r, got = true; });
            ImageRequest r;
            r.index = 5;
            r.evidenceTop = 5;
            r.forget = {int(reference().dataset.train.index[0].item<int64_t>())};
            session.requestImage(r);
            if (!QTest::qWaitFor([&] { return got; }, 60000)) return result;
            bool memory = false;
            connect(&session, &RunSession::memoryReady, &ctx, [&](const MemoryResult& m) {
                for (const auto& row : m.meanAlpha) alpha->insert(alpha->end(), row.begin(), row.end());
                memory = true;
            });
            // memoryReady comes just before jobFinished: wait for both, so the next job can start.
            if (session.computeMemory(0, 20)) QTest::qWaitFor([&] { return memory && !session.busy(); }, 120000);
            return result;
        };
        RunSession cpu, other;
        other.setDevice(device);
        QCOMPARE(other.device(), device);
        QSignalSpy failures(&other, &RunSession::failed);
        QVERIFY(open_session(&cpu));
        // `other` opens a copy whose stored predictions are stale, so its grid is predicted on the device.
        namespace fs = std::filesystem;
        QTemporaryDir copy;
        const fs::path run = fs::path(copy.path().toStdString()) / "run";
        fs::copy(shared_run().toStdString(), run, fs::copy_options::recursive);
        const auto& test = reference().dataset.test;
        write_probe_record((run / "run.h5").string(),
                           predictions_result({torch::zeros({test.size()}, torch::kLong), torch::zeros({test.size()}, torch::kDouble)},
                                              test, reference().epochs + 7, reference().model->config().iterations));
        other.setBatch(250);
        QVERIFY(other.open(QString::fromStdString(run.string()), kData));
        QSignalSpy opened(&other, &RunSession::jobFinished);
        QVERIFY2(opened.wait(120000) && other.isOpen(), failures.isEmpty() ? "" : qPrintable(failures.last().at(1).toString()));
        QCOMPARE(other.testSet().predictions, cpu.testSet().predictions);
        std::vector<double> alpha_cpu, alpha_other;
        const auto a = query(cpu, &alpha_cpu), b = query(other, &alpha_other);
        QVERIFY(!a.probabilities.isEmpty() && !alpha_cpu.empty());
        QCOMPARE(b.prediction, a.prediction);
        QCOMPARE(b.probabilities.size(), a.probabilities.size());
        for (int c = 0; c < a.probabilities.size(); ++c) QVERIFY(std::abs(a.probabilities[c] - b.probabilities[c]) < 1e-5);
        for (int c = 0; c < a.probabilitiesBefore.size(); ++c)
            QVERIFY(std::abs(a.probabilitiesBefore[c] - b.probabilitiesBefore[c]) < 1e-5);
        QCOMPARE(b.blocks.size(), a.blocks.size());
        for (int k = 0; k < a.blocks.size(); ++k) {
            QCOMPARE(b.blocks[k].local.size(), a.blocks[k].local.size());
            for (int j = 0; j < a.blocks[k].local.size(); ++j) QCOMPARE(b.blocks[k].local[j].slot, a.blocks[k].local[j].slot);
        }
        QCOMPARE(b.evidence.size(), a.evidence.size());
        QCOMPARE(alpha_other.size(), alpha_cpu.size());
        for (size_t i = 0; i < alpha_cpu.size(); ++i) QVERIFY(std::abs(alpha_cpu[i] - alpha_other[i]) < 1e-5);
        // Every other job of the app finishes there too (robustness, stability, ablation,
        // leave-class-out, the map, CIFAR-10-C), not with a device error.
        const std::vector<std::pair<QString, std::function<bool()>>> jobs = {
            {"robustness", [&] { return other.runRobustness({0, 1}, 20, 1); }},
            {"stability", [&] { return other.runStability(0, 0, 10, 1); }},
            {"ablation", [&] { return other.runAblation(10, 20, 1); }},
            {"leave-class-out", [&] { return other.runLeaveClassOut(20); }},
            {"map", [&] { return other.computeMap(0, 0, 3); }},
            {"corruptions", [&] {
                 CorruptionsRequest c;
                 c.limit = 10, c.severities = {3};
                 return other.runCorruptions(c);
             }}};
        for (const auto& [name, start] : jobs) {
            QSignalSpy done(&other, &RunSession::jobFinished);
            QVERIFY2(start(), qPrintable(name));
            QVERIFY2(done.wait(300000), qPrintable(name));
            QVERIFY2(done.last().at(1).toString() == QLatin1String("finished"),
                     qPrintable(name + ": " + done.last().at(2).toString()));
        }
        // A device this machine lacks fails the open with one message, no crash.
        RunSession missing;
        missing.setDevice(QStringLiteral("cuda:7"));
        if (!cuda_available()) {
            QSignalSpy failed(&missing, &RunSession::failed);
            QVERIFY(missing.open(shared_run(), kData));
            QVERIFY(failed.wait(60000));
            QVERIFY2(failed.last().at(1).toString().contains(QStringLiteral("cuda:7")), qPrintable(failed.last().at(1).toString()));
        }
    }

    /// A baseline run (no memory banks): the Inspector shows predictions and says why there is
    /// nothing else; the Memory tab is disabled with the same explanation and leaves no empty plots.
    void openingUsesTheStoredPredictions() {
        // Training stored every test image's prediction in run.h5; opening shows those without a
        // forward pass. Proven with planted ones (each label + 1): the grid shows exactly them. Stale
        // ones (other weights) are computed again and stored, equal to the model's own.
        namespace fs = std::filesystem;
        QTemporaryDir dir;
        const fs::path run = fs::path(dir.path().toStdString()) / "run";
        fs::copy(shared_run().toStdString(), run, fs::copy_options::recursive);
        const std::string record = (run / "run.h5").string();
        auto& ref = reference();
        const auto& test = ref.dataset.test;
        const int64_t T = ref.model->config().iterations, epochs = ref.epochs;
        QVERIFY2(read_predictions(record, test, epochs, T).has_value(), "training stored no predictions");
        TestPredictions planted{test.labels.add(1).remainder(10), torch::full({test.size()}, 0.5, torch::kDouble)};
        write_probe_record(record, predictions_result(planted, test, epochs, T));
        auto open_grid = [&](RunSession& session) {
            QVERIFY(session.open(QString::fromStdString(run.string()), kData, 0));
            QSignalSpy finished(&session, &RunSession::jobFinished);
            QVERIFY(finished.wait(120000) && session.isOpen());
        };
        {
            RunSession session;
            open_grid(session);
            const TestSet& t = session.testSet();
            QCOMPARE(t.predictions.size(), int(test.size()));
            for (int i = 0; i < t.predictions.size(); ++i) QCOMPARE(t.predictions[i], (t.labels[i] + 1) % 10);
            QCOMPARE(t.accuracy, 0.0);
            QCOMPARE(t.confidences.front(), 0.5);
        }
        write_probe_record(record, predictions_result(planted, test, epochs + 7, T));  // stale: other weights
        {
            RunSession session;
            open_grid(session);
            const TestSet& t = session.testSet();
            torch::Tensor pred;
            {
                c10::InferenceMode inference;
                auto in = app::probe_input(ref, torch::kCPU, 250, 0);
                pred = std::get<1>(ref.model->forward(normalize_images(in.test.images.to(torch::kFloat).div(255.0), in.mean, in.std)).max(1)).clone();
            }
            for (int i = 0; i < t.predictions.size(); ++i) QCOMPARE(int64_t(t.predictions[i]), pred[i].item<int64_t>());
            const auto cached = read_predictions(record, test, epochs, T);  // stored again for the next opening
            QVERIFY(cached.has_value() && torch::equal(cached->prediction, pred));
        }
    }

    void baselineRunHasPredictionsButNoMemory() {
        QTemporaryDir dir;
        const QString run = dir.filePath(QStringLiteral("poolformer"));
        QProcess p;
        p.start(QStringLiteral(VHMN_CLI_PATH), {QStringLiteral("train"), QStringLiteral("--data"), kData, QStringLiteral("--arch"),
                                                QStringLiteral("poolformer"), QStringLiteral("--epochs"), QStringLiteral("1"),
                                                QStringLiteral("--batch"), QStringLiteral("100"), QStringLiteral("--augment"),
                                                QStringLiteral("none"), QStringLiteral("--out"), run});
        QVERIFY(p.waitForFinished(test::patience_ms()) && p.exitCode() == 0);
        QWidget window;
        RunSession session;
        auto* inspector = new InspectorView(&session, &window);
        auto* memory = new MemoryView(&session, &window);
        window.show();
        QVERIFY(session.open(run, kData, 20));
        QSignalSpy opened(&session, &RunSession::jobFinished);
        QVERIFY(opened.wait(120000) && session.isOpen());
        QVERIFY(!session.info().hasMemory);
        QCOMPARE(session.info().arch, QStringLiteral("poolformer"));
        QVERIFY(session.info().warnings.join(' ').contains(QStringLiteral("no memory banks")));
        QVERIFY(inspector->localStrip()->isHidden() && inspector->refinementPlot()->isHidden());
        ImageResult result;
        bool got = false;
        connect(&session, &RunSession::imageReady, this, [&](const ImageResult& r) { result = r, got = true; });
        ImageRequest r;
        r.index = 2;
        QVERIFY(session.requestImage(r) > 0);
        QTRY_VERIFY_WITH_TIMEOUT(got, 60000);
        QCOMPARE(result.probabilities.size(), session.info().classes);
        double sum = 0;
        for (double v : result.probabilities) sum += v;
        QVERIFY(std::abs(sum - 1.0) < 1e-5);
        QVERIFY(result.blocks.isEmpty());
        QVERIFY(!result.input.isNull());
        bool compute_found = false;
        for (auto* b : memory->findChildren<QPushButton*>())
            if (b->text() == QStringLiteral("Compute")) {
                compute_found = true;
                QVERIFY(!b->isEnabled());
            }
        QVERIFY(compute_found);
        // Asked anyway (e.g. by a script): one error naming the reason, no crash.
        QSignalSpy done(&session, &RunSession::jobFinished);
        QVERIFY(session.computeMemory(0, 10));
        QVERIFY(done.wait(60000));
        QCOMPARE(done.last().at(1).toString(), QStringLiteral("error"));
        QVERIFY2(done.last().at(2).toString().contains(QStringLiteral("no memory banks")), qPrintable(done.last().at(2).toString()));
    }

    void memoryViewShowsCoreWeightsAndHits() {
        QWidget window;
        RunSession session;
        auto* view = new MemoryView(&session, &window);
        view->resize(1300, 800);
        window.show();
        QVERIFY(open_session(&session));
        auto& ref = reference();
        view->setLimit(0);
        view->setBranch(1);
        QSignalSpy ready(&session, &RunSession::memoryReady);
        QVERIFY(view->compute());
        QVERIFY(ready.wait(120000));
        QTRY_VERIFY(!session.busy());
        // The status line reports the job's wall time.
        QVERIFY2(QRegularExpression(QStringLiteral("finished in \\d+\\.\\d s")).match(view->jobBar()->text()).hasMatch(),
                 qPrintable(view->jobBar()->text()));
        view->setClass(2);
        view->setBlock(1);
        auto in = app::probe_input(ref, torch::kCPU, 250);
        const int depth = int(ref.config.model.depth);
        const auto& h = view->heatmap()->data();
        QCOMPARE(h.rows, depth);
        QCOMPARE(h.cols, int(ref.config.model.global_slots));
        for (int b = 0; b < depth; ++b) {
            const auto w = probe_weights(in, b, Branch::Global);
            auto row = w.mean_alpha[2];
            for (int j = 0; j < h.cols; ++j) QVERIFY(std::abs(h.values[b * h.cols + j] - row[j].item<double>()) < 1e-6);
            if (b == 1) {
                const auto& usage = view->usagePlot()->data();
                for (int j = 0; j < h.cols; ++j) QCOMPARE(usage.values[j], double(w.top1_count[size_t(j)]));
            }
        }
        const auto fill = memory_of(ref.model, "test")->bank(1, Branch::Global)->filled_per_class();
        QCOMPARE(view->fillPlot()->data().values.size(), int(fill.size()));
        for (size_t c = 0; c < fill.size(); ++c) QCOMPARE(view->fillPlot()->data().values[int(c)], double(fill[c]));
        const auto hits = probe_hits(in);
        QCOMPARE(view->hitTable()->rowCount(), depth);
        for (int b = 0; b < depth; ++b) {
            QCOMPARE(view->hitTable()->item(b, 1)->text(), QString::number(hits[size_t(2 * b)].top1, 'f', 2));
            QCOMPARE(view->hitTable()->item(b, 4)->text(), QString::number(hits[size_t(2 * b + 1)].top5, 'f', 2));
        }
        // Exports: a figure and its data.
        QTemporaryDir out;
        QString error;
        QVERIFY2(view->exportTo(QStringLiteral("heatmap"), out.filePath("h.png"), 96, &error), qPrintable(error));
        QVERIFY2(view->exportTo(QStringLiteral("heatmap"), out.filePath("h.csv"), 96, &error), qPrintable(error));
        QVERIFY2(view->exportTo(QStringLiteral("usage"), out.filePath("u.svg"), 96, &error), qPrintable(error));
        QVERIFY2(view->exportTo(QStringLiteral("view"), out.filePath("v.pdf"), 96, &error), qPrintable(error));
        QVERIFY(!QImage(out.filePath("h.png")).isNull());
        QFile csv(out.filePath("h.csv"));
        QVERIFY(csv.open(QIODevice::ReadOnly));
        QCOMPARE(QString::fromUtf8(csv.readAll()).trimmed().split('\n').size(), 1 + depth * h.cols);
    }

    void robustnessPanelRunsAndCancels() {
        QWidget window;
        RunSession session;
        auto* view = new RobustnessView(&session, &window);
        view->resize(1300, 800);
        window.show();
        QVERIFY(open_session(&session, 5));  // 20 batches of 5: progress and cancel between them
        view->setLimit(0);
        view->setIterations(QStringLiteral("0,1,2,3"));
        QSignalSpy finished(&session, &RunSession::jobFinished);
        QSignalSpy progress(&session, &RunSession::jobProgress);
        QSignalSpy results(&session, &RunSession::robustnessReady);
        QVERIFY(view->runRobustness());
        QVERIFY(!view->runStability());  // one job at a time
        QVERIFY(progress.wait(60000));
        QVERIFY(view->cancelButton()->isEnabled());
        QTest::mouseClick(view->cancelButton(), Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), 60000);
        QCOMPARE(finished.front().at(1).toString(), QStringLiteral("cancelled"));
        QVERIFY(results.isEmpty());
        QVERIFY(progress.last().at(0).toDouble() < 1.0);  // stopped mid-sweep
        QVERIFY(!session.busy());
        QVERIFY(view->jobBar()->text().contains(QStringLiteral("cancelled")));
        // Run to the end: accuracy per corruption and T, as core computes it.
        finished.clear();
        view->setIterations(QStringLiteral("0,1"));
        QVERIFY(view->runRobustness());
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), 120000);
        QCOMPARE(finished.front().at(1).toString(), QStringLiteral("finished"));
        auto in = app::probe_input(reference(), torch::kCPU, 5);
        const auto rows = probe_robustness(in, robustness_corruptions(), {0, 1}, 0);
        QCOMPARE(session.robustness().size(), int(rows.size()));
        for (size_t i = 0; i < rows.size(); ++i) QCOMPARE(session.robustness()[int(i)].top1, rows[i].top1);
        const auto panels = view->robustnessPlot()->panels();
        QCOMPARE(panels.size(), 3);
        QCOMPARE(panels[0].series.size(), 2);           // T = 0, 1
        QCOMPARE(panels[0].series[0].x.size(), 5);      // clean + 4 noise levels
        QCOMPARE(panels[1].series[0].x.size(), 4);      // clean + 3 occlusion areas
        QCOMPARE(panels[2].series[0].x.size(), 5);      // 4 contrasts + clean at 1
        // Stability: two curves per corruption kind.
        finished.clear();
        QVERIFY(view->runStability());
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), 120000);
        QCOMPARE(finished.front().at(1).toString(), QStringLiteral("finished"));
        const auto sp = view->stabilityPlot()->panels();
        QCOMPARE(sp.size(), 2);
        QCOMPARE(sp[0].series[0].x.size(), 10);  // σ 0.01 … 0.30
        QCOMPARE(sp[1].series[0].x.size(), 9);   // 4 … 20 px
        QTemporaryDir out;
        QString error;
        QVERIFY2(view->exportTo(QStringLiteral("robustness"), out.filePath("r.pdf"), 96, &error), qPrintable(error));
        QVERIFY2(view->exportTo(QStringLiteral("stability"), out.filePath("s.csv"), 96, &error), qPrintable(error));
        QFile pdf(out.filePath("r.pdf"));
        QVERIFY(pdf.open(QIODevice::ReadOnly) && pdf.read(5) == "%PDF-");
    }
};

class TestFigurePack : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { QVERIFY2(!shared_run().isEmpty(), "could not train the test run"); }

    void packWritesEveryFile() {
        QWidget window;
        InspectWorkspace workspace(&window);
        QVERIFY(workspace.openRun(shared_run(), kData));
        QSignalSpy opened(workspace.session(), &RunSession::opened);
        QVERIFY(opened.wait(120000));
        QTemporaryDir out;
        FigurePackRequest r;
        r.dir = out.filePath(QStringLiteral("pack"));
        r.limit = 0;
        r.iterations = {0, 1};
        r.examples = 3;
        QSignalSpy written(&workspace, &InspectWorkspace::figurePackWritten);
        QVERIFY(workspace.writeFigurePack(r));
        QVERIFY(written.wait(300000));
        QVERIFY2(written.front().at(1).toString().isEmpty(), qPrintable(written.front().at(1).toString()));
        const QStringList files = written.front().at(0).toStringList();
        const QDir dir(r.dir);
        const int depth = int(reference().config.model.depth);
        const QStringList expected{"fig2_robustness.png", "fig2_robustness.pdf", "fig2_robustness.csv",
                                   "fig3_prototypes.png", "fig5_slot_weights.png", "fig5_slot_weights.pdf",
                                   "fig5_slot_weights.csv", "fig6_stability.png", "fig6_stability.pdf",
                                   "fig6_stability.csv", "table3_iterations.md", "table3_iterations.tex",
                                   "table9_hits.md", "table9_hits.tex", "evidence.png"};
        QCOMPARE(files.size(), expected.size());
        for (const QString& name : expected) {
            const QString path = dir.filePath(name);
            QVERIFY2(files.contains(path), qPrintable(name));
            QFile f(path);
            QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable(name));
            const QByteArray bytes = f.readAll();
            if (name.endsWith(".png")) {
                QVERIFY2(bytes.startsWith("\x89PNG\r\n\x1a\n"), qPrintable(name));
                const QImage image = QImage::fromData(bytes, "PNG");
                QVERIFY2(image.width() >= 400 && image.height() >= 200, qPrintable(name));
                // Not blank: many distinct colours.
                QSet<QRgb> colours;
                for (int y = 0; y < image.height(); y += 7)
                    for (int x = 0; x < image.width(); x += 7) colours.insert(image.pixel(x, y));
                QVERIFY2(colours.size() > 20, qPrintable(name));
            } else if (name.endsWith(".pdf")) {
                QVERIFY2(bytes.startsWith("%PDF-") && bytes.trimmed().endsWith("%%EOF") && bytes.size() > 2000, qPrintable(name));
            } else {
                const QStringList lines = QString::fromUtf8(bytes).trimmed().split('\n');
                int rows = 0;
                if (name == "fig2_robustness.csv") rows = 12 * 2 + 2;  // 12 conditions × 2 T + mean per T
                if (name == "fig5_slot_weights.csv") rows = depth * int(reference().config.model.global_slots);
                if (name == "fig6_stability.csv") rows = 19;
                if (rows) QCOMPARE(lines.size(), 1 + rows);
                if (name == "table3_iterations.md") {
                    QVERIFY(lines.filter(QRegularExpression("^\\| *[01] *\\|")).size() == 2);  // T = 0 and 1
                }
                if (name == "table9_hits.md") QCOMPARE(lines.filter(QRegularExpression("^\\| *\\d+ *\\|")).size(), depth);
                if (name.endsWith(".tex")) {
                    QVERIFY(bytes.contains("\\begin{tabular}") && bytes.contains("\\bottomrule"));
                }
            }
        }
        // Fig. 3 has one row per example: its height grows with the number of examples.
        FigurePackData d;
        d.examples.resize(1);
        const QImage one = prototypesFigure(d, workspace.session()->info());
        d.examples.resize(3);
        QVERIFY(prototypesFigure(d, workspace.session()->info()).height() > one.height());
    }

    void headlessFigurePack() {
        QTemporaryDir out;
        QProcess p;
        p.start(QStringLiteral(VHMN_CLI_PATH),
                {QStringLiteral("figure-pack"), shared_run(), QStringLiteral("--data"), kData, QStringLiteral("--out"),
                 out.path(), QStringLiteral("--limit"), QStringLiteral("40"), QStringLiteral("--iterations"),
                 QStringLiteral("0,1,2")});
        QVERIFY(p.waitForFinished(test::patience_ms()));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        const QDir dir(out.path());
        for (const char* name : {"fig2_robustness.csv", "fig5_slot_weights.csv", "fig6_stability.csv",
                                 "table3_iterations.md", "table3_iterations.tex", "table9_hits.md", "table9_hits.tex"})
            QVERIFY2(QFileInfo(dir.filePath(name)).size() > 0, name);
        QVERIFY(dir.entryList({QStringLiteral("*.png")}).isEmpty());  // the CLI writes no figures
        QFile md(dir.filePath("table3_iterations.md"));
        QVERIFY(md.open(QIODevice::ReadOnly));
        QCOMPARE(QString::fromUtf8(md.readAll()).split('\n').filter(QRegularExpression("^\\| *[012] *\\|")).size(), 3);
        // Bad input: one line naming the problem, exit code 2.
        QProcess bad;
        bad.start(QStringLiteral(VHMN_CLI_PATH), {QStringLiteral("figure-pack"), out.filePath("missing"), QStringLiteral("--data"),
                                                  kData, QStringLiteral("--out"), out.filePath("x")});
        QVERIFY(bad.waitForFinished(test::patience_ms()));
        QCOMPARE(bad.exitCode(), 2);
    }
};

VHMN_TEST_SUITE(TestInspector);
VHMN_TEST_SUITE(TestFigurePack);
#include "test_inspector.moc"
