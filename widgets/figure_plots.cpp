#include "widgets/figure_plots.h"

#include <algorithm>
#include <cmath>

#include <QFileInfo>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "widgets/plot_export.h"

namespace vhmn::widgets {
namespace {

QString num(double v) { return csvNumber(v); }

QCustomPlot* makePlot(QWidget* owner) {
    auto* layout = new QVBoxLayout(owner);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* plot = new QCustomPlot(owner);
    plot->setMinimumSize(240, 160);
    plot->setAutoAddPlottableToLegend(false);  // panels have their own legends
    layout->addWidget(plot);
    return plot;
}

QCPTextElement* addTitle(QCustomPlot* plot, const QString& title, int row, int column = 0) {
    QFont f = plot->font();
    f.setBold(true);
    auto* e = new QCPTextElement(plot, title, f);
    plot->plotLayout()->addElement(row, column, e);
    return e;
}

/// Ticks at the groups' centres labelled by name; boundaries drawn as thin lines.
void applySegments(QCustomPlot* plot, QCPAxis* axis, QCPAxis* other, const Segments& g, int total, bool bars) {
    if (g.starts.isEmpty()) return;
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int i = 0; i < g.starts.size(); ++i) {
        const int a = g.starts[i], b = i + 1 < g.starts.size() ? g.starts[i + 1] : total;
        ticker->addTick((a + b - 1) / 2.0, i < g.names.size() ? g.names[i] : QString::number(i));
        if (i > 0) {
            auto* line = new QCPItemStraightLine(plot);
            line->setClipAxisRect(axis->axisRect());
            line->point1->setAxes(axis, other);
            line->point2->setAxes(axis, other);
            line->point1->setCoords(a - 0.5, 0);
            line->point2->setCoords(a - 0.5, 1);
            line->setPen(QPen(QColor(255, 255, 255, bars ? 0 : 200), 1));
            if (bars) line->setPen(QPen(QColor(0, 0, 0, 60), 1, Qt::DotLine));
        }
    }
    axis->setTicker(ticker);
    axis->setTickLabelRotation(g.starts.size() > 6 ? 35 : 0);
    axis->setSubTicks(false);
}

/// Perceptually ordered dark-blue → green → yellow (viridis-like) colour gradient.
QCPColorGradient blueWhiteRed() {
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.0, QColor(33, 102, 172));
    g.setColorStopAt(0.5, QColor(247, 247, 247));
    g.setColorStopAt(1.0, QColor(178, 24, 43));
    g.setColorInterpolation(QCPColorGradient::ciRGB);
    return g;
}

QCPColorGradient viridis() {
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.0, QColor(68, 1, 84));
    g.setColorStopAt(0.25, QColor(59, 82, 139));
    g.setColorStopAt(0.5, QColor(33, 145, 140));
    g.setColorStopAt(0.75, QColor(94, 201, 98));
    g.setColorStopAt(1.0, QColor(253, 231, 37));
    g.setColorInterpolation(QCPColorGradient::ciRGB);
    return g;
}

}  // namespace

QColor categoryColor(int i) {
    // Tableau 10.
    static const QColor c[] = {QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44), QColor(214, 39, 40),
                               QColor(148, 103, 189), QColor(140, 86, 75), QColor(227, 119, 194), QColor(127, 127, 127),
                               QColor(188, 189, 34), QColor(23, 190, 207)};
    return c[((i % 10) + 10) % 10];
}

QColor iterationColor(int t) {
    static const QColor c[] = {QColor(127, 127, 127), QColor(31, 119, 180), QColor(44, 160, 44), QColor(214, 39, 40),
                               QColor(148, 103, 189), QColor(255, 127, 14)};
    return c[std::clamp(t, 0, 5)];
}

// ---- Heatmap ------------------------------------------------------------------------------------
Heatmap::Heatmap(QWidget* parent) : QWidget(parent) { plot_ = makePlot(this); }

void Heatmap::setData(HeatmapData data) {
    data_ = std::move(data);
    plot_->clearPlottables();
    plot_->clearItems();
    plot_->plotLayout()->clear();
    if (!data_.title.isEmpty()) addTitle(plot_, data_.title, 0, 0);
    const int row = data_.title.isEmpty() ? 0 : 1;
    auto* rect = new QCPAxisRect(plot_);
    plot_->plotLayout()->addElement(row, 0, rect);
    auto* x = rect->axis(QCPAxis::atBottom);
    auto* y = rect->axis(QCPAxis::atLeft);
    x->setLabel(data_.xLabel);
    y->setLabel(data_.yLabel);
    if (data_.rows <= 0 || data_.cols <= 0 || data_.values.size() != data_.rows * data_.cols) {
        plot_->replot();
        return;
    }
    auto* map = new QCPColorMap(x, y);
    map->data()->setSize(data_.cols, data_.rows);
    map->data()->setRange(QCPRange(0, data_.cols - 1), QCPRange(0, data_.rows - 1));
    for (int r = 0; r < data_.rows; ++r)
        for (int c = 0; c < data_.cols; ++c) map->data()->setCell(c, r, data_.values[r * data_.cols + c]);
    map->setInterpolate(false);
    const QCPColorGradient gradient = data_.diverging ? blueWhiteRed() : viridis();
    map->setGradient(gradient);
    auto* scale = new QCPColorScale(plot_);
    plot_->plotLayout()->addElement(row, 1, scale);
    scale->setType(QCPAxis::atRight);
    scale->axis()->setLabel(data_.valueLabel);
    scale->setBarWidth(12);
    map->setColorScale(scale);
    scale->setGradient(gradient);  // the scale's gradient wins once the map is linked to it
    map->rescaleDataRange(true);
    if (std::isfinite(data_.valueMin) && std::isfinite(data_.valueMax) && data_.valueMin < data_.valueMax)
        map->setDataRange(QCPRange(data_.valueMin, data_.valueMax));
    auto* group = new QCPMarginGroup(plot_);
    rect->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    scale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    x->setRange(-0.5, data_.cols - 0.5);
    y->setRange(-0.5, data_.rows - 0.5);
    y->setRangeReversed(true);  // first row on top
    QSharedPointer<QCPAxisTickerText> rows(new QCPAxisTickerText);
    for (int r = 0; r < data_.rows; ++r) rows->addTick(r, r < data_.rowLabels.size() ? data_.rowLabels[r] : QString::number(r));
    y->setTicker(rows);
    y->setSubTicks(false);
    applySegments(plot_, x, y, data_.columnGroups, data_.cols, false);
    x->grid()->setVisible(false);
    y->grid()->setVisible(false);
    if (data_.valueDecimals >= 0) {
        // Values in the cells, light text on the dark end of the scale and dark text on the light end.
        const QCPRange range = map->dataRange();
        for (int r = 0; r < data_.rows; ++r)
            for (int c = 0; c < data_.cols; ++c) {
                const double v = data_.values[r * data_.cols + c];
                auto* text = new QCPItemText(plot_);
                text->setClipAxisRect(rect);
                text->position->setAxes(x, y);
                text->position->setCoords(c, r);
                text->setText(std::isfinite(v) ? QString::number(v, 'f', data_.valueDecimals) : QStringLiteral("–"));
                const double f = range.size() > 0 ? (v - range.lower) / range.size() : 0.5;
                const bool dark = data_.diverging ? std::abs(f - 0.5) > 0.3 : f < 0.6;
                text->setColor(std::isfinite(v) && dark ? Qt::white : Qt::black);
                QFont font = plot_->font();
                font.setPointSizeF(font.pointSizeF() * 0.85);
                text->setFont(font);
            }
    }
    plot_->replot();
}

bool Heatmap::exportFile(const QString& path, int dpi, QString* error, QSize size) {
    if (!isCsv(path)) return exportCustomPlot(plot_, path, dpi, size, data_.title, error);
    QString out = QStringLiteral("row,column,value\n");
    for (int r = 0; r < data_.rows; ++r)
        for (int c = 0; c < data_.cols; ++c)
            out += csvField(r < data_.rowLabels.size() ? data_.rowLabels[r] : QString::number(r)) + QLatin1Char(',') +
                   QString::number(c) + QLatin1Char(',') + num(data_.values[r * data_.cols + c]) + QLatin1Char('\n');
    return writeTextAtomically(path, out, error);
}

// ---- BarPlot ------------------------------------------------------------------------------------
BarPlot::BarPlot(QWidget* parent) : QWidget(parent) { plot_ = makePlot(this); }

void BarPlot::setData(BarData data) {
    data_ = std::move(data);
    plot_->clearPlottables();
    plot_->clearItems();
    plot_->plotLayout()->clear();
    if (!data_.title.isEmpty()) addTitle(plot_, data_.title, 0);
    auto* rect = new QCPAxisRect(plot_);
    plot_->plotLayout()->addElement(data_.title.isEmpty() ? 0 : 1, 0, rect);
    auto* x = rect->axis(QCPAxis::atBottom);
    auto* y = rect->axis(QCPAxis::atLeft);
    x->setLabel(data_.xLabel);
    y->setLabel(data_.yLabel);
    const int n = int(data_.values.size());
    // One QCPBars per run of equal colours (QCPBars has one brush).
    int i = 0;
    while (i < n) {
        const QColor c = data_.colors.isEmpty() ? QColor(70, 110, 170) : data_.colors[i];
        int j = i;
        QVector<double> keys, values;
        while (j < n && (data_.colors.isEmpty() || data_.colors[j] == c)) keys << j, values << data_.values[j], ++j;
        auto* bars = new QCPBars(x, y);
        bars->setWidthType(QCPBars::wtPlotCoords);
        bars->setWidth(n > 60 ? 1.0 : 0.75);
        bars->setPen(n > 60 ? QPen(Qt::NoPen) : QPen(c.darker(130)));
        bars->setBrush(c);
        bars->setData(keys, values, true);
        for (const auto& [colour, name] : data_.legend)
            if (colour == c && bars->name().isEmpty()) bars->setName(name);
        i = j;
    }
    if (!data_.legend.isEmpty()) {
        // One entry per named colour (the first bars drawn in it), inset at the top right.
        auto* legend = new QCPLegend;
        rect->insetLayout()->addElement(legend, Qt::AlignTop | Qt::AlignRight);
        legend->setLayer(QStringLiteral("legend"));
        legend->setBrush(QColor(255, 255, 255, 210));
        QFont lf = plot_->font();
        lf.setPointSizeF(std::max(6.0, lf.pointSizeF() * 0.85));
        legend->setFont(lf);
        for (const auto& [colour, name] : data_.legend)
            for (int k = 0; k < plot_->plottableCount(); ++k) {
                auto* b = qobject_cast<QCPBars*>(plot_->plottable(k));
                if (b && b->brush().color() == colour) {
                    b->addToLegend(legend);
                    break;
                }
            }
    }
    if (!data_.tickLabels.isEmpty()) {
        QSharedPointer<QCPAxisTickerText> t(new QCPAxisTickerText);
        for (int k = 0; k < n && k < data_.tickLabels.size(); ++k) t->addTick(k, data_.tickLabels[k]);
        x->setTicker(t);
        x->setSubTicks(false);
        x->setTickLabelRotation(n > 6 ? 35 : 0);
    } else {
        applySegments(plot_, x, y, data_.groups, n, true);
    }
    x->grid()->setVisible(false);
    x->setRange(-0.7, n - 0.3);
    double top = 0;
    for (double v : data_.values) top = std::max(top, v);
    y->setRange(0, top > 0 ? top * (data_.legend.isEmpty() ? 1.08 : 1.2) : 1.0);  // room for the legend
    plot_->replot();
}

bool BarPlot::exportFile(const QString& path, int dpi, QString* error, QSize size) {
    if (!isCsv(path)) return exportCustomPlot(plot_, path, dpi, size, data_.title, error);
    QString out = QStringLiteral("bar,label,value\n");
    for (int k = 0; k < data_.values.size(); ++k) {
        QString label = k < data_.tickLabels.size() ? data_.tickLabels[k] : QString();
        if (label.isEmpty())
            for (int g = 0; g < data_.groups.starts.size(); ++g)
                if (data_.groups.starts[g] <= k && g < data_.groups.names.size()) label = data_.groups.names[g];
        for (const auto& [colour, name] : data_.legend)  // "noise T=1": the group and the bar's legend name
            if (k < data_.colors.size() && data_.colors[k] == colour) label += QLatin1Char(' ') + name;
        out += QString::number(k) + QLatin1Char(',') + csvField(label) + QLatin1Char(',') + num(data_.values[k]) +
               QLatin1Char('\n');
    }
    return writeTextAtomically(path, out, error);
}

// ---- PanelPlot ----------------------------------------------------------------------------------
PanelPlot::PanelPlot(QWidget* parent) : QWidget(parent) { plot_ = makePlot(this); }

void PanelPlot::setPanels(QVector<Panel> panels, int columns, const QString& title) {
    panels_ = std::move(panels);
    title_ = title;
    plot_->clearPlottables();
    plot_->clearItems();
    plot_->plotLayout()->clear();
    const int n = int(panels_.size());
    if (columns <= 0) columns = std::max(1, n);
    int row0 = 0;
    if (!title_.isEmpty()) {
        auto* sub = new QCPLayoutGrid;
        plot_->plotLayout()->addElement(0, 0, sub);
        QFont f = plot_->font();
        f.setBold(true);
        f.setPointSizeF(f.pointSizeF() * 1.15);
        sub->addElement(0, 0, new QCPTextElement(plot_, title_, f));
        row0 = 1;
    }
    auto* grid = new QCPLayoutGrid;
    plot_->plotLayout()->addElement(row0, 0, grid);
    if (row0 == 1) plot_->plotLayout()->setRowStretchFactor(0, 0.01);
    for (int p = 0; p < n; ++p) {
        const Panel& panel = panels_[p];
        auto* cell = new QCPLayoutGrid;
        grid->addElement(p / columns, p % columns, cell);
        QFont f = plot_->font();
        f.setBold(true);
        cell->addElement(0, 0, new QCPTextElement(plot_, panel.title, f));
        auto* rect = new QCPAxisRect(plot_);
        cell->addElement(1, 0, rect);
        cell->setRowStretchFactor(0, 0.01);
        auto* x = rect->axis(QCPAxis::atBottom);
        auto* y = rect->axis(QCPAxis::atLeft);
        x->setLabel(panel.xLabel);
        y->setLabel(panel.yLabel);
        auto* legend = new QCPLegend;
        rect->insetLayout()->addElement(legend, panel.legend);
        legend->setLayer(QStringLiteral("legend"));
        QFont lf = plot_->font();
        lf.setPointSizeF(std::max(6.0, lf.pointSizeF() * 0.8));
        legend->setFont(lf);
        legend->setBrush(QColor(255, 255, 255, 200));
        legend->setRowSpacing(0);
        double lo = std::numeric_limits<double>::infinity(), hi = -lo, xlo = lo, xhi = -lo;
        for (const Series& s : panel.series) {
            auto* g = new QCPGraph(x, y);
            g->setName(s.name);
            g->setPen(QPen(s.color, 1.8, s.style));
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, s.color, Qt::white, 6));
            g->setData(s.x, s.y, true);
            g->addToLegend(legend);
            for (double v : s.y)
                if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
            for (double v : s.x)
                if (std::isfinite(v)) xlo = std::min(xlo, v), xhi = std::max(xhi, v);
        }
        legend->setVisible(!panel.series.isEmpty());
        if (std::isfinite(panel.yMin)) lo = panel.yMin;
        if (std::isfinite(panel.yMax)) hi = panel.yMax;
        if (!(lo < hi)) lo = std::isfinite(lo) ? lo - 1 : 0, hi = std::isfinite(hi) ? hi + 1 : 1;
        const double pad = (hi - lo) * 0.05;
        y->setRange(std::isfinite(panel.yMin) ? lo : lo - pad, std::isfinite(panel.yMax) ? hi : hi + pad);
        if (xlo < xhi) {
            const double xpad = (xhi - xlo) * 0.04;
            x->setRange(xlo - xpad, xhi + xpad);
        }
    }
    plot_->replot();
}

int PanelPlot::drawnPoints() const {
    int n = 0;
    for (int i = 0; i < plot_->graphCount(); ++i) n += plot_->graph(i)->dataCount();
    return n;
}

bool PanelPlot::exportFile(const QString& path, int dpi, QString* error, QSize size) {
    if (!isCsv(path)) return exportCustomPlot(plot_, path, dpi, size, title_, error);
    QString out = QStringLiteral("panel,series,x,y\n");
    for (const Panel& p : panels_)
        for (const Series& s : p.series)
            for (int i = 0; i < s.x.size() && i < s.y.size(); ++i)
                out += csvField(p.title) + QLatin1Char(',') + csvField(s.name) + QLatin1Char(',') + num(s.x[i]) +
                       QLatin1Char(',') + num(s.y[i]) + QLatin1Char('\n');
    return writeTextAtomically(path, out, error);
}

}  // namespace vhmn::widgets
