#include "app/gui/analysis/memory_view.h"

#include <cmath>

#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

#include "app/gui/analysis/job_bar.h"
#include "app/gui/analysis/run_session.h"
#include "core/models/config.h"
#include "widgets/figure_plots.h"
#include "widgets/plot_export.h"

namespace vhmn::gui {

namespace {

widgets::Segments classGroups(const InspectedRun& info, int slots) {
    widgets::Segments g;
    const int classes = std::max(1, info.classes);
    const int per = slots / classes;
    for (int c = 0; c < classes && per > 0; ++c) {
        g.starts << c * per;
        g.names << (c < info.classNames.size() ? info.classNames[c] : QString::number(c));
    }
    return g;
}

QString branchName(int b) { return b == 0 ? QStringLiteral("local") : QStringLiteral("global"); }

}  // namespace

MemoryView::MemoryView(RunSession* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(4, 4, 4, 4);
    auto* controls = new QHBoxLayout;
    l->addLayout(controls);
    controls->addWidget(new QLabel(tr("Branch"), this));
    branch_ = new QComboBox(this);
    branch_->addItem(tr("global"), 1);
    branch_->addItem(tr("local"), 0);
    controls->addWidget(branch_);
    controls->addWidget(new QLabel(tr("Inputs of class"), this));
    class_ = new QComboBox(this);
    controls->addWidget(class_);
    controls->addWidget(new QLabel(tr("Block (usage, fill)"), this));
    block_ = new QComboBox(this);
    controls->addWidget(block_);
    controls->addWidget(new QLabel(tr("Test images"), this));
    limit_ = new QSpinBox(this);
    limit_->setRange(0, 1000000);
    limit_->setValue(1000);
    limit_->setSpecialValueText(tr("all"));
    limit_->setToolTip(tr("Images evenly spaced over the test split (0: all)"));
    controls->addWidget(limit_);
    compute_ = new QPushButton(tr("Compute"), this);
    controls->addWidget(compute_);
    auto* exportButton = new QPushButton(tr("Export…"), this);
    controls->addWidget(exportButton);
    controls->addStretch(1);
    job_ = new JobBar(session_, this);
    l->addWidget(job_);
    summary_ = new QLabel(tr("Open a run, then Compute: slot weightings are averaged over the test images."), this);
    summary_->setWordWrap(true);
    l->addWidget(summary_);

    buildPlots(l);

    connect(compute_, &QPushButton::clicked, this, &MemoryView::compute);
    exports_.setView(this, tr("Export the memory view"), true);
    exports_.add(QStringLiteral("heatmap"), heatmap_);
    exports_.add(QStringLiteral("usage"), usage_);
    exports_.add(QStringLiteral("fill"), fill_);
    connect(exportButton, &QPushButton::clicked, this, &MemoryView::exportInteractive);
    connect(class_, &QComboBox::currentIndexChanged, this, &MemoryView::redraw);
    connect(block_, &QComboBox::currentIndexChanged, this, &MemoryView::redraw);
    connect(branch_, &QComboBox::currentIndexChanged, this, [this] {
        if (hasResult() && result_.branch != branch_->currentData().toInt()) compute();
    });
    connect(session_, &RunSession::opened, this, &MemoryView::onOpened);
    connect(session_, &RunSession::memoryReady, this, [this](const MemoryResult& m) {
        result_ = m;
        redraw();
    });
}

/// The weighting heatmap, usage and fill bars, and the hit-rate table.
void MemoryView::buildPlots(QVBoxLayout* l) {
    auto* grid = new QGridLayout;
    l->addLayout(grid, 1);
    heatmap_ = new widgets::Heatmap(this);
    usage_ = new widgets::BarPlot(this);
    fill_ = new widgets::BarPlot(this);
    hits_ = new QTableWidget(this);
    hits_->setColumnCount(5);
    hits_->setHorizontalHeaderLabels({tr("block"), tr("local\ntop-1"), tr("local\ntop-5"), tr("global\ntop-1"),
                                      tr("global\ntop-5")});
    hits_->verticalHeader()->setVisible(false);
    hits_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    hits_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    auto* hitBox = hit_box_ = new QWidget(this);
    auto* hl = new QVBoxLayout(hitBox);
    hl->setContentsMargins(0, 0, 0, 0);
    auto* hitTitle = new QLabel(tr("<b>Retrieval hit rate (Table 9), %</b>: the top-1 / any top-5 slot "
                                   "stores the input's class"),
                                hitBox);
    hitTitle->setWordWrap(true);
    hl->addWidget(hitTitle);
    hl->addWidget(hits_);
    grid->addWidget(heatmap_, 0, 0, 1, 2);
    grid->addWidget(usage_, 1, 0);
    grid->addWidget(fill_, 1, 1);
    grid->addWidget(hitBox, 0, 2, 2, 1);
    grid->setColumnStretch(0, 3);
    grid->setColumnStretch(1, 2);
    grid->setColumnStretch(2, 2);
    grid->setRowStretch(0, 3);
    grid->setRowStretch(1, 2);
}

void MemoryView::onOpened() {
    const InspectedRun& info = session_->info();
    const QSignalBlocker b1(class_), b2(block_);
    class_->clear();
    for (int c = 0; c < info.classes; ++c)
        class_->addItem(c < info.classNames.size() ? info.classNames[c] : QString::number(c), c);
    block_->clear();
    for (int b = 0; b < info.depth; ++b) block_->addItem(tr("block %1").arg(b), b);
    block_->setCurrentIndex(std::max(0, info.depth - 1));
    result_ = MemoryResult{};
    compute_->setEnabled(info.hasMemory);
    for (QWidget* w : {static_cast<QWidget*>(heatmap_), static_cast<QWidget*>(usage_),
                       static_cast<QWidget*>(fill_), hit_box_})
        w->setVisible(info.hasMemory);  // a baseline: no plots to leave empty
    redraw();
    if (!info.hasMemory)  // after redraw(), which writes its own summary
        summary_->setText(tr("<b>No memory banks:</b> this run is a %1 baseline, so there are no slots, "
                             "weightings or hit rates to show (they exist only in V-HMN runs).")
                              .arg(QString::fromStdString(arch_display_name(info.arch.toStdString()))));
}

bool MemoryView::compute() { return session_->computeMemory(branch_->currentData().toInt(), limit_->value()); }

void MemoryView::setClass(int cls) { class_->setCurrentIndex(std::max(0, class_->findData(cls))); }
void MemoryView::setBlock(int block) { block_->setCurrentIndex(std::max(0, block_->findData(block))); }
void MemoryView::setBranch(int branch) {
    const QSignalBlocker b(branch_);
    branch_->setCurrentIndex(std::max(0, branch_->findData(branch)));
}
void MemoryView::setLimit(int images) { limit_->setValue(images); }

widgets::HeatmapData MemoryView::heatmapData(const MemoryResult& m, const InspectedRun& info, int cls) {
    widgets::HeatmapData h;
    h.rows = int(m.meanAlpha.size());
    h.cols = m.slots;
    for (int b = 0; b < h.rows; ++b) {
        h.rowLabels << QObject::tr("block %1").arg(b);
        for (int j = 0; j < m.slots; ++j) h.values << m.meanAlpha[b].value(cls * m.slots + j);
    }
    h.columnGroups = classGroups(info, m.slots);
    const QString name = cls >= 0 && cls < info.classNames.size() ? info.classNames[cls] : QString::number(cls);
    h.title = QObject::tr("Mean %1 retrieval weight α over test images of class “%2” (slots ordered by class)")
                  .arg(branchName(m.branch), name);
    h.xLabel = QObject::tr("memory slot (grouped by the class it stores)");
    h.valueLabel = QObject::tr("mean α");
    return h;
}

void MemoryView::redraw() {
    const InspectedRun& info = session_->info();
    if (!hasResult()) {
        heatmap_->setData({});
        usage_->setData({});
        fill_->setData({});
        hits_->setRowCount(0);
        return;
    }
    const int cls = std::max(0, class_->currentData().toInt());
    const int b = std::clamp(block_->currentData().toInt(), 0, int(result_.meanAlpha.size()) - 1);
    heatmap_->setData(heatmapData(result_, info, cls));

    widgets::BarData usage;
    for (int j = 0; j < result_.slots; ++j) {
        usage.values << result_.top1Count[b].value(j);
        const int sc = result_.slotClass[b].value(j);
        usage.colors << (sc >= 0 ? widgets::categoryColor(sc) : QColor(200, 200, 200));
    }
    usage.groups = classGroups(info, result_.slots);
    usage.title = tr("Slot usage, block %1 %2: how often each slot is a query's top-1").arg(b).arg(branchName(result_.branch));
    usage.yLabel = tr("top-1 count");
    usage_->setData(usage);

    widgets::BarData fill;
    for (int c = 0; c < result_.fillPerClass[b].size(); ++c) {
        fill.values << result_.fillPerClass[b][c];
        fill.colors << widgets::categoryColor(c);
        fill.tickLabels << (c < info.classNames.size() ? info.classNames[c] : QString::number(c));
    }
    fill.title = tr("Bank fill per class, block %1 %2 (%3 slots per class)")
                     .arg(b)
                     .arg(branchName(result_.branch))
                     .arg(info.classes > 0 ? result_.slots / info.classes : 0);
    fill.yLabel = tr("filled slots");
    fill_->setData(fill);

    QVector<MemoryResult::Hit> local, global;
    for (const auto& h : result_.hits) (h.branch == QLatin1String("local") ? local : global).push_back(h);
    hits_->setRowCount(int(std::min(local.size(), global.size())));
    for (int r = 0; r < hits_->rowCount(); ++r) {
        const QStringList cells{QString::number(local[r].block), QString::number(local[r].top1, 'f', 2),
                                QString::number(local[r].top5, 'f', 2), QString::number(global[r].top1, 'f', 2),
                                QString::number(global[r].top5, 'f', 2)};
        for (int c = 0; c < cells.size(); ++c) {
            auto* item = new QTableWidgetItem(cells[c]);
            item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            hits_->setItem(r, c, item);
        }
    }
    summary_->setText(tr("%1 test images · block %2 %3 branch: %4 % of filled slots are never a query's top-1; mean "
                         "entropy of α %5 nats (uniform over the bank: %6)")
                          .arg(result_.images)
                          .arg(b)
                          .arg(branchName(result_.branch))
                          .arg(result_.unusedFraction.value(b) * 100.0, 0, 'f', 1)
                          .arg(result_.meanEntropy.value(b), 0, 'f', 2)
                          .arg(std::log(std::max(1, result_.slots)), 0, 'f', 2));
    Q_EMIT updated();
}

bool MemoryView::exportTo(const QString& what, const QString& path, int dpi, QString* error) {
    return exports_.exportTo(what, path, dpi, error);
}

void MemoryView::exportInteractive() { exports_.exportInteractive(); }

}  // namespace vhmn::gui
