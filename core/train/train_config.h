#pragma once
// Training recipe (paper A.6) and the description of a run's data, stored in a run's config.json.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/models/config.h"
#include "core/io/fingerprint.h"

namespace vhmn {

struct TrainConfig {
    int64_t epochs = 400;          ///< A.6: 400 epochs
    int64_t batch = 256;           ///< A.6: batch 256
    double lr = 1e-3;              ///< A.6: initial lr 0.001
    double weight_decay = 5e-5;    ///< A.6: 5e-5 (ImageNet: 0.03 with AdamW)
    std::string optimizer = "adam";  ///< "adam" (L2 weight decay) or "adamw" (decoupled)
    double warmup_epochs = 5;      ///< linear warm-up (A.6: 5 epochs); capped at 10 % of training
    double min_lr = 0.0;           ///< cosine decays to this
    double grad_clip = 0.0;        ///< max global grad norm; 0 = off (ImageNet: 0.1)
    uint64_t seed = 0;
    std::string device = "cpu";    ///< "cpu", "cuda", "cuda:N"
    bool bf16 = true;              ///< bf16 autocast on CUDA (ignored on CPU)
    bool tf32 = true;              ///< TF32 matmuls/convolutions on CUDA GPUs that have it (ignored on CPU)
    std::string precision;         ///< what ran, written by the trainer: "fp32", "bf16 autocast, TF32" …
    int64_t log_every = 10;        ///< steps between progress reports
    int64_t eval_batch = 500;
    int64_t checkpoint_every = 0;  ///< also checkpoint every N steps within an epoch (0: at epoch ends only)
    int64_t world_size = 1;        ///< processes of the (last) data-parallel launch; --batch is their global batch

    void validate() const;  ///< ConfigError naming the flag/field
};
void to_json(nlohmann::json& j, const TrainConfig& c);
void from_json(const nlohmann::json& j, TrainConfig& c);

/// How the training data was obtained: enough to reload it and to normalise inputs the same way.
struct DataInfo {
    std::string name, format, path;
    std::vector<std::string> class_names;
    int64_t train_size = 0, test_size = 0;  ///< after subsetting
    int64_t full_train_size = 0;
    double fraction = 1.0;   ///< --fraction
    double imbalance = 1.0;  ///< --imbalance (1 = balanced)
    std::vector<double> mean, std;  ///< per channel, on the (subset) training split, [0,1] scale
    /// What the data was, checked wherever the run meets a dataset (absent in runs made before
    /// fingerprints were recorded). Per-image hashes are kept in memory for run.h5, not in JSON.
    std::optional<DataFingerprint> fingerprint;
};
void to_json(nlohmann::json& j, const DataInfo& d);
void from_json(const nlohmann::json& j, DataInfo& d);

/// Everything in a run's config.json.
struct RunConfig {
    ModelConfig model;
    TrainConfig train;
    nlohmann::json augment;  ///< datasets' AugmentConfig as JSON (core does not interpret it)
    DataInfo data;
    std::string preset;
};
void to_json(nlohmann::json& j, const RunConfig& r);
void from_json(const nlohmann::json& j, RunConfig& r);

/// Read <dir>/config.json (FileError naming the file when missing or invalid).
RunConfig read_run_config(const std::string& dir);

/// Learning rate at a step: linear warm-up from lr/warmup_steps to lr, then cosine to min_lr.
double scheduled_lr(const TrainConfig& c, int64_t step, int64_t steps_per_epoch);

}  // namespace vhmn
