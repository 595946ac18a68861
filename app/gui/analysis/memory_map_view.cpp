#include "app/gui/analysis/memory_map_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QVBoxLayout>

#include "app/gui/analysis/run_session.h"
#include "widgets/scatter_map.h"

namespace vhmn::gui {

MemoryMapView::MemoryMapView(RunSession* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(4, 4, 4, 4);
    auto* controls = new QHBoxLayout;
    l->addLayout(controls);
    block_ = new QComboBox(this);
    branch_ = new QComboBox(this);
    branch_->addItem(tr("global"), 1);
    branch_->addItem(tr("local"), 0);
    controls->addWidget(new QLabel(tr("Bank"), this));
    controls->addWidget(block_);
    controls->addWidget(branch_);
    follow_ = new QCheckBox(tr("Trajectory of the Inspector's image"), this);
    follow_->setChecked(true);
    follow_->setToolTip(tr("Draw the query of the image clicked in the Inspector, z_0 = q … z_T, and follow new clicks"));
    controls->addWidget(follow_);
    draw_ = new QPushButton(tr("Draw map"), this);
    controls->addWidget(draw_);
    controls->addStretch(1);
    summary_ = new QLabel(tr("PCA of the stored vectors (unit length, as retrieval compares them). Hover a point for "
                             "its stored patch."),
                          this);
    summary_->setWordWrap(true);
    l->addWidget(summary_);
    map_ = new widgets::ScatterMap(this);
    l->addWidget(map_, 1);

    connect(draw_, &QPushButton::clicked, this, &MemoryMapView::draw);
    for (QComboBox* c : {block_, branch_})
        connect(c, &QComboBox::currentIndexChanged, this, [this] {
            if (hasResult()) draw();
        });
    connect(session_, &RunSession::mapReady, this, &MemoryMapView::show);
    connect(session_, &RunSession::opened, this, [this] {
        const QSignalBlocker b(block_);
        block_->clear();
        for (int b = 0; b < session_->info().depth; ++b) block_->addItem(tr("block %1").arg(b), b);
        block_->setCurrentIndex(std::max(0, session_->info().depth - 1));
        result_ = MapResult{};
        index_ = -1;
        map_->setData({});
        setEnabled(session_->info().hasMemory);
    });
    connect(session_, &RunSession::imageReady, this, [this](const ImageResult& r) {
        if (r.request.index == index_) return;
        index_ = r.request.index;
        if (hasResult() && follow_->isChecked()) draw();
    });
    connect(session_, &RunSession::jobFinished, this, [this](const QString& job) {
        if (pending_ && job != QLatin1String("map")) draw();
    });
}

void MemoryMapView::setBlock(int block) { block_->setCurrentIndex(std::max(0, block_->findData(block))); }
void MemoryMapView::setBranch(int branch) { branch_->setCurrentIndex(std::max(0, branch_->findData(branch))); }

bool MemoryMapView::draw() {
    if (!session_->isOpen()) return false;
    pending_ = session_->busy();  // drawn when the running job ends
    if (pending_) return false;
    return session_->computeMap(block_->currentData().toInt(), branch_->currentData().toInt(),
                                follow_->isChecked() ? index_ : -1);
}

widgets::ScatterData MemoryMapView::scatterData(const MapResult& r, const InspectedRun& info) {
    widgets::ScatterData d;
    d.x = r.x, d.y = r.y, d.group = r.cls, d.images = r.patch;
    for (int c = 0; c < info.classes; ++c) d.groupNames << className(info, c);
    for (int i = 0; i < r.x.size(); ++i)
        d.texts << QObject::tr("slot %1 · %2 · training image #%3 · step %4")
                       .arg(r.slot[i])
                       .arg(className(info, r.cls[i]))
                       .arg(r.source[i])
                       .arg(r.step[i]);
    d.pathX = r.pathX, d.pathY = r.pathY;
    d.pathName = r.index >= 0 ? QObject::tr("test image #%1: z_0 → z_T").arg(r.index) : QString();
    d.title = QObject::tr("Block %1 %2 memory: %3 stored vectors")
                  .arg(r.block)
                  .arg(r.branch == 0 ? QObject::tr("local") : QObject::tr("global"))
                  .arg(r.x.size());
    d.xLabel = QObject::tr("PC 1 (%1 % of the variance)").arg(100.0 * r.explained.value(0), 0, 'f', 1);
    d.yLabel = QObject::tr("PC 2 (%1 %)").arg(100.0 * r.explained.value(1), 0, 'f', 1);
    return d;
}

void MemoryMapView::show(const MapResult& r) {
    result_ = r;
    map_->setData(scatterData(r, session_->info()));
    Q_EMIT updated();
}

bool MemoryMapView::exportTo(const QString& path, int dpi, QString* error) { return map_->exportFile(path, dpi, error); }

}  // namespace vhmn::gui
