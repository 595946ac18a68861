// The CIFAR-10-C suite in the app (issue 14), driven as a user would (offscreen) on the shared
// builtin-small run: the Robustness tab's heatmap and family bars against core's probe, the result
// stored and shown again when the run is reopened, exports, and the Inspector's corruption picker
// showing the very image the probe scores.
#include <torch/torch.h>

#include <QComboBox>
#include <QLabel>
#include <QSignalSpy>
#include <QSlider>
#include <QtTest>

#include "app/gui/analysis/corruptions_view.h"
#include "app/gui/analysis/inspector_view.h"
#include "app/gui/analysis/tensor_image.h"
#include "core/probes/cifar_c.h"
#include "core/io/run_record.h"
#include "datasets/corruptions/cifar_c.h"
#include "tests/inspector_fixture.h"
#include "tests/suite.h"
#include "widgets/figure_plots.h"
#include "widgets/image_view.h"

using namespace vhmn;
using namespace vhmn::gui;
using namespace vhmn::test;

class TestCorruptionsGui : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() {
        if (!data::corruptions_available()) QSKIP("this build has no OpenCV: nothing to generate");
        QVERIFY2(!shared_run().isEmpty(), "could not train the test run");
    }

    void heatmapAndFamiliesAreCores() {
        QWidget window;
        RunSession session;
        auto* view = new CorruptionsView(&session, &window);
        view->resize(1400, 700);
        window.show();
        QVERIFY(open_session(&session, 50));
        QVERIFY(view->summary()->text().contains(QStringLiteral("not computed yet")));
        view->setLimit(40);
        QSignalSpy finished(&session, &RunSession::jobFinished);
        QVERIFY(view->run());
        QVERIFY(!view->run());  // one job at a time
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), 300000);
        QCOMPARE(finished.front().at(1).toString(), QStringLiteral("finished"));

        // Core on the same 40 images, seed 0, the 15 reference corruptions, the model's T.
        auto& ref = reference();
        auto in = app::probe_input(ref, torch::kCPU, 50, 40);
        data::GeneratedCorruptions gen(in.test, 0);
        CorruptionsOptions opts;
        for (const auto& c : c_corruptions())
            if (c.reference) opts.corruptions.push_back(c.name);
        const auto core = probe_corruptions(in, gen, opts);
        const auto d = view->heatmap()->data();
        QCOMPARE(d.rows, 15);
        QCOMPARE(d.cols, 5);
        QCOMPARE(d.rowLabels[8], QStringLiteral("Frost (ours)"));
        for (const auto& cell : core.cells) {
            const auto it = std::find(opts.corruptions.begin(), opts.corruptions.end(), cell.corruption);
            const int r = int(it - opts.corruptions.begin());
            QCOMPARE(d.values[r * 5 + cell.severity - 1], cell.top1);
        }
        // Family bars: noise, blur, weather, digital, mean, clean — one bar per T each.
        const auto s = summarize(core, core.iterations.front());
        const auto bars = view->families()->data();
        QCOMPARE(bars.groups.names, (QStringList{"noise", "blur", "weather", "digital", "mean", "clean"}));
        QCOMPARE(bars.values[0], s.by_family.at("noise"));
        QCOMPARE(bars.values[2], s.by_family.at("weather"));  // frost is not in it
        QCOMPARE(bars.values[4], s.mean);
        QCOMPARE(bars.values[5], s.clean);
        QCOMPARE(s.reference_cells, int64_t(70));
        QVERIFY(view->summary()->text().contains(QStringLiteral("not the released CIFAR-10-C")));
        QVERIFY(view->summary()->text().contains(QStringLiteral("mean over 70 reference cells")));

        // Stored as the CLI stores it: run.h5, the 15 × 5 CSV and the RobustBench-shaped JSON.
        const auto stored = read_probe_record(shared_run().toStdString() + "/run.h5", "corruptions");
        QCOMPARE(stored.table.rows(), core.cells.size());
        QVERIFY(QFile::exists(shared_run() + "/corruptions.csv"));
        QFile json(shared_run() + "/corruptions.json");
        QVERIFY(json.open(QIODevice::ReadOnly));
        const auto j = nlohmann::json::parse(json.readAll().toStdString());
        QCOMPARE(j["corruptions_acc_generated"].get<double>(), s.mean);
        QVERIFY(!j.contains("corruptions_acc"));

        // Exports.
        QTemporaryDir out;
        QString error;
        QVERIFY2(view->exportTo(QStringLiteral("heatmap"), out.filePath("h.png"), 96, &error), qPrintable(error));
        QVERIFY2(view->exportTo(QStringLiteral("families"), out.filePath("f.csv"), 96, &error), qPrintable(error));
        QVERIFY(QImage(out.filePath("h.png")).width() > 100);
        QFile csv(out.filePath("f.csv"));
        QVERIFY(csv.open(QIODevice::ReadOnly));
        QCOMPARE(QString::fromUtf8(csv.readAll()).trimmed().split('\n').size(), 1 + int(bars.values.size()));

        // Reopened: the stored result is shown again.
        RunSession again;
        auto* view2 = new CorruptionsView(&again, &window);
        QVERIFY(open_session(&again, 50));
        QTRY_VERIFY(!again.corruptions().isEmpty());
        QCOMPARE(view2->heatmap()->data().values, d.values);
    }

    // The inspector's picker: the image shown is the generator's image for that test index (the
    // probe's), and the probabilities are core's on it.
    void inspectorPickerShowsTheProbesImage() {
        QWidget window;
        RunSession session;
        auto* view = new InspectorView(&session, &window);
        view->resize(1400, 900);
        window.show();
        QVERIFY(open_session(&session));
        QCOMPARE(view->suiteCombo()->count(), 20);  // none + 19
        QVERIFY(!view->severitySlider()->isEnabled());
        QSignalSpy shown(view, &InspectorView::resultShown);
        view->inspect(5);
        QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), 60000);
        shown.clear();
        view->setSuiteCorruption(QStringLiteral("fog"), 5);
        QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), 60000);
        QVERIFY(view->severitySlider()->isEnabled());
        QCOMPARE(view->corruption().suite, QStringLiteral("fog"));
        auto& ref = reference();
        const auto& test = ref.dataset.test;
        const auto image = data::corrupt_image(test.images[5], "fog", 5, 0, test.index[5].item<int64_t>());
        QVERIFY(!torch::equal(image, test.images[5]));
        QCOMPARE(view->shown().input, tensor_to_image(image));
        const auto p = probe_image(ref.model, image, test.labels[5].item<int64_t>(), ref.config.data.mean,
                                   ref.config.data.std, ref.provenance_train());
        for (size_t c = 0; c < p.probabilities.size(); ++c)
            QVERIFY(std::abs(view->shown().probabilities[int(c)] - p.probabilities[c]) < 1e-5);
        // The severity slider re-queries: severity 1 is another image.
        shown.clear();
        view->severitySlider()->setValue(1);
        QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), 60000);
        QCOMPARE(view->shown().input,
                 tensor_to_image(data::corrupt_image(test.images[5], "fog", 1, 0, test.index[5].item<int64_t>())));
        // "Clean image" clears the picker too.
        shown.clear();
        view->setSuiteCorruption(QString(), 3);
        QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty(), 60000);
        QCOMPARE(view->shown().input, tensor_to_image(test.images[5]));
    }
};

VHMN_TEST_SUITE(TestCorruptionsGui);
#include "test_corruptions_gui.moc"
