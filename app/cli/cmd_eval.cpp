#include <iostream>

#include <nlohmann/json.hpp>

#include "app/cli/commands.h"
#include "app/cli/progress.h"
#include "app/common/experiment.h"
#include "core/error.h"
#include "core/probes/framework.h"
#include "core/probes/memory_edit.h"
#include "core/runtime.h"

namespace vhmn::cli {

void add_eval(CLI::App& app) {
    struct Opts {
        std::string dir, data, device = "cpu", edit, tf32 = "on";
        std::vector<std::string> data_dirs;
        bool json = false, allow_other = false, first = false;
        int threads = 0;
        int64_t batch = 500, iterations = -1, limit = 0;
    };
    auto o = std::make_shared<Opts>();
    auto* cmd = app.add_subcommand("eval", "Evaluate a trained run on a dataset's test split");
    cmd->add_option("RUN", o->dir, "Run folder")->required();
    cmd->add_option("--data", o->data, "Dataset folder or 'builtin' (default: the run's own, found by fingerprint "
                                       "in --data-dir when it moved)");
    cmd->add_option("--data-dir", o->data_dirs, "Where to look for the run's dataset by fingerprint (datasets or "
                                                "folders of datasets; also $VHMN_DATA_DIR)");
    cmd->add_flag("--allow-other-data", o->allow_other,
                  "Evaluate even when the test split is not the run's (a loud warning instead of an error)");
    cmd->add_flag("--json", o->json, "Print one JSON object (top1, top5, loss)");
    cmd->add_option("--device", o->device, "cpu, cuda or cuda:N (emulated: a CPU stand-in for a GPU that refuses device mixing, for tests)");
    cmd->add_option("--threads", o->threads, "CPU threads")->check(CLI::Range(1, 4096));
    cmd->add_option("--tf32", o->tf32, "On CUDA GPUs that have it: TF32 matmuls and convolutions (default on)")
        ->check(CLI::IsMember({"on", "off"}));
    cmd->add_option("--limit", o->limit, "Only N test images, evenly spaced over the split (as the probes' --limit; 0: all)")
        ->check(CLI::Range(int64_t(0), int64_t(1) << 40));
    cmd->add_flag("--first", o->first, "With --limit: the first N test images, in order (the images a slice of the "
                                       "released CIFAR-10-C holds), not N evenly spaced");
    cmd->add_option("--batch", o->batch, "Evaluation batch")->check(CLI::Range(int64_t(1), int64_t(1) << 20));
    cmd->add_option("--edit", o->edit, "Apply the memory edit RUN/edits/NAME.json at inference (see `vhmn edit`)");
    cmd->add_option("--iterations", o->iterations, "Refinement iterations T at inference")->check(CLI::Range(0, 64));
    cmd->callback([o] {
        configure_threads(o->threads > 0 ? std::optional<int>(o->threads) : std::nullopt);
        const auto device = parse_device(o->device);
        set_tf32(parse_on_off("--tf32", o->tf32));
        app::OpenOptions opts;
        opts.allow_other_data = o->allow_other;
        opts.data_dirs = o->data_dirs;
        const app::OpenedRun run = app::open_run(o->dir, o->data, device, opts);
        print_warnings(run.warnings);
        Model model = run.model;
        if (o->iterations >= 0) {
            if (!model->has_memory()) memory_of(model, "--iterations");  // the clear refusal
            model->set_iterations(o->iterations);
        }
        int64_t masked = 0;
        if (!o->edit.empty()) {
            VHMN memory = memory_of(model, "--edit");
            masked = apply_edit(memory, load_edit(o->dir, o->edit));
        }
        const auto& cfg = run.config;
        const auto& dataset = run.dataset;
        if (o->first && o->limit <= 0) throw ConfigError("--first needs --limit N (the first N test images)");
        const auto test = o->first ? first_images(dataset.test, o->limit) : evenly_spaced(dataset.test, o->limit);
        const EvalResult r = evaluate(model, test, cfg.data.mean, cfg.data.std, o->batch, device);
        if (o->json) {
            nlohmann::json j;
            j["top1"] = r.top1, j["top5"] = r.top5, j["loss"] = r.loss, j["count"] = r.count;
            j["arch"] = model->config().arch;
            j["iterations"] = model->iterations();
            if (!o->edit.empty()) j["edit"] = {{"name", o->edit}, {"masked_slots", masked}};
            j["data"] = run.data_path;
            j["data_check"] = {{"recorded", run.data_check.recorded},
                               {"test", run.data_check.test.what},
                               {"train", run.data_check.train.what},
                               {"other_test_data", run.data_check.other_test}};
            std::cout << j.dump(2) << "\n";
        } else {
            const std::string t = model->has_memory() ? "T = " + std::to_string(model->iterations())
                                                      : arch_display_name(model->config().arch);
            const std::string e = o->edit.empty() ? "" : ", edit '" + o->edit + "': " + std::to_string(masked) + " slots masked";
            std::printf("%s on %s (%lld test images, %s%s): top1 %.2f%%  top5 %.2f%%  loss %.4f%s\n",
                        o->dir.c_str(), dataset.name.c_str(), (long long)r.count, t.c_str(), e.c_str(), r.top1, r.top5, r.loss,
                        run.data_check.other_test ? "  [OTHER DATA: not the run's test split]" : "");
        }
    });
}

}  // namespace vhmn::cli
