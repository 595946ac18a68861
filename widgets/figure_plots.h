#pragma once
// QCustomPlot figures of plain data for the memory and robustness views and the figure pack:
// a heatmap (slot weightings, Fig. 5), bar plots (slot usage, bank fill) and a figure of several
// panels of line series (Fig. 2, Fig. 6). Each exports to PNG/SVG/PDF (+ CSV of its data).
// The headers do not include qcustomplot.h (code built with QT_NO_KEYWORDS cannot).
#include <limits>

#include <QColor>
#include <QPair>
#include <QSize>
#include <QString>
#include <QStringList>
#include <QVector>
#include <QWidget>

class QCustomPlot;

namespace vhmn::widgets {

/// Named groups of consecutive columns/bars (e.g. slots ordered by class): a tick at each group's
/// centre with its name and a thin line between groups.
struct Segments {
    QVector<int> starts;  ///< first column of each group, ascending
    QStringList names;
};

struct HeatmapData {
    int rows = 0, cols = 0;
    QVector<double> values;  ///< row-major [rows][cols]
    QStringList rowLabels;   ///< one per row (top to bottom)
    Segments columnGroups;
    QString title, xLabel, yLabel, valueLabel;
    double valueMin = std::numeric_limits<double>::quiet_NaN();  ///< colour scale range (NaN: fit the data)
    double valueMax = std::numeric_limits<double>::quiet_NaN();
    bool diverging = false;  ///< blue – white – red around the middle of the range (changes), else viridis
    int valueDecimals = -1;  ///< >= 0: each cell's value written in it with that many decimals
};

class Heatmap : public QWidget {
    Q_OBJECT
public:
    explicit Heatmap(QWidget* parent = nullptr);
    void setData(HeatmapData data);
    const HeatmapData& data() const { return data_; }
    /// .png/.svg/.pdf (figure) or .csv (row, column, value).
    bool exportFile(const QString& path, int dpi = 150, QString* error = nullptr, QSize size = {});
    QCustomPlot* plot() const { return plot_; }

private:
    HeatmapData data_;
    QCustomPlot* plot_ = nullptr;
};

struct BarData {
    QVector<double> values;
    QVector<QColor> colors;  ///< per bar (empty: one colour)
    QStringList tickLabels;  ///< per bar (empty: numbers, or the groups' names)
    Segments groups;
    QString title, xLabel, yLabel;
    /// Bar colours named in a legend (e.g. one colour per T inside each group); empty: none.
    QVector<QPair<QColor, QString>> legend;
};

class BarPlot : public QWidget {
    Q_OBJECT
public:
    explicit BarPlot(QWidget* parent = nullptr);
    void setData(BarData data);
    const BarData& data() const { return data_; }
    /// .png/.svg/.pdf or .csv (bar, label, value).
    bool exportFile(const QString& path, int dpi = 150, QString* error = nullptr, QSize size = {});
    QCustomPlot* plot() const { return plot_; }

private:
    BarData data_;
    QCustomPlot* plot_ = nullptr;
};

struct Series {
    QString name;
    QVector<double> x, y;
    QColor color;
    Qt::PenStyle style = Qt::SolidLine;
};

struct Panel {
    QString title, xLabel, yLabel;
    QVector<Series> series;
    double yMin = std::numeric_limits<double>::quiet_NaN();  ///< NaN: fit the data
    double yMax = std::numeric_limits<double>::quiet_NaN();
    Qt::Alignment legend = Qt::AlignBottom | Qt::AlignLeft;  ///< where the legend sits (away from the data)
};

/// Several panels side by side (wrapping after `columns`), each with its own axes and legend.
class PanelPlot : public QWidget {
    Q_OBJECT
public:
    explicit PanelPlot(QWidget* parent = nullptr);
    void setPanels(QVector<Panel> panels, int columns = 0, const QString& title = {});
    const QVector<Panel>& panels() const { return panels_; }
    /// .png/.svg/.pdf or .csv (panel, series, x, y).
    bool exportFile(const QString& path, int dpi = 150, QString* error = nullptr, QSize size = {});
    QCustomPlot* plot() const { return plot_; }
    /// Points drawn over all panels.
    int drawnPoints() const;

private:
    QVector<Panel> panels_;
    QString title_;
    QCustomPlot* plot_ = nullptr;
};

/// A readable, colour-blind-friendly colour for series/class i.
QColor categoryColor(int i);
/// The colour of inference-time T in every robustness figure: grey for T = 0 (no memory), then
/// blue, green, red, purple, orange (T >= 5).
QColor iterationColor(int t);

}  // namespace vhmn::widgets
