#include "app/gui/analysis/forgetting_view.h"

#include <algorithm>
#include <cmath>

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "app/gui/analysis/job_bar.h"
#include "app/gui/analysis/run_session.h"
#include "widgets/figure_plots.h"
#include "widgets/plot_export.h"

namespace vhmn::gui {

namespace {

QSpinBox* spin(int lo, int hi, int value, QWidget* parent, const QString& zero = {}) {
    auto* s = new QSpinBox(parent);
    s->setRange(lo, hi);
    s->setValue(value);
    if (!zero.isEmpty()) s->setSpecialValueText(zero);
    return s;
}

}  // namespace

ForgettingView::ForgettingView(RunSession* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(4, 4, 4, 4);
    auto* controls = new QHBoxLayout;
    l->addLayout(controls);
    controls->addWidget(new QLabel(tr("Test images"), this));
    limit_ = spin(0, 1000000, 1000, this, tr("all"));
    controls->addWidget(limit_);
    controls->addWidget(new QLabel(tr("Usage counted on training images"), this));
    usage_ = spin(0, 10000000, 5000, this, tr("all"));
    usage_->setToolTip(tr("How often each slot is a query's top-1 is counted on the training split "
                          "(the most/least used orders never look at the test set)"));
    controls->addWidget(usage_);
    controls->addWidget(new QLabel(tr("Seed"), this));
    seed_ = spin(0, 1000000, 0, this);
    controls->addWidget(seed_);
    ablate_ = new QPushButton(tr("Ablation curve"), this);
    ablate_->setToolTip(tr("Mask 0, 10, …, 100 % of every block's slots (random, most used first, least used "
                           "first), per branch and both, and measure test top-1"));
    controls->addWidget(ablate_);
    leave_ = new QPushButton(tr("Leave one class out"), this);
    leave_->setToolTip(tr("Mask one class's memories at a time and measure every class's test top-1"));
    controls->addWidget(leave_);
    auto* exportButton = new QPushButton(tr("Export…"), this);
    controls->addWidget(exportButton);
    controls->addStretch(1);
    job_ = new JobBar(session_, this);
    l->addWidget(job_);
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    l->addWidget(summary_);
    auto* plots = new QHBoxLayout;
    curve_ = new widgets::PanelPlot(this);
    matrix_ = new widgets::Heatmap(this);
    plots->addWidget(curve_, 3);
    plots->addWidget(matrix_, 2);
    l->addLayout(plots, 1);
    showAblation({});
    showLeaveClassOut({});

    connect(ablate_, &QPushButton::clicked, this, &ForgettingView::runAblation);
    connect(leave_, &QPushButton::clicked, this, &ForgettingView::runLeaveClassOut);
    exports_.setView(this, tr("Export the memory ablation figures"), false);
    exports_.add(QStringLiteral("ablation"), curve_);
    exports_.add(QStringLiteral("leave-class-out"), matrix_);
    connect(exportButton, &QPushButton::clicked, this, &ForgettingView::exportInteractive);
    connect(session_, &RunSession::ablationReady, this, &ForgettingView::showAblation);
    connect(session_, &RunSession::leaveClassOutReady, this, &ForgettingView::showLeaveClassOut);
    connect(session_, &RunSession::opened, this, [this] {
        showAblation({});
        showLeaveClassOut({});
        setEnabled(session_->info().hasMemory);
    });
    auto enable = [this] {
        const bool idle = !session_->busy();
        ablate_->setEnabled(idle);
        leave_->setEnabled(idle);
    };
    connect(session_, &RunSession::jobStarted, this, enable);
    connect(session_, &RunSession::jobFinished, this, enable);
}

void ForgettingView::setLimit(int images) { limit_->setValue(images); }
void ForgettingView::setUsageLimit(int images) { usage_->setValue(images); }

bool ForgettingView::runAblation() {
    return session_->runAblation(limit_->value(), usage_->value(), quint64(seed_->value()));
}

bool ForgettingView::runLeaveClassOut() { return session_->runLeaveClassOut(limit_->value()); }

QVector<widgets::Panel> ForgettingView::ablationPanels(const QVector<AblationPoint>& points) {
    const QStringList branches{QStringLiteral("local"), QStringLiteral("global"), QStringLiteral("both")};
    const QStringList orders{QStringLiteral("random"), QStringLiteral("most_used"), QStringLiteral("least_used")};
    const QStringList orderNames{tr("random"), tr("most used first"), tr("least used first")};
    // One y range for the three panels, at least 10 points tall: differences of a few test images
    // must not look like an effect.
    double lo = 100, hi = 0;
    for (const AblationPoint& pt : points) lo = std::min(lo, pt.top1), hi = std::max(hi, pt.top1);
    if (hi - lo < 10) {
        const double mid = (hi + lo) / 2;
        lo = std::max(0.0, mid - 5), hi = std::min(100.0, mid + 5);
    }
    QVector<widgets::Panel> panels;
    for (const QString& b : branches) {
        widgets::Panel p;
        if (!points.isEmpty()) p.yMin = lo, p.yMax = hi;
        p.title = b == QLatin1String("both") ? tr("both branches masked") : tr("%1 branch masked").arg(b);
        p.xLabel = tr("masked slots (% of every block's)");
        p.yLabel = tr("test top-1 (%)");
        for (int o = 0; o < orders.size(); ++o) {
            widgets::Series s;
            s.name = orderNames[o];
            s.color = widgets::categoryColor(o);
            for (const AblationPoint& pt : points)
                if (pt.branch == b && pt.order == orders[o]) s.x << 100.0 * pt.maskedFraction, s.y << pt.top1;
            if (!s.x.isEmpty()) p.series << s;
        }
        panels << p;
    }
    return panels;
}

widgets::HeatmapData ForgettingView::leaveClassOutData(const LeaveClassOutResult& r, const InspectedRun& info) {
    widgets::HeatmapData d;
    d.rows = int(r.accuracy.size());
    d.cols = int(r.baseline.size());
    for (int m = 0; m < d.rows; ++m) {
        d.rowLabels << tr("without %1").arg(className(info, m));
        for (int c = 0; c < d.cols; ++c) d.values << r.accuracy[m].value(c) - r.baseline.value(c);
    }
    d.title = tr("Leave one class out: Δ top-1 per class");
    // A symmetric scale of at least ±5 points: a change of one or two test images stays pale.
    double extent = 5;
    for (double v : d.values) extent = std::max(extent, std::abs(v));
    d.valueMin = -extent, d.valueMax = extent;
    d.diverging = true;
    d.xLabel = tr("class evaluated");
    d.yLabel = tr("memories masked");
    d.valueLabel = tr("Δ top-1 (pp)");
    for (int c = 0; c < d.cols; ++c) d.columnGroups.starts << c, d.columnGroups.names << className(info, c);
    return d;
}

void ForgettingView::showAblation(const QVector<AblationPoint>& points) {
    ablation_ = points;
    curve_->setPanels(ablationPanels(points), 3,
                      points.isEmpty() ? tr("Memory ablation: run it to see whether retrieval matters")
                                       : tr("Memory ablation over %1 test images").arg(points.front().count));
    updateSummary();
    Q_EMIT updated();
}

void ForgettingView::showLeaveClassOut(const LeaveClassOutResult& r) {
    lco_ = r;
    matrix_->setData(leaveClassOutData(r, session_->info()));
    updateSummary();
    Q_EMIT updated();
}

void ForgettingView::updateSummary() {
    QStringList parts;
    auto at = [&](const QString& order, const QString& branch, double f) {
        for (const AblationPoint& p : ablation_)
            if (p.order == order && p.branch == branch && std::abs(p.maskedFraction - f) < 1e-9) return p.top1;
        return -1.0;
    };
    const double none = at(QStringLiteral("random"), QStringLiteral("both"), 0.0);
    const double all = at(QStringLiteral("random"), QStringLiteral("both"), 1.0);
    const double half = at(QStringLiteral("most_used"), QStringLiteral("both"), 0.5);
    if (none >= 0 && all >= 0)
        parts << tr("Ablation: top-1 %1 % with the whole memory, %2 % with every slot masked (= T = 0)%3.")
                     .arg(none, 0, 'f', 2)
                     .arg(all, 0, 'f', 2)
                     .arg(half >= 0 ? tr(", %1 % with the most used half masked").arg(half, 0, 'f', 2) : QString());
    if (!lco_.accuracy.isEmpty()) {
        double own = 0;
        for (int c = 0; c < lco_.accuracy.size(); ++c) own += lco_.accuracy[c].value(c) - lco_.baseline.value(c);
        parts << tr("Leave one class out: a class loses %1 points of top-1 on average when its own memories are masked "
                    "(baseline %2 %).")
                     .arg(-own / double(lco_.accuracy.size()), 0, 'f', 2)
                     .arg(lco_.baselineTop1, 0, 'f', 2);
    }
    summary_->setText(parts.join(QLatin1Char(' ')));
}

bool ForgettingView::exportTo(const QString& what, const QString& path, int dpi, QString* error) {
    return exports_.exportTo(what, path, dpi, error);
}

void ForgettingView::exportInteractive() { exports_.exportInteractive(); }

}  // namespace vhmn::gui
