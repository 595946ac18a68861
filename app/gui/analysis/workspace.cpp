#include "app/gui/analysis/workspace.h"

#include <QWidget>

#include "app/gui/analysis/corruptions_view.h"
#include "app/gui/analysis/figure_pack.h"
#include "app/gui/analysis/forgetting_view.h"
#include "app/gui/analysis/inspector_view.h"
#include "app/gui/analysis/memory_map_view.h"
#include "app/gui/analysis/memory_view.h"
#include "app/gui/analysis/robustness_view.h"
#include "app/gui/analysis/run_session.h"

namespace vhmn::gui {

InspectWorkspace::InspectWorkspace(QWidget* parent) : QObject(parent) {
    session_ = new RunSession(this);
    inspector_ = new InspectorView(session_, parent);
    memory_ = new MemoryView(session_, parent);
    forgetting_ = new ForgettingView(session_, parent);
    map_ = new MemoryMapView(session_, parent);
    robustness_ = new RobustnessView(session_, parent);
    corruptions_ = new CorruptionsView(session_, parent);
    connect(session_, &RunSession::figurePackReady, this, [this](const FigurePackData& data) {
        QStringList files;
        QString error;
        drawFigurePack(data, session_->info(), &files, &error);
        Q_EMIT figurePackWritten(files, error);
    });
    connect(session_, &RunSession::jobFinished, this, [this](const QString& job, const QString& outcome, const QString& message) {
        if (job == QLatin1String("figure pack") && outcome != QLatin1String("finished"))
            Q_EMIT figurePackWritten({}, outcome == QLatin1String("cancelled") ? tr("cancelled") : message);
    });
}

bool InspectWorkspace::openRun(const QString& dir, const QString& data, int gridLimit) {
    return session_->open(dir, data, gridLimit);
}

bool InspectWorkspace::writeFigurePack(const FigurePackRequest& request) { return session_->computeFigurePack(request); }

}  // namespace vhmn::gui
