#pragma once
// Setting up a training run from user choices: shared by the `vhmn` CLI and the GUI (no Qt here).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/data.h"
#include "core/io/data_identity.h"
#include "core/probes/framework.h"
#include "core/probes/cifar_c.h"
#include "core/train/trainer.h"
#include "datasets/augment/augment.h"

namespace vhmn::app {

/// What a user chooses for a run (CLI flags / GUI experiment panel).
struct TrainRequest {
    std::string data = "builtin";  ///< dataset path, or "builtin"
    std::string preset = "cpu-tiny";
    std::string out;               ///< run folder
    ModelConfig model;             ///< preset values + overrides (input fields are set from the data)
    TrainConfig train;
    data::AugmentConfig augment = data::AugmentConfig::recipe("paper");
    double fraction = 1.0;
    double imbalance = 1.0;
    bool resume = false;
    bool arch_given = false;       ///< model.arch was chosen explicitly (a resume must match it)
    std::shared_ptr<dist::Group> group;  ///< data-parallel training: this process is one rank of it
};

/// A dataset read and subset for training, with its normalisation statistics.
struct PreparedData {
    data::Dataset dataset;  ///< full splits as read
    data::Split train;      ///< training split after --fraction / --imbalance
    DataInfo info;
};

/// Read `path` (channels/size forced when given), apply fraction/imbalance with `seed`, compute
/// per-channel mean/std on the resulting training split and the data's fingerprint (info.fingerprint,
/// with per-image hashes for run.h5).
PreparedData prepare_data(const std::string& path, double fraction, double imbalance, uint64_t seed,
                          int64_t channels = 0, int64_t image_size = 0);

/// Validate the request, read the data and build a Trainer writing to request.out. With
/// `resume`, the run's config.json is used (only `train.epochs` may be raised) and the trainer
/// continues from its checkpoint; the data must then be exactly the run's (fingerprint, order and
/// subset; ConfigError otherwise). An existing run folder without `resume` is an error (nothing
/// already saved is overwritten).
std::unique_ptr<Trainer> make_trainer(const TrainRequest& request);

/// A trained run opened for probes, evaluation and the GUI's inspector.
struct OpenedRun {
    std::string dir;
    RunConfig config;
    Model model{nullptr};
    data::Dataset dataset;  ///< the full dataset as read: test images are probed, train images
                            ///< are the sources of the stored memories (provenance indices)
    int64_t epochs = -1;    ///< epochs the weights were trained for (−1: unknown)
    std::vector<std::string> warnings;  ///< things the user should know (printed / shown once)
    std::string data_path;  ///< where the dataset was read from
    std::string located;    ///< non-empty: the run's dataset was found here by fingerprint (not at
                            ///< its recorded or saved path); offer to re-point the run to it
    DataCheck data_check;   ///< how the dataset compared with the run's fingerprint

    /// The training split for anything that shows or uses provenance (source images of stored
    /// memories): ConfigError with the data check's message when the dataset is not the run's.
    const data::Split& provenance_train() const;
    bool provenance_ok() const { return data_check.provenance_refusal.empty(); }
};

struct OpenOptions {
    bool allow_other_data = false;       ///< a different test split is a loud warning (eval only)
    std::vector<std::string> data_dirs;  ///< where to look for the run's dataset by fingerprint when
                                         ///< no dataset is given and the recorded one is gone or
                                         ///< other (datasets, or folders of datasets); the folders
                                         ///< of $VHMN_DATA_DIR are searched after these
};

/// The weights of a run folder: model.pt when training finished, else the last checkpoint.pt.
std::string weights_file(const std::string& dir);

/// Read `dir`'s config and weights (weights_file) onto `device` and the dataset at `data_path`
/// (empty: the run's saved location (data_location.json), else the path recorded in its config,
/// else one found by fingerprint in `options.data_dirs`), which must be the one the run was
/// trained on: same classes, and a fingerprint checked by check_data (data_check; test split
/// mapped or ConfigError, training split mapped or provenance refused).
OpenedRun open_run(const std::string& dir, const std::string& data_path, const torch::Device& device,
                   const OpenOptions& options = {});

/// Probe inputs over the opened run's test split (or `split`, e.g. the training split); with
/// limit > 0, `limit` images evenly spaced over it (image-folder splits are sorted by class, so the
/// first images would be one class).
ProbeInput probe_input(const OpenedRun& run, const torch::Device& device, int64_t batch, int64_t limit = 0,
                       const data::Split* split = nullptr);

/// The run's recorded data fingerprint in one line (train and test), for results that refer to
/// dataset indices (evidence, edits).
std::string data_fingerprint_text(const OpenedRun& run);

/// Write a probe result beside the run: <dir>/probe_<name>.csv, and /probes/<name> in run.h5
/// (when this build has HDF5). Returns the paths written.
std::vector<std::string> save_probe(const OpenedRun& run, ProbeResult result);

/// Beside a corruptions result (save_probe's probe_<stem>.csv, one row per cell): <dir>/<stem>.csv
/// in the 15 × 5 unaggregated layout and <dir>/<stem>.json shaped like a RobustBench entry.
/// Returns the paths written.
std::vector<std::string> save_corruption_tables(const std::string& dir, const CorruptionsReport& report,
                                                const std::string& stem = "corruptions");

/// Augmentation callback for the trainer.
AugmentFn make_augment_fn(const data::AugmentConfig& cfg, int64_t classes);

}  // namespace vhmn::app
