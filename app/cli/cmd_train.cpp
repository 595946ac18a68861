#include <chrono>
#include <iostream>

#include "app/cli/commands.h"
#include "app/cli/progress.h"
#include "app/experiment.h"
#include "core/error.h"
#include "core/runtime.h"
#include "core/stats.h"
#include "core/train/distributed.h"

namespace vhmn::cli {

void add_train(CLI::App& app) {
    struct Opts {
        app::TrainRequest req;
        std::string augment = "paper";
        std::string arch = "vhmn";
        int64_t iterations = -1;
        int threads = 0;
        // A distributed launch: torchrun's environment, or these flags (which win over it).
        int dist_rank = -1, dist_world = -1, dist_local_rank = -1, master_port = -1;
        std::string master_addr, dist_backend = "auto";
        std::string tf32 = "on";
        double dist_timeout = 300;
    };
    auto o = std::make_shared<Opts>();
    auto& r = o->req;
    auto* cmd = app.add_subcommand("train", "Train a V-HMN (or a baseline: --arch) on a dataset; one folder per run");
    cmd->add_option("--data", r.data, "Dataset folder (CIFAR-10/100 binary, IDX, SVHN .mat, image folder) or 'builtin'")->required();
    cmd->add_option("--arch", o->arch, "Architecture: vhmn (the paper's model) or a baseline: vit, mixer, poolformer")
        ->check(CLI::IsMember(arch_names()));
    cmd->add_option("--preset", r.preset, "Model size preset (shared by all architectures)")->check(CLI::IsMember(preset_names()));
    cmd->add_option("--out", r.out, "Run folder")->required();
    cmd->add_option("--epochs", r.train.epochs, "Epochs (paper: 400)")->check(CLI::Range(int64_t(1), int64_t(100000)));
    cmd->add_option("--batch", r.train.batch, "Batch size (paper: 256)")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
    cmd->add_option("--lr", r.train.lr, "Peak learning rate (paper: 1e-3)")->check(CLI::Range(1e-12, 10.0));
    cmd->add_option("--weight-decay", r.train.weight_decay, "Weight decay (paper: 5e-5)")->check(CLI::Range(0.0, 10.0));
    cmd->add_option("--optimizer", r.train.optimizer, "adam (L2) or adamw")->check(CLI::IsMember({"adam", "adamw"}));
    cmd->add_option("--warmup", r.train.warmup_epochs, "Warm-up epochs (paper: 5; at most 10% of training)")->check(CLI::Range(0.0, 1e5));
    cmd->add_option("--grad-clip", r.train.grad_clip, "Max gradient norm, 0 = off")->check(CLI::Range(0.0, 1e9));
    cmd->add_option("--fraction", r.fraction, "Fraction of the training set, class-stratified (0, 1]")->check(CLI::Range(1e-9, 1.0));
    cmd->add_option("--imbalance", r.imbalance, "Long-tail imbalance ratio r >= 1")->check(CLI::Range(1.0, 1e6));
    cmd->add_option("--iterations", o->iterations, "Refinement iterations T")->check(CLI::Range(0, 64));
    cmd->add_option("--augment", o->augment, "Augmentation recipe")->check(CLI::IsMember({"none", "basic", "paper", "imagenet"}));
    cmd->add_option("--label-smoothing", r.augment.label_smoothing, "Label smoothing")->check(CLI::Range(0.0, 0.99));
    cmd->add_option("--device", r.train.device, "cpu, cuda or cuda:N (emulated: a CPU stand-in for a GPU that refuses device mixing, for tests)");
    cmd->add_option("--tf32", o->tf32, "On CUDA GPUs that have it: TF32 matmuls and convolutions (default on; recorded "
                                       "in config.json with the precision used)")->check(CLI::IsMember({"on", "off"}));
    cmd->add_option("--seed", r.train.seed, "Random seed");
    cmd->add_option("--threads", o->threads, "CPU threads (default: all cores, or $VHMN_THREADS)")->check(CLI::Range(1, 4096));
    cmd->add_option("--log-every", r.train.log_every, "Steps between progress lines")->check(CLI::Range(int64_t(1), int64_t(1) << 30));
    cmd->add_flag("--resume", r.resume, "Continue the run in --out from its last checkpoint");
    cmd->add_option("--checkpoint-every", r.train.checkpoint_every,
                    "Also write checkpoint.pt every N steps within an epoch (resumable exactly there; 0: at epoch ends)")
        ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
    auto* dist = "Distributed (data-parallel) training; torchrun sets these through the environment";
    cmd->add_option("--dist-rank", o->dist_rank, "This process's rank (else $RANK)")->group(dist)->check(CLI::Range(0, 1 << 20));
    cmd->add_option("--dist-world", o->dist_world, "Number of processes (else $WORLD_SIZE)")->group(dist)->check(CLI::Range(1, 1 << 20));
    cmd->add_option("--dist-local-rank", o->dist_local_rank, "Rank on this machine, picks cuda:N (else $LOCAL_RANK)")
        ->group(dist)->check(CLI::Range(0, 1 << 20));
    cmd->add_option("--master-addr", o->master_addr, "Rendezvous host (else $MASTER_ADDR, 127.0.0.1)")->group(dist);
    cmd->add_option("--master-port", o->master_port, "Rendezvous port (else $MASTER_PORT, 29500)")->group(dist)->check(CLI::Range(1, 65535));
    cmd->add_option("--dist-backend", o->dist_backend, "auto (NCCL on CUDA, Gloo on the CPU), gloo or nccl")
        ->group(dist)->check(CLI::IsMember({"auto", "gloo", "nccl"}));
    cmd->add_option("--dist-timeout", o->dist_timeout, "Seconds the rendezvous and each collective may take (a rank that "
                                                       "died or hangs stops the others after this)")
        ->group(dist)->check(CLI::Range(0.001, 604800.0));
    cmd->callback([o, cmd] {
        auto& r = o->req;
        const int threads = configure_threads(o->threads > 0 ? std::optional<int>(o->threads) : std::nullopt);
        r.train.tf32 = parse_on_off("--tf32", o->tf32);
        const double smoothing = r.augment.label_smoothing;
        r.augment = data::AugmentConfig::recipe(o->augment);
        if (cmd->count("--label-smoothing")) r.augment.label_smoothing = smoothing;
        if (r.resume && !cmd->count("--epochs")) r.train.epochs = 0;  // keep the run's own epochs
        r.model = preset(r.preset, o->arch);
        if (o->iterations >= 0) {
            if (!r.model.has_memory())
                throw ConfigError("--iterations is a V-HMN setting (refinement steps of its memory); --arch " + o->arch +
                                  " has no memory banks");
            r.model.iterations = o->iterations;
        }
        r.arch_given = cmd->count("--arch") > 0;  // a resume checks it against the run's own
        const auto t0 = std::chrono::steady_clock::now();
        auto launch = dist::launch_from_env();
        if (o->dist_rank >= 0 || o->dist_world >= 0 || cmd->count("--master-addr") || cmd->count("--master-port")) {
            if (!launch) launch = dist::LaunchInfo{};
            if (o->dist_rank >= 0) launch->rank = o->dist_rank, launch->local_rank = o->dist_rank;
            if (o->dist_world >= 0) launch->world = o->dist_world;
            if (!o->master_addr.empty()) launch->master_addr = o->master_addr;
            if (o->master_port > 0) launch->master_port = o->master_port;
        }
        if (launch) {
            if (o->dist_local_rank >= 0) launch->local_rank = o->dist_local_rank;
            launch->backend = o->dist_backend;
            launch->timeout_s = o->dist_timeout;
            launch->validate();
            // One GPU per process on a machine: cuda → cuda:LOCAL_RANK.
            if (r.train.device == "cuda") r.train.device = "cuda:" + std::to_string(launch->local_rank);
            r.group = dist::Group::join(*launch, parse_device(r.train.device));
            std::cout << launch->who() << " (local rank " << launch->local_rank << "): device " << r.train.device
                      << ", backend " << r.group->backend() << ", " << threads << " threads, rendezvous "
                      << launch->master_addr << ":" << launch->master_port
                      << (launch->agent_store ? " (torchrun's store)" : "") << std::endl;
        }
        const bool lead = !r.group || r.group->rank() == 0;  // prints progress (every rank prints errors)
        ProgressPrinter printer;
        if (lead) printer.message("loading " + r.data + " ...");
        std::unique_ptr<Trainer> trainer;
        if (r.group) {
            // Every rank sets up, then all agree: one rank's bad input stops all, each with its message.
            std::string error;
            try {
                trainer = app::make_trainer(r);
            } catch (const std::exception& e) {
                error = e.what();
            }
            r.group->agree(error, "start-up");
        } else {
            trainer = app::make_trainer(r);
        }
        const auto& c = trainer->config();
        if (lead) printer.message("data: " + c.data.name + " (" + c.data.format + "), " + std::to_string(c.data.train_size) +
                        " train / " + std::to_string(c.data.test_size) + " test images, " +
                        std::to_string(c.model.classes) + " classes");
        if (lead) printer.message("model: " + arch_display_name(c.model.arch) + " " + c.preset + ", " + std::to_string(count_parameters(c.model)) + " parameters; " +
                        std::to_string(c.train.epochs) + " epochs x " + std::to_string(trainer->steps_per_epoch()) +
                        " steps; device " + c.train.device + ", " + std::to_string(threads) + " threads; run folder " + r.out +
                        (r.group ? "; " + std::to_string(r.group->world()) + " ranks x " +
                                       std::to_string(c.train.batch / r.group->world()) + " images per step"
                                 : std::string()));
        TrainCallbacks cb;
        if (lead) {
            cb.on_step = [&](const StepStats& s) { printer.step(s); };
            cb.on_epoch = [&](const EpochStats& e) {
                printer.epoch(e, c.train.epochs);
                if (r.group) {  // what synchronising the ranks cost this epoch (rank 0's view)
                    char buf[160];
                    const double steps = double(std::max<int64_t>(1, trainer->steps_per_epoch()));
                    std::snprintf(buf, sizeof buf, "  communication: %.1f ms per step (%lld collectives, %.1f s this epoch)",
                                  1e3 * r.group->comm_seconds() / steps, (long long)r.group->comm_calls(),
                                  r.group->comm_seconds());
                    printer.message(buf);
                    r.group->reset_comm_stats();
                }
            };
            cb.on_message = [&](const std::string& m) { printer.message(m); };
        }
        if (r.group) r.group->reset_comm_stats();
        trainer->run(cb);
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const auto& h = trainer->history();
        if (lead && !h.epochs.empty()) {
            const auto& e = h.epochs.back();
            char buf[200];
            std::snprintf(buf, sizeof buf, "finished: test top1 %.2f%% top5 %.2f%% loss %.4f; wall time %s",
                          e.test_top1, e.test_top5, e.test_loss, format_duration(wall).c_str());
            printer.message(buf);
        }
    });
}

}  // namespace vhmn::cli
