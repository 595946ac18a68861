#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>

#include "app/cli/commands.h"
#include "app/cli/progress.h"
#include "app/common/experiment.h"
#include "app/common/train_fields.h"
#include "core/error.h"
#include "core/models/stats.h"
#include "core/runtime.h"
#include "core/train/bench.h"
#include "core/train/distributed.h"
#include "datasets/augment/augment.h"

namespace vhmn::cli {
namespace {

/// A distributed launch: torchrun's environment, or these flags (which win over it).
struct DistFlags {
    int rank = -1, world = -1, local_rank = -1, master_port = -1;
    std::string master_addr, backend = "auto";
    double timeout = 300;
};

struct TrainOpts {
    app::TrainRequest req;
    std::map<std::string, std::string> given;  ///< text of each table field's flag (train_fields.h)
    int threads = 0;
    bool json = false;
    std::string eta = "on";
    DistFlags dist;
};

/// What --help shows as a field's default: the default request's value; a model field's is the preset's.
std::string field_default(const app::TrainField& f) {
    if (f.group == app::FieldGroup::Model && f.key != "preset" && f.key != "arch") return "the preset's";
    if (f.key == "data") return "";  // required
    const nlohmann::json v = f.get(app::TrainRequest{});
    if (v.is_string()) return v.get<std::string>();
    if (v.is_boolean()) return v.get<bool>() ? "on" : "off";
    return v.is_null() ? std::string() : v.dump();
}

/// One flag per row of the training-field table, with the row's range or choices.
void add_field_flags(CLI::App* cmd, TrainOpts& o) {
    for (const auto& f : app::train_fields()) {
        if (f.flag.empty()) continue;
        auto* opt = cmd->add_option(f.flag, o.given[f.key], f.help)->default_str(field_default(f));
        switch (f.kind) {
            case app::FieldKind::Int: opt->check(CLI::Range(int64_t(f.min), int64_t(f.max))); break;
            case app::FieldKind::Real: opt->check(CLI::Range(f.min, f.max)); break;
            case app::FieldKind::Choice: opt->check(CLI::IsMember(f.choices())); break;
            case app::FieldKind::OnOff: opt->check(CLI::IsMember({"on", "off"})); break;
            case app::FieldKind::Text: break;
        }
        if (f.key == "data") opt->required();
    }
}

void add_dist_flags(CLI::App* cmd, DistFlags& d) {
    auto* dist = "Distributed (data-parallel) training; torchrun sets these through the environment";
    cmd->add_option("--dist-rank", d.rank, "This process's rank (else $RANK)")->group(dist)->check(CLI::Range(0, 1 << 20));
    cmd->add_option("--dist-world", d.world, "Number of processes (else $WORLD_SIZE)")->group(dist)->check(CLI::Range(1, 1 << 20));
    cmd->add_option("--dist-local-rank", d.local_rank, "Rank on this machine, picks cuda:N (else $LOCAL_RANK)")
        ->group(dist)->check(CLI::Range(0, 1 << 20));
    cmd->add_option("--master-addr", d.master_addr, "Rendezvous host (else $MASTER_ADDR, 127.0.0.1)")->group(dist);
    cmd->add_option("--master-port", d.master_port, "Rendezvous port (else $MASTER_PORT, 29500)")->group(dist)->check(CLI::Range(1, 65535));
    cmd->add_option("--dist-backend", d.backend, "auto (NCCL on CUDA, Gloo on the CPU), gloo or nccl")
        ->group(dist)->check(CLI::IsMember({"auto", "gloo", "nccl"}));
    cmd->add_option("--dist-timeout", d.timeout, "Seconds the rendezvous and each collective may take (a rank that "
                                                 "died or hangs stops the others after this)")
        ->group(dist)->check(CLI::Range(0.001, 604800.0));
}

/// The request from the flags given: the preset is resolved once, then the other fields in the table's
/// order of precedence (app::apply_fields).
void build_request(TrainOpts& o, const CLI::App* cmd) {
    auto& r = o.req;
    nlohmann::json fields = {{"preset", r.preset}};
    for (const auto& f : app::train_fields())
        if (!f.flag.empty() && cmd->count(f.flag)) fields[f.key] = app::field_value_from_text(f, o.given[f.key]);
    app::apply_fields(r, fields, app::FieldNaming::Flag);
    if (r.resume && !cmd->count("--epochs")) r.train.epochs = 0;  // keep the run's own epochs
}

/// Join the data-parallel group when launched by torchrun or with --dist-* flags (no-op otherwise).
void join_group(TrainOpts& o, const CLI::App* cmd, int threads) {
    auto& r = o.req;
    const auto& d = o.dist;
    auto launch = dist::launch_from_env();
    if (d.rank >= 0 || d.world >= 0 || cmd->count("--master-addr") || cmd->count("--master-port")) {
        if (!launch) launch = dist::LaunchInfo{};
        if (d.rank >= 0) launch->rank = d.rank, launch->local_rank = d.rank;
        if (d.world >= 0) launch->world = d.world;
        if (!d.master_addr.empty()) launch->master_addr = d.master_addr;
        if (d.master_port > 0) launch->master_port = d.master_port;
    }
    if (!launch) return;
    if (d.local_rank >= 0) launch->local_rank = d.local_rank;
    launch->backend = d.backend;
    launch->timeout_s = d.timeout;
    launch->validate();
    // One GPU per process on a machine: cuda → cuda:LOCAL_RANK.
    if (r.train.device == "cuda") r.train.device = "cuda:" + std::to_string(launch->local_rank);
    r.group = dist::Group::join(*launch, parse_device(r.train.device));
    std::cout << launch->who() << " (local rank " << launch->local_rank << "): device " << r.train.device
              << ", backend " << r.group->backend() << ", " << threads << " threads, rendezvous "
              << launch->master_addr << ":" << launch->master_port << (launch->agent_store ? " (torchrun's store)" : "")
              << std::endl;
}

std::unique_ptr<Trainer> make_trainer_everywhere(const app::TrainRequest& r) {
    if (!r.group) return app::make_trainer(r);
    // Every rank sets up, then all agree: one rank's bad input stops all, each with its message.
    std::unique_ptr<Trainer> trainer;
    std::string error;
    try {
        trainer = app::make_trainer(r);
    } catch (const std::exception& e) {
        error = e.what();
    }
    r.group->agree(error, "start-up");
    return trainer;
}

void print_setup(ProgressPrinter& printer, const Trainer& trainer, const app::TrainRequest& r, int threads) {
    const auto& c = trainer.config();
    printer.message("data: " + c.data.name + " (" + c.data.format + "), " + std::to_string(c.data.train_size) + " train / " +
                    std::to_string(c.data.test_size) + " test images, " + std::to_string(c.model.classes) + " classes");
    printer.message("model: " + arch_display_name(c.model.arch) + " " + c.preset + ", " +
                    std::to_string(count_parameters(c.model)) + " parameters; " + std::to_string(c.train.epochs) +
                    " epochs x " + std::to_string(trainer.steps_per_epoch()) + " steps; device " + c.train.device + ", " +
                    std::to_string(threads) + " threads; run folder " + r.out +
                    (r.group ? "; " + std::to_string(r.group->world()) + " ranks x " +
                                   std::to_string(c.train.batch / r.group->world()) + " images per step"
                             : std::string()));
}

/// Progress lines of the lead rank; with a group, what synchronising the ranks cost each epoch.
TrainCallbacks lead_callbacks(ProgressPrinter& printer, const Trainer& trainer, const app::TrainRequest& r) {
    TrainCallbacks cb;
    const int64_t epochs = trainer.config().train.epochs;
    cb.on_step = [&printer](const StepStats& s) { printer.step(s); };
    cb.on_epoch = [&printer, &trainer, &r, epochs](const EpochStats& e) {
        printer.epoch(e, epochs);
        if (!r.group) return;
        char buf[160];
        const double steps = double(std::max<int64_t>(1, trainer.steps_per_epoch()));
        std::snprintf(buf, sizeof buf, "  communication: %.1f ms per step (%lld collectives, %.1f s this epoch)",
                      1e3 * r.group->comm_seconds() / steps, (long long)r.group->comm_calls(), r.group->comm_seconds());
        printer.message(buf);
        r.group->reset_comm_stats();
    };
    cb.on_message = [&printer](const std::string& m) { printer.message(m); };
    return cb;
}

/// Before the first step: the steps ahead and an ETA from a 3-step warm-up measurement of the run's
/// model, batch, augmentation and device (benchmark() on random images: the run is untouched, the
/// CPU generator's state restored; evaluation counted as a forward pass, a third of a step). A CPU
/// run whose ETA exceeds 12 hours says so. A run of at most kShortRun steps is not measured: the
/// warm-up would cost a quarter of it, and its progress line shows the ETA from its own steps.
constexpr int64_t kShortRun = 20;
void print_plan(ProgressPrinter& printer, const Trainer& trainer, const app::TrainRequest& r, bool measure) {
    const auto& c = trainer.config();
    const int64_t epochs = c.train.epochs - trainer.epochs_done();
    const int64_t steps = epochs * trainer.steps_per_epoch();
    std::string line = "plan: " + std::to_string(steps) + " training steps (" + std::to_string(epochs) + " epochs x " +
                       std::to_string(trainer.steps_per_epoch()) + ")";
    if (!measure || steps <= kShortRun || r.group) return printer.message(line);
    BenchOptions bo;
    bo.batch = c.train.batch, bo.steps = 3, bo.count_ops = false, bo.inference = false;
    bo.device = parse_device(c.train.device), bo.bf16 = c.train.bf16, bo.tf32 = c.train.tf32;
    bo.augment = app::make_augment_fn(c.augment.get<data::AugmentConfig>(), c.model.classes);
    auto cpu = at::detail::getDefaultCPUGenerator();
    const auto state = cpu.get_state();
    const BenchResult b = benchmark(c.model, bo);
    cpu.set_state(state);
    const double eta = double(steps) * b.train_step_ms / 1e3 +
                       double(epochs) * double(c.data.test_size) * b.train_step_ms / 3e3 / double(c.train.batch);
    char buf[160];
    std::snprintf(buf, sizeof buf, "; ETA %s (3 warm-up steps: %.0f ms per step, %.0f img/s)", format_duration(eta).c_str(),
                  b.train_step_ms, b.train_img_per_s);
    printer.message(line + buf);
    // $VHMN_ETA_WARN_HOURS moves the threshold (tests; a patient user).
    const char* hours = std::getenv("VHMN_ETA_WARN_HOURS");
    const double warn_s = 3600.0 * (hours ? std::atof(hours) : 12.0);
    if (bo.device.is_cpu() && eta > warn_s)
        print_warnings({"this run's ETA on the CPU is " + format_duration(eta) + " (" + std::to_string(c.train.epochs) +
                        " epochs of preset " + c.preset + "; without --epochs the recipe is the paper's): pass --epochs N or a "
                        "smaller --preset (cpu-tiny) for a shorter run"});
}

/// The --json result: one object on stdout once training ends.
nlohmann::json summary_json(const Trainer& trainer, const app::TrainRequest& r, double wall, TrainOutcome outcome) {
    const auto& h = trainer.history();
    nlohmann::json j = {{"run", r.out}, {"outcome", outcome == TrainOutcome::Finished ? "finished" : "stopped"},
                        {"preset", trainer.config().preset}, {"arch", trainer.config().model.arch},
                        {"epochs", trainer.epochs_done()}, {"steps", trainer.epochs_done() * trainer.steps_per_epoch()},
                        {"wall_s", wall}};
    if (!h.epochs.empty()) {
        const auto& e = h.epochs.back();
        j["test_top1"] = e.test_top1, j["test_top5"] = e.test_top5, j["test_loss"] = e.test_loss;
        j["train_loss"] = e.train_loss, j["train_acc"] = e.train_acc;
    }
    return j;
}

void run_train(TrainOpts& o, const CLI::App* cmd) {
    auto& r = o.req;
    const int threads = configure_threads(o.threads > 0 ? std::optional<int>(o.threads) : std::nullopt);
    build_request(o, cmd);
    const auto t0 = std::chrono::steady_clock::now();
    join_group(o, cmd, threads);
    const bool lead = !r.group || r.group->rank() == 0;  // prints progress (every rank prints errors)
    ProgressPrinter printer(o.json);  // with --json, stdout holds only the result
    if (lead) printer.message("loading " + r.data + " ...");
    auto trainer = make_trainer_everywhere(r);
    if (lead) print_setup(printer, *trainer, r, threads);
    if (lead) print_plan(printer, *trainer, r, parse_on_off("--eta", o.eta));
    const TrainCallbacks cb = lead ? lead_callbacks(printer, *trainer, r) : TrainCallbacks();
    if (r.group) r.group->reset_comm_stats();
    const TrainOutcome outcome = trainer->run(cb);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto& h = trainer->history();
    if (lead && !h.epochs.empty()) {
        const auto& e = h.epochs.back();
        char buf[200];
        std::snprintf(buf, sizeof buf, "finished: test top1 %.2f%% top5 %.2f%% loss %.4f; wall time %s", e.test_top1,
                      e.test_top5, e.test_loss, format_duration(wall).c_str());
        printer.message(buf);
    }
    if (lead && o.json) std::cout << summary_json(*trainer, r, wall, outcome).dump(2) << "\n";
}

}  // namespace

void add_train(CLI::App& app) {
    auto o = std::make_shared<TrainOpts>();
    auto* cmd = app.add_subcommand("train", "Train a V-HMN (or a baseline: --arch) on a dataset; one folder per run");
    add_field_flags(cmd, *o);
    cmd->add_option("--out", o->req.out, "Run folder")->required();
    cmd->add_option("--threads", o->threads, "CPU threads (default: all cores, or $VHMN_THREADS)")->check(CLI::Range(1, 4096));
    cmd->add_flag("--resume", o->req.resume, "Continue the run in --out from its last checkpoint");
    cmd->add_flag("--json", o->json, "Print one JSON object when training ends: run, outcome, preset, arch, epochs, steps, "
                                     "wall_s, test_top1, test_top5, test_loss, train_loss, train_acc (progress goes to stderr)");
    cmd->add_option("--eta", o->eta, "Measure 3 warm-up steps before training for the ETA (on, off)")
        ->check(CLI::IsMember({"on", "off"}));
    add_dist_flags(cmd, o->dist);
    cmd->callback([o, cmd] { run_train(*o, cmd); });
}

}  // namespace vhmn::cli
