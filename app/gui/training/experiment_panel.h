#pragma once
// The experiment panel: dataset (dialog, detected reader, recent list, a data directory), subset,
// model preset and every model field, training recipe, device, seed and run name. Builds the same
// app::TrainRequest the CLI builds; invalid values are flagged on the field itself (red frame +
// tooltip) and listed under the form, and `valid()` is false until they are fixed.
#include <map>

#include <QTimer>
#include <QWidget>

#include "app/common/experiment.h"
#include "app/common/train_fields.h"

class QComboBox;
class QLabel;
class QLineEdit;
class QSettings;
class QFormLayout;
class QVBoxLayout;

namespace vhmn::gui {

class ExperimentPanel : public QWidget {
    Q_OBJECT
public:
    explicit ExperimentPanel(QWidget* parent = nullptr);

    /// Offer every dataset found directly under `dir` (e.g. ../shared/datasets) in the list.
    void setDataDir(const QString& dir);
    void setRunsDir(const QString& dir);
    QString runsDir() const { return runs_dir_; }

    void setDataset(const QString& path);
    QString dataset() const;
    void setPreset(const QString& name);
    /// Set any field by its key (the config name: "epochs", "dim", "fraction", "run_name", ...).
    void setValue(const QString& key, const QVariant& value);
    QVariant value(const QString& key) const;
    QWidget* field(const QString& key) const;

    /// The request for a new run into runsDir()/<run name> (a name is made up when empty).
    app::TrainRequest request() const;
    /// Check every field now (also done automatically after each edit). Returns the problems.
    QStringList validate();
    bool valid() const { return issues_.isEmpty(); }
    QStringList issues() const { return issues_; }
    /// The field flagged with this problem text (tests), or nullptr.
    QString problemOf(const QString& key) const;

    /// Remember a dataset in the recent list (after a run was started with it).
    void addRecentDataset(const QString& path);
    /// Datasets this panel knows: the data directory and the recent list (where a moved run's
    /// dataset is looked for by fingerprint).
    QStringList knownDataPlaces() const;
    void saveSettings(QSettings& s) const;
    void loadSettings(QSettings& s);
    /// A fresh run name (dataset-preset-date-time).
    QString automaticRunName() const;

Q_SIGNALS:
    void validityChanged(bool valid);

private:
    QFormLayout* buildDataBox(QVBoxLayout* layout);
    void addDeviceAndName(QFormLayout* form);
    /// Precision and TF32 follow the device (enabled for a GPU; TF32 where it has it).
    void updatePrecision();
    QString gpu_precision_ = QStringLiteral("bf16"), gpu_tf32_ = QStringLiteral("on");  ///< kept while a CPU is picked
    bool cpu_shown_ = false;  ///< the lists show the CPU's fp32 (the GPU choices are kept above)
    void addField(QFormLayout* form, const app::TrainField& f);
    void setDefaults();
    void addInt(QFormLayout* form, const QString& key, const QString& label, int min, int max, const QString& tip);
    void addDouble(QFormLayout* form, const QString& key, const QString& label, double min, double max,
                   int decimals, double step, const QString& tip);
    void addCombo(QFormLayout* form, const QString& key, const QString& label, const QStringList& items,
                  const QString& tip);
    void browseDataset();
    void applyPreset(const QString& name);
    void datasetChanged();
    void scheduleValidate();
    void flag(const QString& key, const QString& problem);

    std::map<QString, QWidget*> fields_;
    std::map<QString, QString> problems_;
    QStringList issues_;
    QComboBox* dataset_ = nullptr;
    QLabel* detected_ = nullptr;
    QLabel* issues_label_ = nullptr;
    QString runs_dir_;
    QStringList recent_;
    QString data_dir_;
    // What the dataset's files say (for checking the model against it before reading it all).
    QString format_;
    QString format_error_;
    int image_size_ = 0, channels_ = 0, classes_ = 0;
    QTimer validate_timer_;
    bool loading_preset_ = false;
};

}  // namespace vhmn::gui
