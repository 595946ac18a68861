#include "widgets/image_view.h"

#include <algorithm>
#include <cmath>

#include <QMouseEvent>
#include <QPainter>

namespace vhmn::widgets {
namespace {

/// Draw overlay and boxes on a painter whose coordinates are image pixels × scale.
void paintDecorations(QPainter& p, QSize imageSize, double scale, const QVector<ImageBox>& boxes,
                      const HeatOverlay& overlay, bool showOverlay) {
    if (showOverlay && overlay.isValid()) {
        const double maxv = *std::max_element(overlay.values.begin(), overlay.values.end());
        const double cw = imageSize.width() * scale / overlay.cols, ch = imageSize.height() * scale / overlay.rows;
        for (int r = 0; r < overlay.rows; ++r)
            for (int c = 0; c < overlay.cols; ++c) {
                const double v = maxv > 0 ? overlay.values[r * overlay.cols + c] / maxv : 0.0;
                // Low weights darkened, high weights tinted warm.
                p.fillRect(QRectF(c * cw, r * ch, cw, ch), QColor(255, 80, 0, int(170 * v)));
                p.fillRect(QRectF(c * cw, r * ch, cw, ch), QColor(0, 0, 40, int(110 * (1.0 - v))));
            }
    }
    const double pen_w = std::max(1.5, scale / 2.5);
    for (const ImageBox& b : boxes) {
        const QRectF r(b.rect.x() * scale, b.rect.y() * scale, b.rect.width() * scale, b.rect.height() * scale);
        const QRectF inner = r.adjusted(pen_w / 2, pen_w / 2, -pen_w / 2, -pen_w / 2);
        p.setBrush(Qt::NoBrush);
        p.setPen(QPen(QColor(0, 0, 0, 160), pen_w + 2, Qt::SolidLine));  // dark halo: visible on any image
        p.drawRect(inner);
        p.setPen(QPen(b.color, pen_w, b.style));
        p.drawRect(inner);
    }
}

}  // namespace

QImage renderImageWithBoxes(const QImage& image, const QVector<ImageBox>& boxes, int scale, const HeatOverlay& overlay,
                            bool showOverlay) {
    scale = std::max(1, scale);
    if (image.isNull()) return {};
    QImage out = image.convertToFormat(QImage::Format_RGB32)
                     .scaled(image.width() * scale, image.height() * scale, Qt::IgnoreAspectRatio, Qt::FastTransformation);
    QPainter p(&out);
    p.setRenderHint(QPainter::Antialiasing, false);
    paintDecorations(p, image.size(), scale, boxes, overlay, showOverlay);
    return out;
}

ImageWithBoxes::ImageWithBoxes(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Expanding);
}

void ImageWithBoxes::setImage(const QImage& image) {
    image_ = image;
    updateGeometry();
    update();
}

void ImageWithBoxes::setBoxes(QVector<ImageBox> boxes) {
    boxes_ = std::move(boxes);
    update();
}

void ImageWithBoxes::setOverlay(HeatOverlay overlay) {
    overlay_ = std::move(overlay);
    update();
}

void ImageWithBoxes::setOverlayVisible(bool on) {
    show_overlay_ = on;
    update();
}

void ImageWithBoxes::setPreferredScale(int scale) {
    preferred_scale_ = std::max(1, scale);
    updateGeometry();
}

QSize ImageWithBoxes::sizeHint() const {
    const QSize s = image_.isNull() ? QSize(32, 32) : image_.size();
    return s * preferred_scale_;
}

QSize ImageWithBoxes::minimumSizeHint() const {
    const QSize s = image_.isNull() ? QSize(32, 32) : image_.size();
    return s * std::min(2, preferred_scale_);
}

void ImageWithBoxes::paintEvent(QPaintEvent*) {
    QPainter p(this);
    if (image_.isNull()) {
        p.fillRect(rect(), palette().window());
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter | Qt::TextWordWrap, tr("no image"));
        return;
    }
    // Largest scale that fits (integer when ≥ 1 so pixels stay square and crisp).
    double scale = std::min(double(width()) / image_.width(), double(height()) / image_.height());
    if (scale >= 1.0) scale = std::floor(scale);
    const QSizeF drawn(image_.width() * scale, image_.height() * scale);
    const QPointF origin((width() - drawn.width()) / 2.0, (height() - drawn.height()) / 2.0);
    p.setRenderHint(QPainter::SmoothPixmapTransform, false);
    p.translate(origin);
    p.drawImage(QRectF(QPointF(0, 0), drawn), image_);
    paintDecorations(p, image_.size(), scale, boxes_, overlay_, show_overlay_);
}

void ImageWithBoxes::mouseReleaseEvent(QMouseEvent* event) {
    if (event->button() == Qt::LeftButton && rect().contains(event->position().toPoint())) Q_EMIT clicked();
    QWidget::mouseReleaseEvent(event);
}

}  // namespace vhmn::widgets
