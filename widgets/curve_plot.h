#pragma once
// A line plot of named curves (plain vectors) on QCustomPlot: TensorBoard-style smoothing (the raw
// curve stays visible, faded), log scale, zoom/pan, a crosshair read-out, and export to PNG (chosen
// DPI), SVG, PDF (with the legend) and CSV (the data). Redraws are coalesced on a 40 ms timer: set
// the curves as often as you like, the plot is drawn at most ~25 times a second.
#include <QColor>
#include <QString>
#include <QTimer>
#include <QVector>
#include <QWidget>

class QCustomPlot;
class QCPItemStraightLine;
class QCPTextElement;
class QLabel;

namespace vhmn::widgets {

struct Curve {
    QString name;
    QVector<double> x, y;
    QColor color;
    Qt::PenStyle style = Qt::SolidLine;
    bool smooth = true;    ///< apply the plot's smoothing (per-step curves); false for per-epoch
    bool markers = false;  ///< draw a marker at every point (per-epoch curves)
};

class CurvePlot : public QWidget {
    Q_OBJECT
public:
    explicit CurvePlot(const QString& title, const QString& yLabel, QWidget* parent = nullptr);

    /// Replace every curve; drawn on the next coalesced redraw.
    void setCurves(QVector<Curve> curves);
    const QVector<Curve>& curves() const { return curves_; }
    QString title() const { return title_; }
    void setXLabel(const QString& label);

    /// Debiased EMA weight in [0, 1) applied to curves with `smooth` (0 = raw).
    void setSmoothing(double weight);
    double smoothing() const { return smoothing_; }
    void setLogY(bool log);
    bool logY() const { return log_y_; }
    /// Fit the axes to the data again and follow new data (after a zoom or pan).
    void resetView();
    bool followsData() const { return auto_range_; }

    /// Draw now if a redraw is pending (tests, exports).
    void flush();
    int replotCount() const { return replots_; }
    /// Data points drawn over all visible graphs (raw and smoothed).
    int drawnPoints() const;

    /// Crosshair at data x: every curve's value at its nearest point.
    void showReadoutAt(double x);
    QString readout() const;

    /// Export by the file's suffix (.png, .svg, .pdf, .csv). False with *error set on failure;
    /// the file is replaced atomically (nothing half-written stays behind).
    bool exportFile(const QString& path, int dpi = 150, QString* error = nullptr);
    bool exportPng(const QString& path, int dpi, QString* error = nullptr);
    bool exportSvg(const QString& path, QString* error = nullptr);
    bool exportPdf(const QString& path, QString* error = nullptr);
    bool exportCsv(const QString& path, QString* error = nullptr) const;

    QCustomPlot* plot() const { return plot_; }
    /// The drawing surface as a plain QWidget (for code built with QT_NO_KEYWORDS, which cannot
    /// include qcustomplot.h).
    QWidget* canvas() const;
    int graphCount() const;
    bool yAxisLogarithmic() const;
    QString xAxisLabel() const;

Q_SIGNALS:
    /// The user asked (context menu) to export this plot.
    void exportRequested(vhmn::widgets::CurvePlot* plot);

private:
    void rebuild();
    void scheduleReplot();
    QSize exportSize() const;
    void showContextMenu(const QPoint& pos);

    QString title_;
    QVector<Curve> curves_;
    QVector<QVector<double>> smoothed_;  ///< per curve, what is drawn
    double smoothing_ = 0.6;
    bool log_y_ = false;
    bool auto_range_ = true;
    int replots_ = 0;
    QCustomPlot* plot_ = nullptr;
    QCPTextElement* title_element_ = nullptr;
    QCPItemStraightLine* crosshair_ = nullptr;
    QLabel* readout_ = nullptr;
    QTimer timer_;
};

}  // namespace vhmn::widgets
