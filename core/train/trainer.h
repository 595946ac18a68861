#pragma once
// The training loop (paper A.6): Adam/AdamW, warm-up + cosine, gradient clipping, evaluation each
// epoch, bank commits after each optimizer step, a checkpoint each epoch, pause/resume/stop from
// another thread. Progress goes to callbacks; the trainer never knows who listens.
#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/data.h"
#include "core/io/predictions.h"
#include "core/io/run_files.h"
#include "core/models/normalize.h"
#include "core/train/metrics.h"
#include "core/models/vhmn.h"
#include "core/train/train_config.h"

namespace vhmn {
namespace dist {
class Group;
class DataParallel;
}  // namespace dist

/// Pause / resume / stop, set from any thread; the trainer looks between steps.
class TrainControl {
public:
    void pause();
    void resume();
    void stop();
    bool paused() const { return paused_; }
    bool stop_requested() const { return stop_; }
    /// Trainer side: block while paused; false once stop was requested.
    bool proceed();
    /// True while the trainer is blocked in proceed() (paused between steps, nothing in flight).
    bool held() const { return held_; }

private:
    std::atomic<bool> paused_{false}, stop_{false}, held_{false};
    std::mutex mutex_;
    std::condition_variable cv_;
};

struct TrainCallbacks {
    std::function<void(const StepStats&)> on_step;    ///< every log_every steps
    std::function<void(const EpochStats&)> on_epoch;  ///< after evaluation and checkpoint
    std::function<void(const std::string&)> on_message;
};

/// Augmentation of one batch: images01 [B,C,H,W] float in [0,1] on the device, labels/indices [B].
using AugmentFn = std::function<data::AugmentedBatch(const torch::Tensor& images01,
                                                     const torch::Tensor& labels,
                                                     const torch::Tensor& indices, at::Generator& gen)>;

/// A training failure that leaves the run on disk consistent (e.g. a NaN loss).
class TrainingError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

enum class TrainOutcome { Finished, Stopped };

/// Top-1/top-5/loss of a model on a split, in batches, without gradients, in eval mode. With a
/// `group`, each rank evaluates its contiguous shard and the sums are reduced: every rank returns the
/// metrics of the whole split. `keep` (without a group): every image's prediction and confidence.
EvalResult evaluate(Model model, const data::Split& split, const std::vector<double>& mean,
                    const std::vector<double>& std, int64_t batch, const torch::Device& device,
                    dist::Group* group = nullptr, TestPredictions* keep = nullptr);

class Trainer {
public:
    /// `run_dir` receives config.json now, checkpoint.pt + run.h5 each epoch and model.pt at the
    /// end; empty means nothing is saved (tests). With a `group` (data-parallel training) this
    /// process is one rank: `config.train.batch` is the global batch, split over the ranks; only
    /// rank 0 writes files, and every rank must be given the same config and data.
    Trainer(RunConfig config, data::Split train, data::Split test, AugmentFn augment,
            std::string run_dir, std::shared_ptr<dist::Group> group = nullptr);
    ~Trainer();

    /// Continue from run_dir/checkpoint.pt: model, banks, optimizer, step, history, and within an
    /// epoch (a --checkpoint-every checkpoint) the batch to continue at. The run's own config is
    /// kept except `train.epochs`, which may be raised to train longer. Any world size may resume.
    void resume();

    /// Train until the configured epochs are done or `control` asks to stop (between steps; the
    /// last epoch checkpoint stays the resumable state).
    TrainOutcome run(const TrainCallbacks& callbacks = {}, TrainControl* control = nullptr);

    /// One optimizer step on the training images at positions `global_idx` of the training split
    /// (the whole global batch; with several ranks this rank takes its contiguous part):
    /// augmentation, forward with bank writes staged, loss, backward, gradient all-reduce, clipping,
    /// optimizer step, bank commit. `write_seed` picks the tokens written (one per epoch in
    /// training); `log_now` records retrieval statistics. Returns this rank's {Σ loss·m, Σ correct}
    /// as a device tensor (undefined when this rank had no images); reads nothing on the host.
    /// run() calls it; benchmarks call it directly.
    torch::Tensor step(const torch::Tensor& global_idx, uint64_t write_seed, bool log_now);

    /// A line for the user, emitted through on_message when run() starts (e.g. how a resume began).
    void add_notice(std::string line) { notices_.push_back(std::move(line)); }

    Model& model() { return model_; }
    const History& history() const { return history_; }
    int64_t epochs_done() const { return epochs_done_; }
    /// Device→host reads the training loop made itself so far: one per logging step (loss and
    /// accuracy of the window), none in the other steps. (On a GPU the CUDA suite checks the whole
    /// step, libtorch included, with CUDA's sync debug mode.)
    int64_t host_reads() const { return host_reads_; }
    /// Run every step that is not a logging step under CUDA's sync debug mode: 1 warns, 2 throws
    /// on any host synchronisation (libtorch's included). No effect on the CPU. For tests and benches.
    void set_sync_debug(int level) { sync_debug_ = level; }
    int64_t steps_per_epoch() const;
    const RunConfig& config() const { return config_; }
    torch::Device device() const { return device_; }
    /// The batch of the current epoch a mid-epoch checkpoint continues at (0: an epoch boundary).
    int64_t resume_batch() const { return resume_from_.batch; }
    /// This process writes the run's files (one process, or rank 0).
    bool writes_files() const { return writer_; }

    /// Training images (evenly spaced, no augmentation) on which memory usage is measured after
    /// every epoch (EpochStats::unused_*, age_*).
    static constexpr int64_t kMemoryStatsImages = 1000;

private:
    /// Where an epoch stands: the next batch and its sums so far (loss·n, correct, n).
    struct EpochProgress {
        int64_t batch = 0;  ///< 0: at an epoch boundary
        double loss = 0, correct = 0;
        int64_t seen = 0;
    };
    /// A logging step's window read back: loss·images and correct (summed over ranks), stop vote.
    struct Window {
        double loss = 0, correct = 0;
        bool stop_vote = false;
    };
    Window read_window(const torch::Tensor& window_sums, TrainControl* control);
    StepStats step_stats(int64_t epoch, int64_t batch, const Window& w, int64_t seen, double seconds);
    /// `within`: a checkpoint inside an epoch (--checkpoint-every) records where it stands.
    void save_checkpoint(const EpochProgress& within);
    void save_checkpoint() { save_checkpoint(EpochProgress{}); }
    /// run.h5 of the epoch; `kept`: with the final evaluation's per-image predictions
    /// (core/io/predictions.h), in the same write.
    void write_record(const TestPredictions* kept = nullptr);
    /// EpochStats' memory-over-training fields (V-HMN, the writing process only).
    void measure_memory(EpochStats& e);
    double train_epoch(int64_t epoch, const TrainCallbacks& cb, TrainControl* control, bool& stopped,
                       double& train_acc);
    void set_lr(double lr);

    RunConfig config_;
    data::Split train_, test_;
    AugmentFn augment_;
    std::string run_dir_;
    torch::Device device_;
    std::unique_ptr<ImageNormalizer> normalize_;
    Model model_{nullptr};
    std::unique_ptr<torch::optim::Optimizer> optimizer_;
    History history_;
    int64_t epochs_done_ = 0;
    int64_t step_ = 0;
    int64_t host_reads_ = 0;
    int sync_debug_ = 0;
    double last_eval_seconds_ = 0;
    std::vector<std::string> notices_;
    std::shared_ptr<dist::Group> group_;
    std::unique_ptr<dist::DataParallel> dp_;
    bool writer_ = true;
    EpochProgress resume_from_;  // set by resume() from a mid-epoch checkpoint, consumed by run()
};

}  // namespace vhmn
