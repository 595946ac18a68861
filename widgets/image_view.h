#pragma once
// Small images (32×32 test images, source training images of stored memories) shown enlarged with
// nearest-neighbour scaling, with boxes drawn on top (the most informative patch, the window a
// local query reads, a stored patch) and an optional per-token heat overlay (attention-pooling
// weights). Plain data only: a QImage and rectangles in image pixels.
#include <QColor>
#include <QImage>
#include <QRect>
#include <QString>
#include <QVector>
#include <QWidget>

namespace vhmn::widgets {

struct ImageBox {
    QRect rect;  ///< in image pixels
    QColor color = QColor(255, 200, 0);
    QString label;
    Qt::PenStyle style = Qt::SolidLine;
};

/// Per-cell weights over a rows × cols grid that tiles the image (row-major).
struct HeatOverlay {
    int rows = 0, cols = 0;
    QVector<double> values;
    bool isValid() const { return rows > 0 && cols > 0 && values.size() == rows * cols; }
};

/// The image scaled by an integer factor (nearest neighbour) with the overlay and boxes painted.
QImage renderImageWithBoxes(const QImage& image, const QVector<ImageBox>& boxes, int scale,
                            const HeatOverlay& overlay = {}, bool showOverlay = false);

class ImageWithBoxes : public QWidget {
    Q_OBJECT
public:
    explicit ImageWithBoxes(QWidget* parent = nullptr);

    void setImage(const QImage& image);
    QImage image() const { return image_; }
    void setBoxes(QVector<ImageBox> boxes);
    const QVector<ImageBox>& boxes() const { return boxes_; }
    void setOverlay(HeatOverlay overlay);
    void setOverlayVisible(bool on);
    bool overlayVisible() const { return show_overlay_; }
    /// Preferred on-screen scale (the widget shrinks or grows with the layout).
    void setPreferredScale(int scale);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

Q_SIGNALS:
    void clicked();

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;

private:
    QImage image_;
    QVector<ImageBox> boxes_;
    HeatOverlay overlay_;
    bool show_overlay_ = false;
    int preferred_scale_ = 4;
};

}  // namespace vhmn::widgets
