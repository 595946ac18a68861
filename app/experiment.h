#pragma once
// Setting up a training run from user choices: shared by the `vhmn` CLI and the GUI (no Qt here).
#include <memory>
#include <optional>
#include <string>

#include "core/data.h"
#include "core/trainer.h"
#include "datasets/augment.h"

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
};

/// A dataset read and subset for training, with its normalisation statistics.
struct PreparedData {
    data::Dataset dataset;  ///< full splits as read
    data::Split train;      ///< training split after --fraction / --imbalance
    DataInfo info;
};

/// Read `path` (channels/size forced when given), apply fraction/imbalance with `seed`, compute
/// per-channel mean/std on the resulting training split.
PreparedData prepare_data(const std::string& path, double fraction, double imbalance, uint64_t seed,
                          int64_t channels = 0, int64_t image_size = 0);

/// Validate the request, read the data and build a Trainer writing to request.out. With
/// `resume`, the run's config.json is used (only `train.epochs` may be raised) and the trainer
/// continues from its checkpoint. An existing run folder without `resume` is an error (nothing
/// already saved is overwritten).
std::unique_ptr<Trainer> make_trainer(const TrainRequest& request);

/// Augmentation callback for the trainer.
AugmentFn make_augment_fn(const data::AugmentConfig& cfg, int64_t classes);

}  // namespace vhmn::app
