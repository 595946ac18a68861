#include "app/gui/analysis/robustness_view.h"

#include <algorithm>
#include <map>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "app/gui/analysis/job_bar.h"
#include "app/gui/analysis/run_session.h"
#include "widgets/figure_plots.h"
#include "widgets/plot_export.h"

namespace vhmn::gui {

RobustnessView::RobustnessView(RunSession* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(4, 4, 4, 4);
    auto* controls = new QHBoxLayout;
    l->addLayout(controls);
    controls->addWidget(new QLabel(tr("Inference T"), this));
    iterations_ = new QLineEdit(QStringLiteral("0,1,2,3"), this);
    iterations_->setMaximumWidth(90);
    controls->addWidget(iterations_);
    controls->addWidget(new QLabel(tr("Test images"), this));
    limit_ = new QSpinBox(this);
    limit_->setRange(0, 1000000);
    limit_->setValue(1000);
    limit_->setSpecialValueText(tr("all"));
    controls->addWidget(limit_);
    controls->addWidget(new QLabel(tr("Seed"), this));
    seed_ = new QSpinBox(this);
    seed_->setRange(0, 1000000);
    controls->addWidget(seed_);
    run2_ = new QPushButton(tr("Run robustness (Fig. 2)"), this);
    controls->addWidget(run2_);
    controls->addSpacing(12);
    controls->addWidget(new QLabel(tr("Stability of"), this));
    block_ = new QComboBox(this);
    controls->addWidget(block_);
    branch_ = new QComboBox(this);
    branch_->addItem(tr("global"), 1);
    branch_->addItem(tr("local"), 0);
    controls->addWidget(branch_);
    run6_ = new QPushButton(tr("Run stability (Fig. 6)"), this);
    controls->addWidget(run6_);
    auto* exportButton = new QPushButton(tr("Export…"), this);
    controls->addWidget(exportButton);
    controls->addStretch(1);
    job_ = new JobBar(session_, this);
    l->addWidget(job_);
    fig2_ = new widgets::PanelPlot(this);
    fig6_ = new widgets::PanelPlot(this);
    l->addWidget(fig2_, 1);
    l->addWidget(fig6_, 1);
    showRobustness({});
    showStability({});

    connect(run2_, &QPushButton::clicked, this, &RobustnessView::runRobustness);
    connect(run6_, &QPushButton::clicked, this, &RobustnessView::runStability);
    exports_.setView(this, tr("Export the robustness figures"), false);
    exports_.add(QStringLiteral("robustness"), fig2_);
    exports_.add(QStringLiteral("stability"), fig6_);
    connect(exportButton, &QPushButton::clicked, this, &RobustnessView::exportInteractive);
    connect(session_, &RunSession::robustnessReady, this, &RobustnessView::showRobustness);
    connect(session_, &RunSession::stabilityReady, this, &RobustnessView::showStability);
    connect(session_, &RunSession::opened, this, [this] {
        const QSignalBlocker b(block_);
        block_->clear();
        for (int b = 0; b < session_->info().depth; ++b) block_->addItem(tr("block %1").arg(b), b);
        block_->setCurrentIndex(std::max(0, session_->info().depth - 1));
        showRobustness(session_->robustness());
        showStability(session_->stability());
    });
    auto enable = [this] {
        const bool idle = !session_->busy();
        run2_->setEnabled(idle);
        run6_->setEnabled(idle);
    };
    connect(session_, &RunSession::jobStarted, this, enable);
    connect(session_, &RunSession::jobFinished, this, enable);
}

QPushButton* RobustnessView::cancelButton() const { return job_->cancelButton(); }

void RobustnessView::setLimit(int images) { limit_->setValue(images); }
void RobustnessView::setIterations(const QString& list) { iterations_->setText(list); }
void RobustnessView::cancel() { session_->cancel(); }

bool RobustnessView::runRobustness() {
    QVector<int> ts;
    for (const QString& part : iterations_->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        bool ok = false;
        const int t = part.trimmed().toInt(&ok);
        if (!ok || t < 0 || t > 64) {
            QMessageBox::warning(this, tr("Robustness"), tr("Inference T: '%1' is not a number in [0, 64]").arg(part));
            return false;
        }
        ts << t;
    }
    if (ts.isEmpty()) ts << 0 << 1;
    return session_->runRobustness(ts, limit_->value(), quint64(seed_->value()));
}

bool RobustnessView::runStability() {
    return session_->runStability(block_->currentData().isValid() ? block_->currentData().toInt() : -1,
                                  branch_->currentData().toInt(), limit_->value(), quint64(seed_->value()));
}

QVector<widgets::Panel> RobustnessView::robustnessPanels(const QVector<RobustnessPoint>& points) {
    struct Kind {
        QString kind, title, x;
        double cleanAt;
        Qt::Alignment legend;
    };
    const QVector<Kind> kinds{
        {QStringLiteral("noise"), tr("Gaussian noise"), tr("σ"), 0.0, Qt::AlignTop | Qt::AlignRight},
        {QStringLiteral("occlusion"), tr("Square occlusion"), tr("occluded area (fraction)"), 0.0, Qt::AlignTop | Qt::AlignRight},
        {QStringLiteral("contrast"), tr("Contrast"), tr("factor"), 1.0, Qt::AlignBottom | Qt::AlignRight}};
    std::vector<int> ts;
    for (const auto& p : points)
        if (std::find(ts.begin(), ts.end(), p.iterations) == ts.end()) ts.push_back(p.iterations);
    std::sort(ts.begin(), ts.end());
    QVector<widgets::Panel> panels;
    for (const Kind& k : kinds) {
        widgets::Panel panel;
        panel.title = k.title;
        panel.xLabel = k.x;
        panel.yLabel = tr("top-1 accuracy (%)");
        panel.legend = k.legend;
        for (int t : ts) {
            std::map<double, double> xy;
            for (const auto& p : points)
                if (p.iterations == t && (p.kind == k.kind || p.kind == QLatin1String("clean")))
                    xy[p.kind == QLatin1String("clean") ? k.cleanAt : p.severity] = p.top1;
            widgets::Series s;
            s.name = QStringLiteral("T = %1").arg(t);
            s.color = widgets::iterationColor(t);
            for (const auto& [x, y] : xy) s.x << x, s.y << y;
            panel.series << s;
        }
        panels << panel;
    }
    return panels;
}

QVector<widgets::Panel> RobustnessView::stabilityPanels(const StabilityResult& s) {
    QVector<widgets::Panel> panels;
    for (const auto& [kind, title, x] : {std::tuple{QStringLiteral("noise"), tr("Gaussian noise"), tr("σ")},
                                         std::tuple{QStringLiteral("occlusion_px"), tr("Square occlusion"), tr("side (px)")}}) {
        widgets::Panel panel;
        panel.title = title;
        panel.xLabel = x;
        panel.yLabel = tr("similarity to the clean retrieval");
        panel.yMin = 0.0, panel.yMax = 1.02;
        widgets::Series top5, cosine;
        top5.name = tr("top-5 consistency");
        top5.color = QColor(31, 119, 180);
        cosine.name = tr("cosine of top-1 prototypes");
        cosine.color = QColor(214, 39, 40);
        cosine.style = Qt::DashLine;
        for (const auto& p : s.points) {
            if (p.kind != kind) continue;
            top5.x << p.severity, top5.y << p.top5Consistency / 100.0;
            cosine.x << p.severity, cosine.y << p.cosine;
        }
        panel.series << top5 << cosine;
        panels << panel;
    }
    return panels;
}

QString RobustnessView::stabilityTitle(const StabilityResult& s) {
    return s.block >= 0 ? tr("Prototype stability (Fig. 6), block %1 %2 branch").arg(s.block).arg(s.branch)
                        : tr("Prototype stability (Fig. 6)");
}

void RobustnessView::showRobustness(const QVector<RobustnessPoint>& points) {
    const int images = points.isEmpty() ? 0 : points.front().count;
    fig2_->setPanels(robustnessPanels(points), 3,
                     points.isEmpty() ? tr("Robustness by inference-time T (Fig. 2) — not computed yet")
                                      : tr("Robustness by inference-time T (Fig. 2), %1 test images").arg(images));
    Q_EMIT updated();
}

void RobustnessView::showStability(const StabilityResult& s) {
    fig6_->setPanels(stabilityPanels(s), 2,
                     s.points.isEmpty() ? tr("Prototype stability (Fig. 6) — not computed yet") : stabilityTitle(s));
    Q_EMIT updated();
}

bool RobustnessView::exportTo(const QString& what, const QString& path, int dpi, QString* error) {
    return exports_.exportTo(what, path, dpi, error);
}

void RobustnessView::exportInteractive() { exports_.exportInteractive(); }

}  // namespace vhmn::gui
