#include "widgets/prototype_strip.h"

#include <algorithm>
#include <functional>

#include <QHBoxLayout>
#include <QLabel>
#include <QMouseEvent>
#include <QPainter>
#include <QVBoxLayout>

#include "widgets/image_view.h"

namespace vhmn::widgets {
namespace {

class Card : public QFrame {
public:
    Card(const PrototypeCard& c, int scale, QWidget* parent) : QFrame(parent) {
        setFrameShape(QFrame::StyledPanel);
        setCursor(Qt::PointingHandCursor);
        auto* l = new QVBoxLayout(this);
        l->setContentsMargins(3, 3, 3, 3);
        l->setSpacing(1);
        image = new ImageWithBoxes(this);
        image->setPreferredScale(scale);
        image->setImage(c.image);
        image->setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Fixed);
        image->setFixedSize(image->sizeHint());
        const QColor colour = c.match ? QColor(60, 220, 90) : QColor(255, 190, 0);
        QVector<ImageBox> boxes{{c.box, colour, {}}};
        for (const QRect& r : c.extraBoxes) boxes.push_back({r, colour, {}});
        image->setBoxes(boxes);
        image->setToolTip(!c.tooltip.isEmpty()
                              ? c.tooltip
                              : tr("slot %1 · source training image #%2 · row %3 col %4 · step %5 — click to open")
                                    .arg(c.slot).arg(c.source).arg(c.row).arg(c.col).arg(c.step));
        image->setAttribute(Qt::WA_TransparentForMouseEvents);
        l->addWidget(image, 0, Qt::AlignHCenter);
        auto* caption = new QLabel(!c.caption.isEmpty() ? c.caption
                                                        : QStringLiteral("<b>%1</b><br>slot %2 · α %3")
                                                              .arg(c.className.toHtmlEscaped())
                                                              .arg(c.slot)
                                                              .arg(c.weight, 0, 'f', 3),
                                   this);
        caption->setAlignment(Qt::AlignCenter);
        caption->setAttribute(Qt::WA_TransparentForMouseEvents);
        l->addWidget(caption);
    }
    std::function<void()> onClick;
    ImageWithBoxes* image;

protected:
    void mouseReleaseEvent(QMouseEvent* e) override {
        if (e->button() == Qt::LeftButton && onClick) onClick();
    }
};

}  // namespace

PrototypeStrip::PrototypeStrip(const QString& title, QWidget* parent) : QWidget(parent) {
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(0, 0, 0, 0);
    l->setSpacing(2);
    title_ = new QLabel(title, this);
    QFont f = title_->font();
    f.setBold(true);
    title_->setFont(f);
    l->addWidget(title_);
    row_ = new QHBoxLayout;
    row_->setSpacing(4);
    l->addLayout(row_, 1);
}

void PrototypeStrip::setTitle(const QString& title) { title_->setText(title); }

void PrototypeStrip::setImageScale(int scale) { scale_ = std::max(1, scale); }

void PrototypeStrip::setCards(QVector<PrototypeCard> cards) {
    cards_ = std::move(cards);
    for (QWidget* w : widgets_) w->deleteLater();
    widgets_.clear();
    while (row_->count() > 0) delete row_->takeAt(0);
    for (int i = 0; i < cards_.size(); ++i) {
        auto* card = new Card(cards_[i], scale_, this);
        card->onClick = [this, i] { Q_EMIT cardClicked(i); };
        row_->addWidget(card);
        widgets_.push_back(card);
    }
    row_->addStretch(1);
}

QWidget* PrototypeStrip::cardWidget(int i) const { return i >= 0 && i < widgets_.size() ? widgets_[i] : nullptr; }

ProbabilityBars::ProbabilityBars(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Minimum);
}

void ProbabilityBars::setProbabilities(const QStringList& names, QVector<double> p, int prediction, int label) {
    names_ = names;
    p_ = std::move(p);
    prediction_ = prediction, label_ = label;
    updateGeometry();
    update();
}

void ProbabilityBars::setReference(QVector<double> before) {
    ref_ = std::move(before);
    update();
}

QSize ProbabilityBars::sizeHint() const {
    const int rows = std::max<int>(1, int(p_.size()));
    return {220, rows * (fontMetrics().height() + 2) + 4};
}

void ProbabilityBars::paintEvent(QPaintEvent*) {
    QPainter p(this);
    const int lh = fontMetrics().height() + 2;
    int name_w = 0;
    for (const QString& n : names_) name_w = std::max(name_w, fontMetrics().horizontalAdvance(n));
    name_w += 8;
    const bool ref = ref_.size() == p_.size() && !ref_.isEmpty();
    const int value_w = fontMetrics().horizontalAdvance(ref ? QStringLiteral("100.0 % (was 100.0 %)") : QStringLiteral("100.0 %")) + 6;
    const int bar_w = std::max(20, width() - name_w - value_w);
    for (int i = 0; i < p_.size(); ++i) {
        const int y = 2 + i * lh;
        const QString name = i < names_.size() ? names_[i] : QString::number(i);
        QFont f = font();
        f.setBold(i == prediction_);
        p.setFont(f);
        p.setPen(palette().color(QPalette::WindowText));
        p.drawText(QRect(0, y, name_w - 6, lh), Qt::AlignRight | Qt::AlignVCenter, name);
        const QColor c = i == prediction_ ? (prediction_ == label_ ? QColor(40, 160, 70) : QColor(210, 50, 40))
                                          : QColor(120, 140, 170);
        p.fillRect(QRect(name_w, y + 2, bar_w, lh - 4), palette().color(QPalette::AlternateBase));
        p.fillRect(QRect(name_w, y + 2, int(bar_w * std::clamp(p_[i], 0.0, 1.0)), lh - 4), c);
        if (i == label_) {
            p.setPen(QPen(QColor(30, 30, 30), 1.5, Qt::DashLine));
            p.drawRect(QRect(name_w, y + 2, bar_w, lh - 4));
        }
        if (ref) {  // the earlier value: a black tick across the bar
            const int x = name_w + int(bar_w * std::clamp(ref_[i], 0.0, 1.0));
            p.setPen(QPen(Qt::black, 2));
            p.drawLine(x, y + 1, x, y + lh - 2);
        }
        p.setPen(palette().color(QPalette::WindowText));
        const QString value = QStringLiteral("%1 %").arg(p_[i] * 100.0, 0, 'f', 1);
        p.drawText(QRect(name_w + bar_w + 4, y, value_w, lh), Qt::AlignLeft | Qt::AlignVCenter,
                   ref ? value + QStringLiteral(" (was %1 %)").arg(ref_[i] * 100.0, 0, 'f', 1) : value);
    }
}

}  // namespace vhmn::widgets
