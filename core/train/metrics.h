#pragma once
// Training metrics as plain values: reported live through callbacks, kept in checkpoints, written
// to run.h5, drawn by the GUI.
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace vhmn {

/// One logged training step.
struct StepStats {
    int64_t step = 0;         ///< global step, 1-based (steps done so far)
    int64_t total_steps = 0;
    int64_t epoch = 0;        ///< 0-based epoch the step belongs to
    int64_t epochs = 0;
    double epoch_progress = 0;  ///< fractional epoch (epoch + done/steps_per_epoch)
    double loss = 0;          ///< mean training loss since the previous log
    double accuracy = 0;      ///< training accuracy since the previous log (dominant labels)
    double lr = 0;
    double images_per_s = 0;
    double eta_s = 0;
    std::vector<double> beta_local, beta_global;        ///< per block
    std::vector<double> entropy_local, entropy_global;  ///< per block, nats, at this step
    /// A GPU run's caching-allocator figures at this step, bytes (−1: not a GPU run); in the JSON
    /// only when known.
    double gpu_allocated = -1, gpu_reserved = -1, gpu_peak_allocated = -1, gpu_peak_reserved = -1;
};

/// One finished epoch.
struct EpochStats {
    int64_t epoch = 0;  ///< 1-based: epochs completed
    int64_t step = 0;   ///< global step at the end of the epoch
    double train_loss = 0, train_acc = 0;
    double test_top1 = 0, test_top5 = 0, test_loss = 0;
    double lr = 0;
    double seconds = 0;  ///< wall time of the epoch (training + evaluation)
    double train_seconds = 0;  ///< of which the training steps (data, augmentation and bank writes included)
    double eval_seconds = 0;   ///< of which the evaluation on the test split
    /// Memory over training, per block (V-HMN only, else empty), measured after the epoch on a fixed
    /// sample of training images (Trainer::kMemoryStatsImages, no augmentation): the share of filled
    /// slots that were no query's top-1 (slot collapse) and the mean age of the filled slots in
    /// training steps since they were written.
    std::vector<double> unused_local, unused_global, age_local, age_global;
};

/// EpochStats' fields, one row each: its JSON and run.h5's /metrics/epoch both read these tables
/// (epoch and step, the two integers, are written first by each).
struct EpochField {
    const char* name;
    double EpochStats::*member;
    bool optional;  ///< absent in runs recorded before it existed (read as 0)
};
const std::vector<EpochField>& epoch_fields();
/// The per-block series (memory over training; absent in older runs, empty for a baseline).
struct EpochSeries {
    const char* name;
    std::vector<double> EpochStats::*member;
};
const std::vector<EpochSeries>& epoch_series();

struct EvalResult {
    double top1 = 0, top5 = 0, loss = 0;
    int64_t count = 0;
};

struct History {
    std::vector<EpochStats> epochs;
    std::vector<StepStats> steps;
};

void to_json(nlohmann::json& j, const StepStats& s);
void from_json(const nlohmann::json& j, StepStats& s);
void to_json(nlohmann::json& j, const EpochStats& e);
void from_json(const nlohmann::json& j, EpochStats& e);
void to_json(nlohmann::json& j, const History& h);
void from_json(const nlohmann::json& j, History& h);

}  // namespace vhmn
