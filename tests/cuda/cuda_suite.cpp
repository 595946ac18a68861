// The CUDA suite: CPU and CUDA agree (forward, bank writes and provenance, gradients), bf16 autocast
// stays finite, checkpoints cross devices both ways, the training step makes no host
// synchronisation outside logging steps, and the CLI's eval and probes run on CUDA.
//
// Plain C++ (no Qt): it runs on GPU servers. Without a CUDA device it prints "no CUDA device" and
// exits 77, which ctest reports as skipped.
//
//   vhmn_cuda_tests [--device cpu] [--cli PATH] [--out DIR] [TEST ...]
//
// --device cpu runs every comparison against a second CPU copy instead of CUDA: a self-check of the
// suite's own logic where no GPU is (it proves nothing about CUDA, and says so).
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "app/experiment.h"
#include "core/models/vhmn.h"
#include "core/model_io.h"
#include "core/runtime.h"
#include "core/torch_compat.h"
#include "core/trainer.h"
#include "datasets/dataset.h"
#include "datasets/subsets.h"

using namespace vhmn;
namespace fs = std::filesystem;

namespace {

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

#define REQUIRE(cond, msg)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            std::ostringstream os_;                                                               \
            os_ << __FILE__ << ":" << __LINE__ << ": " << #cond << " — " << msg;                 \
            throw Failure(os_.str());                                                             \
        }                                                                                         \
    } while (0)

struct Options {
    torch::Device device{torch::kCUDA};
    std::string cli;
    fs::path out;
};
Options g;

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kCPU, torch::kDouble) - b.to(torch::kCPU, torch::kDouble)).abs().max().item<double>();
}

/// A two-block model on 16×16×3 images, small enough to run in seconds anywhere.
ModelConfig small_model() {
    ModelConfig c = preset("cpu-tiny");
    c.image_size = 16, c.dim = 32, c.latent = 32, c.depth = 2;
    c.local_slots = 60, c.global_slots = 30, c.tokens_per_image = 3, c.iterations = 2;
    return c;
}

data::Dataset procedural(int64_t per_class = 12) {
    data::ProceduralOptions po;
    po.train_per_class = per_class, po.test_per_class = 4, po.image_size = 16, po.seed = 5;
    return data::make_procedural(po);
}

RunConfig small_run(const data::Dataset& d, const std::string& device, int64_t epochs) {
    RunConfig c;
    c.preset = "cuda-suite";
    c.model = small_model();
    c.train.epochs = epochs, c.train.batch = 24, c.train.log_every = 4, c.train.seed = 11;
    c.train.warmup_epochs = 1, c.train.device = device, c.train.bf16 = false, c.train.grad_clip = 1.0;
    c.augment = data::AugmentConfig::recipe("paper");
    const auto st = data::channel_stats(d.train);
    c.data.mean = st.mean, c.data.std = st.std;
    c.data.class_names = d.class_names;
    c.data.train_size = d.train.size();
    return c;
}

std::unique_ptr<Trainer> make_trainer(const RunConfig& c, const data::Dataset& d, const std::string& dir) {
    auto aug = app::make_augment_fn(c.augment.get<data::AugmentConfig>(), c.model.classes);
    return std::make_unique<Trainer>(c, d.train, d.test, aug, dir);
}

fs::path scratch(const std::string& name) {
    auto p = g.out / name;
    fs::remove_all(p);
    fs::create_directories(p.parent_path());
    return p;
}

/// The same model twice, both in `train` mode or eval: on the CPU and on the device under test,
/// with banks filled by a few CPU training-mode passes (so retrieval reads real entries, some
/// classes' regions full). TF32 is off, so CUDA computes in full fp32.
std::pair<VHMN, VHMN> twin_models(bool train) {
    compat::set_cuda_tf32(false);
    torch::manual_seed(3);
    VHMN cpu(small_model());
    cpu->train();
    for (int64_t s = 0; s < 4; ++s) {
        auto x = torch::randn({24, 3, 16, 16});
        WriteContext ctx{torch::randint(10, {24}, torch::kInt64), torch::arange(24 * s, 24 * (s + 1)), s, 99};
        cpu->forward(x, &ctx);
        cpu->commit_memory();
    }
    const auto path = scratch("twin") / "model.pt";
    fs::create_directories(path.parent_path());
    save_model(cpu, path.string());
    VHMN dev = memory_of(load_model(path.string(), g.device), "test");
    for (auto* m : {&cpu, &dev}) train ? (*m)->train() : (*m)->eval();
    return {cpu, dev};
}

// ---------------------------------------------------------------------------------------------
void forward_matches() {
    auto [cpu, dev] = twin_models(false);
    torch::manual_seed(4);
    auto x = torch::randn({32, 3, 16, 16});
    torch::NoGradGuard no_grad;
    const double d = max_abs_diff(cpu->forward(x), dev->forward(x.to(g.device)));
    std::cout << "    max |Δlogit| = " << d << "\n";
    REQUIRE(d <= 1e-4, "max |Δlogit| " << d << " > 1e-4");
}

void bank_writes_and_provenance_match() {
    auto [cpu, dev] = twin_models(true);
    torch::manual_seed(6);
    auto x = torch::randn({40, 3, 16, 16});
    auto labels = torch::randint(10, {40}, torch::kInt64);
    auto index = torch::randperm(1000, torch::kInt64).slice(0, 0, 40);
    for (auto* m : {&cpu, &dev}) {
        const auto d = (*m)->patch_embed->weight.device();
        WriteContext ctx{labels.to(d), index.to(d), 7, 1234};
        (*m)->forward(x.to(d), &ctx);
        (*m)->commit_memory();
    }
    auto bc = cpu->named_buffers(), bd = dev->named_buffers();
    int64_t checked = 0;
    for (const auto& kv : bc) {
        const auto& other = *bd.find(kv.key());
        if (kv.value().is_floating_point()) {
            const double d = max_abs_diff(kv.value(), other);
            REQUIRE(d <= 1e-4, kv.key() << ": max |Δ| " << d);
        } else {
            REQUIRE(torch::equal(kv.value(), other.to(torch::kCPU)), kv.key() << " differs between CPU and " << g.device);
        }
        ++checked;
    }
    std::cout << "    " << checked << " bank buffers identical (memory within 1e-4)\n";
}

void step_one_gradients_match() {
    auto [cpu, dev] = twin_models(true);
    torch::manual_seed(8);
    auto x = torch::randn({24, 3, 16, 16});
    auto y = torch::randint(10, {24}, torch::kInt64);
    for (auto* m : {&cpu, &dev}) {
        const auto d = (*m)->patch_embed->weight.device();
        WriteContext ctx{y.to(d), torch::arange(24).to(d), 0, 5};
        auto loss = torch::nn::functional::cross_entropy((*m)->forward(x.to(d), &ctx), y.to(d));
        loss.backward();
        (*m)->discard_staged_memory();
    }
    auto pc = cpu->named_parameters(), pd = dev->named_parameters();
    double worst = 0;
    for (const auto& kv : pc) {
        auto a = kv.value().grad(), b = pd.find(kv.key())->grad().to(torch::kCPU);
        REQUIRE(a.defined() && b.defined(), kv.key() << " has no gradient");
        REQUIRE(torch::allclose(a, b, 1e-3, 1e-5), kv.key() << ": max |Δgrad| " << max_abs_diff(a, b));
        worst = std::max(worst, max_abs_diff(a, b));
    }
    std::cout << "    " << pc.size() << " parameter gradients equal to rtol 1e-3 (max |Δ| " << worst << ")\n";
}

void bf16_autocast_stays_finite() {
    auto d = procedural();
    auto c = small_run(d, g.device.str(), 1);
    c.train.bf16 = true;
    auto t = make_trainer(c, d, "");
    t->run({});
    for (const auto& s : t->history().steps) REQUIRE(std::isfinite(s.loss), "loss " << s.loss << " at step " << s.step);
    const auto& e = t->history().epochs.back();
    REQUIRE(std::isfinite(e.test_loss), "test loss " << e.test_loss);
    std::cout << "    bf16 autocast (on CUDA only): train loss " << e.train_loss << ", test top-1 " << e.test_top1 << " %\n";
}

void checkpoints_cross_devices() {
    auto d = procedural();
    const std::string other = "cpu";
    for (const auto& [first, second] : {std::pair{g.device.str(), other}, std::pair{other, g.device.str()}}) {
        const auto dir = scratch("cross-" + first + "-" + second).string();
        auto a = make_trainer(small_run(d, first, 1), d, dir);
        a->run({});
        auto c2 = small_run(d, second, 2);
        auto b = make_trainer(c2, d, dir);
        b->resume();
        REQUIRE(b->epochs_done() == 1, "resume on " << second << " read epochs_done " << b->epochs_done());
        // The weights read on the second device are the first device's, bit for bit.
        auto pa = a->model()->named_parameters(), pb = b->model()->named_parameters();
        for (const auto& kv : pa)
            REQUIRE(torch::equal(kv.value().to(torch::kCPU), pb.find(kv.key())->to(torch::kCPU)),
                  kv.key() << " changed between " << first << " and " << second);
        b->run({});
        REQUIRE(b->epochs_done() == 2 && std::isfinite(b->history().epochs.back().test_loss),
              "second epoch on " << second << " did not finish cleanly");
        std::cout << "    written on " << first << ", resumed on " << second << ": epoch 2 top-1 "
                  << b->history().epochs.back().test_top1 << " %\n";
    }
}

void training_step_makes_no_host_sync() {
    auto d = procedural(24);  // 240 images, batch 24: 10 steps, logging every 4 (and the last)
    auto c = small_run(d, g.device.str(), 1);
    c.train.bf16 = true;
    // Count: warn mode, every warning of the sync debug mode counted.
    auto t = make_trainer(c, d, "");
    t->set_sync_debug(1);
    int64_t syncs = 0;
    {
        compat::WarningCounter counter("synchroniz");
        t->run({});
        syncs = counter.count();
    }
    const int64_t steps = t->history().epochs.back().step, logs = int64_t(t->history().steps.size());
    std::cout << "    " << syncs << " host synchronisations in " << steps - logs
              << " steps that are not logging steps (" << logs << " logging steps not counted; the trainer's own"
              << " reads: " << t->host_reads() << ", one per logging step)\n";
    REQUIRE(syncs == 0, syncs << " host synchronisations outside logging steps");
    REQUIRE(t->host_reads() == logs, "trainer read " << t->host_reads() << " times for " << logs << " logging steps");
    // And the strict mode: any synchronisation would throw.
    auto strict = make_trainer(c, d, "");
    strict->set_sync_debug(2);
    strict->run({});
}

int run_cli(const std::vector<std::string>& args, const fs::path& log, const std::string& env = "") {
    std::string cmd = env + " '" + g.cli + "'";
    for (const auto& a : args) cmd += " '" + a + "'";
    cmd += " > '" + log.string() + "' 2>&1";
    const int rc = std::system(cmd.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

void cli_eval_and_probes_run_on_cuda() {
    REQUIRE(fs::exists(g.cli), "no vhmn binary at " << g.cli << " (pass --cli PATH)");
    const auto dir = scratch("cli-run");
    const auto log = g.out / "cli.log";
    const std::string dev = g.device.str();
    REQUIRE(run_cli({"train", "--data", "builtin-small", "--preset", "cpu-tiny", "--epochs", "1", "--batch", "64",
                   "--device", dev, "--out", dir.string()}, log) == 0,
          "vhmn train --device " << dev << ": " << slurp(log));
    REQUIRE(run_cli({"eval", dir.string(), "--data", "builtin-small", "--device", dev, "--json"}, log) == 0,
          "vhmn eval --device " << dev << ": " << slurp(log));
    REQUIRE(slurp(log).find("\"top1\"") != std::string::npos, "eval printed no top1: " << slurp(log));
    // A desktop without CUDA opens what a GPU server wrote: the same run, GPUs hidden.
    REQUIRE(run_cli({"eval", dir.string(), "--data", "builtin-small", "--json"}, log, "CUDA_VISIBLE_DEVICES=") == 0,
            "vhmn eval with no visible GPU of a run trained on " << dev << ": " << slurp(log));
    for (const char* probe : {"hits", "weights", "robustness", "stability", "image"}) {
        REQUIRE(run_cli({"probe", probe, dir.string(), "--data", "builtin-small", "--device", dev, "--limit", "64"}, log) == 0,
              "vhmn probe " << probe << " --device " << dev << ": " << slurp(log));
    }
    std::cout << "    vhmn train, eval and probes hits, weights, robustness, stability and image ran with --device " << dev
              << "; the run evaluates with no GPU visible\n";
}

struct Test {
    const char* name;
    std::function<void()> run;
};

std::string self_dir() {
    std::vector<char> buf(4096);
    const ssize_t n = readlink("/proc/self/exe", buf.data(), buf.size() - 1);
    return n > 0 ? fs::path(std::string(buf.data(), size_t(n))).parent_path().string() : ".";
}

}  // namespace

int main(int argc, char** argv) {
    configure_allocator();
    torch::set_num_threads(2);
    g.cli = (fs::path(self_dir()) / ".." / ".." / "app" / "vhmn").lexically_normal().string();
    if (const char* c = std::getenv("VHMN_CLI")) g.cli = c;
    g.out = fs::temp_directory_path() / ("vhmn-cuda-suite-" + std::to_string(getpid()));
    std::vector<std::string> only;
    bool self_check = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--device" && i + 1 < argc && std::string(argv[i + 1]) == "cpu") self_check = true, ++i;
        else if (a == "--cli" && i + 1 < argc) g.cli = argv[++i];
        else if (a == "--out" && i + 1 < argc) g.out = argv[++i];
        else if (a == "--help") {
            std::cout << "usage: vhmn_cuda_tests [--device cpu] [--cli PATH] [--out DIR] [TEST ...]\n";
            return 0;
        } else only.push_back(a);
    }
    const std::vector<Test> tests = {
        {"forward_matches", forward_matches},
        {"bank_writes_and_provenance_match", bank_writes_and_provenance_match},
        {"step_one_gradients_match", step_one_gradients_match},
        {"bf16_autocast_stays_finite", bf16_autocast_stays_finite},
        {"checkpoints_cross_devices", checkpoints_cross_devices},
        {"training_step_makes_no_host_sync", training_step_makes_no_host_sync},
        {"cli_eval_and_probes_run_on_cuda", cli_eval_and_probes_run_on_cuda},
    };
    if (self_check) {
        g.device = torch::kCPU;
        std::cout << "SELF-CHECK: comparing CPU with CPU (--device cpu); this says nothing about CUDA\n";
    } else if (!torch::cuda::is_available()) {
        std::cout << "no CUDA device: skipping the CUDA suite (" << tests.size() << " tests); libtorch "
                  << TORCH_VERSION << (compat::kBuiltWithCuda ? " with CUDA" : " without CUDA") << "\n";
        return 77;
    } else {
        std::cout << "CUDA device: " << torch::cuda::device_count() << " visible; libtorch " << TORCH_VERSION << "\n";
    }
    fs::create_directories(g.out);
    int failed = 0, ran = 0;
    for (const auto& t : tests) {
        if (!only.empty() && std::find(only.begin(), only.end(), t.name) == only.end()) continue;
        ++ran;
        std::cout << "RUN  " << t.name << std::endl;
        try {
            t.run();
            std::cout << "PASS " << t.name << std::endl;
        } catch (const std::exception& e) {
            ++failed;
            std::cout << "FAIL " << t.name << ": " << e.what() << std::endl;
        }
    }
    std::cout << (failed ? "FAILED: " : "OK: ") << ran - failed << "/" << ran << " passed on " << g.device << "\n";
    std::error_code ec;
    if (!failed) fs::remove_all(g.out, ec);
    return failed ? 1 : 0;
}
