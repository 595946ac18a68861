#include "widgets/plot_export.h"

#include <cmath>

#include <QBuffer>
#include <QCoreApplication>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMessageBox>
#include <QPageSize>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QSvgGenerator>
#include <QWidget>
#include <qcustomplot.h>

namespace vhmn::widgets {
namespace {

QString tr(const char* s) { return QCoreApplication::translate("vhmn::widgets::export", s); }

bool fail(QString* error, const QString& message) {
    if (error) *error = message;
    return false;
}

bool commitBytes(const QString& path, const QByteArray& bytes, QString* error) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return fail(error, QStringLiteral("%1: %2").arg(path, file.errorString()));
    if (file.write(bytes) != bytes.size()) return fail(error, QStringLiteral("%1: %2").arg(path, file.errorString()));
    if (!file.commit()) return fail(error, QStringLiteral("%1: %2").arg(path, file.errorString()));
    return true;
}

bool checkDpi(const QString& path, int dpi, QString* error) {
    if (dpi >= 24 && dpi <= 2400) return true;
    return fail(error, tr("%1: DPI must be between 24 and 2400, got %2").arg(path).arg(dpi));
}

void setDpi(QImage& image, int dpi) {
    const int dpm = int(std::lround(dpi / 0.0254));
    image.setDotsPerMeterX(dpm);
    image.setDotsPerMeterY(dpm);
}

/// Paint `draw(painter, size)` into an SVG or PDF file of `size` points.
template <typename Draw>
bool vectorExport(const QString& path, const QString& suffix, QSize size, const QString& title, QString* error,
                  Draw&& draw) {
    if (suffix == QLatin1String("svg")) {
        QBuffer buffer;
        QSvgGenerator generator;
        generator.setOutputDevice(&buffer);
        generator.setSize(size);
        generator.setViewBox(QRect(QPoint(0, 0), size));
        generator.setTitle(title);
        generator.setDescription(QStringLiteral("V-HMN Studio figure"));
        QCPPainter painter;
        if (!painter.begin(&generator)) return fail(error, tr("%1: could not start the SVG painter").arg(path));
        draw(painter, size);
        painter.end();
        return commitBytes(path, buffer.data(), error);
    }
    QBuffer buffer;
    buffer.open(QIODevice::WriteOnly);
    {
        QPdfWriter writer(&buffer);
        writer.setTitle(title);
        writer.setCreator(QStringLiteral("V-HMN Studio"));
        writer.setResolution(72);  // one figure pixel = one PDF point
        writer.setPageSize(QPageSize(QSizeF(size), QPageSize::Point, QString(), QPageSize::ExactMatch));
        writer.setPageMargins(QMarginsF(0, 0, 0, 0));
        QCPPainter painter;
        if (!painter.begin(&writer)) return fail(error, tr("%1: could not start the PDF painter").arg(path));
        painter.setMode(QCPPainter::pmVectorized);
        painter.setWindow(QRect(QPoint(0, 0), size));
        draw(painter, size);
        painter.end();
    }
    return commitBytes(path, buffer.data(), error);
}

}  // namespace

bool saveImageAtomically(const QImage& image, const QString& path, QString* error) {
    QByteArray bytes;
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    if (image.isNull() || !image.save(&buffer, "PNG")) return fail(error, tr("%1: could not encode the PNG").arg(path));
    return commitBytes(path, bytes, error);
}

bool writeTextAtomically(const QString& path, const QString& text, QString* error) {
    return commitBytes(path, text.toUtf8(), error);
}

bool exportCustomPlot(QCustomPlot* plot, const QString& path, int dpi, QSize size, const QString& title,
                      QString* error) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (size.isEmpty()) {
        size = plot->size();
        if (!plot->isVisible() || size.width() < 200 || size.height() < 150) size = {800, 500};
    }
    if (suffix == QLatin1String("png")) {
        if (!checkDpi(path, dpi, error)) return false;
        QImage image = plot->toPixmap(size.width(), size.height(), dpi / 96.0).toImage();
        setDpi(image, dpi);
        return saveImageAtomically(image, path, error);
    }
    if (suffix == QLatin1String("svg") || suffix == QLatin1String("pdf"))
        return vectorExport(path, suffix, size, title, error,
                            [plot](QCPPainter& p, QSize s) { plot->toPainter(&p, s.width(), s.height()); });
    return fail(error, tr("%1: unknown export format '%2' (use .png, .svg or .pdf)").arg(path, suffix));
}

bool exportWidget(QWidget* widget, const QString& path, int dpi, QString* error) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    const QSize size = widget->size().isEmpty() ? widget->sizeHint() : widget->size();
    if (suffix == QLatin1String("png")) {
        if (!checkDpi(path, dpi, error)) return false;
        const double scale = dpi / 96.0;
        QImage image(QSize(int(std::ceil(size.width() * scale)), int(std::ceil(size.height() * scale))),
                     QImage::Format_ARGB32_Premultiplied);
        image.fill(Qt::white);
        {
            QPainter painter(&image);
            painter.scale(scale, scale);
            widget->render(&painter, QPoint(), QRegion(), QWidget::DrawChildren);
        }
        setDpi(image, dpi);
        return saveImageAtomically(image, path, error);
    }
    if (suffix == QLatin1String("svg") || suffix == QLatin1String("pdf"))
        return vectorExport(path, suffix, size, widget->windowTitle(), error, [widget](QCPPainter& p, QSize) {
            widget->render(&p, QPoint(), QRegion(), QWidget::DrawChildren);
        });
    return fail(error, tr("%1: unknown export format '%2' (use .png, .svg or .pdf)").arg(path, suffix));
}

QString csvField(const QString& s) {
    if (!s.contains(QLatin1Char(',')) && !s.contains(QLatin1Char('"')) && !s.contains(QLatin1Char('\n'))) return s;
    QString q = s;
    q.replace(QLatin1String("\""), QLatin1String("\"\""));
    return QLatin1Char('"') + q + QLatin1Char('"');
}

QString csvNumber(double v) { return std::isfinite(v) ? QString::number(v, 'g', 10) : QStringLiteral("nan"); }

bool isCsv(const QString& path) { return QFileInfo(path).suffix().toLower() == QLatin1String("csv"); }

void exportFiguresInteractive(QWidget* parent, const QString& title, const QStringList& whats, bool whole,
                              const std::function<bool(const QString& what, const QString& path, QString* error)>& exportOne) {
    const QString file = QFileDialog::getSaveFileName(parent, title, QString(),
                                                      QObject::tr("PNG (*.png);;SVG (*.svg);;PDF (*.pdf);;CSV (*.csv)"));
    if (file.isEmpty()) return;
    const QFileInfo fi(file);
    QString error;
    for (const QString& what : whats) {
        const QString path = fi.dir().filePath(fi.completeBaseName() + QLatin1Char('_') + what + QLatin1Char('.') + fi.suffix());
        if (!exportOne(what, path, &error)) break;
    }
    if (whole && error.isEmpty() && !isCsv(file)) exportOne(QStringLiteral("view"), file, &error);
    if (!error.isEmpty()) QMessageBox::warning(parent, QObject::tr("Export failed"), error);
}

}  // namespace vhmn::widgets
