#include <torch/torch.h>  // before Qt (libtorch uses `slots` as an identifier)

#include "app/gui/training/experiment_panel.h"

#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QImageReader>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

#include "app/common/data_location.h"
#include "app/common/train_fields.h"
#include "core/models/config.h"
#include "core/error.h"
#include "core/devices.h"
#include "core/runtime.h"
#include "core/torch_compat.h"
#include "datasets/readers/readers.h"

namespace vhmn::gui {
namespace {

const QString kInvalidStyle = QStringLiteral("border: 1px solid #d0302f; background-color: #fff0f0;");

}  // namespace

ExperimentPanel::ExperimentPanel(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    auto* data_form = buildDataBox(layout);
    auto* model_box = new QGroupBox(tr("Model"), this);
    auto* model_form = new QFormLayout(model_box);
    auto* train_box = new QGroupBox(tr("Training"), this);
    auto* train_form = new QFormLayout(train_box);
    // Every field of the training-field table that has a label (app/common/train_fields.h).
    for (const auto& f : app::train_fields()) {
        if (f.label.empty()) continue;
        addField(f.group == app::FieldGroup::Data ? data_form : f.group == app::FieldGroup::Model ? model_form : train_form, f);
    }
    layout->addWidget(model_box);
    addDeviceAndName(train_form);
    layout->addWidget(train_box);

    issues_label_ = new QLabel(this);
    issues_label_->setObjectName(QStringLiteral("issues"));
    issues_label_->setWordWrap(true);
    issues_label_->setStyleSheet(QStringLiteral("color: #c0302f;"));
    issues_label_->setTextFormat(Qt::PlainText);
    layout->addWidget(issues_label_);
    layout->addStretch(1);

    setDefaults();
    validate_timer_.setSingleShot(true);
    validate_timer_.setInterval(120);
    connect(&validate_timer_, &QTimer::timeout, this, &ExperimentPanel::validate);
    connect(dataset_, &QComboBox::currentTextChanged, this, &ExperimentPanel::datasetChanged);
    connect(qobject_cast<QComboBox*>(field(QStringLiteral("preset"))), &QComboBox::currentTextChanged, this,
            &ExperimentPanel::applyPreset);
    connect(qobject_cast<QComboBox*>(field(QStringLiteral("arch"))), &QComboBox::currentTextChanged, this,
            [this] { applyPreset(value(QStringLiteral("preset")).toString()); });
    connect(qobject_cast<QComboBox*>(field(QStringLiteral("augment"))), &QComboBox::currentTextChanged, this,
            [this](const QString& r) {
                setValue(QStringLiteral("label_smoothing"),
                         data::AugmentConfig::recipe(r.toStdString()).label_smoothing);
            });
    setPreset(QStringLiteral("cpu-tiny"));
    applyPreset(QStringLiteral("cpu-tiny"));
    setDataset(QStringLiteral("builtin"));
    datasetChanged();
    validate();
}

QFormLayout* ExperimentPanel::buildDataBox(QVBoxLayout* layout) {
    auto* data_box = new QGroupBox(tr("Data"), this);
    auto* data_form = new QFormLayout(data_box);
    auto* row = new QHBoxLayout;
    dataset_ = new QComboBox(data_box);
    dataset_->setObjectName(QStringLiteral("dataset"));
    dataset_->setEditable(true);
    dataset_->setInsertPolicy(QComboBox::NoInsert);
    dataset_->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    dataset_->setMinimumContentsLength(14);
    dataset_->addItems({QStringLiteral("builtin"), QStringLiteral("builtin-small")});
    dataset_->setToolTip(QString::fromStdString(app::train_field("data")->help));
    fields_[QStringLiteral("dataset")] = dataset_;
    row->addWidget(dataset_, 1);
    auto* browse = new QPushButton(tr("Browse…"), data_box);
    browse->setObjectName(QStringLiteral("browseDataset"));
    row->addWidget(browse);
    data_form->addRow(tr("Dataset"), row);
    detected_ = new QLabel(data_box);
    detected_->setWordWrap(true);
    data_form->addRow(tr("Reader"), detected_);
    layout->addWidget(data_box);
    connect(browse, &QPushButton::clicked, this, &ExperimentPanel::browseDataset);
    return data_form;
}

void ExperimentPanel::addDeviceAndName(QFormLayout* form) {
    // The runtime's devices: cpu, then each visible GPU as "cuda:N — NAME, X GiB" (value cuda:N).
    const auto list = list_devices();
    QString tip = tr("Where training runs");
    if (!list.cpu_only_reason.empty())
        tip += tr(". Only the CPU: %1").arg(QString::fromStdString(list.cpu_only_reason));
    addCombo(form, QStringLiteral("device"), tr("Device"), {}, tip);
    auto* device = qobject_cast<QComboBox*>(field(QStringLiteral("device")));
    for (const auto& d : list.devices)
        device->addItem(QString::fromStdString(d.label()), QString::fromStdString(d.id()));
    addCombo(form, QStringLiteral("precision"), tr("Precision"), {}, {});
    auto* precision = qobject_cast<QComboBox*>(field(QStringLiteral("precision")));
    precision->addItem(tr("bf16 autocast"), QStringLiteral("bf16"));
    precision->addItem(QStringLiteral("fp32"), QStringLiteral("fp32"));
    addCombo(form, QStringLiteral("tf32"), tr("TF32"), {QStringLiteral("on"), QStringLiteral("off")}, {});
    connect(device, &QComboBox::currentIndexChanged, this, &ExperimentPanel::updatePrecision);
    updatePrecision();
    auto* name = new QLineEdit(this);
    name->setObjectName(QStringLiteral("run_name"));
    name->setPlaceholderText(tr("automatic"));
    name->setToolTip(tr("Folder name under the runs directory"));
    fields_[QStringLiteral("run_name")] = name;
    form->addRow(tr("Run name"), name);
    connect(name, &QLineEdit::textChanged, this, &ExperimentPanel::scheduleValidate);
}

void ExperimentPanel::updatePrecision() {
    // bf16 autocast and TF32 are CUDA's; TF32 only on GPUs that have it (compute capability ≥ 8.0).
    const QString dev = value(QStringLiteral("device")).toString();
    const bool gpu = dev.startsWith(QLatin1String("cuda"));
    const bool tf32 = gpu && compat::cuda_has_tf32(dev.section(QLatin1Char(':'), 1).toInt());
    auto* precision = field(QStringLiteral("precision"));
    auto* tf = field(QStringLiteral("tf32"));
    // Greyed, the lists show what the run will compute in (a CPU: fp32, no TF32); the GPU choices
    // come back when a GPU is picked again.
    if (!gpu && !cpu_shown_) {
        gpu_precision_ = value(QStringLiteral("precision")).toString(), gpu_tf32_ = value(QStringLiteral("tf32")).toString();
        cpu_shown_ = true;
    } else if (gpu && cpu_shown_) {
        setValue(QStringLiteral("precision"), gpu_precision_);
        setValue(QStringLiteral("tf32"), gpu_tf32_);
        cpu_shown_ = false;
    }
    if (!gpu) setValue(QStringLiteral("precision"), QStringLiteral("fp32"));
    if (!tf32) setValue(QStringLiteral("tf32"), QStringLiteral("off"));
    precision->setEnabled(gpu);
    tf->setEnabled(tf32);
    precision->setToolTip(gpu ? tr("bf16 autocast (retrieval stays fp32) or fp32 throughout") : tr("A CPU run computes in fp32"));
    tf->setToolTip(tf32 ? tr("TF32 tensor cores for fp32 matrix products and convolutions")
                        : gpu ? tr("This GPU has no TF32 (compute capability below 8.0)") : tr("A CPU run computes in fp32"));
}

void ExperimentPanel::addField(QFormLayout* form, const app::TrainField& f) {
    const QString key = QString::fromStdString(f.key), label = QString::fromStdString(f.label),
                  tip = QString::fromStdString(f.help);
    constexpr double kIntMax = double(std::numeric_limits<int>::max());
    switch (f.kind) {
        case app::FieldKind::Int: addInt(form, key, label, int(f.min), int(std::min(f.max, kIntMax)), tip); break;
        case app::FieldKind::Real: addDouble(form, key, label, f.min, f.max, f.decimals, f.step, tip); break;
        case app::FieldKind::Choice: {
            QStringList items;
            for (const auto& c : f.choices()) items << QString::fromStdString(c);
            addCombo(form, key, label, items, tip);
            break;
        }
        case app::FieldKind::Text:
        case app::FieldKind::OnOff: break;  // no generic widget (the dataset and device have their own)
    }
}

void ExperimentPanel::setDefaults() {
    // The request's defaults (the paper's recipe); the model fields come from the preset.
    const app::TrainRequest defaults;
    for (const auto& f : app::train_fields()) {
        if (f.label.empty() || f.group == app::FieldGroup::Model) continue;
        const auto v = f.get(defaults);
        const QString key = QString::fromStdString(f.key);
        if (v.is_number_integer()) setValue(key, qlonglong(v.get<int64_t>()));
        else if (v.is_number()) setValue(key, v.get<double>());
        else if (v.is_string()) setValue(key, QString::fromStdString(v.get<std::string>()));
    }
    setValue(QStringLiteral("epochs"), 10);  // the paper's 400 is days on a CPU; a short run by default
    setValue(QStringLiteral("device"), QStringLiteral("cpu"));
    gpu_precision_ = defaults.train.bf16 ? QStringLiteral("bf16") : QStringLiteral("fp32");
    gpu_tf32_ = defaults.train.tf32 ? QStringLiteral("on") : QStringLiteral("off");
    cpu_shown_ = true;
    updatePrecision();
}

void ExperimentPanel::addInt(QFormLayout* form, const QString& key, const QString& label, int min, int max,
                             const QString& tip) {
    auto* w = new QSpinBox(this);
    w->setObjectName(key);
    w->setRange(min, max);
    w->setToolTip(tip);
    w->setProperty("tip", tip);
    fields_[key] = w;
    form->addRow(label, w);
    connect(w, &QSpinBox::valueChanged, this, &ExperimentPanel::scheduleValidate);
}

void ExperimentPanel::addDouble(QFormLayout* form, const QString& key, const QString& label, double min,
                                double max, int decimals, double step, const QString& tip) {
    auto* w = new QDoubleSpinBox(this);
    w->setObjectName(key);
    w->setDecimals(decimals);
    w->setRange(min, max);
    w->setSingleStep(step);
    w->setToolTip(tip);
    w->setProperty("tip", tip);
    fields_[key] = w;
    form->addRow(label, w);
    connect(w, &QDoubleSpinBox::valueChanged, this, &ExperimentPanel::scheduleValidate);
}

void ExperimentPanel::addCombo(QFormLayout* form, const QString& key, const QString& label,
                               const QStringList& items, const QString& tip) {
    auto* w = new QComboBox(this);
    w->setObjectName(key);
    w->addItems(items);
    w->setToolTip(tip);
    w->setProperty("tip", tip);
    fields_[key] = w;
    form->addRow(label, w);
    connect(w, &QComboBox::currentTextChanged, this, &ExperimentPanel::scheduleValidate);
}

QWidget* ExperimentPanel::field(const QString& key) const {
    const auto it = fields_.find(key);
    return it == fields_.end() ? nullptr : it->second;
}

void ExperimentPanel::setValue(const QString& key, const QVariant& v) {
    QWidget* w = field(key);
    if (!w) return;
    if (auto* s = qobject_cast<QSpinBox*>(w)) s->setValue(v.toInt());
    else if (auto* d = qobject_cast<QDoubleSpinBox*>(w)) d->setValue(v.toDouble());
    else if (auto* c = qobject_cast<QComboBox*>(w)) {
        int i = c->findData(v.toString());  // items with a value of their own (device, precision)
        if (i < 0) i = c->findText(v.toString());
        if (i >= 0) c->setCurrentIndex(i);
        else if (c->isEditable()) c->setCurrentText(v.toString());
    } else if (auto* e = qobject_cast<QLineEdit*>(w)) e->setText(v.toString());
}

QVariant ExperimentPanel::value(const QString& key) const {
    QWidget* w = field(key);
    if (auto* s = qobject_cast<QSpinBox*>(w)) return s->value();
    if (auto* d = qobject_cast<QDoubleSpinBox*>(w)) return d->value();
    if (auto* c = qobject_cast<QComboBox*>(w)) return c->currentData().isValid() ? c->currentData() : c->currentText();
    if (auto* e = qobject_cast<QLineEdit*>(w)) return e->text();
    return {};
}

QStringList ExperimentPanel::knownDataPlaces() const {
    QStringList out;
    if (!data_dir_.isEmpty()) out << data_dir_;
    for (const QString& r : recent_)
        if (!out.contains(r)) out << r;
    return out;
}

void ExperimentPanel::setDataDir(const QString& dir) {
    data_dir_ = dir;
    // The folder's datasets (or the folder itself when it is one), as a moved run is looked for.
    for (const auto& p : app::candidate_datasets({QDir(dir).absolutePath().toStdString()})) {
        const QString path = QString::fromStdString(p);
        if (dataset_->findText(path) < 0) dataset_->addItem(path);
    }
}

void ExperimentPanel::setRunsDir(const QString& dir) {
    runs_dir_ = dir;
    scheduleValidate();
}

void ExperimentPanel::setDataset(const QString& path) {
    const int i = dataset_->findText(path);
    if (i >= 0) dataset_->setCurrentIndex(i);
    else dataset_->setCurrentText(path);
    datasetChanged();
}

QString ExperimentPanel::dataset() const { return dataset_->currentText().trimmed(); }

void ExperimentPanel::setPreset(const QString& name) { setValue(QStringLiteral("preset"), name); }

void ExperimentPanel::browseDataset() {
    const QString start = QFileInfo(dataset()).isDir() ? dataset() : QDir::homePath();
    const QString dir = QFileDialog::getExistingDirectory(this, tr("Dataset folder"), start);
    if (!dir.isEmpty()) setDataset(dir);
}

void ExperimentPanel::addRecentDataset(const QString& path) {
    recent_.removeAll(path);
    recent_.prepend(path);
    while (recent_.size() > 8) recent_.removeLast();
    if (dataset_->findText(path) < 0) dataset_->addItem(path);
}

void ExperimentPanel::applyPreset(const QString& name) {
    ModelConfig c;
    const std::string arch = value(QStringLiteral("arch")).toString().toStdString();
    try {
        c = preset(name.toStdString(), arch.empty() ? "vhmn" : arch);
    } catch (const std::exception&) {
        return;
    }
    loading_preset_ = true;
    app::TrainRequest r;
    r.model = c;
    for (const auto& f : app::train_fields()) {
        if (f.group != app::FieldGroup::Model || f.kind == app::FieldKind::Choice) continue;
        const QString key = QString::fromStdString(f.key);
        auto v = f.get(r);
        const std::string owner = f.arch();
        if (v.is_null() && !owner.empty()) {  // another family's field: its value in that family's preset
            app::TrainRequest other;
            other.model = preset(name.toStdString(), owner);
            v = f.get(other);
        }
        if (v.is_number_integer()) setValue(key, qlonglong(v.get<int64_t>()));
        else if (v.is_number()) setValue(key, v.get<double>());
        // Another family's field stays visible, greyed: it does not apply to this architecture.
        if (QWidget* w = field(key)) w->setEnabled(owner.empty() || owner == c.arch);
    }
    loading_preset_ = false;
    scheduleValidate();
}

void ExperimentPanel::datasetChanged() {
    // Cheap look at the files (no reading of the images): the reader and the input shape.
    format_.clear(), format_error_.clear();
    image_size_ = channels_ = classes_ = 0;
    const QString path = dataset();
    try {
        format_ = QString::fromStdString(data::detect_format(path.toStdString()));
        if (path == QLatin1String("builtin")) image_size_ = 32, channels_ = 3, classes_ = 10;
        else if (path == QLatin1String("builtin-small")) image_size_ = 16, channels_ = 3, classes_ = 10;
        else if (format_ == QLatin1String("cifar10-bin") || format_ == QLatin1String("svhn-mat"))
            image_size_ = 32, channels_ = 3, classes_ = 10;
        else if (format_ == QLatin1String("cifar100-bin")) image_size_ = 32, channels_ = 3, classes_ = 100;
        else if (format_ == QLatin1String("idx")) image_size_ = 28, channels_ = 1, classes_ = 10;
        else if (format_ == QLatin1String("image-folder")) {
            QDir train(QDir(path).filePath(QStringLiteral("train")));
            const auto classes = train.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
            classes_ = int(classes.size());
            if (!classes.isEmpty()) {
                QDir first(train.filePath(classes.front()));
                const auto files = first.entryList(QDir::Files, QDir::Name);
                if (!files.isEmpty()) {
                    QImageReader reader(first.filePath(files.front()));
                    const QSize s = reader.size();
                    if (s.isValid() && s.width() == s.height()) image_size_ = s.width();
                }
            }
        }
        QString text = format_;
        if (image_size_ > 0) text += tr(" — %1×%1, %2 classes").arg(image_size_).arg(classes_);
        detected_->setText(text);
        detected_->setStyleSheet(QString());
    } catch (const std::exception& e) {
        format_error_ = QString::fromStdString(e.what());
        detected_->setText(tr("not recognised"));
        detected_->setStyleSheet(QStringLiteral("color: #c0302f;"));
    }
    scheduleValidate();
}

void ExperimentPanel::scheduleValidate() {
    if (!loading_preset_) validate_timer_.start();
}

void ExperimentPanel::flag(const QString& key, const QString& problem) {
    if (!problems_.count(key)) problems_[key] = problem;
    issues_ << problem;
}

QString ExperimentPanel::problemOf(const QString& key) const {
    const auto it = problems_.find(key);
    return it == problems_.end() ? QString() : it->second;
}

QStringList ExperimentPanel::validate() {
    validate_timer_.stop();
    const bool was_valid = issues_.isEmpty();
    problems_.clear();
    issues_.clear();
    if (!format_error_.isEmpty()) flag(QStringLiteral("dataset"), format_error_);

    const app::TrainRequest r = request();
    ModelConfig m = r.model;
    // Check the model against the dataset's input shape when the files tell it cheaply.
    m.image_size = image_size_ > 0 ? image_size_ : m.patch * 8;
    m.channels = channels_ > 0 ? channels_ : 3;
    m.classes = classes_ > 0 ? classes_ : 1;
    try {
        m.validate();
    } catch (const ConfigError& e) {
        const QString what = QString::fromStdString(e.what());
        static const QRegularExpression field_re(QStringLiteral("field '([a-z_]+)'"));
        const auto match = field_re.match(what);
        flag(match.hasMatch() && field(match.captured(1)) ? match.captured(1) : QStringLiteral("preset"), what);
    }
    try {
        r.train.validate();
    } catch (const ConfigError& e) {
        const QString what = QString::fromStdString(e.what());
        QString key = what.section(QLatin1Char(':'), 0, 0).remove(QStringLiteral("--")).replace(QLatin1Char('-'), QLatin1Char('_'));
        if (key == QLatin1String("warmup")) key = QStringLiteral("warmup_epochs");
        flag(field(key) ? key : QStringLiteral("epochs"), what);
    }
    const QString name = value(QStringLiteral("run_name")).toString().trimmed();
    if (name.contains(QLatin1Char('/')) || name == QLatin1String(".") || name == QLatin1String(".."))
        flag(QStringLiteral("run_name"), tr("Run name: must be a plain folder name, got '%1'").arg(name));
    else if (!name.isEmpty() && !runs_dir_.isEmpty()) {
        const QDir run(QDir(runs_dir_).filePath(name));
        if (run.exists(QString::fromLatin1(run_files::kConfig)) || run.exists(QString::fromLatin1(run_files::kCheckpoint)))
            flag(QStringLiteral("run_name"),
                 tr("Run name: %1 already holds a run (resume it from the Runs tab, or choose another name)")
                     .arg(run.path()));
    }
    if (runs_dir_.isEmpty()) flag(QStringLiteral("run_name"), tr("No runs directory is set"));

    for (const auto& [key, w] : fields_) {
        const auto it = problems_.find(key);
        w->setStyleSheet(it == problems_.end() ? QString() : kInvalidStyle);
        w->setToolTip(it == problems_.end() ? w->property("tip").toString() : it->second);
    }
    issues_label_->setText(issues_.join(QLatin1Char('\n')));
    if (was_valid != issues_.isEmpty()) Q_EMIT validityChanged(issues_.isEmpty());
    return issues_;
}

QString ExperimentPanel::automaticRunName() const {
    QString data = QFileInfo(dataset()).fileName();
    if (data.isEmpty()) data = QStringLiteral("data");
    return QStringLiteral("%1-%2-%3")
        .arg(data + (value(QStringLiteral("arch")).toString() == QLatin1String("vhmn")
                         ? QString()
                         : QStringLiteral("-") + value(QStringLiteral("arch")).toString()),
             value(QStringLiteral("preset")).toString(),
             QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss")));
}

app::TrainRequest ExperimentPanel::request() const {
    app::TrainRequest r;
    nlohmann::json fields = {{"data", dataset().toStdString()},
                             {"device", value(QStringLiteral("device")).toString().toStdString()}};
    const std::string arch = value(QStringLiteral("arch")).toString().toStdString();
    for (const auto& f : app::train_fields()) {
        const std::string owner = f.arch();
        if (f.label.empty() || (!owner.empty() && owner != arch)) continue;  // greyed: another family's
        const QVariant v = value(QString::fromStdString(f.key));
        if (f.kind == app::FieldKind::Int) fields[f.key] = int64_t(v.toLongLong());
        else if (f.kind == app::FieldKind::Real) fields[f.key] = v.toDouble();
        else fields[f.key] = v.toString().toStdString();
    }
    // Precision is a GPU's choice; a CPU run keeps the request's defaults (it computes in fp32).
    if (value(QStringLiteral("device")).toString().startsWith(QLatin1String("cuda"))) {
        fields["bf16"] = value(QStringLiteral("precision")).toString() == QLatin1String("bf16");
        fields["tf32"] = value(QStringLiteral("tf32")).toString() == QLatin1String("on");
    }
    // A value the request refuses is reported by validate() through the configs' own checks.
    app::apply_fields(r, fields, app::FieldNaming::Key, [](const std::string&, const std::string&) {});
    QString name = value(QStringLiteral("run_name")).toString().trimmed();
    if (name.isEmpty()) name = automaticRunName();
    r.out = QDir(runs_dir_).filePath(name).toStdString();
    return r;
}

void ExperimentPanel::saveSettings(QSettings& s) const {
    s.beginGroup(QStringLiteral("experiment"));
    for (const auto& [key, w] : fields_)
        if (key != QLatin1String("run_name")) s.setValue(key, value(key));
    s.setValue(QStringLiteral("recentDatasets"), recent_);
    s.endGroup();
}

void ExperimentPanel::loadSettings(QSettings& s) {
    s.beginGroup(QStringLiteral("experiment"));
    recent_ = s.value(QStringLiteral("recentDatasets")).toStringList();
    for (const QString& p : recent_)
        if (dataset_->findText(p) < 0) dataset_->addItem(p);
    // Architecture and preset first (they fill the model fields), then every field as it was left.
    for (const QString first : {QStringLiteral("arch"), QStringLiteral("preset")})
        if (s.contains(first)) setValue(first, s.value(first));
    for (const auto& [key, w] : fields_) {
        if (key == QLatin1String("run_name") || key == QLatin1String("preset") || key == QLatin1String("arch") ||
            !s.contains(key))
            continue;
        if (key == QLatin1String("device") && qobject_cast<QComboBox*>(w)->findData(s.value(key).toString()) < 0) continue;
        setValue(key, s.value(key));
    }
    s.endGroup();
    datasetChanged();
    validate();
}

}  // namespace vhmn::gui
