#include <torch/torch.h>  // before Qt (libtorch uses `slots` as an identifier)

#include "app/gui/runs/runs_browser.h"

#include <fstream>
#include <functional>
#include <map>

#include <QCheckBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include "app/common/run_compare.h"
#include "core/io/atomic_file.h"
#include "core/error.h"
#include "core/io/run_record.h"
#include "core/train/trainer.h"

namespace vhmn::gui {
namespace {

QString path_in(const QString& dir, const char* file) { return QDir(dir).filePath(QString::fromLatin1(file)); }

QString read_text(const QString& path) {
    std::ifstream in(path.toStdString());
    return QString::fromStdString(std::string(std::istreambuf_iterator<char>(in), {}));
}

QString value_text(const nlohmann::json& v) {
    if (v.is_string()) return QString::fromStdString(v.get<std::string>());
    if (v.is_number_float()) return QString::number(v.get<double>(), 'g', 8);
    return QString::fromStdString(v.dump());
}

QTableWidgetItem* item(const QString& text, Qt::Alignment align = Qt::AlignLeft | Qt::AlignVCenter) {
    auto* i = new QTableWidgetItem(text);
    i->setTextAlignment(align);
    i->setFlags(i->flags() & ~Qt::ItemIsEditable);
    return i;
}

}  // namespace

RunInfo scan_run(const QString& dir) {
    RunInfo r;
    r.dir = QDir(dir).absolutePath();
    r.name = QFileInfo(r.dir).fileName();
    try {
        const RunConfig c = read_run_config(r.dir.toStdString());
        r.dataset = QString::fromStdString(c.data.name);
        r.preset = QString::fromStdString(c.preset);
        r.arch = QString::fromStdString(c.model.arch);
        r.device = QString::fromStdString(c.train.device.empty() ? std::string("cpu") : c.train.device);
        r.precision = QString::fromStdString(c.train.precision);
        // A run inside a sweep folder (one holding sweep.json) belongs to that sweep.
        const QDir parent = QFileInfo(r.dir).dir();
        if (QFileInfo::exists(parent.filePath(QStringLiteral("sweep.json")))) r.sweep = parent.dirName();
        r.epochs = int(c.train.epochs);
        const QString record = path_in(r.dir, run_files::kRecord);
        if (QFileInfo::exists(record) && run_record_available()) {
            const RunRecord rec = read_run_record(record.toStdString());
            r.epochs_done = int(rec.history.epochs.size());
            if (!rec.history.epochs.empty()) {
                const auto& e = rec.history.epochs.back();
                r.top1 = e.test_top1, r.top5 = e.test_top5, r.test_loss = e.test_loss;
            }
        }
        r.finished = QFileInfo::exists(path_in(r.dir, run_files::kModel));
        // A run stopped before its first epoch ended (no checkpoint) resumes from the beginning.
        const bool checkpoint = QFileInfo::exists(path_in(r.dir, run_files::kCheckpoint));
        r.resumable = checkpoint || !r.finished;
        if (r.finished) r.status = QObject::tr("finished");
        else if (checkpoint) r.status = QObject::tr("stopped after epoch %1 (resumable)").arg(r.epochs_done);
        else r.status = QObject::tr("no epoch finished (resume starts it again)");
    } catch (const std::exception& e) {
        r.error = QString::fromStdString(e.what());
        r.status = QObject::tr("unreadable");
    }
    return r;
}

RunCurves load_run_curves(const QString& dir) {
    const QString record = path_in(dir, run_files::kRecord);
    if (!run_record_available())
        throw FileError(record.toStdString(), "this build has no HDF5 support, run records cannot be read");
    if (!QFileInfo::exists(record))
        throw FileError(record.toStdString(), "no run record (the run has not finished an epoch yet)");
    RunRecord rec = read_run_record(record.toStdString());
    // The legend names the architecture, so overlaid curves of a comparison read at a glance.
    const std::string arch = rec.config.model.arch;
    QString name = QFileInfo(QDir(dir).absolutePath()).fileName();
    if (!name.contains(QString::fromStdString("arch=" + arch)) && arch != "vhmn")
        name += QStringLiteral(" (%1)").arg(QString::fromStdString(arch_display_name(arch)));
    return {name, std::move(rec.history), rec.config.train.world_size};
}

std::vector<std::pair<QString, QStringList>> config_differences(const std::vector<QString>& configs, bool all) {
    // Objects are flattened to JSON pointers; arrays (class names, mean/std) stay one value each.
    std::vector<nlohmann::json> flat;
    for (const QString& c : configs) {
        const nlohmann::json j = nlohmann::json::parse(c.toStdString(), nullptr, false);
        nlohmann::json f = nlohmann::json::object();
        std::function<void(const nlohmann::json&, const std::string&)> walk = [&](const nlohmann::json& v,
                                                                                 const std::string& at) {
            if (v.is_object() && !v.empty()) {
                for (auto it = v.begin(); it != v.end(); ++it) walk(*it, at + "/" + it.key());
            } else {
                f[at] = v;
            }
        };
        if (!j.is_discarded()) walk(j, "");
        flat.push_back(std::move(f));
    }
    std::map<std::string, bool> keys;  // sorted, unique
    for (const auto& f : flat)
        for (auto it = f.begin(); it != f.end(); ++it) keys[it.key()] = true;
    std::vector<std::pair<QString, QStringList>> out;
    for (const auto& [key, unused] : keys) {
        QStringList values;
        bool differ = false;
        for (size_t i = 0; i < flat.size(); ++i) {
            const auto it = flat[i].find(key);
            values << (it == flat[i].end() ? QStringLiteral("—") : value_text(*it));
            if (i > 0 && values[int(i)] != values[0]) differ = true;
        }
        if (all || differ) out.emplace_back(QString::fromStdString(key), values);
    }
    return out;
}

RunsBrowser::RunsBrowser(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    auto* top = new QHBoxLayout;
    dir_label_ = new QLabel(this);
    dir_label_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    top->addWidget(dir_label_, 1);
    auto* refresh = new QPushButton(tr("Refresh"), this);
    auto* add = new QPushButton(tr("Add run folder…"), this);
    add->setToolTip(tr("Open a run from anywhere, e.g. one trained by the vhmn CLI on a GPU server"));
    top->addWidget(refresh);
    top->addWidget(add);
    layout->addLayout(top);

    auto* split = new QSplitter(Qt::Vertical, this);
    table_ = new QTableWidget(0, 11, split);
    table_->setObjectName(QStringLiteral("runsTable"));
    table_->setHorizontalHeaderLabels({tr("Run"), tr("Sweep"), tr("Architecture"), tr("Dataset"), tr("Preset"),
                                       tr("Device"), tr("Epochs"), tr("Test top-1 %"), tr("Test top-5 %"), tr("Test loss"),
                                       tr("Status")});
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->setSortingEnabled(false);
    split->addWidget(table_);

    split->addWidget(buildLower(split));
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);
    layout->addWidget(split, 1);

    connectSignals(refresh, add);
    updateButtons();
}

/// The lower half: the buttons, the final-metrics table and the config differences.
QWidget* RunsBrowser::buildLower(QWidget* parent) {
    auto* lower = new QWidget(parent);
    auto* lower_layout = new QVBoxLayout(lower);
    lower_layout->setContentsMargins(0, 0, 0, 0);
    auto* buttons = new QHBoxLayout;
    open_ = new QPushButton(tr("Show curves"), lower);
    open_->setToolTip(tr("Show the selected runs' curves (overlaid when several are selected)"));
    compare_ = new QPushButton(tr("Compare"), lower);
    compare_->setToolTip(tr("Final metrics of the selected runs (mean ± std over seeds) and where their configs differ"));
    export_ = new QPushButton(tr("Export table…"), lower);
    export_->setToolTip(tr("The final-metrics table as CSV, Markdown or LaTeX"));
    resume_ = new QPushButton(tr("Resume training"), lower);
    resume_->setToolTip(tr("Continue the selected run from its last finished epoch "
                           "(set a larger epoch count in the panel to train longer)"));
    all_keys_ = new QCheckBox(tr("all keys"), lower);
    buttons->addWidget(open_);
    buttons->addWidget(compare_);
    buttons->addWidget(all_keys_);
    buttons->addWidget(export_);
    buttons->addStretch(1);
    buttons->addWidget(resume_);
    lower_layout->addLayout(buttons);
    metrics_view_ = new QTableWidget(0, 0, lower);
    metrics_view_->setObjectName(QStringLiteral("finalMetrics"));
    metrics_view_->verticalHeader()->hide();
    metrics_view_->horizontalHeader()->setStretchLastSection(true);
    lower_layout->addWidget(metrics_view_, 1);
    diff_ = new QTableWidget(0, 0, lower);
    diff_->setObjectName(QStringLiteral("configDifferences"));
    diff_->verticalHeader()->hide();
    diff_->horizontalHeader()->setStretchLastSection(true);
    lower_layout->addWidget(diff_, 1);
    return lower;
}

void RunsBrowser::connectSignals(QPushButton* refresh, QPushButton* add) {
    connect(refresh, &QPushButton::clicked, this, &RunsBrowser::refresh);
    connect(add, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Run folder"), runs_dir_);
        if (dir.isEmpty()) return;
        QString error;
        if (!addRunFolder(dir, &error)) dir_label_->setText(error);
    });
    connect(open_, &QPushButton::clicked, this, [this] { Q_EMIT openRequested(selectedDirs()); });
    connect(table_, &QTableWidget::cellDoubleClicked, this, [this] { Q_EMIT openRequested(selectedDirs()); });
    connect(compare_, &QPushButton::clicked, this, &RunsBrowser::compareSelected);
    connect(all_keys_, &QCheckBox::toggled, this, &RunsBrowser::compareSelected);
    connect(export_, &QPushButton::clicked, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export final metrics"), runs_dir_,
                                                          tr("CSV (*.csv);;Markdown (*.md);;LaTeX (*.tex)"));
        QString error;
        if (!path.isEmpty() && !exportMetrics(path, &error)) dir_label_->setText(error);
    });
    connect(resume_, &QPushButton::clicked, this, [this] {
        const auto dirs = selectedDirs();
        if (dirs.size() == 1) Q_EMIT resumeRequested(dirs.front());
    });
    connect(table_, &QTableWidget::itemSelectionChanged, this, &RunsBrowser::updateButtons);
}

void RunsBrowser::setRunsDir(const QString& dir) {
    runs_dir_ = dir;
    refresh();
}

bool RunsBrowser::addRunFolder(const QString& dir, QString* error) {
    const RunInfo info = scan_run(dir);
    if (!info.error.isEmpty()) {
        if (error) *error = info.error;
        return false;
    }
    if (!extra_dirs_.contains(info.dir)) extra_dirs_ << info.dir;
    refresh();
    select({info.dir});
    return true;
}

void RunsBrowser::refresh() {
    const QStringList keep = selectedDirs();
    runs_.clear();
    QStringList dirs;
    QDir root(runs_dir_);
    if (!runs_dir_.isEmpty() && root.exists()) {
        for (const QFileInfo& fi : root.entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
            if (QFileInfo::exists(path_in(fi.absoluteFilePath(), run_files::kConfig))) dirs << fi.absoluteFilePath();
            // A sweep folder (sweep.json; also one level down, e.g. runs/sweeps/<name>): its runs, grouped.
            QStringList sweeps;
            if (QFileInfo::exists(QDir(fi.absoluteFilePath()).filePath(QStringLiteral("sweep.json"))))
                sweeps << fi.absoluteFilePath();
            else
                for (const QFileInfo& sub : QDir(fi.absoluteFilePath()).entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
                    if (QFileInfo::exists(QDir(sub.absoluteFilePath()).filePath(QStringLiteral("sweep.json"))))
                        sweeps << sub.absoluteFilePath();
            for (const QString& s : sweeps)
                for (const QFileInfo& run : QDir(s).entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
                    if (QFileInfo::exists(path_in(run.absoluteFilePath(), run_files::kConfig))) dirs << run.absoluteFilePath();
        }
    }
    for (const QString& d : extra_dirs_)
        if (!dirs.contains(d)) dirs << d;
    for (const QString& d : dirs) runs_.push_back(scan_run(d));
    dir_label_->setText(tr("Runs in %1 — %2 found").arg(runs_dir_.isEmpty() ? tr("(no folder)") : runs_dir_).arg(runs_.size()));

    table_->setRowCount(int(runs_.size()));
    const auto right = Qt::AlignRight | Qt::AlignVCenter;
    auto num = [](double v, int prec) { return v < 0 ? QStringLiteral("—") : QString::number(v, 'f', prec); };
    for (int i = 0; i < int(runs_.size()); ++i) {
        const RunInfo& r = runs_[size_t(i)];
        auto* name = item(r.name);
        name->setData(Qt::UserRole, r.dir);
        name->setToolTip(r.error.isEmpty() ? r.dir : r.error);
        table_->setItem(i, 0, name);
        table_->setItem(i, 1, item(r.sweep));
        table_->setItem(i, 2, item(QString::fromStdString(arch_display_name(r.arch.toStdString()))));
        table_->setItem(i, 3, item(r.dataset));
        table_->setItem(i, 4, item(r.preset));
        auto* device = item(r.device);
        if (!r.precision.isEmpty()) device->setToolTip(tr("Trained on %1 in %2").arg(r.device, r.precision));
        table_->setItem(i, 5, device);
        table_->setItem(i, 6, item(QStringLiteral("%1 / %2").arg(r.epochs_done).arg(r.epochs), right));
        table_->setItem(i, 7, item(num(r.top1, 2), right));
        table_->setItem(i, 8, item(num(r.top5, 2), right));
        table_->setItem(i, 9, item(num(r.test_loss, 4), right));
        auto* status = item(r.error.isEmpty() ? r.status : r.status + QStringLiteral(": ") + r.error);
        if (!r.error.isEmpty()) status->setForeground(QColor(192, 48, 47));
        table_->setItem(i, 10, status);
    }
    table_->resizeColumnsToContents();
    select(keep);
    updateButtons();
}

void RunsBrowser::select(const QStringList& dirs) {
    table_->clearSelection();
    for (int i = 0; i < table_->rowCount(); ++i) {
        if (dirs.contains(table_->item(i, 0)->data(Qt::UserRole).toString())) {
            table_->selectionModel()->select(table_->model()->index(i, 0),
                                             QItemSelectionModel::Select | QItemSelectionModel::Rows);
        }
    }
}

QStringList RunsBrowser::selectedDirs() const {
    QStringList out;
    for (const QModelIndex& idx : table_->selectionModel()->selectedRows(0))
        out << table_->item(idx.row(), 0)->data(Qt::UserRole).toString();
    return out;
}

void RunsBrowser::compareSelected() {
    const QStringList dirs = selectedDirs();
    std::vector<QString> configs;
    QStringList names;
    for (const QString& d : dirs) {
        configs.push_back(read_text(path_in(d, run_files::kConfig)));
        names << QFileInfo(d).fileName();
    }
    // The final metrics from the scan the table already holds, the configs just read: no file is
    // read twice on the GUI thread.
    std::vector<app::RunFinal> finals;
    for (int i = 0; i < dirs.size(); ++i)
        for (const RunInfo& r : runs_) {
            if (r.dir != dirs[i] || !r.error.isEmpty()) continue;
            const auto config = nlohmann::json::parse(configs[size_t(i)].toStdString(), nullptr, false);
            if (!config.is_discarded()) finals.push_back({r.name.toStdString(), config, r.top1, r.top5});
        }
    metrics_ = app::final_metrics_table(finals);
    metrics_view_->clear();
    metrics_view_->setColumnCount(int(metrics_.columns().size()));
    QStringList headers;
    for (const auto& c : metrics_.columns()) headers << QString::fromStdString(c);
    metrics_view_->setHorizontalHeaderLabels(headers);
    metrics_view_->setRowCount(int(metrics_.rows()));
    for (size_t i = 0; i < metrics_.rows(); ++i)
        for (size_t c = 0; c < metrics_.columns().size(); ++c)
            metrics_view_->setItem(int(i), int(c), item(QString::fromStdString(format_cell(metrics_.at(i, c), 2))));
    metrics_view_->resizeColumnsToContents();
    export_->setEnabled(metrics_.rows() > 0);
    const auto rows = config_differences(configs, all_keys_->isChecked() || dirs.size() == 1);
    diff_->clear();
    diff_->setColumnCount(int(names.size()) + 1);
    diff_->setHorizontalHeaderLabels(QStringList{tr("Config key")} + names);
    diff_->setRowCount(int(rows.size()));
    for (int i = 0; i < int(rows.size()); ++i) {
        diff_->setItem(i, 0, item(rows[size_t(i)].first));
        for (int j = 0; j < rows[size_t(i)].second.size(); ++j) {
            const QString& text = rows[size_t(i)].second[j];
            auto* cell = item(text.size() > 60 ? text.left(57) + QStringLiteral("…") : text);
            cell->setToolTip(text);
            if (j > 0 && rows[size_t(i)].second[j] != rows[size_t(i)].second[0]) cell->setForeground(QColor(31, 90, 180));
            diff_->setItem(i, j + 1, cell);
        }
    }
    diff_->resizeColumnsToContents();
}

bool RunsBrowser::exportMetrics(const QString& path, QString* error) const {
    const QString ext = QFileInfo(path).suffix().toLower();
    const std::string caption = "Final test metrics (mean \xC2\xB1 std over seeds)";
    std::string text;
    if (ext == QLatin1String("csv")) text = metrics_.to_csv();
    else if (ext == QLatin1String("md")) text = "mean \xC2\xB1 std over seeds of the final epoch\n\n" + metrics_.to_markdown(2);
    else if (ext == QLatin1String("tex")) text = metrics_.to_latex(caption, 2);
    else {
        if (error) *error = tr("%1: choose .csv, .md or .tex").arg(path);
        return false;
    }
    try {
        write_text_atomically(path.toStdString(), text);
    } catch (const std::exception& e) {
        if (error) *error = QString::fromStdString(e.what());
        return false;
    }
    return true;
}

void RunsBrowser::updateButtons() {
    const QStringList dirs = selectedDirs();
    open_->setEnabled(!dirs.isEmpty());
    compare_->setEnabled(!dirs.isEmpty());
    export_->setEnabled(metrics_.rows() > 0);
    bool resumable = false;
    if (dirs.size() == 1)
        for (const RunInfo& r : runs_)
            if (r.dir == dirs.front()) resumable = r.resumable;
    resume_->setEnabled(resumable);
}

}  // namespace vhmn::gui
