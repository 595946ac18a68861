#include "app/gui/analysis/figure_pack.h"

#include <algorithm>

#include <QDir>
#include <QPainter>

#include "app/gui/analysis/corruptions_view.h"
#include "app/gui/analysis/evidence_panel.h"
#include "app/gui/analysis/memory_view.h"
#include "app/gui/analysis/robustness_view.h"
#include "widgets/figure_plots.h"
#include "widgets/image_view.h"
#include "widgets/plot_export.h"

namespace vhmn::gui {

QImage prototypesFigure(const FigurePackData& data, const InspectedRun& info, int block) {
    const int k = 3, inScale = 4, protoScale = 3, gap = 10, colGap = 28, captionH = 34, headerH = 30;
    const int img = std::max(8, info.imageSize);
    const int inW = img * inScale, pW = img * protoScale;
    const int rowH = std::max(inW, pW) + captionH + gap;
    const int width = gap + inW + colGap + k * (pW + gap) + colGap + k * (pW + gap);
    const int height = headerH + int(data.examples.size()) * rowH + gap;
    QImage out(std::max(width, 200), std::max(height, 80), QImage::Format_RGB32);
    out.fill(Qt::white);
    QPainter p(&out);
    p.setRenderHint(QPainter::TextAntialiasing);
    QFont f = p.font();
    f.setPixelSize(12);
    QFont bold = f;
    bold.setBold(true);
    const int x0 = gap, xl = gap + inW + colGap, xg = xl + k * (pW + gap) + colGap;
    const int b = block >= 0 ? block : std::max(0, info.depth - 1);
    p.setFont(bold);
    p.setPen(Qt::black);
    p.drawText(QRect(x0, 4, inW + colGap, headerH - 6), Qt::AlignLeft | Qt::AlignVCenter, QObject::tr("test image"));
    p.drawText(QRect(xl, 4, k * (pW + gap), headerH - 6), Qt::AlignLeft | Qt::AlignVCenter,
               QObject::tr("local prototypes (block %1)").arg(b));
    p.drawText(QRect(xg, 4, k * (pW + gap), headerH - 6), Qt::AlignLeft | Qt::AlignVCenter,
               QObject::tr("global prototypes (block %1)").arg(b));
    const QColor patch(255, 200, 0), right(60, 200, 90);
    for (int r = 0; r < data.examples.size(); ++r) {
        const ImageResult& e = data.examples[r];
        const int y = headerH + r * rowH;
        if (!e.input.isNull())
            p.drawImage(x0, y, widgets::renderImageWithBoxes(e.input, {{e.tokenBox, patch, {}}}, inScale));
        p.setFont(f);
        p.setPen(Qt::black);
        p.drawText(QRect(x0 - 4, y + inW + 2, inW + colGap, captionH), Qt::AlignLeft | Qt::AlignTop,
                   QObject::tr("#%1 %2\n→ %3 (%4 %)")
                       .arg(e.request.index)
                       .arg(className(info, e.label))
                       .arg(className(info, e.prediction))
                       .arg(e.prediction >= 0 && e.prediction < e.probabilities.size() ? e.probabilities[e.prediction] * 100 : 0.0,
                            0, 'f', 0));
        if (b >= e.blocks.size()) continue;
        auto drawProtos = [&](const QVector<PrototypeInfo>& ps, int x) {
            for (int i = 0; i < std::min<int>(k, int(ps.size())); ++i) {
                const PrototypeInfo& pi = ps[i];
                const int px = x + i * (pW + gap);
                if (!pi.sourceImage.isNull())
                    p.drawImage(px, y, widgets::renderImageWithBoxes(pi.sourceImage,
                                                                     {{pi.box, pi.cls == e.prediction ? right : patch, {}}},
                                                                     protoScale));
                p.setPen(Qt::black);
                p.drawText(QRect(px - 2, y + pW + 2, pW + gap, captionH), Qt::AlignLeft | Qt::AlignTop,
                           QObject::tr("%1\nα %2").arg(className(info, pi.cls)).arg(pi.weight, 0, 'f', 3));
            }
        };
        drawProtos(e.blocks[b].local, xl);
        drawProtos(e.blocks[b].global, xg);
    }
    return out;
}

namespace {

/// CIFAR-10-C: the corruption × severity heatmap (the first T) and the per-family bars, when the
/// run has a result.
bool drawCorruptions(const FigurePackData& data, const QDir& dir, QStringList& files, QString* error) {
    if (data.corruptions.corruptions.isEmpty()) return true;
    const QSize size(1000, 520);
    widgets::Heatmap cells;
    cells.resize(size);
    cells.setData(CorruptionsView::heatmapData(data.corruptions, 0));
    widgets::BarPlot families;
    families.resize(QSize(800, 420));
    families.setData(CorruptionsView::familyData(data.corruptions));
    for (const char* ext : {"png", "pdf"}) {
        const QString heat = dir.filePath(QStringLiteral("cifar10c_cells.") + QLatin1String(ext));
        const QString bars = dir.filePath(QStringLiteral("cifar10c_families.") + QLatin1String(ext));
        if (!cells.exportFile(heat, 150, error, size) || !families.exportFile(bars, 150, error, QSize(800, 420))) return false;
        files << heat << bars;
    }
    return true;
}

/// Evidence: the training images the first Fig. 3 example's prediction rests on, as the
/// Inspector's Evidence panel shows them.
bool drawEvidence(const FigurePackData& data, const InspectedRun& info, const QDir& dir, QStringList& files, QString* error) {
    if (data.examples.isEmpty() || data.examples.front().evidence.isEmpty()) return true;
    EvidencePanel panel;
    panel.setResult(data.examples.front(), info);
    panel.resize(1100, 330);
    panel.ensurePolished();
    const QString path = dir.filePath(QStringLiteral("evidence.png"));
    if (!widgets::saveImageAtomically(panel.grab().toImage(), path, error)) return false;
    files << path;
    return true;
}

}  // namespace

bool drawFigurePack(const FigurePackData& data, const InspectedRun& info, QStringList* written, QString* error) {
    const QDir dir(data.dir);
    if (!dir.exists() && !QDir().mkpath(data.dir)) {
        if (error) *error = QObject::tr("%1: cannot create the folder").arg(data.dir);
        return false;
    }
    QStringList files = data.written;
    const QSize wide(1200, 420), tall(1200, 500);
    // Fig. 2
    widgets::PanelPlot fig2;
    fig2.resize(wide);
    fig2.setPanels(RobustnessView::robustnessPanels(data.robustness), 3,
                   QObject::tr("%1: top-1 under corruption by inference-time T").arg(info.name));
    for (const char* ext : {"png", "pdf"}) {
        const QString path = dir.filePath(QStringLiteral("fig2_robustness.") + QLatin1String(ext));
        if (!fig2.exportFile(path, 150, error, wide)) return false;
        files << path;
    }
    // Fig. 3
    const QString fig3 = dir.filePath(QStringLiteral("fig3_prototypes.png"));
    if (!widgets::saveImageAtomically(prototypesFigure(data, info), fig3, error)) return false;
    files << fig3;
    // Fig. 5
    widgets::Heatmap fig5;
    fig5.resize(tall);
    fig5.setData(MemoryView::heatmapData(data.memory, info, data.weightsClass));
    for (const char* ext : {"png", "pdf"}) {
        const QString path = dir.filePath(QStringLiteral("fig5_slot_weights.") + QLatin1String(ext));
        if (!fig5.exportFile(path, 150, error, tall)) return false;
        files << path;
    }
    // Fig. 6
    widgets::PanelPlot fig6;
    fig6.resize(wide);
    fig6.setPanels(RobustnessView::stabilityPanels(data.stability), 2, RobustnessView::stabilityTitle(data.stability));
    for (const char* ext : {"png", "pdf"}) {
        const QString path = dir.filePath(QStringLiteral("fig6_stability.") + QLatin1String(ext));
        if (!fig6.exportFile(path, 150, error, QSize(1000, 420))) return false;
        files << path;
    }
    if (!drawCorruptions(data, dir, files, error) || !drawEvidence(data, info, dir, files, error)) return false;
    files.sort();
    if (written) *written = files;
    return true;
}

}  // namespace vhmn::gui
