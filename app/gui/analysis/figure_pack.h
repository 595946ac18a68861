#pragma once
// The figure pack of a run: the analogues of the paper's Fig. 2, 3, 5 and 6 and Tables 3 and 9 in
// one folder. The session's worker computes the data and writes the tables (CSV, Markdown,
// LaTeX — the same files `vhmn figure-pack` writes headless); this draws the figures.
#include <QString>
#include <QStringList>

#include "app/gui/analysis/session_types.h"

namespace vhmn::gui {

/// Draw fig2_robustness.{png,pdf}, fig3_prototypes.png, fig5_slot_weights.{png,pdf} and
/// fig6_stability.{png,pdf} into data.dir. `written` receives every file of the pack (the
/// worker's tables first). False with *error on the first failure.
bool drawFigurePack(const FigurePackData& data, const InspectedRun& info, QStringList* written, QString* error = nullptr);

/// Fig. 3: rows of test images (most informative patch boxed) with their top local prototypes
/// (stored patch boxed in its source image) and top global prototypes (source images).
QImage prototypesFigure(const FigurePackData& data, const InspectedRun& info, int block = -1);

}  // namespace vhmn::gui
