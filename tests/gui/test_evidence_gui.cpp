// Memory as evidence in the app (issue 15), driven as a user would (offscreen) on the shared
// builtin-small run: the inspector's Evidence panel and "Forget these", the Memory tab's
// forgetting sweeps, and memory over training in the Training tab's curves. What the views show is
// compared with core's answers on the same run.
#include <torch/torch.h>

#include <QDialog>
#include <QLabel>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QtTest>

#include "app/gui/training/curves_view.h"
#include "app/gui/analysis/evidence_panel.h"
#include "app/gui/analysis/forgetting_view.h"
#include "app/gui/analysis/inspector_view.h"
#include "app/gui/analysis/tensor_image.h"
#include "core/probes/ablation.h"
#include "core/probes/evidence.h"
#include "core/probes/memory_edit.h"
#include "core/probes/memory_map.h"
#include "core/io/run_record.h"
#include "core/train/trainer.h"
#include "tests/inspector_fixture.h"
#include "tests/suite.h"
#include "widgets/curve_plot.h"
#include "widgets/figure_plots.h"
#include "widgets/image_view.h"
#include "widgets/prototype_strip.h"

using namespace vhmn;
using namespace vhmn::gui;
using namespace vhmn::test;

class TestEvidenceGui : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase() { QVERIFY2(!shared_run().isEmpty(), "could not train the test run"); }

    void evidencePanelAndForgetting() {
        QWidget window;
        RunSession session;
        auto* view = new InspectorView(&session, &window);
        window.resize(1400, 1000);
        view->resize(1400, 1000);
        window.show();
        QVERIFY(QTest::qWaitForWindowExposed(&window));
        QVERIFY(open_session(&session));
        auto& ref = reference();
        const int row = 11;
        const int index = view->grid()->indexAt(row);
        QSignalSpy shown(view, &InspectorView::resultShown);
        click_cell(view->grid(), row);
        QVERIFY(shown.wait(30000));
        const auto image = ref.dataset.test.images[index];
        const int64_t label = ref.dataset.test.labels[index].item<int64_t>();
        EvidenceOptions top8;
        top8.top = 8;
        const auto expected = probe_evidence(ref.model, image, label, ref.config.data.mean, ref.config.data.std, top8);
        // The panel lists core's top evidence images, in order, with their pixels and boxes.
        const auto cards = view->evidencePanel()->strip()->cards();
        QCOMPARE(cards.size(), int(expected.images.size()));
        QVERIFY(cards.size() > 0);
        for (int i = 0; i < cards.size(); ++i) {
            const auto& e = expected.images[size_t(i)];
            QCOMPARE(cards[i].source, int(e.source));
            QVERIFY(std::abs(cards[i].weight - e.mass) < 1e-6);
            QCOMPARE(cards[i].image, tensor_to_image(source_image(ref.dataset.train, e.source)).convertToFormat(cards[i].image.format()));
            QVERIFY(1 + cards[i].extraBoxes.size() <= int(e.slots.size()));
        }
        QCOMPARE(view->shown().evidenceImages, int(expected.images_with_mass));
        // Clicking a card opens the training image with every patch it contributed boxed.
        auto* card = view->evidencePanel()->strip()->cardWidget(0);
        QTest::mouseClick(card, Qt::LeftButton, {}, card->rect().center());
        QVERIFY(view->sourceDialog() && view->sourceDialog()->isVisible());
        QCOMPARE(view->sourceImageView()->boxes().size(), 1 + cards[0].extraBoxes.size());
        QCOMPARE(view->sourceImageView()->image(), cards[0].image);

        // Forget the top 2: the new probabilities are core's with those images' slots masked; the
        // old ones are kept beside them, and the forgotten images are gone from the evidence.
        const QVector<double> before = view->shown().probabilities;
        view->evidencePanel()->forgetCount()->setValue(2);
        QTest::mouseClick(view->evidencePanel()->forgetButton(), Qt::LeftButton);
        QVERIFY(shown.wait(30000));
        QCOMPARE(view->shown().forgotten, (QVector<int>{int(expected.images[0].source), int(expected.images[1].source)}));
        QCOMPARE(view->shown().probabilitiesBefore, before);
        QCOMPARE(view->probabilities()->reference(), before);  // drawn beside the new ones
        if (qEnvironmentVariableIsSet("VHMN_TEST_SHOTS"))  // to look at: VHMN_TEST_SHOTS=DIR
            view->grab().save(qEnvironmentVariable("VHMN_TEST_SHOTS") + QStringLiteral("/inspector-forgot.png"));
        VHMN memory = memory_of(ref.model, "test");
        MemoryEdit edit;
        edit.sources = {expected.images[0].source, expected.images[1].source};
        const int64_t masked = apply_edit(memory, edit);
        const auto after = probe_image(ref.model, image, label, ref.config.data.mean, ref.config.data.std, ref.dataset.train);
        clear_edit(memory);
        QCOMPARE(view->shown().forgottenSlots, int(masked));
        for (size_t c = 0; c < after.probabilities.size(); ++c)
            QVERIFY(std::abs(view->shown().probabilities[int(c)] - after.probabilities[c]) < 1e-6);
        for (const auto& c : view->evidencePanel()->strip()->cards())
            QVERIFY(c.source != int(edit.sources[0]) && c.source != int(edit.sources[1]));
        QVERIFY(view->evidencePanel()->summary()->text().contains(QStringLiteral("Forgot 2 image")));
        QVERIFY(view->evidencePanel()->restoreButton()->isEnabled());
        // Restore: the whole memory again, the first answer back.
        QTest::mouseClick(view->evidencePanel()->restoreButton(), Qt::LeftButton);
        QVERIFY(shown.wait(30000));
        QVERIFY(view->shown().forgotten.isEmpty());
        QCOMPARE(view->shown().probabilities, before);
        QVERIFY(view->probabilities()->reference().isEmpty());
        // A forgetting belongs to one image: clicking another asks with the whole memory.
        view->evidencePanel()->forgetCount()->setValue(1);
        QTest::mouseClick(view->evidencePanel()->forgetButton(), Qt::LeftButton);
        QVERIFY(shown.wait(30000));
        QCOMPARE(view->forgotten().size(), 1);
        click_cell(view->grid(), row + 1);
        QVERIFY(shown.wait(30000));
        QVERIFY(view->shown().forgotten.isEmpty());
    }

    void forgettingSweepsMatchCore() {
        QWidget window;
        RunSession session;
        auto* view = new ForgettingView(&session, &window);
        view->resize(1300, 700);
        window.show();
        QVERIFY(open_session(&session, 50));
        view->setLimit(100);
        view->setUsageLimit(300);
        QSignalSpy finished(&session, &RunSession::jobFinished);
        QVERIFY(view->runAblation());
        QVERIFY(!view->runLeaveClassOut());  // one job at a time
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), 240000);
        QCOMPARE(finished.front().at(1).toString(), QStringLiteral("finished"));
        const auto panels = view->ablationPlot()->panels();
        QCOMPARE(panels.size(), 3);  // local, global, both
        for (const auto& p : panels) {
            QCOMPARE(p.series.size(), 3);  // random, most used, least used
            QCOMPARE(p.series[0].x.size(), 11);
        }
        // Everything masked is T = 0, exactly; nothing masked is the model as trained.
        auto& ref = reference();
        auto in = app::probe_input(ref, torch::kCPU, 50, 100);
        ref.model->set_iterations(0);
        const double t0 = evaluate(ref.model, in.test, in.mean, in.std, 50, torch::kCPU).top1;
        ref.model->set_iterations(ref.config.model.iterations);
        const double full = evaluate(ref.model, in.test, in.mean, in.std, 50, torch::kCPU).top1;
        QCOMPARE(panels[2].series[0].y.back(), t0);
        QCOMPARE(panels[2].series[1].y.front(), full);
        QVERIFY(view->summary()->text().contains(QStringLiteral("every slot masked")));
        const auto stored = probe_names(shared_run().toStdString() + "/run.h5");
        QVERIFY(std::find(stored.begin(), stored.end(), "ablation") != stored.end());

        finished.clear();
        QVERIFY(view->runLeaveClassOut());
        QTRY_VERIFY_WITH_TIMEOUT(!finished.isEmpty(), 240000);
        QCOMPARE(finished.front().at(1).toString(), QStringLiteral("finished"));
        const auto& d = view->leaveClassOutMap()->data();
        QCOMPARE(d.rows, int(ref.config.model.classes));
        QCOMPARE(d.cols, int(ref.config.model.classes));
        // Row c, column c: class c's change with its own memories masked, as core measures it.
        const auto lco = probe_leave_class_out(in);
        for (int c = 0; c < d.rows; ++c)
            QVERIFY(std::abs(d.values[c * d.cols + c] - (lco.accuracy[size_t(c)][size_t(c)] - lco.baseline[size_t(c)])) < 1e-9);
        QTemporaryDir out;
        QString error;
        QVERIFY2(view->exportTo(QStringLiteral("ablation"), out.filePath("a.csv"), 96, &error), qPrintable(error));
        QVERIFY2(view->exportTo(QStringLiteral("leave-class-out"), out.filePath("l.png"), 96, &error), qPrintable(error));
        QVERIFY(QImage(out.filePath("l.png")).width() > 100);
    }

    void mapIsCoresAndFollowsTheImage() {
        RunSession session;
        QVERIFY(open_session(&session));
        QVector<MapResult> ready;
        connect(&session, &RunSession::mapReady, this, [&ready](const MapResult& r) { ready << r; });
        auto& ref = reference();
        const int block = int(ref.config.model.depth) - 1;
        QVERIFY(session.computeMap(block, 0, 5));
        QTRY_VERIFY_WITH_TIMEOUT(ready.size() == 1, 60000);
        const auto first = ready.takeFirst();
        const auto map = memory_map(memory_of(ref.model, "test"), block, Branch::Local);
        QCOMPARE(first.x.size(), int(map.slots.size()));
        QVERIFY(std::abs(first.x[0] - map.coords[0][0].item<double>()) < 1e-9);
        QCOMPARE(first.index, 5);
        QCOMPARE(first.pathX.size(), int(ref.config.model.iterations + 1));
        // Another image: the same points (the map is kept), its own trajectory.
        QTRY_VERIFY_WITH_TIMEOUT(!session.busy(), 10000);
        QVERIFY(session.computeMap(block, 0, 6));
        QTRY_VERIFY_WITH_TIMEOUT(ready.size() == 1, 60000);
        const auto second = ready.takeFirst();
        QCOMPARE(second.x, first.x);
        QCOMPARE(second.index, 6);
        const auto path = map_trajectory(ref.model, map, ref.dataset.test.images[6], ref.config.data.mean, ref.config.data.std);
        QVERIFY(std::abs(second.pathX[0] - path[0][0].item<double>()) < 1e-6);
    }

    void trainingCurvesShowMemoryOverTraining() {
        CurvesView view;
        view.resize(1400, 700);
        History h;
        for (int e = 1; e <= 3; ++e) {
            EpochStats s;
            s.epoch = e, s.step = 10 * e;
            s.unused_local = {0.5 / e, 0.4 / e}, s.unused_global = {0.2, 0.1};
            s.age_local = {3.0 * e, 2.0 * e}, s.age_global = {1.0, 1.5};
            h.epochs.push_back(s);
        }
        view.setRuns({{QStringLiteral("run"), h}});
        view.flush();
        auto* unused = view.plot(QObject::tr("Unused memory (% of slots no query's top-1)"));
        auto* age = view.plot(QObject::tr("Memory age (steps)"));
        QVERIFY(unused && age);
        QCOMPARE(unused->curves().size(), 4);  // local b0, b1, global b0, b1
        const QVector<double> expect{100 * 0.5 / 1, 100 * 0.5 / 2, 100 * (0.5 / 3)};  // % of filled slots
        QCOMPARE(unused->curves()[0].y.size(), 3);
        for (int i = 0; i < 3; ++i) QVERIFY(std::abs(unused->curves()[0].y[i] - expect[i]) < 1e-12);
        QCOMPARE(age->curves()[1].x, (QVector<double>{10, 20, 30}));
        QCOMPARE(age->curves()[1].y, (QVector<double>{2, 4, 6}));
    }
};

VHMN_TEST_SUITE(TestEvidenceGui);
#include "test_evidence_gui.moc"
