#pragma once
// A progress line for the session's long jobs: what runs, a progress bar and a Cancel button.
#include <QElapsedTimer>
#include <QWidget>

class QLabel;
class QProgressBar;
class QPushButton;

namespace vhmn::gui {

class RunSession;

class JobBar : public QWidget {
    Q_OBJECT
public:
    JobBar(RunSession* session, QWidget* parent = nullptr);
    QPushButton* cancelButton() const { return cancel_; }
    QString text() const;
    int value() const;

private:
    RunSession* session_;
    QLabel* label_ = nullptr;
    QProgressBar* bar_ = nullptr;
    QPushButton* cancel_ = nullptr;
    QElapsedTimer clock_;  ///< wall time of the running job, shown when it ends
};

}  // namespace vhmn::gui
