#include "app/gui/analysis/corruptions_view.h"

#include <algorithm>
#include <cmath>

#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "app/gui/analysis/job_bar.h"
#include "app/gui/analysis/run_session.h"
#include "widgets/plot_export.h"

namespace vhmn::gui {

namespace {

QString label(const CorruptionsResult& r) {
    return r.released ? QObject::tr("CIFAR-10-C (released files)")
                      : QObject::tr("generated with the CIFAR-10-C parameters — not the released CIFAR-10-C");
}

}  // namespace

CorruptionsView::CorruptionsView(RunSession* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(4, 4, 4, 4);
    auto* controls = new QHBoxLayout;
    l->addLayout(controls);
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
    controls->addWidget(new QLabel(tr("Released files"), this));
    released_ = new QLineEdit(this);
    released_->setPlaceholderText(tr("none: generate (folder of <corruption>.npy + labels.npy)"));
    released_->setMinimumWidth(220);
    controls->addWidget(released_, 1);
    auto* browse = new QPushButton(tr("…"), this);
    browse->setToolTip(tr("Choose the folder of the released CIFAR-10-C files"));
    controls->addWidget(browse);
    run_ = new QPushButton(tr("Run CIFAR-10-C"), this);
    controls->addWidget(run_);
    controls->addSpacing(12);
    controls->addWidget(new QLabel(tr("Heatmap at"), this));
    shownT_ = new QComboBox(this);
    controls->addWidget(shownT_);
    auto* exportButton = new QPushButton(tr("Export…"), this);
    controls->addWidget(exportButton);
    job_ = new JobBar(session_, this);
    l->addWidget(job_);
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    summary_->setTextFormat(Qt::RichText);
    l->addWidget(summary_);
    auto* plots = new QHBoxLayout;
    heatmap_ = new widgets::Heatmap(this);
    families_ = new widgets::BarPlot(this);
    plots->addWidget(heatmap_, 3);
    plots->addWidget(families_, 2);
    l->addLayout(plots, 1);
    show({});

    connect(run_, &QPushButton::clicked, this, &CorruptionsView::run);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Released CIFAR-10-C files"), released_->text());
        if (!dir.isEmpty()) released_->setText(dir);
    });
    exports_.setView(this, tr("Export the CIFAR-10-C figures"), false);
    exports_.add(QStringLiteral("heatmap"), heatmap_);
    exports_.add(QStringLiteral("families"), families_);
    connect(exportButton, &QPushButton::clicked, this, &CorruptionsView::exportInteractive);
    connect(shownT_, &QComboBox::currentIndexChanged, this, &CorruptionsView::showIteration);
    connect(session_, &RunSession::corruptionsReady, this, &CorruptionsView::show);
    auto enable = [this] { run_->setEnabled(!session_->busy() && session_->isOpen()); };
    connect(session_, &RunSession::jobStarted, this, enable);
    connect(session_, &RunSession::jobFinished, this, enable);
    connect(session_, &RunSession::opened, this, enable);
}

void CorruptionsView::setLimit(int images) { limit_->setValue(images); }
void CorruptionsView::setReleasedDir(const QString& dir) { released_->setText(dir); }

bool CorruptionsView::run() {
    CorruptionsRequest r;
    r.limit = limit_->value();
    r.seed = quint64(seed_->value());
    r.releasedDir = released_->text().trimmed();
    return session_->runCorruptions(r);
}

widgets::HeatmapData CorruptionsView::heatmapData(const CorruptionsResult& r, int t) {
    widgets::HeatmapData d;
    if (r.isEmpty() || t < 0 || t >= r.iterations.size()) return d;
    d.rows = int(r.corruptions.size()), d.cols = 5;
    d.values = r.top1[t];
    d.rowLabels = r.display;
    for (int s = 0; s < 5; ++s) d.columnGroups.starts << s, d.columnGroups.names << QString::number(s + 1);
    d.title = QObject::tr("Top-1 (%) by corruption and severity, T = %1").arg(r.iterations[t]);
    d.xLabel = QObject::tr("severity");
    d.valueLabel = QObject::tr("top-1 accuracy (%)");
    // From 0 to the clean accuracy (rounded up to 10 points): a cell's colour reads as "how much is left".
    double top = r.clean[t];
    for (double v : d.values)
        if (std::isfinite(v)) top = std::max(top, v);
    d.valueMin = 0.0, d.valueMax = std::max(10.0, std::ceil(top / 10.0) * 10.0);
    d.valueDecimals = 1;
    return d;
}

widgets::BarData CorruptionsView::familyData(const CorruptionsResult& r) {
    widgets::BarData d;
    if (r.isEmpty()) return d;
    QStringList groups;
    for (const char* f : {"noise", "blur", "weather", "digital"})
        for (const auto& fam : r.families)
            if (fam.contains(QLatin1String(f))) {
                groups << QLatin1String(f);
                break;
            }
    groups << QObject::tr("mean") << QObject::tr("clean");
    for (int g = 0; g < groups.size(); ++g) {
        d.groups.starts << int(d.values.size());
        d.groups.names << groups[g];
        for (int t = 0; t < r.iterations.size(); ++t) {
            const double v = g == groups.size() - 1 ? r.clean[t]
                             : g == groups.size() - 2 ? r.mean[t]
                                                      : r.families[t].value(groups[g], std::nan(""));
            d.values << v;
            d.colors << widgets::iterationColor(r.iterations[t]);
        }
    }
    for (int t : r.iterations) d.legend.push_back({widgets::iterationColor(t), QStringLiteral("T = %1").arg(t)});
    d.title = QObject::tr("Top-1 per family (mean of its reference cells)");
    d.yLabel = QObject::tr("top-1 accuracy (%)");
    return d;
}

QString CorruptionsView::summaryText(const CorruptionsResult& r) {
    if (r.isEmpty())
        return tr("CIFAR-10-C — not computed yet. <i>Run CIFAR-10-C</i> generates the 15 corruptions × 5 severities "
                  "of the test images with the reference parameters, or reads the released files.");
    QString s = QStringLiteral("<b>%1</b> — %2, %3 images per severity.").arg(label(r), r.source.toHtmlEscaped()).arg(r.images);
    for (int t = 0; t < r.iterations.size(); ++t) {
        s += QStringLiteral("<br>T = %1: clean <b>%2 %</b>, mean over %3 %4 cells <b>%5 %</b>")
                 .arg(r.iterations[t])
                 .arg(r.clean[t], 0, 'f', 2)
                 .arg(r.referenceCells[t])
                 .arg(r.released ? QStringLiteral("CIFAR-10-C") : tr("reference"))
                 .arg(r.mean[t], 0, 'f', 2);
        if (r.mce[t] >= 0)
            s += tr(", mCE %1 %, relative mCE %2 %").arg(r.mce[t], 0, 'f', 1).arg(r.relativeMce[t], 0, 'f', 1);
    }
    if (!r.ours.isEmpty())
        s += tr("<br><i>%1: ours, not the reference's (procedural frost texture) — shown, never in a mean.</i>")
                 .arg(r.ours.join(QStringLiteral(", ")));
    return s;
}

void CorruptionsView::show(const CorruptionsResult& r) {
    result_ = r;
    {
        const QSignalBlocker b(shownT_);
        shownT_->clear();
        for (int t : r.iterations) shownT_->addItem(QStringLiteral("T = %1").arg(t));
        shownT_->setCurrentIndex(r.iterations.isEmpty() ? -1 : int(r.iterations.size()) - 1);
    }
    summary_->setText(summaryText(r));
    families_->setData(familyData(r));
    showIteration(shownT_->currentIndex());
}

void CorruptionsView::showIteration(int index) {
    auto d = heatmapData(result_, index);
    if (result_.isEmpty()) d.title = tr("Top-1 by corruption and severity — not computed yet");
    heatmap_->setData(d);
    Q_EMIT updated();
}

bool CorruptionsView::exportTo(const QString& what, const QString& path, int dpi, QString* error) {
    return exports_.exportTo(what, path, dpi, error);
}

void CorruptionsView::exportInteractive() { exports_.exportInteractive(); }

}  // namespace vhmn::gui
