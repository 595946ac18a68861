#include "widgets/scatter_map.h"

#include <cmath>

#include <QEvent>
#include <QLabel>
#include <QMouseEvent>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "widgets/figure_plots.h"
#include "widgets/plot_export.h"

namespace vhmn::widgets {

ScatterMap::ScatterMap(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    plot_ = new QCustomPlot(this);
    plot_->setMinimumSize(320, 240);
    plot_->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    plot_->setAutoAddPlottableToLegend(false);  // one legend, built in setData
    layout->addWidget(plot_);
    plot_->installEventFilter(this);
    plot_->setMouseTracking(true);
    card_ = new QLabel(this);
    card_->setFrameShape(QFrame::Box);
    card_->setAutoFillBackground(true);
    card_->setAttribute(Qt::WA_TransparentForMouseEvents);
    card_->hide();
}

void ScatterMap::setData(ScatterData data) {
    data_ = std::move(data);
    plot_->clearGraphs();
    plot_->clearItems();
    plot_->plotLayout()->clear();
    auto* rect = new QCPAxisRect(plot_);
    plot_->plotLayout()->addElement(0, 0, rect);
    if (!data_.title.isEmpty()) {
        QFont f = plot_->font();
        f.setBold(true);
        plot_->plotLayout()->insertRow(0);
        plot_->plotLayout()->addElement(0, 0, new QCPTextElement(plot_, data_.title, f));
    }
    plot_->xAxis = rect->axis(QCPAxis::atBottom);
    plot_->yAxis = rect->axis(QCPAxis::atLeft);
    plot_->xAxis->setLabel(data_.xLabel);
    plot_->yAxis->setLabel(data_.yLabel);
    // The legend in a column of its own, right of the map (inside it would hide points).
    auto* legend = new QCPLegend;
    const int row = data_.title.isEmpty() ? 0 : 1;
    plot_->plotLayout()->addElement(row, 1, legend);
    plot_->plotLayout()->setColumnStretchFactor(1, 0.001);
    legend->setLayer(QStringLiteral("legend"));
    legend->setFont(QFont(plot_->font().family(), 8));
    const int groups = int(data_.groupNames.size());
    for (int g = 0; g < groups; ++g) {
        QVector<double> x, y;
        for (int i = 0; i < data_.x.size(); ++i)
            if (data_.group.value(i) == g) x << data_.x[i], y << data_.y[i];
        auto* graph = plot_->addGraph(plot_->xAxis, plot_->yAxis);
        graph->setName(data_.groupNames[g]);
        graph->setLineStyle(QCPGraph::lsNone);
        graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, categoryColor(g), 5));
        graph->setData(x, y, true);
        legend->addItem(new QCPPlottableLegendItem(legend, graph));
    }
    if (!data_.pathX.isEmpty()) {
        auto* curve = new QCPCurve(plot_->xAxis, plot_->yAxis);
        curve->setName(data_.pathName);
        curve->setData(data_.pathX, data_.pathY);
        curve->setPen(QPen(Qt::black, 2));
        curve->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(Qt::black, 1.5), QBrush(Qt::white), 8));
        legend->addItem(new QCPPlottableLegendItem(legend, curve));
        for (int end : {0, int(data_.pathX.size()) - 1}) {
            auto* label = new QCPItemText(plot_);
            label->position->setCoords(data_.pathX[end], data_.pathY[end]);
            // Start above-left, end below-right: readable even when z barely moves.
            label->setPositionAlignment(end == 0 ? Qt::AlignRight | Qt::AlignBottom : Qt::AlignLeft | Qt::AlignTop);
            label->setText(end == 0 ? QStringLiteral("z₀ = q ") : QStringLiteral(" z_T"));
            label->setFont(QFont(plot_->font().family(), 9, QFont::Bold));
        }
    }
    plot_->rescaleAxes();
    plot_->xAxis->scaleRange(1.1);
    plot_->yAxis->scaleRange(1.1);
    plot_->replot();
    hover(-1, {});
}

int ScatterMap::pointAt(const QPoint& pos, double radius) const {
    int best = -1;
    double bestD = radius * radius;
    for (int i = 0; i < data_.x.size(); ++i) {
        const double dx = plot_->xAxis->coordToPixel(data_.x[i]) - pos.x();
        const double dy = plot_->yAxis->coordToPixel(data_.y[i]) - pos.y();
        if (dx * dx + dy * dy <= bestD) bestD = dx * dx + dy * dy, best = i;
    }
    return best;
}

void ScatterMap::hover(int point, const QPoint& where) {
    hovered_ = point;
    if (point < 0 || point >= data_.x.size()) {
        card_->hide();
        return;
    }
    const QImage image = data_.images.value(point);
    QString text = data_.texts.value(point);
    if (!image.isNull()) {
        const int scale = std::max(1, 96 / std::max(1, std::max(image.width(), image.height())));
        card_->setPixmap(QPixmap::fromImage(image.scaled(image.size() * scale, Qt::KeepAspectRatio, Qt::FastTransformation)));
        card_->setToolTip(text);
    } else {
        card_->setText(text);
    }
    card_->adjustSize();
    QPoint at = where + QPoint(14, 14);
    if (at.x() + card_->width() > width()) at.setX(where.x() - 14 - card_->width());
    if (at.y() + card_->height() > height()) at.setY(where.y() - 14 - card_->height());
    card_->move(at);
    card_->show();
    card_->raise();
}

bool ScatterMap::eventFilter(QObject* watched, QEvent* event) {
    if (watched == plot_ && event->type() == QEvent::MouseMove) {
        const auto* m = static_cast<QMouseEvent*>(event);
        hover(pointAt(m->pos()), m->pos());
    } else if (watched == plot_ && event->type() == QEvent::Leave) {
        hover(-1, {});
    }
    return QWidget::eventFilter(watched, event);
}

bool ScatterMap::exportFile(const QString& path, int dpi, QString* error, QSize size) {
    if (!isCsv(path)) return exportCustomPlot(plot_, path, dpi, size, {}, error);
    QString out = QStringLiteral("kind,group,x,y,text\n");
    for (int i = 0; i < data_.x.size(); ++i)
        out += QStringLiteral("point,") + csvField(data_.groupNames.value(data_.group.value(i))) + QLatin1Char(',') +
               csvNumber(data_.x[i]) + QLatin1Char(',') + csvNumber(data_.y[i]) + QLatin1Char(',') +
               csvField(data_.texts.value(i)) + QLatin1Char('\n');
    for (int t = 0; t < data_.pathX.size(); ++t)
        out += QStringLiteral("path,") + csvField(data_.pathName) + QLatin1Char(',') + csvNumber(data_.pathX[t]) +
               QLatin1Char(',') + csvNumber(data_.pathY[t]) + QStringLiteral(",t=") + QString::number(t) + QLatin1Char('\n');
    return writeTextAtomically(path, out, error);
}

}  // namespace vhmn::widgets
