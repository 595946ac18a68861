#pragma once
// A run trained once per test process by the CLI on builtin-small, shared by the GUI suites that
// drive the inspection views (TestInspector, TestFigurePack, TestEvidenceGui), and helpers to
// drive them as a user would.
#include <torch/torch.h>

#include <QListView>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include "app/common/experiment.h"
#include "app/gui/analysis/run_session.h"
#include "core/probes/framework.h"
#include "core/probes/image.h"
#include "tests/patience.h"
#include "widgets/image_grid.h"

namespace vhmn::test {

using namespace vhmn::gui;

inline const QString kData = QStringLiteral("builtin-small");

/// A run trained once per process by the CLI (16×16 images, cpu-tiny: 4 blocks, 4×4 tokens).
inline QString shared_run() {
    static QTemporaryDir dir;
    static QString run;
    if (run.isEmpty()) {
        const QString out = dir.filePath(QStringLiteral("run"));
        QProcess p;
        p.start(QStringLiteral(VHMN_CLI_PATH), {QStringLiteral("train"), QStringLiteral("--data"), kData,
                                                QStringLiteral("--epochs"), QStringLiteral("2"), QStringLiteral("--batch"),
                                                QStringLiteral("100"), QStringLiteral("--augment"), QStringLiteral("none"),
                                                QStringLiteral("--threads"), QStringLiteral("2"), QStringLiteral("--out"), out});
        if (p.waitForFinished(test::patience_ms()) && p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0) run = out;
        else qWarning("training failed: %s", p.readAllStandardError().constData());
    }
    return run;
}

/// The same run opened independently, for core's answers.
inline app::OpenedRun& reference() {
    static app::OpenedRun r = app::open_run(shared_run().toStdString(), kData.toStdString(), torch::kCPU);
    return r;
}

inline QRect rect_of(const Box& b) { return QRect(int(b.x), int(b.y), int(b.w), int(b.h)); }

inline bool open_session(RunSession* s, int batch = 250) {
    s->setBatch(batch);
    if (!s->open(shared_run(), kData)) return false;
    QSignalSpy spy(s, &RunSession::jobFinished);
    return spy.wait(120000) && s->isOpen();
}

inline void click_cell(widgets::ImageGrid* grid, int row) {
    auto* view = grid->view();
    const QRect r = view->visualRect(view->model()->index(row, 0));
    QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, r.center());
}

}  // namespace vhmn::test
