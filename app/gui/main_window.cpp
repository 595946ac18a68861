#include "app/gui/main_window.h"

#include <QComboBox>
#include <QFormLayout>
#include <QLabel>
#include <QStatusBar>
#include <QVBoxLayout>

#include "app/model_summary.h"
#include "widgets/summary_table.h"

namespace vhmn::gui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(tr("V-HMN Studio"));
    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    auto* form = new QFormLayout;
    preset_ = new QComboBox(central);
    for (const auto& name : preset_names()) preset_->addItem(QString::fromStdString(name));
    form->addRow(tr("Model preset"), preset_);
    layout->addLayout(form);
    summary_ = new widgets::SummaryTable(central);
    layout->addWidget(summary_);
    setCentralWidget(central);
    connect(preset_, &QComboBox::currentTextChanged, this, &MainWindow::showPreset);
    preset_->setCurrentText(QStringLiteral("cpu-tiny"));
    showPreset(preset_->currentText());
    resize(640, 520);
}

void MainWindow::showPreset(const QString& name) {
    const auto summary = app::summarize(name.toStdString(), preset(name.toStdString()));
    QVector<std::pair<QString, QString>> rows;
    for (const auto& [label, value] : summary.rows())
        rows.push_back({QString::fromStdString(label), QString::fromStdString(value)});
    summary_->setRows(rows);
    statusBar()->showMessage(tr("%1: %2 parameters").arg(name, QString::fromStdString(app::human_count(double(summary.parameters)))));
}

}  // namespace vhmn::gui
