#include "app/gui/training/curves_view.h"

#include <algorithm>
#include <cmath>

#include <QCheckBox>
#include <QComboBox>
#include <QEvent>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSlider>

namespace vhmn::gui {
namespace {

using widgets::Curve;

const QColor kPalette[] = {QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44),  QColor(214, 39, 40),
                           QColor(148, 103, 189), QColor(140, 86, 75),  QColor(227, 119, 194), QColor(127, 127, 127),
                           QColor(188, 189, 34),  QColor(23, 190, 207)};
constexpr int kPaletteSize = int(sizeof(kPalette) / sizeof(kPalette[0]));
const Qt::PenStyle kStyles[] = {Qt::SolidLine, Qt::DashLine, Qt::DotLine, Qt::DashDotLine, Qt::DashDotDotLine};

enum PlotId { kLoss, kAccuracy, kLr, kBeta, kEntropy, kThroughput, kUnused, kAge, kPlotCount };

/// Adds one run's curves to every plot. With several runs, colour = run and line style = curve.
struct Builder {
    QVector<QVector<Curve>>& out;
    bool by_epoch;
    bool overlay;
    int run_index;
    QString prefix;

    void add(int plot, const QString& name, QVector<double> x, QVector<double> y, bool smooth, bool markers) {
        if (x.isEmpty()) return;
        Curve c;
        const int k = int(out[plot].size());
        c.name = prefix + name;
        c.x = std::move(x), c.y = std::move(y);
        if (overlay) {
            c.color = kPalette[run_index % kPaletteSize];
            c.style = kStyles[k % 5];
        } else {
            c.color = kPalette[k % kPaletteSize];
        }
        c.smooth = smooth, c.markers = markers;
        out[plot].push_back(std::move(c));
    }

    void run(const History& h) {
        QVector<double> sx, loss, acc, lr, ips;
        for (const auto& s : h.steps) {
            sx << (by_epoch ? s.epoch_progress : double(s.step));
            loss << s.loss, acc << s.accuracy, lr << s.lr, ips << s.images_per_s;
        }
        QVector<double> ex, tr_loss, te_loss, tr_acc, top1, top5;
        for (const auto& e : h.epochs) {
            ex << (by_epoch ? double(e.epoch) : double(e.step));
            tr_loss << e.train_loss, te_loss << e.test_loss, tr_acc << e.train_acc;
            top1 << e.test_top1, top5 << e.test_top5;
        }
        add(kLoss, QObject::tr("train loss"), sx, loss, true, false);
        add(kLoss, QObject::tr("test loss"), ex, te_loss, false, true);
        add(kAccuracy, QObject::tr("train acc"), sx, acc, true, false);
        add(kAccuracy, QObject::tr("test top-1"), ex, top1, false, true);
        add(kAccuracy, QObject::tr("test top-5"), ex, top5, false, true);
        add(kLr, QObject::tr("lr"), sx, lr, false, false);
        add(kThroughput, QObject::tr("images/s"), sx, ips, true, false);
        per_block(kBeta, QStringLiteral("β"), sx, h.steps, &StepStats::beta_local, &StepStats::beta_global, false, false);
        per_block(kEntropy, QStringLiteral("H"), sx, h.steps, &StepStats::entropy_local, &StepStats::entropy_global, true,
                  false);
        // Memory over training: one point per epoch, unused share in %.
        per_block(kUnused, QString(), ex, h.epochs, &EpochStats::unused_local, &EpochStats::unused_global, false, true, 100.0);
        per_block(kAge, QString(), ex, h.epochs, &EpochStats::age_local, &EpochStats::age_global, false, true);
    }

    /// One curve per block and branch of a per-block field of the rows (steps or epochs); rows
    /// without the field (older runs) are skipped. Names: "<symbol> local b0", …
    template <typename Row>
    void per_block(int plot, const QString& symbol, const QVector<double>& xs, const std::vector<Row>& rows,
                   std::vector<double> Row::*local, std::vector<double> Row::*global, bool smooth, bool markers,
                   double scale = 1.0) {
        size_t depth = 0;
        for (const auto& r : rows) depth = std::max({depth, (r.*local).size(), (r.*global).size()});
        for (int branch = 0; branch < 2; ++branch) {
            auto member = branch == 0 ? local : global;
            for (size_t b = 0; b < depth; ++b) {
                QVector<double> x, y;
                for (int i = 0; i < int(rows.size()); ++i) {
                    const auto& v = rows[size_t(i)].*member;
                    if (b < v.size()) x << xs[i], y << scale * v[b];
                }
                const QString name = QStringLiteral("%1 b%2").arg(branch == 0 ? QObject::tr("local") : QObject::tr("global")).arg(b);
                add(plot, symbol.isEmpty() ? name : symbol + QLatin1Char(' ') + name, x, y, smooth, markers);
            }
        }
    }
};

}  // namespace

CurvesView::CurvesView(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Smoothing"), this));
    smoothing_ = new QSlider(Qt::Horizontal, this);
    smoothing_->setRange(0, 99);
    smoothing_->setValue(60);
    smoothing_->setMaximumWidth(200);
    smoothing_->setToolTip(tr("Debiased exponential moving average, as in TensorBoard (0 = raw)"));
    controls->addWidget(smoothing_);
    smoothing_label_ = new QLabel(QStringLiteral("0.60"), this);
    smoothing_label_->setMinimumWidth(smoothing_label_->fontMetrics().horizontalAdvance(QStringLiteral("0.000")));
    controls->addWidget(smoothing_label_);
    controls->addSpacing(16);
    log_ = new QCheckBox(tr("Log scale"), this);
    controls->addWidget(log_);
    controls->addSpacing(16);
    controls->addWidget(new QLabel(tr("x axis"), this));
    x_axis_ = new QComboBox(this);
    x_axis_->addItems({tr("step"), tr("epoch")});
    controls->addWidget(x_axis_);
    auto* reset = new QPushButton(tr("Reset zoom"), this);
    reset->setToolTip(tr("Fit all plots to their data again (double-click a plot for one)"));
    controls->addWidget(reset);
    controls->addStretch(1);
    layout->addLayout(controls);

    auto* grid = new QGridLayout;
    const QStringList titles = {tr("Loss"), tr("Accuracy (%)"), tr("Learning rate"), tr("β per block"),
                                tr("Retrieval entropy (nats)"), tr("Throughput (images/s)"),
                                tr("Unused memory (% of slots no query's top-1)"), tr("Memory age (steps)")};
    const QStringList ylabels = {tr("cross-entropy"), tr("%"), tr("lr"), tr("β"), tr("nats"), tr("images/s"),
                                 tr("% of filled slots"), tr("steps since written")};
    for (int i = 0; i < kPlotCount; ++i) {
        auto* p = new widgets::CurvePlot(titles[i], ylabels[i], this);
        p->canvas()->installEventFilter(this);
        connect(p, &widgets::CurvePlot::exportRequested, this, &CurvesView::exportRequested);
        grid->addWidget(p, i / 4, i % 4);
        plots_ << p;
    }
    current_ = plots_.front();
    layout->addLayout(grid, 1);

    timer_.setSingleShot(true);
    timer_.setInterval(40);
    connect(&timer_, &QTimer::timeout, this, &CurvesView::rebuild);
    connect(smoothing_, &QSlider::valueChanged, this, [this](int v) {
        smoothing_label_->setText(QString::number(v / 100.0, 'f', 2));
        for (auto* p : plots_) p->setSmoothing(v / 100.0);
        Q_EMIT settingsChanged();
    });
    connect(log_, &QCheckBox::toggled, this, [this](bool on) {
        for (auto* p : plots_) p->setLogY(on);
        Q_EMIT settingsChanged();
    });
    connect(x_axis_, &QComboBox::currentIndexChanged, this, [this] {
        for (auto* p : plots_) p->resetView();
        markDirty();
        Q_EMIT settingsChanged();
    });
    connect(reset, &QPushButton::clicked, this, [this] {
        for (auto* p : plots_) p->resetView();
    });
    for (auto* p : plots_) p->setSmoothing(0.6);
}

bool CurvesView::eventFilter(QObject* watched, QEvent* event) {
    if (event->type() == QEvent::MouseButtonPress || event->type() == QEvent::ContextMenu) {
        for (auto* p : plots_)
            if (p->canvas() == watched) current_ = p;
    }
    return QWidget::eventFilter(watched, event);
}

widgets::CurvePlot* CurvesView::plot(const QString& title) const {
    for (auto* p : plots_)
        if (p->title() == title) return p;
    return nullptr;
}

widgets::CurvePlot* CurvesView::currentPlot() const { return current_; }

void CurvesView::setRuns(std::vector<RunCurves> runs) {
    runs_ = std::move(runs);
    for (auto* p : plots_) p->resetView();
    markDirty();
}

void CurvesView::appendStep(const StepStats& s) {
    if (runs_.empty()) runs_.push_back({tr("live"), {}});
    runs_.front().history.steps.push_back(s);
    markDirty();
}

void CurvesView::appendEpoch(const EpochStats& e) {
    if (runs_.empty()) runs_.push_back({tr("live"), {}});
    runs_.front().history.epochs.push_back(e);
    markDirty();
}

void CurvesView::setSmoothing(double w) { smoothing_->setValue(int(std::lround(std::clamp(w, 0.0, 0.99) * 100))); }
double CurvesView::smoothing() const { return smoothing_->value() / 100.0; }
void CurvesView::setLogScale(bool on) { log_->setChecked(on); }
bool CurvesView::logScale() const { return log_->isChecked(); }
void CurvesView::setXByEpoch(bool on) { x_axis_->setCurrentIndex(on ? 1 : 0); }
bool CurvesView::xByEpoch() const { return x_axis_->currentIndex() == 1; }

void CurvesView::markDirty() {
    if (!timer_.isActive()) timer_.start();
}

void CurvesView::flush() {
    if (timer_.isActive()) {
        timer_.stop();
        rebuild();
    }
    for (auto* p : plots_) p->flush();
}

void CurvesView::rebuild() {
    ++rebuilds_;
    QVector<QVector<Curve>> curves(kPlotCount);
    const bool overlay = runs_.size() > 1;
    for (size_t i = 0; i < runs_.size(); ++i) {
        Builder b{curves, xByEpoch(), overlay, int(i), overlay ? runs_[i].name + QStringLiteral(": ") : QString()};
        b.run(runs_[i].history);
    }
    for (int i = 0; i < kPlotCount; ++i) {
        plots_[i]->setXLabel(xByEpoch() ? tr("epoch") : tr("step"));
        plots_[i]->setCurves(curves[i]);
        plots_[i]->flush();  // this view's timer already coalesced the updates
        // β and retrieval entropy exist only for V-HMN: hidden when the runs shown have none
        // (baselines) rather than left as empty plots.
        if (i == kBeta || i == kEntropy || i == kUnused || i == kAge) plots_[i]->setVisible(runs_.empty() || !curves[i].isEmpty());
    }
}

}  // namespace vhmn::gui
