#include "app/gui/analysis/evidence_panel.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include "widgets/prototype_strip.h"

namespace vhmn::gui {

EvidencePanel::EvidencePanel(QWidget* parent) : QWidget(parent) {
    auto* l = new QVBoxLayout(this);
    l->setContentsMargins(0, 0, 0, 0);
    l->setSpacing(2);
    auto* row = new QHBoxLayout;
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    summary_->setTextFormat(Qt::RichText);
    summary_->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Minimum);
    summary_->setMinimumHeight(2 * summary_->fontMetrics().lineSpacing() + 4);  // the before/after line too
    count_ = new QSpinBox(this);
    count_->setRange(1, 8);
    count_->setValue(3);
    count_->setToolTip(tr("How many of the top evidence images to forget"));
    forget_ = new QPushButton(tr("Forget top"), this);
    forget_->setToolTip(tr("Ask again with these training images' memories masked in every block and branch "
                           "(the saved run is not changed)"));
    restore_ = new QPushButton(tr("Restore memory"), this);
    restore_->setEnabled(false);
    row->addWidget(forget_);
    row->addWidget(count_);
    row->addWidget(restore_);
    row->addStretch(1);
    l->addLayout(row);
    l->addWidget(summary_);  // its own line: the before/after sentence needs the full width
    strip_ = new widgets::PrototypeStrip(tr("Evidence"), this);
    l->addWidget(strip_);
    connect(forget_, &QPushButton::clicked, this, [this] {
        QVector<int> sources = forgotten_;
        for (int i = 0; i < count_->value() && i < shown_.size(); ++i)
            if (!sources.contains(shown_[i])) sources.push_back(shown_[i]);
        if (sources.size() > forgotten_.size()) Q_EMIT forgetRequested(sources);
    });
    connect(restore_, &QPushButton::clicked, this, &EvidencePanel::restoreRequested);
    connect(strip_, &widgets::PrototypeStrip::cardClicked, this, &EvidencePanel::itemClicked);
}

void EvidencePanel::clear() {
    shown_.clear(), forgotten_.clear();
    strip_->setCards({});
    summary_->clear();
    restore_->setEnabled(false);
}

void EvidencePanel::setResult(const ImageResult& r, const InspectedRun& info) {
    shown_.clear();
    forgotten_ = r.forgotten;
    QVector<widgets::PrototypeCard> cards;
    double listed = 0;
    for (const EvidenceItem& e : r.evidence) {
        shown_.push_back(e.source);
        listed += e.mass;
        widgets::PrototypeCard c;
        c.image = e.image;
        c.box = e.boxes.value(0);
        c.extraBoxes = e.boxes.mid(1);
        c.source = e.source, c.cls = e.cls;
        c.className = className(info, e.cls);
        c.weight = e.mass;
        c.match = e.cls == r.prediction;
        c.caption = QStringLiteral("<b>%1</b><br>#%2 · %3 %")
                        .arg(c.className.toHtmlEscaped())
                        .arg(e.source)
                        .arg(100.0 * e.mass, 0, 'f', 1);
        c.tooltip = tr("training image #%1 — %2 slot(s) — click to open").arg(e.source).arg(e.slotLines.size());
        cards.push_back(std::move(c));
    }
    strip_->setTitle(tr("Evidence — training images this prediction rests on (retrieval mass over every block "
                        "and branch; boxes: the patches each contributed)"));
    strip_->setCards(std::move(cards));
    QString text = tr("%1 training images received retrieval mass; the %2 shown hold %3 %.")
                       .arg(r.evidenceImages)
                       .arg(r.evidence.size())
                       .arg(100.0 * listed, 0, 'f', 1);
    if (!r.forgotten.isEmpty()) {
        auto p = [](const QVector<double>& v, int c) { return c >= 0 && c < v.size() ? 100.0 * v[c] : 0.0; };
        text += QStringLiteral("<br>") +
                tr("<b>Forgot %1 image(s)</b> (%2 slots masked): predicted <b>%3</b> %4 % — before: %5 %6 %; "
                   "p(true %7) %8 % → %9 %")
                    .arg(r.forgotten.size())
                    .arg(r.forgottenSlots)
                    .arg(className(info, r.prediction).toHtmlEscaped())
                    .arg(p(r.probabilities, r.prediction), 0, 'f', 1)
                    .arg(className(info, r.predictionBefore).toHtmlEscaped())
                    .arg(p(r.probabilitiesBefore, r.predictionBefore), 0, 'f', 1)
                    .arg(className(info, r.label).toHtmlEscaped())
                    .arg(p(r.probabilitiesBefore, r.label), 0, 'f', 1)
                    .arg(p(r.probabilities, r.label), 0, 'f', 1);
    }
    summary_->setText(text);
    restore_->setEnabled(!r.forgotten.isEmpty());
    forget_->setEnabled(!shown_.isEmpty());
}

}  // namespace vhmn::gui
