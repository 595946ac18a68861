#pragma once
// Export of any QCustomPlot (heatmaps, bar plots, panel figures) and of plain widgets/images to
// PNG (chosen DPI), SVG and PDF, plus atomic text files (CSV, Markdown, LaTeX). Files are written
// through QSaveFile: nothing half-written stays behind. CurvePlot's exports go through these too.
#include <QImage>
#include <QSize>
#include <QString>

class QCustomPlot;
class QWidget;

namespace vhmn::widgets {

/// Export by the file's suffix (.png, .svg, .pdf). `size` is the figure size in plot pixels
/// (empty: the plot's on-screen size, or 800×500 when it is hidden or tiny).
bool exportCustomPlot(QCustomPlot* plot, const QString& path, int dpi = 150, QSize size = {},
                      const QString& title = {}, QString* error = nullptr);

/// A widget as drawn (QWidget::render) to .png (at `dpi`, 96 = screen size), .svg or .pdf.
bool exportWidget(QWidget* widget, const QString& path, int dpi = 150, QString* error = nullptr);

/// A QImage saved as PNG atomically.
bool saveImageAtomically(const QImage& image, const QString& path, QString* error = nullptr);

/// UTF-8 text written atomically.
bool writeTextAtomically(const QString& path, const QString& text, QString* error = nullptr);

}  // namespace vhmn::widgets
