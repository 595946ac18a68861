#pragma once
// A 2-D map of points coloured by group (e.g. memory slots by class), with a path drawn over it
// (e.g. a query's refinement z_0 → z_T) and a hover card showing the point's image and text.
// Plain data only; export as PNG/SVG/PDF or CSV (kind, group, x, y, text).
#include <QImage>
#include <QString>
#include <QStringList>
#include <QVector>
#include <QWidget>

class QCustomPlot;
class QLabel;

namespace vhmn::widgets {

struct ScatterData {
    QVector<double> x, y;
    QVector<int> group;           ///< per point, index into groupNames (colour)
    QStringList groupNames;
    QVector<QImage> images;       ///< per point, shown when hovered (may be empty or hold nulls)
    QStringList texts;            ///< per point, shown when hovered
    QVector<double> pathX, pathY;  ///< drawn as a line with markers, start and end labelled
    QString pathName;
    QString title, xLabel, yLabel;
};

class ScatterMap : public QWidget {
    Q_OBJECT
public:
    explicit ScatterMap(QWidget* parent = nullptr);
    void setData(ScatterData data);
    const ScatterData& data() const { return data_; }
    /// The point nearest to a position in widget pixels within `radius` pixels (−1: none).
    int pointAt(const QPoint& pos, double radius = 8) const;
    /// What the hover card shows now (−1: hidden).
    int hovered() const { return hovered_; }
    void hover(int point, const QPoint& where);
    bool exportFile(const QString& path, int dpi = 150, QString* error = nullptr, QSize size = {});
    QCustomPlot* plot() const { return plot_; }

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    ScatterData data_;
    QCustomPlot* plot_ = nullptr;
    QLabel* card_ = nullptr;
    int hovered_ = -1;
};

}  // namespace vhmn::widgets
