#pragma once
#include <QMainWindow>

class QComboBox;
namespace vhmn::widgets {
class SummaryTable;
}

namespace vhmn::gui {

/// Main window. For now: choose a preset and see its model summary.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);

private:
    void showPreset(const QString& name);

    QComboBox* preset_ = nullptr;
    widgets::SummaryTable* summary_ = nullptr;
};

}  // namespace vhmn::gui
