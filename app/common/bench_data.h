#pragma once
// `vhmn bench --data`: end-to-end timings on a real dataset, as a user waits for them — one
// training epoch slice (data, augmentation, forward, backward, Adam, bank writes) and one
// evaluation pass — with user and system CPU time, so allocator and page-fault costs show.
#include <string>

#include "core/train/metrics.h"

namespace vhmn::app {

struct DataBenchRequest {
    std::string data;               ///< dataset path
    std::string preset = "cpu-tiny";
    std::string arch = "vhmn";      ///< architecture of the model trained (without a run)
    std::string run;                ///< optional trained run: evaluated (and its model config trained)
    std::string augment = "paper";
    std::string device = "cpu";
    int64_t batch = 128;            ///< training batch
    int64_t eval_batch = 500;
    int64_t train_images = 5120;    ///< size of the training slice (seeded random images)
    int64_t eval_images = 0;        ///< 0: the whole test split
    uint64_t seed = 0;
};

/// CPU time and wall time of one phase.
struct PhaseTime {
    double wall_s = 0, user_s = 0, sys_s = 0;
    int64_t images = 0;
    double images_per_s() const { return wall_s > 0 ? double(images) / wall_s : 0.0; }
};

struct DataBenchResult {
    std::string dataset;
    std::string arch;  ///< of the model trained and evaluated
    PhaseTime load, train, eval;
    EvalResult eval_result;
    int64_t batch = 0, eval_batch = 0, train_steps = 0;
    long max_rss_kib = 0;  ///< peak resident memory of the process
};

DataBenchResult bench_on_data(const DataBenchRequest& request);

/// Wall, user and system time since construction (getrusage of the whole process).
class PhaseTimer {
public:
    PhaseTimer();
    PhaseTime elapsed(int64_t images) const;

private:
    double wall0_, user0_, sys0_;
};

}  // namespace vhmn::app
