#include "app/common/experiment.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "app/common/data_location.h"
#include "core/io/atomic_file.h"
#include "core/error.h"
#include "core/io/model_io.h"
#include "core/io/run_record.h"
#include "core/train/distributed.h"
#include "datasets/readers/readers.h"
#include "datasets/subsets.h"

namespace vhmn::app {
namespace fs = std::filesystem;

PreparedData prepare_data(const std::string& path, double fraction, double imbalance, uint64_t seed,
                          int64_t channels, int64_t image_size) {
    if (!(fraction > 0.0 && fraction <= 1.0))
        throw ConfigError("--fraction must be in (0, 1], got " + std::to_string(fraction));
    if (!(imbalance >= 1.0 && imbalance < 1e6))
        throw ConfigError("--imbalance must be >= 1 (1 = balanced), got " + std::to_string(imbalance));
    PreparedData p;
    data::LoadOptions opt;
    opt.channels = channels;
    opt.image_size = image_size;
    p.dataset = data::load_dataset(path, opt);
    const int64_t classes = p.dataset.classes();
    p.train = p.dataset.train;
    if (fraction < 1.0) p.train = data::stratified_fraction(p.train, fraction, seed, classes);
    if (imbalance > 1.0) p.train = data::long_tailed(p.train, imbalance, seed, classes);
    if (p.train.size() == 0) throw ConfigError("the training subset is empty (check --fraction/--imbalance)");
    const auto stats = data::channel_stats(p.train);
    auto& i = p.info;
    i.name = p.dataset.name, i.format = p.dataset.format, i.path = p.dataset.path;
    i.class_names = p.dataset.class_names;
    i.train_size = p.train.size(), i.test_size = p.dataset.test.size();
    i.full_train_size = p.dataset.train.size();
    i.fraction = fraction, i.imbalance = imbalance;
    i.mean = stats.mean, i.std = stats.std;
    for (auto& s : i.std) s = std::max(s, 1e-3);  // a constant channel must not divide by zero
    i.fingerprint = fingerprint_data(p.dataset.train, p.dataset.test, p.train, true);
    return p;
}

AugmentFn make_augment_fn(const data::AugmentConfig& cfg, int64_t classes) {
    auto aug = std::make_shared<data::Augmenter>(cfg, classes);
    return [aug](const torch::Tensor& images, const torch::Tensor& labels, const torch::Tensor& indices,
                 at::Generator& gen) { return (*aug)(images, labels, indices, gen); };
}

std::unique_ptr<Trainer> make_trainer(const TrainRequest& req) {
    if (req.out.empty()) throw ConfigError("--out: a run folder is required");
    const fs::path out(req.out);
    const bool has_run = fs::exists(out / run_files::kConfig) || fs::exists(out / run_files::kCheckpoint);
    RunConfig cfg;
    // A run stopped (killed, power loss) before its first epoch ended has config.json but no
    // checkpoint: --resume starts it again from the beginning with its stored config.
    const bool restart = req.resume && !fs::exists(out / run_files::kCheckpoint);
    if (req.resume) {
        if (restart && !fs::exists(out / run_files::kConfig))
            throw FileError((out / run_files::kCheckpoint).string(),
                            "no run to resume here (neither checkpoint.pt nor config.json)");
        cfg = read_run_config(req.out);
        if (req.arch_given && req.model.arch != cfg.model.arch)
            throw ConfigError("--arch " + req.model.arch + ": the run in " + req.out + " is a " +
                              arch_display_name(cfg.model.arch) + " (arch '" + cfg.model.arch +
                              "'); resume it with --arch " + cfg.model.arch + " or without --arch");
        if (req.train.epochs > cfg.train.epochs) cfg.train.epochs = req.train.epochs;
        cfg.train.device = req.train.device;
        if (req.train.checkpoint_every > 0) cfg.train.checkpoint_every = req.train.checkpoint_every;
    } else {
        // Under a distributed launch rank 0 alone checks (the others would find its config.json).
        const bool checker = !req.group || req.group->rank() == 0;
        if (has_run && checker)
            throw ConfigError("--out " + req.out + " already holds a run; use --resume to continue it "
                              "or choose another folder");
        req.train.validate();
        req.augment.validate();
        cfg.preset = req.preset;
        cfg.model = req.model;
        cfg.train = req.train;
        cfg.augment = req.augment;
    }
    const data::AugmentConfig augment = cfg.augment.get<data::AugmentConfig>();
    PreparedData data = prepare_data(req.data, req.resume ? cfg.data.fraction : req.fraction,
                                     req.resume ? cfg.data.imbalance : req.imbalance, cfg.train.seed,
                                     req.resume ? cfg.model.channels : 0,
                                     req.resume ? cfg.model.image_size : 0);
    if (req.resume) {
        if (data.info.class_names != cfg.data.class_names || data.info.train_size != cfg.data.train_size)
            throw ConfigError("--data " + req.data + " is not the dataset this run was trained on (" +
                              cfg.data.name + ", " + std::to_string(cfg.data.train_size) + " training images)");
        if (cfg.data.fingerprint)
            check_resume_data(*cfg.data.fingerprint, *data.info.fingerprint, req.out, req.data);
        data.info.mean = cfg.data.mean, data.info.std = cfg.data.std;
    } else {
        cfg.model.image_size = data.dataset.image_size();
        cfg.model.channels = data.dataset.channels();
        cfg.model.classes = data.dataset.classes();
        cfg.model.validate();
    }
    const bool had_fingerprint = cfg.data.fingerprint.has_value();
    cfg.data = data.info;
    auto trainer = std::make_unique<Trainer>(cfg, data.train, data.dataset.test,
                                             make_augment_fn(augment, cfg.model.classes), req.out, req.group);
    if (req.resume && !had_fingerprint)
        trainer->add_notice(req.out + " was trained before runs recorded their data's fingerprint: " + req.data +
                            " could not be checked against it (its fingerprint is recorded from now on)");
    if (restart)
        trainer->add_notice(req.out + " has no finished epoch (no checkpoint.pt): starting it from the "
                            "beginning with its stored config.json");
    else if (req.resume)
        trainer->resume();
    return trainer;
}

std::string weights_file(const std::string& dir) {
    const std::string model = (fs::path(dir) / run_files::kModel).string();
    return fs::exists(model) ? model : (fs::path(dir) / run_files::kCheckpoint).string();
}

const data::Split& OpenedRun::provenance_train() const {
    if (!provenance_ok()) throw ConfigError(data_check.provenance_refusal);
    return dataset.train;
}

namespace {

/// The run's config and weights; where the two disagree, the weights' own config is used (a warning).
void load_config_and_weights(OpenedRun& run, const torch::Device& device) {
    const std::string& dir = run.dir;
    run.config = read_run_config(dir);
    const std::string weights = weights_file(dir);
    run.model = load_model(weights, device);
    if (run.model->config() != run.config.model) {
        // The weights carry their own config, which is the one used; say where the two disagree.
        nlohmann::json a = run.config.model, b = run.model->config();
        std::string diff;
        for (auto it = a.begin(); it != a.end(); ++it)
            if (b.contains(it.key()) && b[it.key()] != it.value())
                diff += (diff.empty() ? "" : ", ") + it.key() + " " + it.value().dump() + " vs " + b[it.key()].dump();
        run.warnings.push_back("the model section of " + (fs::path(dir) / run_files::kConfig).string() +
                               " disagrees with " + weights + " (" + diff + "); the weights' own config is used");
        run.config.model = run.model->config();
    }
}

/// Epochs trained and the per-image hashes from run.h5, when the build and the run have one.
void read_record(OpenedRun& run, const std::string& record, RecordedData& recorded) {
    if (run_record_available() && fs::exists(record)) {
        try {
            run.epochs = int64_t(read_run_record(record).history.epochs.size());
            if (recorded.fingerprint) {
                auto hashes = read_image_hashes(record);
                recorded.train_hashes = std::move(hashes.train), recorded.test_hashes = std::move(hashes.test);
            }
        } catch (const FileError&) {
            run.epochs = -1;  // the weights are usable without the record
        }
    }
}

}  // namespace

OpenedRun open_run(const std::string& dir, const std::string& data_arg, const torch::Device& device,
                   const OpenOptions& options) {
    OpenedRun run;
    run.dir = dir;
    load_config_and_weights(run, device);
    const auto& cfg = run.config;
    data::LoadOptions load;  // normalisation comes from the run, so no statistics are computed
    load.channels = cfg.model.channels, load.image_size = cfg.model.image_size;

    // Where the data is: as given; else where the run was re-pointed to; else as recorded; and
    // when that is gone or holds other images, a dataset with the run's fingerprint.
    run.data_path = data_arg;
    if (run.data_path.empty()) run.data_path = saved_data_location(dir);
    if (run.data_path.empty()) run.data_path = cfg.data.path;
    const std::string record = (fs::path(dir) / run_files::kRecord).string();
    RecordedData recorded;
    recorded.fingerprint = cfg.data.fingerprint;
    std::vector<std::string> data_dirs = options.data_dirs;
    for (const auto& d : data_dirs_from_env()) data_dirs.push_back(d);
    // The dataset read and its fingerprint (with per-image hashes), made once for the check.
    std::optional<DataFingerprint> found_fp;
    auto read = [&] {
        run.dataset = data::load_dataset(run.data_path, load);
        if (recorded.fingerprint) found_fp = fingerprint_data(run.dataset.train, run.dataset.test, run.dataset.train, true);
    };
    if (data_arg.empty() && recorded.fingerprint && !data_dirs.empty()) {
        std::string why;
        if (!is_dataset(run.data_path)) {
            why = "is not there";
        } else {
            read();
            if (compare_fingerprints(recorded.fingerprint->train, found_fp->train).match == FingerprintMatch::Different ||
                compare_fingerprints(recorded.fingerprint->test, found_fp->test).match == FingerprintMatch::Different)
                why = "holds other images";
        }
        if (!why.empty()) {
            int searched = 0;
            const auto found = locate_dataset(*recorded.fingerprint, candidate_datasets(data_dirs), load, &searched);
            std::string dirs;
            for (const auto& d : data_dirs) dirs += " --data-dir " + d;
            if (!found)
                throw ConfigError("the dataset " + dir + " was trained on (" + run.data_path + ") " + why + ", and none of the " +
                                  std::to_string(searched) + " datasets in" + dirs +
                                  " has its fingerprint (train " + describe(recorded.fingerprint->train) +
                                  "); give it with --data");
            run.warnings.push_back("the dataset " + dir + " was trained on (" + run.data_path + ") " + why +
                                   "; found the same images by fingerprint at " + found->path +
                                   " and used it (`vhmn data locate " + dir + dirs + " --save` re-points the run to it)");
            run.located = run.data_path = found->path;
            read();
        }
    }
    if (run.dataset.classes() == 0) read();
    if (run.dataset.classes() != cfg.model.classes ||
        (!cfg.data.class_names.empty() && run.dataset.class_names != cfg.data.class_names))
        throw ConfigError("--data " + run.data_path + " (" + run.dataset.name + ", " +
                          std::to_string(run.dataset.classes()) + " classes) is not the dataset this run was trained on (" +
                          cfg.data.name + ", " + std::to_string(cfg.model.classes) + " classes)");
    read_record(run, record, recorded);
    DataCheckOptions check;
    check.run = dir, check.data = run.data_path, check.allow_other_test = options.allow_other_data;
    run.data_check = check_data(recorded, run.dataset, check, found_fp ? &*found_fp : nullptr);
    run.warnings.insert(run.warnings.end(), run.data_check.warnings.begin(), run.data_check.warnings.end());
    return run;
}

ProbeInput probe_input(const OpenedRun& run, const torch::Device& device, int64_t batch, int64_t limit,
                       const data::Split* split) {
    if (limit < 0) throw ConfigError("--limit must be >= 0, got " + std::to_string(limit));
    ProbeInput in;
    in.model = run.model;
    in.test = evenly_spaced(split ? *split : run.dataset.test, limit);
    in.mean = run.config.data.mean, in.std = run.config.data.std;
    in.device = device;
    in.batch = batch;
    return in;
}

std::string data_fingerprint_text(const OpenedRun& run) {
    const auto& f = run.config.data.fingerprint;
    if (!f) return "not recorded (a run made before fingerprints)";
    return "train " + describe(f->train) + "; test " + describe(f->test);
}

std::vector<std::string> save_probe(const OpenedRun& run, ProbeResult result) {
    result.params["epochs"] = run.epochs;
    result.params["test_images_in_dataset"] = run.dataset.test.size();
    std::vector<std::string> written;
    const std::string csv = (fs::path(run.dir) / ("probe_" + result.name + ".csv")).string();
    write_text_atomically(csv, result.table.to_csv());
    written.push_back(csv);
    const std::string record = (fs::path(run.dir) / run_files::kRecord).string();
    if (run_record_available() && fs::exists(record)) {
        write_probe_record(record, result);
        written.push_back(record + ":/probes/" + result.name);
    }
    return written;
}

std::vector<std::string> save_corruption_tables(const std::string& dir, const CorruptionsReport& report,
                                                const std::string& stem) {
    const auto grid = (fs::path(dir) / (stem + ".csv")).string();
    const auto json = (fs::path(dir) / (stem + ".json")).string();
    write_text_atomically(grid, corruptions_grid(report).to_csv());
    write_text_atomically(json, robustbench_entry(report, fs::path(dir).filename().string()).dump(2) + "\n");
    return {grid, json};
}

}  // namespace vhmn::app
