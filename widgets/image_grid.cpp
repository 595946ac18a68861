#include "widgets/image_grid.h"

#include <QAbstractListModel>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QListView>
#include <QPainter>
#include <QPixmap>
#include <QVBoxLayout>

namespace vhmn::widgets {

class GridModel : public QAbstractListModel {
public:
    using QAbstractListModel::QAbstractListModel;

    void setItems(QVector<GridItem> items, QStringList names) {
        beginResetModel();
        items_ = std::move(items);
        names_ = std::move(names);
        visible_.clear();
        for (int i = 0; i < items_.size(); ++i) visible_.push_back(i);
        endResetModel();
    }
    void filter(int cls, ImageGrid::Correctness c, double lo, double hi) {
        beginResetModel();
        visible_.clear();
        for (int i = 0; i < items_.size(); ++i) {
            const GridItem& it = items_[i];
            if (cls >= 0 && it.label != cls) continue;
            if (c != ImageGrid::All) {
                if (it.prediction < 0) continue;
                if ((it.prediction == it.label) != (c == ImageGrid::Correct)) continue;
            }
            if (it.prediction >= 0 && (it.confidence < lo - 1e-12 || it.confidence > hi + 1e-12)) continue;
            visible_.push_back(i);
        }
        endResetModel();
    }
    int rowCount(const QModelIndex& parent = {}) const override { return parent.isValid() ? 0 : int(visible_.size()); }
    int itemCount() const { return int(items_.size()); }
    const GridItem& item(int row) const { return items_[visible_[row]]; }
    int rowOf(int index) const {
        for (int r = 0; r < visible_.size(); ++r)
            if (items_[visible_[r]].index == index) return r;
        return -1;
    }
    QString className(int c) const { return c >= 0 && c < names_.size() ? names_[c] : QString::number(c); }

    QVariant data(const QModelIndex& idx, int role) const override {
        if (!idx.isValid() || idx.row() >= visible_.size()) return {};
        const GridItem& it = item(idx.row());
        if (role == Qt::DecorationRole) return thumbnail(it);
        if (role == Qt::ToolTipRole) {
            QString t = QStringLiteral("#%1  %2").arg(it.index).arg(className(it.label));
            if (it.prediction >= 0)
                t += QStringLiteral(" → %1 (%2 %)").arg(className(it.prediction)).arg(it.confidence * 100.0, 0, 'f', 1);
            return t;
        }
        if (role == Qt::UserRole) return it.index;
        return {};
    }

    int scale = 2;

private:
    QPixmap thumbnail(const GridItem& it) const {
        const int pad = 3;
        const QSize s = it.image.size() * scale;
        QPixmap pm(s + QSize(2 * pad, 2 * pad));
        // Frame: green correct, red wrong, grey not predicted.
        pm.fill(it.prediction < 0 ? QColor(170, 170, 170)
                                  : (it.prediction == it.label ? QColor(40, 160, 70) : QColor(210, 50, 40)));
        QPainter p(&pm);
        p.drawImage(QRect(QPoint(pad, pad), s), it.image);
        return pm;
    }

    QVector<GridItem> items_;
    QStringList names_;
    QVector<int> visible_;
};

ImageGrid::ImageGrid(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* filters = new QFormLayout;
    class_ = new QComboBox(this);
    class_->addItem(tr("all classes"), -1);
    correct_ = new QComboBox(this);
    correct_->addItem(tr("all"), int(All));
    correct_->addItem(tr("correct"), int(Correct));
    correct_->addItem(tr("incorrect"), int(Incorrect));
    auto* conf = new QHBoxLayout;
    min_conf_ = new QDoubleSpinBox(this);
    max_conf_ = new QDoubleSpinBox(this);
    for (auto* s : {min_conf_, max_conf_}) {
        s->setRange(0.0, 1.0);
        s->setSingleStep(0.05);
        s->setDecimals(2);
        conf->addWidget(s);
    }
    max_conf_->setValue(1.0);
    filters->addRow(tr("Class"), class_);
    filters->addRow(tr("Prediction"), correct_);
    filters->addRow(tr("Confidence"), conf);
    layout->addLayout(filters);
    model_ = new GridModel(this);
    view_ = new QListView(this);
    view_->setViewMode(QListView::IconMode);
    view_->setResizeMode(QListView::Adjust);
    view_->setMovement(QListView::Static);
    view_->setUniformItemSizes(true);
    view_->setLayoutMode(QListView::Batched);
    view_->setBatchSize(200);
    view_->setSpacing(2);
    view_->setSelectionMode(QAbstractItemView::SingleSelection);
    view_->setModel(model_);
    setThumbnailScale(2);
    layout->addWidget(view_, 1);
    count_ = new QLabel(this);
    layout->addWidget(count_);
    auto refilter = [this] { applyFilter(); };
    connect(class_, &QComboBox::currentIndexChanged, this, refilter);
    connect(correct_, &QComboBox::currentIndexChanged, this, refilter);
    connect(min_conf_, &QDoubleSpinBox::valueChanged, this, refilter);
    connect(max_conf_, &QDoubleSpinBox::valueChanged, this, refilter);
    connect(view_, &QListView::clicked, this, [this](const QModelIndex& i) { Q_EMIT imageClicked(i.data(Qt::UserRole).toInt()); });
    connect(view_, &QListView::activated, this, [this](const QModelIndex& i) { Q_EMIT imageClicked(i.data(Qt::UserRole).toInt()); });
}

ImageGrid::~ImageGrid() = default;

void ImageGrid::setThumbnailScale(int scale) {
    model_->scale = std::max(1, scale);
    view_->setIconSize(QSize(32, 32) * model_->scale + QSize(6, 6));
}

void ImageGrid::setItems(QVector<GridItem> items, const QStringList& classNames) {
    if (!items.isEmpty()) view_->setIconSize(items.front().image.size() * model_->scale + QSize(6, 6));
    model_->setItems(std::move(items), classNames);
    const QSignalBlocker block(class_);
    class_->clear();
    class_->addItem(tr("all classes"), -1);
    for (int c = 0; c < classNames.size(); ++c) class_->addItem(classNames[c], c);
    applyFilter();
}

int ImageGrid::itemCount() const { return model_->itemCount(); }

void ImageGrid::setFilter(int cls, Correctness correctness, double minConfidence, double maxConfidence) {
    const QSignalBlocker b1(class_), b2(correct_), b3(min_conf_), b4(max_conf_);
    class_->setCurrentIndex(std::max(0, class_->findData(cls)));
    correct_->setCurrentIndex(std::max(0, correct_->findData(int(correctness))));
    min_conf_->setValue(minConfidence);
    max_conf_->setValue(maxConfidence);
    applyFilter();
}

void ImageGrid::applyFilter() {
    const int selected = selectedIndex();
    model_->filter(class_->currentData().toInt(), Correctness(correct_->currentData().toInt()), min_conf_->value(),
                   max_conf_->value());
    count_->setText(tr("%1 of %2 images").arg(model_->rowCount()).arg(model_->itemCount()));
    if (selected >= 0) {
        const int row = model_->rowOf(selected);
        if (row >= 0) view_->setCurrentIndex(model_->index(row));
    }
}

int ImageGrid::visibleCount() const { return model_->rowCount(); }

int ImageGrid::indexAt(int row) const {
    return row >= 0 && row < model_->rowCount() ? model_->item(row).index : -1;
}

int ImageGrid::rowOf(int index) const { return model_->rowOf(index); }

bool ImageGrid::selectIndex(int index) {
    const int row = model_->rowOf(index);
    if (row < 0) return false;
    view_->setCurrentIndex(model_->index(row));
    view_->scrollTo(model_->index(row));
    return true;
}

int ImageGrid::selectedIndex() const {
    const QModelIndex i = view_->currentIndex();
    return i.isValid() ? i.data(Qt::UserRole).toInt() : -1;
}

}  // namespace vhmn::widgets
