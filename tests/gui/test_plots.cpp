// Curve widgets: TensorBoard smoothing (hand-checked), raw + smoothed drawing, coalesced redraws,
// log scale / x axis, crosshair read-out; exports to PNG (DPI), SVG, PDF and CSV.
#include <cmath>

#include <torch/torch.h>

#include <QFile>
#include <QImage>
#include <QSet>
#include <QTemporaryDir>
#include <QtTest>

#include "app/gui/training/curves_view.h"
#include "tests/suite.h"
#include "widgets/curve_plot.h"
#include "widgets/smoothing.h"

using namespace vhmn;
using widgets::Curve;
using widgets::CurvePlot;

namespace {

Curve line(const QString& name, int n, double slope = 1.0) {
    Curve c;
    c.name = name;
    c.color = Qt::blue;
    for (int i = 0; i < n; ++i) c.x << i + 1, c.y << slope * (i + 1) + ((i % 2) ? 0.5 : -0.5);
    return c;
}

QByteArray read_all(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

StepStats step(int64_t i) {
    StepStats s;
    s.step = i, s.total_steps = 1000, s.epoch = i / 100, s.epochs = 10, s.epoch_progress = i / 100.0;
    s.loss = 2.0 / double(i), s.accuracy = double(i % 100), s.lr = 1e-3, s.images_per_s = 100;
    s.beta_local = {0.2, 0.3}, s.beta_global = {0.1, 0.4};
    s.entropy_local = {1.0, 2.0}, s.entropy_global = {1.5, 2.5};
    return s;
}

}  // namespace

class TestPlots : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void emaIsDebiasedAsTensorBoard() {
        // w = 0.5: s1 = 0.5·0 + 0.5·1 = 0.5 → /(1−0.5) = 1
        //          s2 = 0.5·0.5 + 0.5·2 = 1.25 → /(1−0.25) = 1.6667
        //          s3 = 0.5·1.25 + 0.5·3 = 2.125 → /(1−0.125) = 2.428571
        const auto s = widgets::smooth_ema({1, 2, 3}, 0.5);
        QCOMPARE(s.size(), size_t(3));
        QVERIFY(std::abs(s[0] - 1.0) < 1e-12);
        QVERIFY(std::abs(s[1] - 1.25 / 0.75) < 1e-12);
        QVERIFY(std::abs(s[2] - 2.125 / 0.875) < 1e-12);
        // A constant stays constant from the first point (that is what debiasing is for).
        for (double v : widgets::smooth_ema({4, 4, 4, 4}, 0.9)) QVERIFY(std::abs(v - 4.0) < 1e-12);
        // w = 0: raw values.
        QCOMPARE(widgets::smooth_ema({1, 5, -2}, 0.0), (std::vector<double>{1, 5, -2}));
        // Non-finite values pass through and do not enter the average (t counts finite values).
        const auto n = widgets::smooth_ema({1, std::nan(""), 3}, 0.5);
        QVERIFY(std::isnan(n[1]));
        QVERIFY(std::abs(n[2] - (0.5 * 0.5 + 0.5 * 3) / 0.75) < 1e-12);
    }

    void smoothingDrawsRawAndSmoothed() {
        CurvePlot p(QStringLiteral("Loss"), QStringLiteral("loss"));
        Curve epochs = line(QStringLiteral("test loss"), 3);
        epochs.smooth = false, epochs.markers = true;
        p.setCurves({line(QStringLiteral("train loss"), 10), epochs});
        p.setSmoothing(0.6);
        p.flush();
        QCOMPARE(p.graphCount(), 3);        // faded raw + smoothed train loss, raw test loss
        QCOMPARE(p.drawnPoints(), 10 + 10 + 3);
        p.setSmoothing(0.0);
        p.flush();
        QCOMPARE(p.graphCount(), 2);
    }

    void redrawsAreCoalesced() {
        gui::CurvesView view;
        view.resize(900, 600);
        view.show();
        QVERIFY(QTest::qWaitForWindowExposed(&view));
        const int before = view.rebuildCount();
        for (int i = 1; i <= 500; ++i) view.appendStep(step(i));  // a burst: one redraw
        QTRY_COMPARE_WITH_TIMEOUT(view.rebuildCount() - before, 1, 10000);  // the 40 ms timer, however busy the machine
        QTest::qWait(150);
        QCOMPARE(view.rebuildCount() - before, 1);  // and only one
        QCOMPARE(view.plot(QStringLiteral("Loss"))->drawnPoints(), 1000);  // raw + smoothed
        // A steady stream, one step every 4 ms for ~0.8 s: at most one redraw per 40 ms.
        const int start = view.rebuildCount();
        const int replots = view.plots().front()->replotCount();
        QElapsedTimer t;
        t.start();
        for (int i = 501; i <= 700; ++i) {
            view.appendStep(step(i));
            QTest::qWait(4);
        }
        QTest::qWait(100);
        const int rebuilds = view.rebuildCount() - start;
        const int max_expected = int(t.elapsed() / 40) + 2;
        QVERIFY2(rebuilds >= 2 && rebuilds <= max_expected,
                 qPrintable(QStringLiteral("%1 redraws for 200 steps in %2 ms").arg(rebuilds).arg(t.elapsed())));
        QVERIFY(view.plots().front()->replotCount() - replots <= max_expected);
        QCOMPARE(view.runs().front().history.steps.size(), size_t(700));
    }

    void logScaleAndEpochAxis() {
        gui::CurvesView view;
        view.appendStep(step(50));
        view.appendStep(step(150));
        view.setLogScale(true);
        view.setXByEpoch(true);
        view.flush();
        for (auto* p : view.plots()) QVERIFY(p->yAxisLogarithmic());
        auto* loss = view.plot(QStringLiteral("Loss"));
        QCOMPARE(loss->xAxisLabel(), QStringLiteral("epoch"));
        QCOMPARE(loss->curves().front().x, (QVector<double>{0.5, 1.5}));  // epoch_progress
        view.setXByEpoch(false);
        view.setLogScale(false);
        view.flush();
        QCOMPARE(loss->curves().front().x, (QVector<double>{50, 150}));
        QVERIFY(!loss->yAxisLogarithmic());
        // β per block: local and global for both blocks.
        QCOMPARE(view.plot(QStringLiteral("β per block"))->curves().size(), 4);
    }

    void crosshairReadsNearestPoint() {
        CurvePlot p(QStringLiteral("Accuracy"), QStringLiteral("%"));
        Curve c;
        c.name = QStringLiteral("top-1");
        c.x = {0, 1, 2}, c.y = {10, 20, 30};
        p.setCurves({c});
        p.setSmoothing(0);
        p.flush();
        p.showReadoutAt(1.2);
        QVERIFY2(p.readout().contains(QStringLiteral("top-1 20")), qPrintable(p.readout()));
        p.showReadoutAt(1.8);
        QVERIFY2(p.readout().contains(QStringLiteral("top-1 30")), qPrintable(p.readout()));
    }
};
VHMN_TEST_SUITE(TestPlots);

class TestExport : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    std::unique_ptr<CurvePlot> plot_;

    QString path(const QString& name) const { return dir_.filePath(name); }

private Q_SLOTS:
    void init() {
        plot_ = std::make_unique<CurvePlot>(QStringLiteral("Loss"), QStringLiteral("cross-entropy"));
        plot_->resize(640, 420);
        Curve a = line(QStringLiteral("train loss"), 20), b = line(QStringLiteral("test, held out"), 4, 2.0);
        b.color = Qt::red, b.smooth = false, b.markers = true;
        plot_->setCurves({a, b});
        plot_->setSmoothing(0.6);
    }

    void pngAtChosenDpi() {
        QString error;
        QVERIFY2(plot_->exportFile(path(QStringLiteral("a.png")), 96, &error), qPrintable(error));
        QVERIFY2(plot_->exportFile(path(QStringLiteral("b.png")), 192, &error), qPrintable(error));
        const QByteArray bytes = read_all(path(QStringLiteral("a.png")));
        QVERIFY(bytes.startsWith(QByteArray("\x89PNG\r\n\x1a\n", 8)));
        QImage a(path(QStringLiteral("a.png"))), b(path(QStringLiteral("b.png")));
        QVERIFY(!a.isNull() && !b.isNull());
        QCOMPARE(b.width(), 2 * a.width());
        QCOMPARE(b.height(), 2 * a.height());
        QVERIFY(std::abs(b.dotsPerMeterX() - 192 / 0.0254) < 2);
        // Something was drawn: the curves' colours are in the image.
        QSet<QRgb> colours;
        for (int y = 0; y < a.height(); y += 2)
            for (int x = 0; x < a.width(); x += 2) colours.insert(a.pixel(x, y));
        QVERIFY2(colours.size() > 20, qPrintable(QString::number(colours.size())));
        QVERIFY(!plot_->exportPng(path(QStringLiteral("c.png")), 5, &error));
        QVERIFY(error.contains(QStringLiteral("DPI")));
    }

    void svgHasTheLegend() {
        QString error;
        QVERIFY2(plot_->exportFile(path(QStringLiteral("a.svg")), 0, &error), qPrintable(error));
        const QByteArray svg = read_all(path(QStringLiteral("a.svg")));
        QVERIFY(svg.startsWith("<?xml"));
        QVERIFY(svg.contains("<svg"));
        QVERIFY(svg.trimmed().endsWith("</svg>"));
        QVERIFY2(svg.contains("train loss"), "legend text missing");
        QVERIFY(svg.contains("test, held out"));
        QVERIFY(svg.contains("<polyline") || svg.contains("<path"));
    }

    void pdfIsAPdf() {
        QString error;
        QVERIFY2(plot_->exportFile(path(QStringLiteral("a.pdf")), 0, &error), qPrintable(error));
        const QByteArray pdf = read_all(path(QStringLiteral("a.pdf")));
        QVERIFY(pdf.startsWith("%PDF-"));
        QVERIFY(pdf.trimmed().endsWith("%%EOF"));
        QVERIFY(pdf.size() > 2000);
        QVERIFY(pdf.contains("/Type /Page") || pdf.contains("/Type/Page"));
    }

    void csvHasTheData() {
        QString error;
        QVERIFY2(plot_->exportFile(path(QStringLiteral("a.csv")), 0, &error), qPrintable(error));
        QFile f(path(QStringLiteral("a.csv")));
        QVERIFY(f.open(QIODevice::ReadOnly | QIODevice::Text));
        const QStringList lines = QString::fromUtf8(f.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
        QCOMPARE(lines.size(), 1 + 20 + 4);
        QCOMPARE(lines[0], QStringLiteral("series,step,value,smoothed"));
        // First point: x 1, y 0.5, smoothed = the value itself (debiased).
        QCOMPARE(lines[1], QStringLiteral("train loss,1,0.5,0.5"));
        // Second: y 2.5, s = (0.6·0.4·0.5 + 0.4·2.5) / (1 − 0.36) = 1.75
        const QStringList second = lines[2].split(QLatin1Char(','));
        QCOMPARE(second[2], QStringLiteral("2.5"));
        QVERIFY(std::abs(second[3].toDouble() - (0.6 * 0.4 * 0.5 + 0.4 * 2.5) / (1 - 0.36)) < 1e-8);
        // Names with commas are quoted; unsmoothed curves repeat the value.
        QCOMPARE(lines[21], QStringLiteral("\"test, held out\",1,1.5,1.5"));
    }

    void badPathsFailWithAMessage() {
        QString error;
        QVERIFY(!plot_->exportFile(QStringLiteral("/nonexistent-folder/x.png"), 96, &error));
        QVERIFY2(error.contains(QStringLiteral("/nonexistent-folder/x.png")), qPrintable(error));
        QVERIFY(!plot_->exportFile(path(QStringLiteral("x.bmpx")), 96, &error));
        QVERIFY(error.contains(QStringLiteral("unknown export format")));
        QVERIFY(!QFile::exists(path(QStringLiteral("x.bmpx"))));
    }
};
VHMN_TEST_SUITE(TestExport);

#include "test_plots.moc"
