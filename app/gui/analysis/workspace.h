#pragma once
// The inspection side of the app as one object the main window adds as tabs: a RunSession and the
// inspector, memory and robustness views on it, plus the figure pack.
#include <QObject>
#include <QStringList>

#include "app/gui/analysis/session_types.h"

namespace vhmn::gui {

class CorruptionsView;
class ForgettingView;
class InspectorView;
class MemoryMapView;
class MemoryView;
class RobustnessView;
class RunSession;

class InspectWorkspace : public QObject {
    Q_OBJECT
public:
    explicit InspectWorkspace(QWidget* parent);

    RunSession* session() const { return session_; }
    InspectorView* inspector() const { return inspector_; }
    MemoryView* memory() const { return memory_; }
    ForgettingView* forgetting() const { return forgetting_; }
    MemoryMapView* memoryMap() const { return map_; }
    RobustnessView* robustness() const { return robustness_; }
    CorruptionsView* corruptions() const { return corruptions_; }

    /// Open a run (data empty: the dataset recorded in its config). gridLimit: test images shown
    /// in the grid (0: all).
    bool openRun(const QString& dir, const QString& data = {}, int gridLimit = 0);
    /// Compute what is missing and write the figure pack into request.dir (asynchronous:
    /// figurePackWritten follows).
    bool writeFigurePack(const FigurePackRequest& request);

Q_SIGNALS:
    void figurePackWritten(const QStringList& files, const QString& error);

private:
    RunSession* session_;
    InspectorView* inspector_;
    MemoryView* memory_;
    ForgettingView* forgetting_;
    MemoryMapView* map_;
    RobustnessView* robustness_;
    CorruptionsView* corruptions_;
};

}  // namespace vhmn::gui
