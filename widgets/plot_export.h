#pragma once
// Export of any QCustomPlot (heatmaps, bar plots, panel figures) and of plain widgets/images to
// PNG (chosen DPI), SVG and PDF, plus atomic text files (CSV, Markdown, LaTeX). Files are written
// through QSaveFile: nothing half-written stays behind. CurvePlot's exports go through these too.
#include <functional>

#include <QImage>
#include <QStringList>
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

/// The "Export…" of a view with several figures: asks for a file (PNG, SVG, PDF or CSV) and writes
/// each figure beside it as <name>_<what>.<suffix> through `exportOne`; with `whole`, also the view
/// itself at the chosen name (not for CSV). A failure is shown in a message box.
void exportFiguresInteractive(QWidget* parent, const QString& title, const QStringList& whats, bool whole,
                              const std::function<bool(const QString& what, const QString& path, QString* error)>& exportOne);

/// CSV helpers: a field quoted when it must be (RFC 4180), a number with 10 significant digits
/// ("nan" when not finite), and whether a path asks for CSV (by its suffix).
QString csvField(const QString& s);
QString csvNumber(double v);
bool isCsv(const QString& path);

/// UTF-8 text written atomically.
bool writeTextAtomically(const QString& path, const QString& text, QString* error = nullptr);

}  // namespace vhmn::widgets
