#pragma once
// The Memory tab's map (issue 15): one bank's stored vectors on their first two principal axes,
// coloured by class; hovering a point shows the stored patch (local) or image (global); the
// Inspector's current test image's query is drawn with its refinement trajectory z_0 → z_T and
// follows the Inspector as images are clicked.
#include <QWidget>

#include "app/gui/analysis/session_types.h"

class QCheckBox;
class QComboBox;
class QLabel;
class QPushButton;

namespace vhmn::widgets {
class ScatterMap;
struct ScatterData;
}  // namespace vhmn::widgets

namespace vhmn::gui {

class RunSession;

class MemoryMapView : public QWidget {
    Q_OBJECT
public:
    explicit MemoryMapView(RunSession* session, QWidget* parent = nullptr);

    /// Draw the map of the chosen block and branch (with the last inspected image's trajectory).
    bool draw();
    void setBlock(int block);
    void setBranch(int branch);  ///< 0 local, 1 global
    bool hasResult() const { return !result_.x.isEmpty(); }
    const MapResult& result() const { return result_; }
    widgets::ScatterMap* map() const { return map_; }
    bool exportTo(const QString& path, int dpi = 150, QString* error = nullptr);

    static widgets::ScatterData scatterData(const MapResult& r, const InspectedRun& info);

Q_SIGNALS:
    void updated();

private:
    void show(const MapResult& r);

    RunSession* session_;
    MapResult result_;
    int index_ = -1;         ///< the Inspector's current test image
    bool pending_ = false;   ///< a redraw waits for the session's running job
    QComboBox *block_ = nullptr, *branch_ = nullptr;
    QCheckBox* follow_ = nullptr;
    QPushButton* draw_ = nullptr;
    QLabel* summary_ = nullptr;
    widgets::ScatterMap* map_ = nullptr;
};

}  // namespace vhmn::gui
