#include "core/train/train_config.h"

#include <algorithm>
#include <cmath>

#include <filesystem>

#include "core/io/atomic_file.h"
#include "core/error.h"

namespace vhmn {
namespace {

void require(bool ok, const std::string& flag, const std::string& problem) {
    if (!ok) throw ConfigError(flag + ": " + problem);
}

template <typename T>
void read(const nlohmann::json& j, const char* key, T& out) {
    if (!j.contains(key)) return;
    try {
        out = j.at(key).get<T>();
    } catch (const nlohmann::json::exception&) {
        throw ConfigError(std::string("config field '") + key + "' has the wrong type: " + j.at(key).dump());
    }
}

void reject_unknown(const nlohmann::json& j, const std::vector<const char*>& known, const char* what) {
    if (!j.is_object()) throw ConfigError(std::string(what) + " must be a JSON object");
    for (auto it = j.begin(); it != j.end(); ++it)
        if (std::find_if(known.begin(), known.end(), [&](const char* k) { return it.key() == k; }) == known.end())
            throw ConfigError(std::string("unknown ") + what + " field '" + it.key() + "'");
}

}  // namespace

void TrainConfig::validate() const {
    require(epochs >= 1 && epochs <= 100000, "--epochs", "must be between 1 and 100000, got " + std::to_string(epochs));
    require(batch >= 1 && batch <= 1 << 20, "--batch", "must be a positive integer, got " + std::to_string(batch));
    require(std::isfinite(lr) && lr > 0 && lr < 10, "--lr", "must be in (0, 10)");
    require(std::isfinite(weight_decay) && weight_decay >= 0 && weight_decay < 10, "--weight-decay", "must be in [0, 10)");
    require(optimizer == "adam" || optimizer == "adamw", "--optimizer", "must be adam or adamw, got '" + optimizer + "'");
    require(std::isfinite(warmup_epochs) && warmup_epochs >= 0, "--warmup", "must be >= 0");
    require(std::isfinite(min_lr) && min_lr >= 0 && min_lr <= lr, "--min-lr", "must be in [0, lr]");
    require(std::isfinite(grad_clip) && grad_clip >= 0, "--grad-clip", "must be >= 0");
    require(log_every >= 1, "--log-every", "must be >= 1");
    require(eval_batch >= 1, "--eval-batch", "must be >= 1");
    require(checkpoint_every >= 0, "--checkpoint-every", "must be >= 0 (0: at the end of each epoch only)");
    require(world_size >= 1, "world_size", "must be >= 1");
}

namespace {
/// TrainConfig's fields, one row each: to_json, from_json and the unknown-key check all read this.
template <typename Config, typename Visit>
void visit_fields(Config& c, Visit&& f) {
    f("epochs", c.epochs), f("batch", c.batch), f("lr", c.lr), f("weight_decay", c.weight_decay);
    f("optimizer", c.optimizer), f("warmup_epochs", c.warmup_epochs), f("min_lr", c.min_lr);
    f("grad_clip", c.grad_clip), f("seed", c.seed), f("device", c.device), f("bf16", c.bf16), f("tf32", c.tf32);
    f("precision", c.precision), f("log_every", c.log_every), f("eval_batch", c.eval_batch);
    f("checkpoint_every", c.checkpoint_every), f("world_size", c.world_size);
}
}  // namespace

void to_json(nlohmann::json& j, const TrainConfig& c) {
    j = nlohmann::json::object();
    visit_fields(c, [&](const char* key, const auto& value) { j[key] = value; });
}

void from_json(const nlohmann::json& j, TrainConfig& c) {
    std::vector<const char*> known;
    visit_fields(c, [&](const char* key, const auto&) { known.push_back(key); });
    reject_unknown(j, known, "train config");
    visit_fields(c, [&](const char* key, auto& value) { read(j, key, value); });
}

void to_json(nlohmann::json& j, const DataInfo& d) {
    j = {{"name", d.name}, {"format", d.format}, {"path", d.path}, {"class_names", d.class_names},
         {"train_size", d.train_size}, {"test_size", d.test_size}, {"full_train_size", d.full_train_size},
         {"fraction", d.fraction}, {"imbalance", d.imbalance}, {"mean", d.mean}, {"std", d.std}};
    if (d.fingerprint) j["fingerprint"] = *d.fingerprint;
}

void from_json(const nlohmann::json& j, DataInfo& d) {
    read(j, "name", d.name), read(j, "format", d.format), read(j, "path", d.path);
    read(j, "class_names", d.class_names), read(j, "train_size", d.train_size);
    read(j, "test_size", d.test_size), read(j, "full_train_size", d.full_train_size);
    read(j, "fraction", d.fraction), read(j, "imbalance", d.imbalance);
    read(j, "mean", d.mean), read(j, "std", d.std);
    if (j.contains("fingerprint")) d.fingerprint = j.at("fingerprint").get<DataFingerprint>();
}

void to_json(nlohmann::json& j, const RunConfig& r) {
    j = {{"format", "vhmn-run-1"}, {"preset", r.preset}, {"model", r.model}, {"train", r.train},
         {"augment", r.augment}, {"data", r.data}};
}

void from_json(const nlohmann::json& j, RunConfig& r) {
    if (!j.is_object() || j.value("format", "") != "vhmn-run-1")
        throw ConfigError("not a V-HMN run config (expected \"format\": \"vhmn-run-1\")");
    read(j, "preset", r.preset);
    if (j.contains("model")) r.model = j.at("model").get<ModelConfig>();
    if (j.contains("train")) r.train = j.at("train").get<TrainConfig>();
    if (j.contains("augment")) r.augment = j.at("augment");
    if (j.contains("data")) r.data = j.at("data").get<DataInfo>();
}

RunConfig read_run_config(const std::string& dir) {
    const std::string path = (std::filesystem::path(dir) / "config.json").string();
    const std::string text = read_text_file(path);
    try {
        const auto j = nlohmann::json::parse(text);
        if (j.is_object() && !j.contains("model"))
            throw FileError(path, "has no \"model\" section (the model config of the run)");
        RunConfig r = j.get<RunConfig>();
        r.model.validate();
        r.train.validate();
        return r;
    } catch (const nlohmann::json::exception& e) {
        throw FileError(path, std::string("invalid JSON: ") + e.what());
    } catch (const ConfigError& e) {
        throw FileError(path, e.what());
    }
}

double scheduled_lr(const TrainConfig& c, int64_t step, int64_t steps_per_epoch) {
    const double total = double(c.epochs * steps_per_epoch);
    // Short runs still reach the peak: warm-up is at most 10 % of training.
    const double warmup = std::min(c.warmup_epochs * double(steps_per_epoch), 0.1 * total);
    const double s = double(step);
    if (warmup > 0 && s < warmup) return c.lr * (s + 1.0) / warmup;
    const double progress = total > warmup ? std::clamp((s - warmup) / (total - warmup), 0.0, 1.0) : 1.0;
    return c.min_lr + 0.5 * (c.lr - c.min_lr) * (1.0 + std::cos(M_PI * progress));
}

}  // namespace vhmn
