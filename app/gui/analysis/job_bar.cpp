#include "app/gui/analysis/job_bar.h"

#include <cmath>

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>

#include "app/gui/analysis/run_session.h"

namespace vhmn::gui {

JobBar::JobBar(RunSession* session, QWidget* parent) : QWidget(parent), session_(session) {
    auto* l = new QHBoxLayout(this);
    l->setContentsMargins(0, 0, 0, 0);
    label_ = new QLabel(tr("idle"), this);
    label_->setMinimumWidth(260);
    bar_ = new QProgressBar(this);
    bar_->setRange(0, 1000);
    bar_->setTextVisible(false);
    bar_->setMaximumHeight(14);
    cancel_ = new QPushButton(tr("Cancel"), this);
    cancel_->setEnabled(false);
    l->addWidget(label_);
    l->addWidget(bar_, 1);
    l->addWidget(cancel_);
    connect(cancel_, &QPushButton::clicked, session_, &RunSession::cancel);
    connect(session_, &RunSession::jobStarted, this, [this](const QString& job) {
        clock_.start();
        label_->setText(tr("%1: starting…").arg(job));
        bar_->setValue(0);
        cancel_->setEnabled(true);
    });
    connect(session_, &RunSession::jobProgress, this, [this](double f, const QString& what) {
        bar_->setValue(int(std::lround(f * 1000)));
        label_->setText(tr("%1 — %2 %").arg(what).arg(f * 100.0, 0, 'f', 0));
    });
    connect(session_, &RunSession::jobFinished, this, [this](const QString& job, const QString& outcome, const QString& message) {
        cancel_->setEnabled(false);
        if (outcome == QLatin1String("finished")) bar_->setValue(1000);
        const QString wall = clock_.isValid() ? tr(" in %1 s").arg(double(clock_.elapsed()) / 1000.0, 0, 'f', 1) : QString();
        label_->setText(outcome == QLatin1String("error") ? tr("%1 failed: %2").arg(job, message)
                                                          : tr("%1 %2").arg(job, outcome) + wall);
    });
}

QString JobBar::text() const { return label_->text(); }
int JobBar::value() const { return bar_->value(); }

}  // namespace vhmn::gui
