// The CUDA suite: CPU and CUDA agree (forward, bank writes and provenance, gradients, the
// augmentation, evaluation of a CUDA-trained run), bf16 autocast engages and stays within a stated
// bound of fp32, checkpoints cross devices both ways, an epoch of more than 1,000 images and every
// probe run on CUDA and agree with the CPU, the training step makes no host synchronisation
// outside logging steps, and the CLI's numbers on CUDA are the CPU's. TF32 is restored after each case.
//
// Plain C++ (no Qt): it runs on GPU servers. Without a CUDA device it prints "no CUDA device" and
// exits 77, which ctest reports as skipped.
//
//   vhmn_cuda_tests [--device cpu|emulated] [--cli PATH] [--out DIR] [TEST ...]
//
// --device cpu|emulated runs every comparison against a second CPU copy or the emulated device
// (core/emulated_device.h: the GPU's code path, CPU arithmetic) instead of CUDA: a self-check of the
// suite's own logic where no GPU is (it proves nothing about CUDA numerics, and says so). The bf16
// case then runs with the CPU's autocast.
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

#include "app/common/experiment.h"
#include "core/emulated_device.h"
#include "core/models/vhmn.h"
#include "core/io/model_io.h"
#include "core/runtime.h"
#include "core/torch_compat.h"
#include "core/train/trainer.h"
#include "datasets/readers/procedural.h"
#include "datasets/subsets.h"
#include "tests/device_parity.h"

using namespace vhmn;
namespace fs = std::filesystem;

namespace {

struct Failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};
/// A case that cannot run here (said why); not a failure.
struct Skipped : std::runtime_error {
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
    std::string device_name = "cuda";  ///< as the CLI and configs spell it
    bool exact = false;                ///< the device computes with the CPU's arithmetic (self-check)
    std::string cli;
    fs::path out;
};
Options g;

/// Whether the device under test can train (the emulated device cannot in a build with CUDA:
/// emulated_backward_works()).
bool device_trains() { return !is_emulated(g.device) || emulated_backward_works(); }

/// Cases that train skip where the device under test cannot.
void require_training() {
    if (!device_trains()) throw Skipped("the emulated device cannot train in a build with CUDA (see core/emulated_device.h)");
}

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
    require_training();
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

/// The bound on max |α_bf16 − α_fp32| over every retrieval weight of the small trained model:
/// bf16 rounds the queries (8 significant bits) before the fp32 similarities, which moves a logit
/// up to √L ≈ 5.7 by up to ~2⁻⁸ of it; α moves by at most a few hundredths.
constexpr double kAlphaBound = 0.05;
/// Top-1 agreement between bf16 autocast and fp32 on the test images.
constexpr double kTop1Agreement = 0.95;

void bf16_autocast_engages_and_agrees_with_fp32() {
    // CUDA's autocast on a GPU; the self-check uses the CPU's (emulated tensors have none).
    const torch::Device d = g.device.is_cuda() ? g.device : torch::Device(torch::kCPU);
    auto m = test::parity_models(d, scratch("bf16").string());
    VHMN model = memory_of(m.dev, "the bf16 case");
    auto x = normalize_images(m.data.test.images.to(torch::kFloat).div(255.0).to(d), m.cfg.data.mean, m.cfg.data.std);
    const ForwardTrace f32 = model->forward_trace(x, {});
    ForwardTrace b16;
    {
        compat::AutocastBf16 autocast(d);
        b16 = model->forward_trace(x, {});
    }
    const auto q = b16.blocks[0].local.query.scalar_type();
    REQUIRE(q == torch::kBFloat16, "autocast did not engage on " << d << ": the first local query is " << q);
    REQUIRE(f32.blocks[0].local.query.scalar_type() == torch::kFloat, "the fp32 pass is not fp32");
    double worst = 0;
    for (size_t b = 0; b < f32.blocks.size(); ++b)
        for (auto br : {&BlockTrace::local, &BlockTrace::global}) {
            const auto &a32 = (f32.blocks[b].*br).alpha.back(), &a16 = (b16.blocks[b].*br).alpha.back();
            REQUIRE(a16.scalar_type() == torch::kFloat, "retrieval weights are " << a16.scalar_type() << " under autocast, not fp32");
            worst = std::max(worst, max_abs_diff(a32, a16));
        }
    const double agree = f32.logits.argmax(1).eq(b16.logits.argmax(1)).to(torch::kDouble).mean().item<double>();
    std::cout << "    bf16 autocast on " << d << ": max |α_bf16 − α_fp32| = " << worst << " (bound " << kAlphaBound
              << "), top-1 agreement " << 100.0 * agree << " % of " << f32.logits.size(0) << " images (bound "
              << 100.0 * kTop1Agreement << " %)\n";
    REQUIRE(worst <= kAlphaBound, "max |Δα| " << worst << " > " << kAlphaBound);
    REQUIRE(agree >= kTop1Agreement, "top-1 agreement " << agree << " < " << kTop1Agreement);
    if (!g.device.is_cuda()) return;
    // And a training run under bf16 autocast (the trainer's own, CUDA only) stays finite.
    auto dd = procedural();
    auto c = small_run(dd, g.device_name, 1);
    c.train.bf16 = true;
    auto t = make_trainer(c, dd, "");
    t->run({});
    for (const auto& s : t->history().steps) REQUIRE(std::isfinite(s.loss), "loss " << s.loss << " at step " << s.step);
    REQUIRE(std::isfinite(t->history().epochs.back().test_loss), "bf16 training: test loss not finite");
}

void checkpoints_cross_devices() {
    require_training();
    auto d = procedural();
    const std::string other = "cpu";
    for (const auto& [first, second] : {std::pair{g.device_name, other}, std::pair{other, g.device_name}}) {
        const auto dir = scratch("cross-" + first + "-" + second).string();
        auto a = make_trainer(small_run(d, first, 1), d, dir);
        a->run({});
        if (first == g.device_name) {
            // The run the device wrote, evaluated on the CPU and on the device (TF32 off): the same.
            compat::set_cuda_tf32(false);
            const auto cfg = a->config();
            const auto model_file = (fs::path(dir) / "model.pt").string();
            Model on_cpu = load_model(model_file, torch::kCPU), on_dev = load_model(model_file, g.device);
            const auto ec = evaluate(on_cpu, d.test, cfg.data.mean, cfg.data.std, 32, torch::kCPU);
            const auto ed = evaluate(on_dev, d.test, cfg.data.mean, cfg.data.std, 32, g.device);
            on_cpu->eval(), on_dev->eval();
            torch::NoGradGuard no_grad;
            auto x = normalize_images(d.test.images.to(torch::kFloat).div(255.0), cfg.data.mean, cfg.data.std);
            const double dl = max_abs_diff(on_cpu->forward(x), on_dev->forward(x.to(g.device)));
            std::cout << "    trained on " << first << ": top-1 " << ed.top1 << " % there, " << ec.top1
                      << " % on the CPU; max |Δlogit| " << dl << " (bound 1e-3)\n";
            REQUIRE(std::abs(ed.top1 - ec.top1) <= 0.1, "top-1 " << ed.top1 << " on " << first << " vs " << ec.top1 << " on the CPU");
            REQUIRE(dl <= 1e-3, "max |Δlogit| " << dl << " > 1e-3");
        }
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
    require_training();
    auto d = procedural(24);  // 240 images, batch 24: 10 steps, logging every 4 (and the last)
    auto c = small_run(d, g.device_name, 1);
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

/// The paper's augmentation of one batch with one seed, on the CPU and on the device.
void augmentation_is_the_same_on_both() {
    auto d = procedural(20);
    const int64_t n = 200;
    auto x = d.train.images.slice(0, 0, n).to(torch::kFloat).div(255.0);
    auto y = d.train.labels.slice(0, 0, n), idx = d.train.index.slice(0, 0, n);
    auto aug = app::make_augment_fn(data::AugmentConfig::recipe("paper"), 10);
    auto g1 = at::make_generator<at::CPUGeneratorImpl>(99), g2 = at::make_generator<at::CPUGeneratorImpl>(99);
    const auto bc = aug(x, y, idx, g1);
    const auto bd = aug(x.to(g.device), y.to(g.device), idx.to(g.device), g2);
    REQUIRE(bd.images.device() == g.device, "the augmented batch left " << g.device);
    REQUIRE(torch::equal(bc.write_labels.to(torch::kCPU), bd.write_labels.to(torch::kCPU)), "write labels differ");
    REQUIRE(torch::equal(bc.write_indices.to(torch::kCPU), bd.write_indices.to(torch::kCPU)), "write indices differ");
    const double dt = max_abs_diff(bc.targets, bd.targets);
    // Pixels: exact with the CPU's arithmetic; on a GPU, nearest-neighbour resampling may pick the
    // neighbouring pixel where a coordinate lands on a pixel edge, and blends may round differently.
    const auto diff = (bc.images - bd.images.to(torch::kCPU)).abs();
    const double off = diff.gt(1e-5).to(torch::kDouble).mean().item<double>(), worst = diff.max().item<double>();
    std::cout << "    " << n << " images: " << 100.0 * off << " % of pixels differ by more than 1e-5 (max "
              << worst << "); targets max |Δ| " << dt << "\n";
    REQUIRE(dt <= 1e-6, "targets differ by " << dt);
    if (g.exact) REQUIRE(worst == 0.0, "images differ (max " << worst << ") with the CPU's arithmetic");
    REQUIRE(off <= 0.005, 100.0 * off << " % of pixels differ (bound 0.5 %)");
    // Op by op, with the largest magnitudes: the bound per op.
    for (int64_t op = 1; op < data::kAugOpCount; ++op) {
        const auto o = static_cast<data::AugOp>(op);
        const double m = data::aug_op_magnitude(o, 9, 10, 16, 16);
        auto mags = torch::full({n}, m, torch::kDouble);
        const auto a = data::apply_aug_op(x, o, mags), b = data::apply_aug_op(x.to(g.device), o, mags);
        const auto dd = (a - b.to(torch::kCPU)).abs();
        const double frac = dd.gt(1e-5).to(torch::kDouble).mean().item<double>();
        REQUIRE(frac <= 0.005, data::aug_op_name(o) << ": " << 100.0 * frac << " % of pixels differ (bound 0.5 %)");
    }
}

/// More than 1,000 training images, one epoch with memory statistics, and every probe on the device,
/// each against the CPU (tests/device_parity.h).
void epoch_of_1050_images_and_every_probe() {
    auto expect = [](const char* what, const test::Parity& p) {
        for (const auto& n : p.notes) std::cout << "    " << what << ": " << n << "\n";
        REQUIRE(p.failures.empty(), what << ": " << p.report());
    };
    if (device_trains())
        expect("training", test::training_matches(g.device, g.device_name, scratch("epoch").string(), g.exact));
    const auto m = test::parity_models(g.device, scratch("probes").string());
    expect("evaluation", test::evaluation_matches(m, g.exact));
    expect("probes (weights, hits, robustness, stability, slot usage, ablation, leave-class-out)",
           test::memory_probes_match(m, g.exact));
    expect("inspector (image, evidence, forget, map, trajectory)", test::inspector_matches(m, g.exact));
    expect("corruptions", test::corruptions_match(m, g.exact));
    std::cout << "    1,050 images trained on " << g.device << "; evaluation, every probe and the inspector agree with the CPU\n";
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

/// The number after "key": in a JSON text (NaN when absent).
double json_number(const std::string& text, const std::string& key) {
    const auto at = text.find("\"" + key + "\"");
    if (at == std::string::npos) return std::nan("");
    const auto colon = text.find(':', at);
    return colon == std::string::npos ? std::nan("") : std::strtod(text.c_str() + colon + 1, nullptr);
}

void cli_eval_and_probes_run_on_cuda() {
    require_training();
    REQUIRE(fs::exists(g.cli), "no vhmn binary at " << g.cli << " (pass --cli PATH)");
    const auto dir = scratch("cli-run");
    const auto log = g.out / "cli.log";
    const std::string dev = g.device_name;
    REQUIRE(run_cli({"train", "--data", "builtin-small", "--preset", "cpu-tiny", "--epochs", "1", "--batch", "64",
                   "--device", dev, "--out", dir.string()}, log) == 0,
          "vhmn train --device " << dev << ": " << slurp(log));
    REQUIRE(run_cli({"eval", dir.string(), "--data", "builtin-small", "--device", dev, "--json"}, log) == 0,
          "vhmn eval --device " << dev << ": " << slurp(log));
    const double top1_dev = json_number(slurp(log), "top1");
    // A desktop without CUDA opens what a GPU server wrote: the same run, GPUs hidden; the same numbers.
    REQUIRE(run_cli({"eval", dir.string(), "--data", "builtin-small", "--device", "cpu", "--json"}, log, "CUDA_VISIBLE_DEVICES=") == 0,
            "vhmn eval with no visible GPU of a run trained on " << dev << ": " << slurp(log));
    const double top1_cpu = json_number(slurp(log), "top1");
    std::cout << "    vhmn eval: top-1 " << top1_dev << " % with --device " << dev << ", " << top1_cpu << " % on the CPU\n";
    REQUIRE(std::abs(top1_dev - top1_cpu) <= 0.1, "vhmn eval top-1 " << top1_dev << " on " << dev << " vs " << top1_cpu << " on the CPU");
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
    std::string self_check;  // "", "cpu" or "emulated"
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--device" && i + 1 < argc) {
            self_check = argv[++i];
            if (self_check != "cpu" && self_check != "emulated") {
                std::cerr << "--device: a self-check runs on cpu or emulated, not '" << self_check << "'\n";
                return 2;
            }
        }
        else if (a == "--cli" && i + 1 < argc) g.cli = argv[++i];
        else if (a == "--out" && i + 1 < argc) g.out = argv[++i];
        else if (a == "--help") {
            std::cout << "usage: vhmn_cuda_tests [--device cpu|emulated] [--cli PATH] [--out DIR] [TEST ...]\n";
            return 0;
        } else only.push_back(a);
    }
    const std::vector<Test> tests = {
        {"forward_matches", forward_matches},
        {"bank_writes_and_provenance_match", bank_writes_and_provenance_match},
        {"step_one_gradients_match", step_one_gradients_match},
        {"bf16_autocast_engages_and_agrees_with_fp32", bf16_autocast_engages_and_agrees_with_fp32},
        {"augmentation_is_the_same_on_both", augmentation_is_the_same_on_both},
        {"epoch_of_1050_images_and_every_probe", epoch_of_1050_images_and_every_probe},
        {"checkpoints_cross_devices", checkpoints_cross_devices},
        {"training_step_makes_no_host_sync", training_step_makes_no_host_sync},
        {"cli_eval_and_probes_run_on_cuda", cli_eval_and_probes_run_on_cuda},
    };
    if (!self_check.empty()) {
        g.device = self_check == "cpu" ? torch::Device(torch::kCPU) : emulated_device();
        g.device_name = self_check, g.exact = true;
        std::cout << "SELF-CHECK: comparing the CPU with " << (self_check == "cpu" ? "the CPU" : "the emulated device")
                  << " (--device " << self_check << "); this says nothing about CUDA numerics\n";
    } else if (!torch::cuda::is_available()) {
        std::cout << "no CUDA device: skipping the CUDA suite (" << tests.size() << " tests); libtorch "
                  << TORCH_VERSION << (compat::kBuiltWithCuda ? " with CUDA" : " without CUDA") << "\n";
        return 77;
    } else {
        std::cout << "CUDA device: " << torch::cuda::device_count() << " visible; libtorch " << TORCH_VERSION << "\n";
    }
    fs::create_directories(g.out);
    int failed = 0, ran = 0, skipped = 0;
    for (const auto& t : tests) {
        if (!only.empty() && std::find(only.begin(), only.end(), t.name) == only.end()) continue;
        ++ran;
        std::cout << "RUN  " << t.name << std::endl;
        // TF32 as it was before the case, whatever the case did (the next one starts from it).
        auto& ctx = at::globalContext();
        const bool tf32_blas = ctx.allowTF32CuBLAS(), tf32_dnn = ctx.allowTF32CuDNN();
        try {
            t.run();
            std::cout << "PASS " << t.name << std::endl;
        } catch (const Skipped& e) {
            ++skipped;
            std::cout << "SKIP " << t.name << ": " << e.what() << std::endl;
        } catch (const std::exception& e) {
            ++failed;
            std::cout << "FAIL " << t.name << ": " << e.what() << std::endl;
        }
        ctx.setAllowTF32CuBLAS(tf32_blas), ctx.setAllowTF32CuDNN(tf32_dnn);
    }
    std::cout << (failed ? "FAILED: " : "OK: ") << ran - failed - skipped << "/" << ran << " passed on " << g.device;
    if (skipped) std::cout << " (" << skipped << " skipped)";
    std::cout << "\n";
    std::error_code ec;
    if (!failed) fs::remove_all(g.out, ec);
    return failed ? 1 : 0;
}
