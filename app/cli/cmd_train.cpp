#include <chrono>
#include <iostream>
#include <map>

#include "app/cli/commands.h"
#include "app/cli/progress.h"
#include "app/common/experiment.h"
#include "app/common/train_fields.h"
#include "core/error.h"
#include "core/models/stats.h"
#include "core/runtime.h"
#include "core/train/distributed.h"

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
    DistFlags dist;
};

/// One flag per row of the training-field table, with the row's range or choices.
void add_field_flags(CLI::App* cmd, TrainOpts& o) {
    for (const auto& f : app::train_fields()) {
        if (f.flag.empty()) continue;
        auto* opt = cmd->add_option(f.flag, o.given[f.key], f.help);
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

void run_train(TrainOpts& o, const CLI::App* cmd) {
    auto& r = o.req;
    const int threads = configure_threads(o.threads > 0 ? std::optional<int>(o.threads) : std::nullopt);
    build_request(o, cmd);
    const auto t0 = std::chrono::steady_clock::now();
    join_group(o, cmd, threads);
    const bool lead = !r.group || r.group->rank() == 0;  // prints progress (every rank prints errors)
    ProgressPrinter printer;
    if (lead) printer.message("loading " + r.data + " ...");
    auto trainer = make_trainer_everywhere(r);
    if (lead) print_setup(printer, *trainer, r, threads);
    const TrainCallbacks cb = lead ? lead_callbacks(printer, *trainer, r) : TrainCallbacks();
    if (r.group) r.group->reset_comm_stats();
    trainer->run(cb);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto& h = trainer->history();
    if (lead && !h.epochs.empty()) {
        const auto& e = h.epochs.back();
        char buf[200];
        std::snprintf(buf, sizeof buf, "finished: test top1 %.2f%% top5 %.2f%% loss %.4f; wall time %s", e.test_top1,
                      e.test_top5, e.test_loss, format_duration(wall).c_str());
        printer.message(buf);
    }
}

}  // namespace

void add_train(CLI::App& app) {
    auto o = std::make_shared<TrainOpts>();
    auto* cmd = app.add_subcommand("train", "Train a V-HMN (or a baseline: --arch) on a dataset; one folder per run");
    add_field_flags(cmd, *o);
    cmd->add_option("--out", o->req.out, "Run folder")->required();
    cmd->add_option("--threads", o->threads, "CPU threads (default: all cores, or $VHMN_THREADS)")->check(CLI::Range(1, 4096));
    cmd->add_flag("--resume", o->req.resume, "Continue the run in --out from its last checkpoint");
    add_dist_flags(cmd, o->dist);
    cmd->callback([o, cmd] { run_train(*o, cmd); });
}

}  // namespace vhmn::cli
