#include "core/train/trainer.h"

#include "core/devices.h"
#include "core/models/factory.h"
#include "core/emulated_device.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include <ATen/CPUGeneratorImpl.h>

#include "core/io/atomic_file.h"
#include "core/error.h"
#include "core/io/optimizer_state.h"
#include "core/io/model_io.h"
#include "core/probes/slot_usage.h"
#include "core/io/run_record.h"
#include "core/runtime.h"
#include "core/torch_compat.h"
#include "core/train/data_parallel.h"
#include "core/train/distributed.h"
#include "core/train/optimizer.h"

namespace vhmn {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// --------------------------------------------------------------------------------------------
void TrainControl::pause() { paused_ = true; }

void TrainControl::resume() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        paused_ = false;
    }
    cv_.notify_all();
}

void TrainControl::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
}

bool TrainControl::proceed() {
    if (paused_) {
        std::unique_lock<std::mutex> lock(mutex_);
        held_ = true;
        cv_.wait(lock, [this] { return !paused_ || stop_; });
        held_ = false;
    }
    return !stop_;
}

// --------------------------------------------------------------------------------------------
namespace {

/// CUDA's sync debug mode for the duration of a scope (level 0: nothing to do).
class SyncDebugScope {
public:
    explicit SyncDebugScope(int level) : on_(level > 0 && compat::set_cuda_sync_debug(level)) {}
    ~SyncDebugScope() {
        if (on_) compat::set_cuda_sync_debug(0);
    }

private:
    bool on_;
};


}  // namespace

EvalResult evaluate(Model model, const data::Split& split, const std::vector<double>& mean,
                    const std::vector<double>& std, int64_t batch, const torch::Device& device,
                    dist::Group* group, TestPredictions* keep) {
    c10::InferenceMode inference;  // no autograd bookkeeping; nothing made here is trained on
    const bool was_training = model->is_training();
    model->eval();
    const int64_t n = split.size(), classes = model->config().classes, k = std::min<int64_t>(5, classes);
    // A rank evaluates its contiguous shard; the sums are reduced below.
    const auto [lo, hi] = group ? dist::rank_slice(n, group->rank(), group->world()) : std::pair<int64_t, int64_t>{0, n};
    const ImageNormalizer normalize(mean, std, device);
    // Sums stay on the device; one read at the end.
    auto sums = torch::zeros({3}, torch::TensorOptions(torch::kDouble).device(device));  // loss, top1, top5
    std::vector<torch::Tensor> predictions, confidences;  // with `keep`: per batch, on the device
    for (int64_t s = lo; s < hi; s += batch) {
        const int64_t e = std::min(hi, s + batch);
        auto x = to_device(split.images.slice(0, s, e), device).to(torch::kFloat).div_(255.0);
        auto y = to_device(split.labels.slice(0, s, e), device);
        auto logits = model->forward(normalize(x)).to(torch::kFloat);
        auto loss = torch::nn::functional::cross_entropy(
            logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
        auto topk = std::get<1>(logits.topk(k, 1));  // [b, k]
        auto hit = topk.eq(y.unsqueeze(1));
        if (keep) {
            auto [conf, pred] = torch::softmax(logits, 1).max(1);
            predictions.push_back(pred), confidences.push_back(conf);
        }
        sums += torch::stack({loss.to(torch::kDouble), hit.select(1, 0).sum().to(torch::kDouble),
                              hit.any(1).sum().to(torch::kDouble)});
    }
    if (was_training) model->train();
    if (keep && !predictions.empty()) {
        c10::InferenceMode normal_tensors(false);  // kept beyond this scope
        keep->prediction = torch::cat(predictions).to(torch::kCPU, torch::kLong);
        keep->confidence = torch::cat(confidences).to(torch::kCPU, torch::kDouble);
    }
    if (group) {
        c10::InferenceMode normal_tensors(false);
        std::vector<torch::Tensor> t{sums.clone().to(group->device())};
        group->all_reduce_sum(t, "the evaluation's reduction");
        sums = t[0];
    }
    if (n == 0) return {};
    auto h = sums.to(torch::kCPU);
    const double* v = h.data_ptr<double>();
    return {100.0 * v[1] / double(n), 100.0 * v[2] / double(n), v[0] / double(n), n};
}

void Trainer::measure_memory(EpochStats& e) {
    VHMN memory = memory_of(model_, "memory statistics");
    ProbeInput in;
    in.model = model_;
    if (train_.size() == 0) return;
    in.test = evenly_spaced(train_, kMemoryStatsImages);
    in.mean = config_.data.mean, in.std = config_.data.std;
    in.device = device_;
    in.batch = config_.train.eval_batch;
    const auto usage = slot_usage(in);
    for (int64_t b = 0; b < memory->config().depth; ++b)
        for (Branch br : {Branch::Local, Branch::Global}) {
            auto bank = memory->bank(b, br);
            const auto valid = bank->valid.to(torch::kCPU);
            const int64_t filled = valid.sum().item<int64_t>();
            const auto unused = valid.logical_and(usage.of(b, br).eq(0)).sum().item<double>();
            const double age = filled ? (double(step_) - bank->step.to(torch::kCPU).masked_select(valid).to(torch::kDouble))
                                            .mean().item<double>()
                                      : 0.0;
            (br == Branch::Local ? e.unused_local : e.unused_global).push_back(filled ? unused / double(filled) : 0.0);
            (br == Branch::Local ? e.age_local : e.age_global).push_back(age);
        }
}

// --------------------------------------------------------------------------------------------
Trainer::Trainer(RunConfig config, data::Split train, data::Split test, AugmentFn augment,
                 std::string run_dir, std::shared_ptr<dist::Group> group)
    : config_(std::move(config)),
      train_(std::move(train)),
      test_(std::move(test)),
      augment_(std::move(augment)),
      run_dir_(std::move(run_dir)),
      device_(parse_device(config_.train.device)),
      group_(std::move(group)),
      writer_(!group_ || group_->rank() == 0) {
    if (is_emulated(device_) && !emulated_backward_works())
        throw ConfigError("--device emulated cannot train in a build with CUDA (its autograd engine asks CUDA for "
                          "streams); it evaluates and probes there. Train on it with the CPU-only build.");
    config_.model.validate();
    config_.train.validate();
    config_.train.world_size = group_ ? group_->world() : 1;
    config_.train.precision = precision_name(device_, config_.train.bf16, config_.train.tf32);
    if (group_ && config_.train.batch % group_->world() != 0)
        throw ConfigError("--batch " + std::to_string(config_.train.batch) + " is the global batch of all " +
                          std::to_string(group_->world()) + " ranks: it must divide by the world size (each rank "
                          "takes batch / world size images per step)");
    if (train_.size() == 0) throw ConfigError("the training split is empty");
    if (train_.images.size(1) != config_.model.channels || train_.images.size(2) != config_.model.image_size)
        throw ConfigError("training images do not match the model's input size/channels");
    // Labels are checked once here, so the training step need not read them back.
    const int64_t lo = train_.labels.min().item<int64_t>(), hi = train_.labels.max().item<int64_t>();
    if (lo < 0 || hi >= config_.model.classes)
        throw ConfigError("training labels span [" + std::to_string(lo) + ", " + std::to_string(hi) +
                          "] but the model has " + std::to_string(config_.model.classes) + " classes");
    if (!device_.is_cpu()) {
        // A GPU-resident uint8 dataset: batches are gathered and augmented on the device.
        for (auto* split : {&train_, &test_}) {
            split->images = split->images.to(device_);
            split->labels = split->labels.to(device_);
            split->index = split->index.to(device_);
        }
    }
    normalize_ = std::make_unique<ImageNormalizer>(config_.data.mean, config_.data.std, device_);
    torch::manual_seed(config_.train.seed);  // initial weights
    model_ = make_model(config_.model);
    model_->to(device_);
    model_->refresh_memory();
    if (group_) dp_ = std::make_unique<dist::DataParallel>(*group_, model_);
    optimizer_ = make_optimizer(model_->parameters(), config_.train);
    if (!run_dir_.empty() && writer_) {
        std::error_code ec;
        fs::create_directories(run_dir_, ec);
        if (ec) throw FileError(run_dir_, "cannot create run folder: " + ec.message());
        write_text_atomically((fs::path(run_dir_) / run_files::kConfig).string(),
                              nlohmann::json(config_).dump(2) + "\n");
    }
}

Trainer::~Trainer() = default;

int64_t Trainer::steps_per_epoch() const {
    return (train_.size() + config_.train.batch - 1) / config_.train.batch;
}

void Trainer::set_lr(double lr) {
    for (auto& group : optimizer_->param_groups()) group.options().set_lr(lr);
}

void Trainer::save_checkpoint(const EpochProgress& within) {
    if (run_dir_.empty() || !writer_) return;
    torch::serialize::OutputArchive archive;
    write_model(model_, archive);
    torch::serialize::OutputArchive opt;
    write_adam_state(*optimizer_, model_->named_parameters(), opt);
    archive.write("optimizer_state", opt);  // our layout: readable by every supported libtorch
    archive.write("epochs_done", c10::IValue(epochs_done_));
    archive.write("step", c10::IValue(step_));
    // Within an epoch (--checkpoint-every): the batch to continue at and the epoch's sums so far.
    archive.write("epoch_batch", c10::IValue(within.batch));
    archive.write("epoch_sums", c10::IValue(nlohmann::json({within.loss, within.correct, double(within.seen)}).dump()));
    archive.write("history", c10::IValue(nlohmann::json(history_).dump()));
    archive.write("run_config", c10::IValue(nlohmann::json(config_).dump()));
    save_archive_atomic(archive, (fs::path(run_dir_) / run_files::kCheckpoint).string());
}

void Trainer::write_record(const TestPredictions* kept) {
    if (run_dir_.empty() || !writer_ || !run_record_available()) return;
    std::optional<ProbeResult> predictions;
    if (kept && kept->prediction.defined())
        predictions = predictions_result(*kept, test_, epochs_done_, model_->config().iterations);
    write_run_record((fs::path(run_dir_) / run_files::kRecord).string(), config_, history_, model_,
                     predictions ? &*predictions : nullptr);
}

void Trainer::resume() {
    if (run_dir_.empty()) throw ConfigError("--resume needs a run folder");
    const std::string path = (fs::path(run_dir_) / run_files::kCheckpoint).string();
    torch::serialize::InputArchive archive;
    open_archive(archive, path);
    read_model(model_, archive, path);
    model_->to(device_);
    model_->refresh_memory();
    torch::serialize::InputArchive opt;
    c10::IValue epochs, step, history;
    // "optimizer_state": ours (any libtorch); "optimizer": libtorch's own layout, in checkpoints
    // written before it, readable by the libtorch version that wrote them.
    const bool ours = archive.try_read("optimizer_state", opt);
    if ((!ours && !archive.try_read("optimizer", opt)) || !archive.try_read("epochs_done", epochs) ||
        !archive.try_read("step", step) || !archive.try_read("history", history))
        throw FileError(path, "not a training checkpoint (optimizer state or progress missing)");
    try {
        if (ours)
            read_adam_state(*optimizer_, model_->named_parameters(), opt, path);
        else
            optimizer_->load(opt);
        history_ = nlohmann::json::parse(history.toStringRef()).get<History>();
    } catch (const FileError&) {
        throw;
    } catch (const std::exception& e) {
        throw FileError(path, std::string("checkpoint is corrupt: ") + e.what());
    }
    epochs_done_ = epochs.toInt();
    step_ = step.toInt();
    c10::IValue batch, sums;
    resume_from_ = {};
    if (archive.try_read("epoch_batch", batch) && batch.toInt() > 0) {  // a mid-epoch checkpoint
        if (!archive.try_read("epoch_sums", sums)) throw FileError(path, "mid-epoch checkpoint without its epoch sums");
        const auto v = nlohmann::json::parse(sums.toStringRef()).get<std::vector<double>>();
        if (v.size() != 3) throw FileError(path, "mid-epoch checkpoint: epoch sums are corrupt");
        resume_from_ = {batch.toInt(), v[0], v[1], int64_t(v[2])};
        if (resume_from_.batch >= steps_per_epoch())
            throw FileError(path, "mid-epoch checkpoint at batch " + std::to_string(resume_from_.batch) + " of an epoch of " +
                                      std::to_string(steps_per_epoch()) + " (another batch size or dataset?)");
    }
}

torch::Tensor Trainer::step(const torch::Tensor& global_idx, uint64_t write_seed, bool log_now) {
    const auto& t = config_.train;
    const int rank = group_ ? group_->rank() : 0, world = group_ ? group_->world() : 1;
    // With set_sync_debug(), a step that is not a logging step runs under CUDA's sync debug mode.
    SyncDebugScope sync_check(device_.is_cuda() && !log_now ? sync_debug_ : 0);
    // The global batch, and this rank's contiguous part of it.
    const int64_t m = global_idx.size(0);
    const auto [lo, hi] = dist::rank_slice(m, rank, world);
    auto idx = global_idx.slice(0, lo, hi);
    const int64_t bs = hi - lo;
    // Augmentation draws come from a stream of their own per (step, rank): a run resumed within an
    // epoch continues with exactly the draws it would have made.
    auto gen = at::make_generator<at::CPUGeneratorImpl>(mix_seed(t.seed, uint64_t(step_), 2 + uint64_t(rank)));
    const int64_t spe = steps_per_epoch();
    set_lr(scheduled_lr(t, step_, spe));
    VHMNImpl* memory = model_->memory_model();
    if (memory) memory->set_record_stats(log_now);
    clear_grads(model_->parameters());
    torch::Tensor sums;  // this rank's {Σ loss·m, Σ correct}
    if (bs > 0) {
        auto images = to_device(train_.images.index_select(0, idx), device_).to(torch::kFloat).div_(255.0);
        auto batch = augment_(images, train_.labels.index_select(0, idx), train_.index.index_select(0, idx), gen);
        auto x = (*normalize_)(batch.images);
        WriteContext ctx{batch.write_labels, batch.write_indices, step_, write_seed};
        torch::Tensor loss, logits;
        {
            compat::CudaAutocastBf16 autocast(t.bf16 && device_.is_cuda());
            logits = model_->forward(x, &ctx);
            // This rank's loss sum over the global batch count: summed over ranks, the gradient is
            // the single-process gradient of the batch mean.
            loss = -(to_device(batch.targets, device_) * torch::log_softmax(logits.to(torch::kFloat), 1)).sum() /
                   double(m);
        }
        loss.backward();
        auto hits = logits.argmax(1).eq(to_device(batch.accuracy_labels, device_)).sum();
        sums = torch::stack({loss.detach().to(torch::kDouble) * double(m), hits.to(torch::kDouble)});
    }
    if (dp_) dp_->all_reduce_grads(bs == 0);
    if (t.grad_clip > 0) clip_grad_norm_on_device(model_->parameters(), t.grad_clip);
    optimizer_->step();
    if (dp_) dp_->gather_bank_writes(m, step_);
    model_->commit_memory();
    ++step_;
    return sums;
}

double Trainer::train_epoch(int64_t epoch, const TrainCallbacks& cb, TrainControl* control,
                            bool& stopped, double& train_acc) {
    const auto& t = config_.train;
    const int64_t n = train_.size(), spe = steps_per_epoch(), total = t.epochs * spe;
    const uint64_t write_seed = mix_seed(t.seed, epoch, 0);  // bank token choice (write_token_keys)
    // The epoch's order is drawn on the host and copied to the data's device once per epoch. It
    // depends on (seed, epoch) only: every rank, and a resumed run, sees the same order.
    auto order_gen = at::make_generator<at::CPUGeneratorImpl>(mix_seed(t.seed, epoch, 1));
    auto order = to_device(torch::randperm(n, order_gen, torch::kInt64), train_.images.device());
    model_->train();
    // Loss and correct counts accumulate on the device and are read at logging steps only: the
    // step itself makes no host synchronisation (see host_reads()). With several ranks the window
    // is summed over ranks there, with a stop vote, so every rank reports and decides the same.
    auto window_sums = torch::zeros({2}, torch::TensorOptions(torch::kDouble).device(device_));
    int64_t window_seen = 0;  // images of the window, all ranks (every rank knows each global batch size)
    EpochProgress sums = resume_from_;
    const int64_t first = resume_from_.batch;
    resume_from_ = {};
    auto window_start = Clock::now();
    const auto epoch_start = Clock::now();
    for (int64_t b = first; b < spe; ++b) {
        if (!group_ && control && !control->proceed()) {
            stopped = true;
            return 0;
        }
        const bool checkpoint_now = t.checkpoint_every > 0 && (step_ + 1) % t.checkpoint_every == 0 && b < spe - 1;
        const bool log_now = (step_ + 1) % t.log_every == 0 || b == spe - 1 || checkpoint_now;
        auto global_idx = order.slice(0, b * t.batch, std::min(n, (b + 1) * t.batch));
        try {
            auto s = step(global_idx, write_seed, log_now);
            if (s.defined()) window_sums += s;
        } catch (const dist::DistError& e) {
            throw dist::DistError(std::string(e.what()) + " — at step " + std::to_string(step_ + 1) + " (epoch " +
                                  std::to_string(epoch + 1) + ")" +
                                  (run_dir_.empty() ? "" : "; " + run_dir_ + " resumes from its last checkpoint with --resume"));
        }
        window_seen += global_idx.size(0);
        if (!log_now) continue;
        const auto w = read_window(window_sums, control);  // the one host read of a logging step
        if (!std::isfinite(w.loss))
            throw TrainingError("loss became " + std::to_string(w.loss / double(window_seen)) + " by step " +
                                std::to_string(step_) + " (epoch " + std::to_string(epoch + 1) + "; checked every " +
                                std::to_string(t.log_every) + " steps" + (group_ ? ", on the sum over all ranks" : "") +
                                "); the run on disk is the last checkpoint — resume with a lower --lr");
        sums.loss += w.loss, sums.correct += w.correct, sums.seen += window_seen;
        window_sums.zero_();
        model_->update_fill_counts();
        const double dt = std::chrono::duration<double>(Clock::now() - window_start).count();
        const double per_step = std::chrono::duration<double>(Clock::now() - epoch_start).count() / double(b + 1 - first);
        StepStats s = step_stats(epoch, b, w, window_seen, dt);
        s.eta_s = per_step * double(total - step_) + last_eval_seconds_ * double(t.epochs - epoch);
        history_.steps.push_back(s);
        if (cb.on_step) cb.on_step(s);
        window_seen = 0;
        window_start = Clock::now();
        if (checkpoint_now) save_checkpoint({b + 1, sums.loss, sums.correct, sums.seen});
        if (w.stop_vote) {  // a rank was asked to stop: all stop here, the last checkpoint stays
            stopped = true;
            return 0;
        }
    }
    if (auto* memory = model_->memory_model()) memory->set_record_stats(false);
    train_acc = 100.0 * sums.correct / double(sums.seen);
    return sums.loss / double(sums.seen);
}

Trainer::Window Trainer::read_window(const torch::Tensor& window_sums, TrainControl* control) {
    ++host_reads_;
    Window w;
    torch::Tensor h;
    if (group_) {
        const double vote = control && control->stop_requested() ? 1.0 : 0.0;
        std::vector<torch::Tensor> v{torch::cat({window_sums, torch::full({1}, vote, window_sums.options())}).to(group_->device())};
        group_->all_reduce_sum(v, "the progress reduction");
        h = v[0].to(torch::kCPU);
        w.stop_vote = h.data_ptr<double>()[2] > 0;
    } else {
        h = window_sums.to(torch::kCPU);
    }
    w.loss = h.data_ptr<double>()[0], w.correct = h.data_ptr<double>()[1];
    return w;
}

StepStats Trainer::step_stats(int64_t epoch, int64_t batch, const Window& w, int64_t seen, double seconds) {
    const auto& t = config_.train;
    const int64_t spe = steps_per_epoch();
    StepStats s;
    s.step = step_, s.total_steps = t.epochs * spe, s.epoch = epoch, s.epochs = t.epochs;
    s.epoch_progress = double(epoch) + double(batch + 1) / double(spe);
    s.loss = w.loss / double(seen);
    s.accuracy = 100.0 * w.correct / double(seen);
    s.lr = scheduled_lr(t, step_ - 1, spe);
    s.images_per_s = seconds > 0 ? double(seen) / seconds : 0;
    if (device_.is_cuda()) {
        const auto g = gpu_memory(device_.index() < 0 ? 0 : device_.index());
        if (g.valid)
            s.gpu_allocated = double(g.allocated), s.gpu_reserved = double(g.reserved),
            s.gpu_peak_allocated = double(g.peak_allocated), s.gpu_peak_reserved = double(g.peak_reserved);
    }
    if (VHMNImpl* memory = model_->memory_model()) {
        for (const auto& [l, g] : memory->betas()) s.beta_local.push_back(l), s.beta_global.push_back(g);
        for (const auto& [l, g] : memory->retrieval_entropies()) s.entropy_local.push_back(l), s.entropy_global.push_back(g);
    }
    return s;
}

TrainOutcome Trainer::run(const TrainCallbacks& cb, TrainControl* control) {
    const auto& t = config_.train;
    if (cb.on_message)
        for (const auto& line : notices_) cb.on_message(line);
    notices_.clear();
    if (device_.is_cuda()) {
        set_tf32(t.tf32);  // process-wide, as the run's config says
        reset_gpu_peaks(device_.index() < 0 ? 0 : device_.index());  // this run's peaks, not the process's
    }
    if ((epochs_done_ > 0 || resume_from_.batch > 0) && cb.on_message)
        cb.on_message(resume_from_.batch > 0 ? "resuming within epoch " + std::to_string(epochs_done_ + 1) + " at batch " +
                                              std::to_string(resume_from_.batch + 1) + " of " +
                                              std::to_string(steps_per_epoch()) + " (step " + std::to_string(step_) + ")"
                                        : "resuming after epoch " + std::to_string(epochs_done_) + " (step " +
                                              std::to_string(step_) + ")");
    if (dp_) {
        // Every rank must run the same thing: compare a hash of the config (the device aside, which
        // is per rank), then start from rank 0's parameters and banks.
        RunConfig same = config_;
        same.train.device.clear();
        group_->check_same(int64_t(std::hash<std::string>{}(nlohmann::json(same).dump()) & 0x7fffffffffffffffLL),
                           "configuration or data (config hash)");
        dp_->broadcast_state();
    }
    for (int64_t epoch = epochs_done_; epoch < t.epochs; ++epoch) {
        const auto start = Clock::now();
        bool stopped = false;
        double train_acc = 0;
        const double train_loss = train_epoch(epoch, cb, control, stopped, train_acc);
        if (stopped) return TrainOutcome::Stopped;
        const auto eval_start = Clock::now();
        const bool last = epoch + 1 == t.epochs;
        TestPredictions kept;  // the last epoch's, for opening the run without a forward pass
        const EvalResult r = evaluate(model_, test_, config_.data.mean, config_.data.std, t.eval_batch, device_,
                                      group_.get(), last && !group_ && writer_ ? &kept : nullptr);
        last_eval_seconds_ = std::chrono::duration<double>(Clock::now() - eval_start).count();
        EpochStats e;
        e.epoch = epoch + 1, e.step = step_, e.train_loss = train_loss, e.train_acc = train_acc;
        e.test_top1 = r.top1, e.test_top5 = r.top5, e.test_loss = r.loss;
        e.lr = scheduled_lr(t, step_ - 1, steps_per_epoch());
        if (model_->has_memory() && writer_) measure_memory(e);
        e.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        e.train_seconds = std::chrono::duration<double>(eval_start - start).count();
        e.eval_seconds = last_eval_seconds_;
        history_.epochs.push_back(e);
        epochs_done_ = epoch + 1;
        save_checkpoint();
        write_record(last ? &kept : nullptr);
        if (cb.on_epoch) cb.on_epoch(e);
    }
    if (!run_dir_.empty() && writer_) save_model(model_, (fs::path(run_dir_) / run_files::kModel).string());
    return TrainOutcome::Finished;
}

}  // namespace vhmn
