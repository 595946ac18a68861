#pragma once
// A row of retrieved memories: for each, its source training image with the stored patch boxed,
// and a caption (class, slot, weight). Clicking a card asks to open the source image.
#include <QImage>
#include <QRect>
#include <QString>
#include <QVector>
#include <QWidget>

class QHBoxLayout;
class QLabel;

namespace vhmn::widgets {

class ImageWithBoxes;

struct PrototypeCard {
    QImage image;      ///< source training image (null: not available)
    QRect box;         ///< the stored token's patch (global: the whole image)
    int slot = -1;
    int cls = -1;
    QString className;
    double weight = 0;
    int source = -1;   ///< training-set index of the source image
    int row = -1, col = -1;  ///< token cell (local)
    int step = -1;     ///< training step at which it was written
    bool match = false;  ///< its class is the prediction's class
    QVector<QRect> extraBoxes;  ///< further patches boxed in the same colour (evidence: every slot's patch)
    QString caption;            ///< rich text replacing the default caption (class, slot, α) when set
    QString tooltip;            ///< replaces the default tooltip when set
};

class PrototypeStrip : public QWidget {
    Q_OBJECT
public:
    explicit PrototypeStrip(const QString& title, QWidget* parent = nullptr);

    void setTitle(const QString& title);
    void setCards(QVector<PrototypeCard> cards);
    const QVector<PrototypeCard>& cards() const { return cards_; }
    /// The widget drawing card i (for clicks in tests).
    QWidget* cardWidget(int i) const;
    void setImageScale(int scale);

Q_SIGNALS:
    void cardClicked(int i);

private:
    QLabel* title_ = nullptr;
    QHBoxLayout* row_ = nullptr;
    QVector<PrototypeCard> cards_;
    QVector<QWidget*> widgets_;
    int scale_ = 3;
};

/// Class probabilities as horizontal bars, the prediction and the true class marked.
class ProbabilityBars : public QWidget {
    Q_OBJECT
public:
    explicit ProbabilityBars(QWidget* parent = nullptr);
    void setProbabilities(const QStringList& names, QVector<double> p, int prediction, int label);
    const QVector<double>& probabilities() const { return p_; }
    /// Earlier probabilities to compare with (e.g. before memories were forgotten): drawn as a tick on
    /// each bar and written beside the value. Empty: none.
    void setReference(QVector<double> before);
    const QVector<double>& reference() const { return ref_; }
    QSize sizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    QStringList names_;
    QVector<double> p_, ref_;
    int prediction_ = -1, label_ = -1;
};

}  // namespace vhmn::widgets
