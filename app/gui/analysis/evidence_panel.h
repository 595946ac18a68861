#pragma once
// The inspector's Evidence panel: the training images the shown prediction rests on, ranked by
// the retrieval mass they received (core/probes/evidence.h), each with every patch it contributed
// boxed; "Forget top N" re-asks the model with those images' memories masked (a memory edit on
// the inspector's own copy of the model, never on the saved run) and shows the probabilities
// before and after; "Restore" asks again with the memory whole.
#include <QVector>
#include <QWidget>

#include "app/gui/analysis/session_types.h"

class QLabel;
class QPushButton;
class QSpinBox;

namespace vhmn::widgets {
class PrototypeStrip;
}

namespace vhmn::gui {

class EvidencePanel : public QWidget {
    Q_OBJECT
public:
    explicit EvidencePanel(QWidget* parent = nullptr);

    void setResult(const ImageResult& r, const InspectedRun& info);
    void clear();

    widgets::PrototypeStrip* strip() const { return strip_; }
    QSpinBox* forgetCount() const { return count_; }
    QPushButton* forgetButton() const { return forget_; }
    QPushButton* restoreButton() const { return restore_; }
    QLabel* summary() const { return summary_; }

Q_SIGNALS:
    /// Ask again with these training images' memories masked (the ones forgotten so far included).
    void forgetRequested(const QVector<int>& sources);
    void restoreRequested();
    void itemClicked(int i);

private:
    widgets::PrototypeStrip* strip_ = nullptr;
    QLabel* summary_ = nullptr;
    QSpinBox* count_ = nullptr;
    QPushButton *forget_ = nullptr, *restore_ = nullptr;
    QVector<int> shown_, forgotten_;
};

}  // namespace vhmn::gui
