#include <torch/torch.h>  // before Qt (libtorch uses `slots` as an identifier)

#include "app/gui/experiment_panel.h"

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

#include "app/data_location.h"
#include "core/config.h"
#include "core/error.h"
#include "core/runtime.h"
#include "datasets/readers.h"

namespace vhmn::gui {
namespace {

const char* kModelInts[] = {"patch", "dim", "latent", "depth", "window", "mlp_ratio", "local_slots",
                            "global_slots", "iterations", "tokens_per_image", "heads", "token_hidden", "pool_size"};

int64_t ModelConfig::*model_member(const QString& key) {
    static const std::map<QString, int64_t ModelConfig::*> m = {
        {QStringLiteral("patch"), &ModelConfig::patch},
        {QStringLiteral("dim"), &ModelConfig::dim},
        {QStringLiteral("latent"), &ModelConfig::latent},
        {QStringLiteral("depth"), &ModelConfig::depth},
        {QStringLiteral("window"), &ModelConfig::window},
        {QStringLiteral("mlp_ratio"), &ModelConfig::mlp_ratio},
        {QStringLiteral("local_slots"), &ModelConfig::local_slots},
        {QStringLiteral("global_slots"), &ModelConfig::global_slots},
        {QStringLiteral("iterations"), &ModelConfig::iterations},
        {QStringLiteral("tokens_per_image"), &ModelConfig::tokens_per_image},
        {QStringLiteral("heads"), &ModelConfig::heads},
        {QStringLiteral("token_hidden"), &ModelConfig::token_hidden},
        {QStringLiteral("pool_size"), &ModelConfig::pool_size}};
    return m.at(key);
}

const QString kInvalidStyle = QStringLiteral("border: 1px solid #d0302f; background-color: #fff0f0;");

}  // namespace

ExperimentPanel::ExperimentPanel(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);

    // Data -------------------------------------------------------------------------------------
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
    dataset_->setToolTip(tr("A dataset folder (CIFAR-10/100 binary, MNIST/Fashion-MNIST IDX, SVHN .mat, "
                            "image folders) or 'builtin'"));
    fields_[QStringLiteral("dataset")] = dataset_;
    row->addWidget(dataset_, 1);
    auto* browse = new QPushButton(tr("Browse…"), data_box);
    browse->setObjectName(QStringLiteral("browseDataset"));
    row->addWidget(browse);
    data_form->addRow(tr("Dataset"), row);
    detected_ = new QLabel(data_box);
    detected_->setWordWrap(true);
    data_form->addRow(tr("Reader"), detected_);
    addDouble(data_form, QStringLiteral("fraction"), tr("Fraction"), 0.001, 1.0, 3, 0.05,
              tr("Fraction of every class kept for training (class-stratified, seeded)"));
    addDouble(data_form, QStringLiteral("imbalance"), tr("Imbalance"), 1.0, 1e5, 1, 10,
              tr("Long-tail ratio r: n_c = n_max·r^(−c/(C−1)); 1 = balanced"));
    layout->addWidget(data_box);

    // Model ------------------------------------------------------------------------------------
    auto* model_box = new QGroupBox(tr("Model"), this);
    auto* model_form = new QFormLayout(model_box);
    QStringList presets;
    for (const auto& n : preset_names()) presets << QString::fromStdString(n);
    QStringList archs;
    for (const auto& n : arch_names()) archs << QString::fromStdString(n);
    addCombo(model_form, QStringLiteral("arch"), tr("Architecture"), archs,
             tr("vhmn: the paper's model; vit, mixer, poolformer: baselines of the same size, same recipe"));
    addCombo(model_form, QStringLiteral("preset"), tr("Preset"), presets,
             tr("Fills every model field below (a baseline gets about the V-HMN preset's parameter count)"));
    addInt(model_form, QStringLiteral("patch"), tr("Patch p"), 1, 64, tr("Non-overlapping p×p patches"));
    addInt(model_form, QStringLiteral("dim"), tr("Embedding D"), 1, 65536, tr("Token embedding dimension"));
    addInt(model_form, QStringLiteral("latent"), tr("Latent L"), 1, 65536, tr("Hopfield latent dimension"));
    addInt(model_form, QStringLiteral("depth"), tr("Depth"), 1, 1024, tr("Number of HMN blocks"));
    addInt(model_form, QStringLiteral("window"), tr("Window k"), 1, 63, tr("Local k×k neighbourhood (odd)"));
    addInt(model_form, QStringLiteral("mlp_ratio"), tr("MLP ratio r"), 1, 64, tr("MLP hidden = r·D"));
    addInt(model_form, QStringLiteral("local_slots"), tr("Local slots"), 1, 1 << 24, tr("Local bank size per block"));
    addInt(model_form, QStringLiteral("global_slots"), tr("Global slots"), 1, 1 << 24, tr("Global bank size per block"));
    addInt(model_form, QStringLiteral("iterations"), tr("Iterations T"), 0, 64, tr("Refinement steps (0 = no retrieval)"));
    addDouble(model_form, QStringLiteral("beta_init"), tr("β init"), 0.0, 1.0, 3, 0.05, tr("Initial β of every branch"));
    addInt(model_form, QStringLiteral("tokens_per_image"), tr("Tokens / image"), 1, 4096,
           tr("Local-bank writes per training image"));
    addInt(model_form, QStringLiteral("heads"), tr("Attention heads"), 1, 1024, tr("ViT only: D must be a multiple"));
    addInt(model_form, QStringLiteral("token_hidden"), tr("Token-MLP width"), 1, 65536,
           tr("MLP-Mixer only: hidden width of the token-mixing MLP"));
    addInt(model_form, QStringLiteral("pool_size"), tr("Pooling window"), 1, 63, tr("PoolFormer only: k×k average pooling (odd)"));
    layout->addWidget(model_box);

    // Training ---------------------------------------------------------------------------------
    auto* train_box = new QGroupBox(tr("Training"), this);
    auto* train_form = new QFormLayout(train_box);
    addInt(train_form, QStringLiteral("epochs"), tr("Epochs"), 1, 100000, tr("Paper: 400"));
    addInt(train_form, QStringLiteral("batch"), tr("Batch"), 1, 1 << 20, tr("Paper: 256"));
    addDouble(train_form, QStringLiteral("lr"), tr("Learning rate"), 1e-6, 9.999, 6, 1e-4, tr("Peak rate (paper: 1e-3)"));
    addDouble(train_form, QStringLiteral("min_lr"), tr("Final lr"), 0.0, 9.999, 7, 1e-5, tr("Cosine decays to this"));
    addDouble(train_form, QStringLiteral("weight_decay"), tr("Weight decay"), 0.0, 9.999, 6, 1e-5, tr("Paper: 5e-5"));
    addCombo(train_form, QStringLiteral("optimizer"), tr("Optimizer"), {QStringLiteral("adam"), QStringLiteral("adamw")},
             tr("adam: L2 weight decay; adamw: decoupled"));
    addDouble(train_form, QStringLiteral("warmup_epochs"), tr("Warm-up epochs"), 0.0, 1e5, 2, 1,
              tr("Linear warm-up (capped at 10% of training)"));
    addDouble(train_form, QStringLiteral("grad_clip"), tr("Gradient clip"), 0.0, 1e6, 3, 0.1, tr("Max gradient norm; 0 = off"));
    QStringList recipes;
    for (const auto& n : data::AugmentConfig::recipe_names()) recipes << QString::fromStdString(n);
    addCombo(train_form, QStringLiteral("augment"), tr("Augmentation"), recipes,
             tr("none; basic = crop + flip; paper = + AutoAugment, MixUp, CutMix; imagenet"));
    addDouble(train_form, QStringLiteral("label_smoothing"), tr("Label smoothing"), 0.0, 0.99, 3, 0.05, QString());
    addInt(train_form, QStringLiteral("log_every"), tr("Log every (steps)"), 1, 1 << 30, tr("Steps between curve points"));
    QStringList devices{QStringLiteral("cpu")};
    if (cuda_available()) {
        devices << QStringLiteral("cuda");
        for (int i = 0; i < int(torch::cuda::device_count()); ++i) devices << QStringLiteral("cuda:%1").arg(i);
    }
    addCombo(train_form, QStringLiteral("device"), tr("Device"), devices,
             tr("CUDA is listed only when this build and machine have it"));
    addInt(train_form, QStringLiteral("seed"), tr("Seed"), 0, std::numeric_limits<int>::max(), QString());
    auto* name = new QLineEdit(train_box);
    name->setObjectName(QStringLiteral("run_name"));
    name->setPlaceholderText(tr("automatic"));
    name->setToolTip(tr("Folder name under the runs directory"));
    fields_[QStringLiteral("run_name")] = name;
    train_form->addRow(tr("Run name"), name);
    connect(name, &QLineEdit::textChanged, this, &ExperimentPanel::scheduleValidate);
    layout->addWidget(train_box);

    issues_label_ = new QLabel(this);
    issues_label_->setObjectName(QStringLiteral("issues"));
    issues_label_->setWordWrap(true);
    issues_label_->setStyleSheet(QStringLiteral("color: #c0302f;"));
    issues_label_->setTextFormat(Qt::PlainText);
    layout->addWidget(issues_label_);
    layout->addStretch(1);

    // Defaults: the paper's recipe, the cpu-tiny model, the built-in data.
    const TrainConfig t;
    setValue(QStringLiteral("fraction"), 1.0);
    setValue(QStringLiteral("imbalance"), 1.0);
    setValue(QStringLiteral("epochs"), 10);  // the paper's 400 is days on a CPU; a short run by default
    setValue(QStringLiteral("batch"), qlonglong(t.batch));
    setValue(QStringLiteral("lr"), t.lr);
    setValue(QStringLiteral("min_lr"), t.min_lr);
    setValue(QStringLiteral("weight_decay"), t.weight_decay);
    setValue(QStringLiteral("optimizer"), QString::fromStdString(t.optimizer));
    setValue(QStringLiteral("warmup_epochs"), t.warmup_epochs);
    setValue(QStringLiteral("grad_clip"), t.grad_clip);
    setValue(QStringLiteral("augment"), QStringLiteral("paper"));
    setValue(QStringLiteral("log_every"), qlonglong(t.log_every));
    setValue(QStringLiteral("seed"), 0);
    setValue(QStringLiteral("device"), QStringLiteral("cpu"));

    validate_timer_.setSingleShot(true);
    validate_timer_.setInterval(120);
    connect(&validate_timer_, &QTimer::timeout, this, &ExperimentPanel::validate);
    connect(browse, &QPushButton::clicked, this, &ExperimentPanel::browseDataset);
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
        const int i = c->findText(v.toString());
        if (i >= 0) c->setCurrentIndex(i);
        else if (c->isEditable()) c->setCurrentText(v.toString());
    } else if (auto* e = qobject_cast<QLineEdit*>(w)) e->setText(v.toString());
}

QVariant ExperimentPanel::value(const QString& key) const {
    QWidget* w = field(key);
    if (auto* s = qobject_cast<QSpinBox*>(w)) return s->value();
    if (auto* d = qobject_cast<QDoubleSpinBox*>(w)) return d->value();
    if (auto* c = qobject_cast<QComboBox*>(w)) return c->currentText();
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
    for (const char* k : kModelInts) {
        const QString key = QString::fromLatin1(k);
        setValue(key, qlonglong(c.*model_member(key)));
        // Another family's field stays visible, greyed: it does not apply to this architecture.
        const std::string owner = field_arch(k);
        if (QWidget* w = field(key)) w->setEnabled(owner.empty() || owner == c.arch);
    }
    setValue(QStringLiteral("beta_init"), c.beta_init);
    if (QWidget* w = field(QStringLiteral("beta_init"))) w->setEnabled(c.has_memory());
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
    r.data = dataset().toStdString();
    r.preset = value(QStringLiteral("preset")).toString().toStdString();
    const std::string arch = value(QStringLiteral("arch")).toString().toStdString();
    try {
        r.model = preset(r.preset, arch);
        r.arch_given = true;
    } catch (const std::exception&) {
    }
    for (const char* k : kModelInts) {
        const std::string owner = field_arch(k);
        if (owner.empty() || owner == r.model.arch)
            r.model.*model_member(QString::fromLatin1(k)) = value(QString::fromLatin1(k)).toLongLong();
    }
    if (r.model.has_memory()) r.model.beta_init = value(QStringLiteral("beta_init")).toDouble();
    r.fraction = value(QStringLiteral("fraction")).toDouble();
    r.imbalance = value(QStringLiteral("imbalance")).toDouble();
    auto& t = r.train;
    t.epochs = value(QStringLiteral("epochs")).toLongLong();
    t.batch = value(QStringLiteral("batch")).toLongLong();
    t.lr = value(QStringLiteral("lr")).toDouble();
    t.min_lr = value(QStringLiteral("min_lr")).toDouble();
    t.weight_decay = value(QStringLiteral("weight_decay")).toDouble();
    t.optimizer = value(QStringLiteral("optimizer")).toString().toStdString();
    t.warmup_epochs = value(QStringLiteral("warmup_epochs")).toDouble();
    t.grad_clip = value(QStringLiteral("grad_clip")).toDouble();
    t.log_every = value(QStringLiteral("log_every")).toLongLong();
    t.seed = uint64_t(value(QStringLiteral("seed")).toLongLong());
    t.device = value(QStringLiteral("device")).toString().toStdString();
    r.augment = data::AugmentConfig::recipe(value(QStringLiteral("augment")).toString().toStdString());
    r.augment.label_smoothing = value(QStringLiteral("label_smoothing")).toDouble();
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
        if (key == QLatin1String("device") && qobject_cast<QComboBox*>(w)->findText(s.value(key).toString()) < 0) continue;
        setValue(key, s.value(key));
    }
    s.endGroup();
    datasetChanged();
    validate();
}

}  // namespace vhmn::gui
