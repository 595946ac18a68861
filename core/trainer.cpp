#include "core/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/model_io.h"
#include "core/run_record.h"
#include "core/runtime.h"

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

/// bf16 autocast on CUDA for the duration of a scope (API differs between libtorch 1.13 and 2.4+).
class AutocastScope {
public:
    explicit AutocastScope(bool on) : on_(on) {
        if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
        at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
        at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
        at::autocast::set_enabled(true);
#endif
    }
    ~AutocastScope() {
        if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
        at::autocast::set_autocast_enabled(at::kCUDA, false);
#else
        at::autocast::set_enabled(false);
#endif
        at::autocast::clear_cache();
    }

private:
    bool on_;
};

torch::Tensor per_channel(const std::vector<double>& v, const torch::Tensor& like) {
    std::vector<float> f(v.begin(), v.end());
    return torch::tensor(f).view({1, -1, 1, 1}).to(like.device(), like.scalar_type());
}

}  // namespace

torch::Tensor normalize_images(const torch::Tensor& images01, const std::vector<double>& mean,
                               const std::vector<double>& std) {
    if (int64_t(mean.size()) != images01.size(1) || int64_t(std.size()) != images01.size(1))
        throw ConfigError("normalisation has " + std::to_string(mean.size()) + " channels, images have " +
                          std::to_string(images01.size(1)));
    return (images01 - per_channel(mean, images01)) / per_channel(std, images01);
}

EvalResult evaluate(VHMN& model, const data::Split& split, const std::vector<double>& mean,
                    const std::vector<double>& std, int64_t batch, const torch::Device& device) {
    c10::InferenceMode inference;  // no autograd bookkeeping; nothing made here is trained on
    const bool was_training = model->is_training();
    model->eval();
    const int64_t n = split.size(), classes = model->config().classes, k = std::min<int64_t>(5, classes);
    double loss = 0;
    int64_t top1 = 0, top5 = 0;
    for (int64_t s = 0; s < n; s += batch) {
        const int64_t e = std::min(n, s + batch);
        auto x = split.images.slice(0, s, e).to(device).to(torch::kFloat).div_(255.0);
        auto y = split.labels.slice(0, s, e).to(device);
        auto logits = model->forward(normalize_images(x, mean, std)).to(torch::kFloat);
        loss += torch::nn::functional::cross_entropy(
                    logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
        auto topk = std::get<1>(logits.topk(k, 1));  // [b, k]
        auto hit = topk.eq(y.unsqueeze(1));
        top1 += hit.select(1, 0).sum().item<int64_t>();
        top5 += hit.any(1).sum().item<int64_t>();
    }
    if (was_training) model->train();
    if (n == 0) return {};
    return {100.0 * double(top1) / double(n), 100.0 * double(top5) / double(n), loss / double(n), n};
}

// --------------------------------------------------------------------------------------------
Trainer::Trainer(RunConfig config, data::Split train, data::Split test, AugmentFn augment,
                 std::string run_dir)
    : config_(std::move(config)),
      train_(std::move(train)),
      test_(std::move(test)),
      augment_(std::move(augment)),
      run_dir_(std::move(run_dir)),
      device_(parse_device(config_.train.device)) {
    config_.model.validate();
    config_.train.validate();
    if (train_.size() == 0) throw ConfigError("the training split is empty");
    if (train_.images.size(1) != config_.model.channels || train_.images.size(2) != config_.model.image_size)
        throw ConfigError("training images do not match the model's input size/channels");
    torch::manual_seed(config_.train.seed);  // initial weights
    model_ = VHMN(config_.model);
    model_->to(device_);
    model_->refresh_memory();
    const auto& t = config_.train;
    if (t.optimizer == "adamw")
        optimizer_ = std::make_unique<torch::optim::AdamW>(
            model_->parameters(), torch::optim::AdamWOptions(t.lr).weight_decay(t.weight_decay));
    else
        optimizer_ = std::make_unique<torch::optim::Adam>(
            model_->parameters(), torch::optim::AdamOptions(t.lr).weight_decay(t.weight_decay));
    if (!run_dir_.empty()) {
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

void Trainer::save_checkpoint() {
    if (run_dir_.empty()) return;
    torch::serialize::OutputArchive archive;
    write_model(model_, archive);
    torch::serialize::OutputArchive opt;
    optimizer_->save(opt);
    archive.write("optimizer", opt);
    archive.write("epochs_done", c10::IValue(epochs_done_));
    archive.write("step", c10::IValue(step_));
    archive.write("history", c10::IValue(nlohmann::json(history_).dump()));
    archive.write("run_config", c10::IValue(nlohmann::json(config_).dump()));
    save_archive_atomic(archive, (fs::path(run_dir_) / run_files::kCheckpoint).string());
}

void Trainer::write_record() {
    if (run_dir_.empty() || !run_record_available()) return;
    write_run_record((fs::path(run_dir_) / run_files::kRecord).string(), config_, history_, model_);
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
    if (!archive.try_read("optimizer", opt) || !archive.try_read("epochs_done", epochs) ||
        !archive.try_read("step", step) || !archive.try_read("history", history))
        throw FileError(path, "not a training checkpoint (optimizer state or progress missing)");
    try {
        optimizer_->load(opt);
        history_ = nlohmann::json::parse(history.toStringRef()).get<History>();
    } catch (const std::exception& e) {
        throw FileError(path, std::string("checkpoint is corrupt: ") + e.what());
    }
    epochs_done_ = epochs.toInt();
    step_ = step.toInt();
}

double Trainer::train_epoch(int64_t epoch, const TrainCallbacks& cb, TrainControl* control,
                            bool& stopped, double& train_acc) {
    const auto& t = config_.train;
    const int64_t n = train_.size(), spe = steps_per_epoch(), total = t.epochs * spe;
    torch::manual_seed(mix_seed(t.seed, epoch, 0));  // bank token choice (global generator)
    auto gen = at::make_generator<at::CPUGeneratorImpl>(mix_seed(t.seed, epoch, 1));
    auto order = torch::randperm(n, gen, torch::kInt64);
    model_->train();
    double loss_sum = 0, window_loss = 0;
    int64_t correct = 0, seen = 0, window_correct = 0, window_seen = 0;
    auto window_start = Clock::now();
    const auto epoch_start = Clock::now();
    for (int64_t b = 0; b < spe; ++b) {
        if (control && !control->proceed()) {
            stopped = true;
            return 0;
        }
        auto idx = order.slice(0, b * t.batch, std::min(n, (b + 1) * t.batch));
        auto images = train_.images.index_select(0, idx).to(device_).to(torch::kFloat).div_(255.0);
        auto batch = augment_(images, train_.labels.index_select(0, idx), train_.index.index_select(0, idx), gen);
        auto x = normalize_images(batch.images, config_.data.mean, config_.data.std);
        const double lr = scheduled_lr(t, step_, spe);
        set_lr(lr);
        const bool log_now = (step_ + 1) % t.log_every == 0 || b == spe - 1;
        model_->set_record_stats(log_now);
        WriteContext ctx{batch.write_labels, batch.write_indices, {}, step_};
        torch::Tensor loss, logits;
        {
            AutocastScope autocast(t.bf16 && device_.is_cuda());
            logits = model_->forward(x, &ctx);
            loss = -(batch.targets.to(device_) * torch::log_softmax(logits.to(torch::kFloat), 1)).sum(1).mean();
        }
        const double loss_value = loss.item<double>();
        if (!std::isfinite(loss_value)) {
            model_->discard_staged_memory();
            throw TrainingError("loss became " + std::to_string(loss_value) + " at step " + std::to_string(step_ + 1) +
                                " (epoch " + std::to_string(epoch + 1) + "); the run on disk is the last epoch's "
                                "checkpoint — resume with a lower --lr");
        }
        optimizer_->zero_grad();
        loss.backward();
        if (t.grad_clip > 0) torch::nn::utils::clip_grad_norm_(model_->parameters(), t.grad_clip);
        optimizer_->step();
        model_->commit_memory();
        ++step_;

        const int64_t bs = idx.size(0);
        const int64_t c = logits.argmax(1).eq(batch.accuracy_labels.to(device_)).sum().item<int64_t>();
        loss_sum += loss_value * double(bs), correct += c, seen += bs;
        window_loss += loss_value * double(bs), window_correct += c, window_seen += bs;
        if (log_now) {
            const double dt = std::chrono::duration<double>(Clock::now() - window_start).count();
            const double per_step = std::chrono::duration<double>(Clock::now() - epoch_start).count() / double(b + 1);
            StepStats s;
            s.step = step_, s.total_steps = total, s.epoch = epoch, s.epochs = t.epochs;
            s.epoch_progress = double(epoch) + double(b + 1) / double(spe);
            s.loss = window_loss / double(window_seen);
            s.accuracy = 100.0 * double(window_correct) / double(window_seen);
            s.lr = lr;
            s.images_per_s = dt > 0 ? double(window_seen) / dt : 0;
            s.eta_s = per_step * double(total - step_) + last_eval_seconds_ * double(t.epochs - epoch);
            for (const auto& [l, g] : model_->betas()) s.beta_local.push_back(l), s.beta_global.push_back(g);
            for (const auto& [l, g] : model_->retrieval_entropies())
                s.entropy_local.push_back(l), s.entropy_global.push_back(g);
            history_.steps.push_back(s);
            if (cb.on_step) cb.on_step(s);
            window_loss = 0, window_correct = 0, window_seen = 0;
            window_start = Clock::now();
        }
    }
    model_->set_record_stats(false);
    train_acc = 100.0 * double(correct) / double(seen);
    return loss_sum / double(seen);
}

TrainOutcome Trainer::run(const TrainCallbacks& cb, TrainControl* control) {
    const auto& t = config_.train;
    if (cb.on_message)
        for (const auto& line : notices_) cb.on_message(line);
    notices_.clear();
    if (epochs_done_ > 0 && cb.on_message)
        cb.on_message("resuming after epoch " + std::to_string(epochs_done_) + " (step " + std::to_string(step_) + ")");
    for (int64_t epoch = epochs_done_; epoch < t.epochs; ++epoch) {
        const auto start = Clock::now();
        bool stopped = false;
        double train_acc = 0;
        const double train_loss = train_epoch(epoch, cb, control, stopped, train_acc);
        if (stopped) return TrainOutcome::Stopped;
        const auto eval_start = Clock::now();
        const EvalResult r = evaluate(model_, test_, config_.data.mean, config_.data.std, t.eval_batch, device_);
        last_eval_seconds_ = std::chrono::duration<double>(Clock::now() - eval_start).count();
        EpochStats e;
        e.epoch = epoch + 1, e.step = step_, e.train_loss = train_loss, e.train_acc = train_acc;
        e.test_top1 = r.top1, e.test_top5 = r.top5, e.test_loss = r.loss;
        e.lr = scheduled_lr(t, step_ - 1, steps_per_epoch());
        e.seconds = std::chrono::duration<double>(Clock::now() - start).count();
        history_.epochs.push_back(e);
        epochs_done_ = epoch + 1;
        save_checkpoint();
        write_record();
        if (cb.on_epoch) cb.on_epoch(e);
    }
    if (!run_dir_.empty()) save_model(model_, (fs::path(run_dir_) / run_files::kModel).string());
    return TrainOutcome::Finished;
}

}  // namespace vhmn
