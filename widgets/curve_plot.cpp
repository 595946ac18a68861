#include "widgets/curve_plot.h"

#include <algorithm>
#include <cmath>

#include <QFileInfo>
#include <QLabel>
#include <QMenu>
#include <QSaveFile>
#include <QTextStream>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "widgets/plot_export.h"
#include "widgets/smoothing.h"

namespace vhmn::widgets {
namespace {

std::vector<double> to_std(const QVector<double>& v) { return std::vector<double>(v.begin(), v.end()); }

QString csv_field(const QString& s) {
    if (!s.contains(QLatin1Char(',')) && !s.contains(QLatin1Char('"')) && !s.contains(QLatin1Char('\n')))
        return s;
    QString q = s;
    q.replace(QLatin1String("\""), QLatin1String("\"\""));
    return QLatin1Char('"') + q + QLatin1Char('"');
}

QString number(double v) { return std::isfinite(v) ? QString::number(v, 'g', 10) : QStringLiteral("nan"); }

bool fail(QString* error, const QString& message) {
    if (error) *error = message;
    return false;
}

/// Index of the point whose x is nearest to `x` (x sorted ascending), or -1.
int nearest(const QVector<double>& xs, double x) {
    if (xs.isEmpty()) return -1;
    const auto it = std::lower_bound(xs.begin(), xs.end(), x);
    if (it == xs.begin()) return 0;
    if (it == xs.end()) return int(xs.size()) - 1;
    const int i = int(it - xs.begin());
    return (x - xs[i - 1] <= xs[i] - x) ? i - 1 : i;
}

}  // namespace

CurvePlot::CurvePlot(const QString& title, const QString& yLabel, QWidget* parent)
    : QWidget(parent), title_(title) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    plot_ = new QCustomPlot(this);
    plot_->setMinimumSize(240, 160);
    plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    plot_->plotLayout()->insertRow(0);
    QFont title_font = font();
    title_font.setBold(true);
    title_element_ = new QCPTextElement(plot_, title, title_font);
    plot_->plotLayout()->addElement(0, 0, title_element_);
    plot_->yAxis->setLabel(yLabel);
    plot_->xAxis->setLabel(tr("step"));
    plot_->legend->setVisible(true);
    QFont legend_font = font();
    legend_font.setPointSizeF(std::max(6.0, legend_font.pointSizeF() * 0.8));
    plot_->legend->setFont(legend_font);
    plot_->legend->setBrush(QColor(255, 255, 255, 190));
    plot_->legend->setRowSpacing(0);
    plot_->legend->setColumnSpacing(4);
    plot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    crosshair_ = new QCPItemStraightLine(plot_);
    crosshair_->setPen(QPen(QColor(120, 120, 120), 1, Qt::DashLine));
    crosshair_->setVisible(false);
    crosshair_->setLayer(QStringLiteral("overlay"));
    layout->addWidget(plot_, 1);
    readout_ = new QLabel(this);
    readout_->setTextFormat(Qt::PlainText);
    readout_->setWordWrap(true);
    readout_->setMinimumHeight(readout_->fontMetrics().height());
    QFont small = font();
    small.setPointSizeF(std::max(6.0, small.pointSizeF() * 0.85));
    readout_->setFont(small);
    layout->addWidget(readout_);

    timer_.setSingleShot(true);
    timer_.setInterval(40);
    connect(&timer_, &QTimer::timeout, this, &CurvePlot::rebuild);
    connect(plot_, &QCustomPlot::afterReplot, this, [this] { ++replots_; });
    // Any zoom or pan by the user stops the axes from following new data; double-click resumes.
    connect(plot_, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
        if (e->button() == Qt::LeftButton) auto_range_ = false;
    });
    connect(plot_, &QCustomPlot::mouseWheel, this, [this](QWheelEvent*) { auto_range_ = false; });
    connect(plot_, &QCustomPlot::mouseDoubleClick, this, [this](QMouseEvent*) { resetView(); });
    connect(plot_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) {
        if (!plot_->axisRect()->rect().contains(e->pos())) return;
        showReadoutAt(plot_->xAxis->pixelToCoord(e->pos().x()));
    });
    plot_->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(plot_, &QWidget::customContextMenuRequested, this, &CurvePlot::showContextMenu);
}

void CurvePlot::setCurves(QVector<Curve> curves) {
    curves_ = std::move(curves);
    scheduleReplot();
}

void CurvePlot::setXLabel(const QString& label) {
    plot_->xAxis->setLabel(label);
    scheduleReplot();
}

void CurvePlot::setSmoothing(double weight) {
    smoothing_ = std::clamp(weight, 0.0, 0.999);
    scheduleReplot();
}

void CurvePlot::setLogY(bool log) {
    log_y_ = log;
    if (log) {
        plot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
        plot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    } else {
        plot_->yAxis->setScaleType(QCPAxis::stLinear);
        plot_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    }
    auto_range_ = true;
    scheduleReplot();
}

void CurvePlot::resetView() {
    auto_range_ = true;
    scheduleReplot();
}

void CurvePlot::scheduleReplot() {
    if (!timer_.isActive()) timer_.start();
}

void CurvePlot::flush() {
    if (timer_.isActive()) {
        timer_.stop();
        rebuild();
    }
}

void CurvePlot::rebuild() {
    plot_->clearGraphs();
    smoothed_.clear();
    // Many curves (β and entropy per block): a legend in columns rather than one tall list.
    const int n = int(curves_.size());
    const int columns = n <= 4 ? 1 : (n <= 8 ? 2 : 4);
    plot_->legend->setFillOrder(QCPLayoutGrid::foRowsFirst, false);
    plot_->legend->setWrap(std::max(1, (n + columns - 1) / columns));
    for (const Curve& c : curves_) {
        const bool smooth = c.smooth && smoothing_ > 0.0 && c.y.size() > 1;
        QVector<double> drawn = c.y;
        if (smooth) {
            const auto s = smooth_ema(to_std(c.y), smoothing_);
            drawn = QVector<double>(s.begin(), s.end());
            QCPGraph* raw = plot_->addGraph();
            QColor faded = c.color;
            faded.setAlpha(60);
            raw->setPen(QPen(faded, 1, c.style));
            raw->setData(c.x, c.y, true);
            raw->removeFromLegend();
        }
        QCPGraph* g = plot_->addGraph();
        g->setName(c.name);
        g->setPen(QPen(c.color, c.markers ? 1.5 : 1.6, c.style));
        if (c.markers) g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));
        g->setData(c.x, drawn, true);
        smoothed_.push_back(drawn);
    }
    // Past 8 curves (overlaid runs × blocks) a legend would cover the plot: the read-out names them.
    plot_->legend->setVisible(!curves_.isEmpty() && curves_.size() <= 8);
    if (auto_range_ && !curves_.isEmpty()) {
        plot_->rescaleAxes();
        // A little head-room so the curves do not touch the frame.
        QCPRange y = plot_->yAxis->range();
        if (log_y_) {
            if (y.lower > 0) plot_->yAxis->setRange(y.lower / 1.15, y.upper * 1.15);
        } else {
            const double pad = std::max(1e-12, (y.upper - y.lower) * 0.05);
            plot_->yAxis->setRange(y.lower - pad, y.upper + pad);
        }
    }
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

int CurvePlot::drawnPoints() const {
    int n = 0;
    for (int i = 0; i < plot_->graphCount(); ++i) n += plot_->graph(i)->dataCount();
    return n;
}

void CurvePlot::showReadoutAt(double x) {
    QStringList parts;
    double snapped = x;
    bool first = true;
    for (int i = 0; i < curves_.size() && i < smoothed_.size(); ++i) {
        const Curve& c = curves_[i];
        const int k = nearest(c.x, x);
        if (k < 0) continue;
        if (first) snapped = c.x[k], first = false;
        QString item = QStringLiteral("%1 %2").arg(c.name, QString::number(smoothed_[i][k], 'g', 4));
        if (c.smooth && smoothing_ > 0 && smoothed_[i][k] != c.y[k])
            item += QStringLiteral(" (raw %1)").arg(QString::number(c.y[k], 'g', 4));
        parts << item;
    }
    if (parts.isEmpty()) {
        readout_->clear();
        crosshair_->setVisible(false);
    } else {
        readout_->setText(QStringLiteral("%1 %2:  ").arg(plot_->xAxis->label(), QString::number(snapped, 'g', 6)) +
                          parts.join(QStringLiteral("  ·  ")));
        crosshair_->point1->setCoords(x, 0);
        crosshair_->point2->setCoords(x, 1);
        crosshair_->setVisible(true);
    }
    plot_->replot(QCustomPlot::rpQueuedReplot);
}

QString CurvePlot::readout() const { return readout_->text(); }
QWidget* CurvePlot::canvas() const { return plot_; }
int CurvePlot::graphCount() const { return plot_->graphCount(); }
bool CurvePlot::yAxisLogarithmic() const { return plot_->yAxis->scaleType() == QCPAxis::stLogarithmic; }
QString CurvePlot::xAxisLabel() const { return plot_->xAxis->label(); }

void CurvePlot::showContextMenu(const QPoint& pos) {
    QMenu menu(this);
    menu.addAction(tr("Export…"), this, [this] { Q_EMIT exportRequested(this); });
    menu.addAction(tr("Reset view"), this, &CurvePlot::resetView);
    QAction* log = menu.addAction(tr("Log scale"));
    log->setCheckable(true);
    log->setChecked(log_y_);
    connect(log, &QAction::toggled, this, &CurvePlot::setLogY);
    menu.exec(plot_->mapToGlobal(pos));
}

// ---------------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------------

QSize CurvePlot::exportSize() const {
    const QSize s = plot_->size();
    if (isVisible() && s.width() >= 200 && s.height() >= 150) return s;
    return {800, 500};
}

bool CurvePlot::exportFile(const QString& path, int dpi, QString* error) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == QLatin1String("png")) return exportPng(path, dpi, error);
    if (suffix == QLatin1String("svg")) return exportSvg(path, error);
    if (suffix == QLatin1String("pdf")) return exportPdf(path, error);
    if (suffix == QLatin1String("csv")) return exportCsv(path, error);
    return fail(error, tr("%1: unknown export format '%2' (use .png, .svg, .pdf or .csv)").arg(path, suffix));
}

bool CurvePlot::exportPng(const QString& path, int dpi, QString* error) {
    flush();
    return exportCustomPlot(plot_, path, dpi, exportSize(), title_, error);
}

bool CurvePlot::exportSvg(const QString& path, QString* error) {
    flush();
    return exportCustomPlot(plot_, path, 96, exportSize(), title_, error);
}

bool CurvePlot::exportPdf(const QString& path, QString* error) {
    flush();
    return exportCustomPlot(plot_, path, 96, exportSize(), title_, error);
}

bool CurvePlot::exportCsv(const QString& path, QString* error) const {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Text)) return fail(error, tr("%1: %2").arg(path, file.errorString()));
    QTextStream out(&file);
    out << "series," << csv_field(plot_->xAxis->label().isEmpty() ? QStringLiteral("x") : plot_->xAxis->label())
        << ",value,smoothed\n";
    for (const Curve& c : curves_) {
        const bool smooth = c.smooth && smoothing_ > 0.0;
        const auto s = smooth ? smooth_ema(to_std(c.y), smoothing_) : to_std(c.y);
        for (int i = 0; i < c.x.size() && i < c.y.size(); ++i)
            out << csv_field(c.name) << ',' << number(c.x[i]) << ',' << number(c.y[i]) << ',' << number(s[size_t(i)]) << '\n';
    }
    out.flush();
    if (out.status() != QTextStream::Ok) return fail(error, tr("%1: write failed").arg(path));
    if (!file.commit()) return fail(error, tr("%1: %2").arg(path, file.errorString()));
    return true;
}

}  // namespace vhmn::widgets
