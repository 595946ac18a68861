// The baselines (issue 12): ViT, MLP-Mixer and PoolFormer next to V-HMN — shapes, hand-counted
// parameters, a training step, save/load, known answers for their token mixers, configs and the CLI.
#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include "core/io/atomic_file.h"
#include "core/models/factory.h"
#include "core/error.h"
#include "core/io/model_io.h"
#include "core/models/mixer.h"
#include "core/models/poolformer.h"
#include "core/models/vhmn.h"
#include "core/models/vit.h"
#include "core/models/stats.h"
#include "tests/cli_runner.h"
#include "tests/helpers.h"
#include "tests/suite.h"

using namespace vhmn;

namespace {

/// A hand-countable baseline: 8×8×1 images, 4×4 patches (N = 4 tokens), D = 8, one block, MLP
/// ratio 2, 3 classes.
ModelConfig small(const std::string& arch) {
    ModelConfig c;
    c.arch = arch;
    c.image_size = 8, c.channels = 1, c.classes = 3, c.patch = 4;
    c.dim = 8, c.depth = 1, c.mlp_ratio = 2;
    c.heads = 2, c.token_hidden = 5, c.pool_size = 3;
    return c;
}

int64_t built_parameters(Model& m) {
    int64_t n = 0;
    for (const auto& p : m->parameters()) n += p.numel();
    return n;
}

double loss_of(Model& m, const torch::Tensor& x, const torch::Tensor& y) {
    return torch::nn::functional::cross_entropy(m->forward(x), y).item<double>();
}

QStringList baseline_names() { return {"vit", "mixer", "poolformer"}; }

}  // namespace

class TestBaselines : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void forwardShape_data() {
        QTest::addColumn<QString>("arch");
        QTest::addColumn<int>("size");
        QTest::addColumn<int>("channels");
        for (const auto& a : baseline_names()) {
            QTest::newRow(qPrintable(a + " 32x32x3")) << a << 32 << 3;
            QTest::newRow(qPrintable(a + " 28x28x1")) << a << 28 << 1;
        }
    }
    void forwardShape() {
        QFETCH(QString, arch);
        QFETCH(int, size);
        QFETCH(int, channels);
        ModelConfig c = preset("cpu-tiny", arch.toStdString());
        c.image_size = size, c.channels = channels, c.classes = 7, c.depth = 2;
        Model m = make_model(c);
        QCOMPARE(m->config().arch, arch.toStdString());
        QVERIFY(!m->has_memory());
        QVERIFY(m->memory_model() == nullptr);
        auto logits = m->forward(torch::randn({5, channels, size, size}));
        QCOMPARE(logits.sizes().vec(), (std::vector<int64_t>{5, 7}));
        QVERIFY(torch::isfinite(logits).all().item<bool>());
        // embed + forward_embedded is the same computation as forward (the robustness probe uses it).
        m->eval();
        auto x = torch::randn({2, channels, size, size});
        QVERIFY(test::all_close(m->forward(x), m->forward_embedded(m->embed(x))));
        QVERIFY_EXCEPTION_THROWN(m->forward(torch::randn({2, channels, size + 4, size + 4})), std::invalid_argument);
    }

    /// Parameter counts by hand for `small()` (D = 8, N = 4, one block, r = 2, 3 classes):
    /// patch embedding 1·4·4·8 + 8 = 136; head = LayerNorm 16 + pooling score 8 + Linear 8·3 + 3 = 51.
    void parameterCountByHand_data() {
        QTest::addColumn<QString>("arch");
        QTest::addColumn<qlonglong>("expected");
        const qlonglong stem = 136, head = 51, norms = 2 * 16, mlp = (8 * 16 + 16) + (16 * 8 + 8);  // mlp 280
        // ViT: positions 4·8 = 32; qkv 8·24 + 24 = 216; proj 8·8 + 8 = 72.
        QTest::newRow("vit") << "vit" << (stem + 32 + norms + 216 + 72 + mlp + head);  // 819
        // Mixer: token MLP over N = 4 tokens with width 5: (4·5 + 5) + (5·4 + 4) = 49.
        QTest::newRow("mixer") << "mixer" << (stem + norms + 49 + mlp + head);  // 548
        // PoolFormer: pooling has no parameters.
        QTest::newRow("poolformer") << "poolformer" << (stem + norms + mlp + head);  // 499
    }
    void parameterCountByHand() {
        QFETCH(QString, arch);
        QFETCH(qlonglong, expected);
        const ModelConfig c = small(arch.toStdString());
        Model m = make_model(c);
        QCOMPARE(built_parameters(m), int64_t(expected));
        QCOMPARE(count_parameters(c), int64_t(expected));
        QCOMPARE(bank_bytes(c), int64_t(0));
        QVERIFY(forward_flops(c) > 0);
    }

    void presetSizes() {
        // Table 4 of the paper at 32×32: ViT 7.16 M, MLP-Mixer 8.71 M, MetaFormer 6.99 M (within 15 %).
        const std::map<std::string, double> table4 = {{"vit", 7.16e6}, {"mixer", 8.71e6}, {"poolformer", 6.99e6}};
        for (const auto& [arch, paper] : table4) {
            ModelConfig c = preset("paper-small", arch);
            Model m = make_model(c);
            const double n = double(built_parameters(m));
            QCOMPARE(int64_t(n), count_parameters(c));
            QVERIFY2(std::abs(n - paper) / paper < 0.15, (arch + ": " + std::to_string(n)).c_str());
        }
        // CPU presets: about the V-HMN preset's size (within 10 %).
        for (const std::string p : {"cpu-tiny", "cpu-small"}) {
            const double ref = double(count_parameters(preset(p)));
            for (const auto& a : baseline_names()) {
                const double n = double(count_parameters(preset(p, a.toStdString())));
                QVERIFY2(std::abs(n - ref) / ref < 0.10, qPrintable(a + " " + QString::fromStdString(p)));
            }
        }
    }

    void oneStepLowersLoss_data() {
        QTest::addColumn<QString>("arch");
        for (const auto& a : baseline_names()) QTest::newRow(qPrintable(a)) << a;
    }
    void oneStepLowersLoss() {
        QFETCH(QString, arch);
        torch::manual_seed(3);
        Model m = make_model(small(arch.toStdString()));
        auto x = torch::randn({8, 1, 8, 8});
        auto y = torch::arange(8, torch::kInt64).remainder(3);
        torch::optim::Adam opt(m->parameters(), torch::optim::AdamOptions(1e-2));
        m->train();
        const double before = loss_of(m, x, y);
        opt.zero_grad();
        torch::nn::functional::cross_entropy(m->forward(x), y).backward();
        // Every parameter takes part in the loss.
        for (const auto& p : m->named_parameters())
            QVERIFY2(p.value().grad().defined() && p.value().grad().abs().sum().item<double>() > 0, p.key().c_str());
        opt.step();
        const double after = loss_of(m, x, y);
        QVERIFY2(after < before, (std::to_string(before) + " -> " + std::to_string(after)).c_str());
    }

    void saveLoadRoundTrip_data() {
        QTest::addColumn<QString>("arch");
        for (const auto& a : baseline_names()) QTest::newRow(qPrintable(a)) << a;
    }
    void saveLoadRoundTrip() {
        QFETCH(QString, arch);
        QTemporaryDir dir;
        const std::string path = dir.filePath("model.pt").toStdString();
        Model m = make_model(small(arch.toStdString()));
        m->eval();
        save_model(m, path);
        QCOMPARE(read_model_config(path).arch, arch.toStdString());
        Model loaded = load_model(path);
        loaded->eval();
        QCOMPARE(loaded->config(), m->config());
        auto x = torch::randn({3, 1, 8, 8});
        QVERIFY(test::all_close(m->forward(x), loaded->forward(x)));
        // Loading into another architecture is one clear error naming both.
        Model other = make_model(test::tiny_config());
        try {
            load_model_into(other, path);
            QFAIL("loaded a baseline into a V-HMN");
        } catch (const FileError& e) {
            const std::string msg = e.what();
            QVERIFY2(msg.find("arch '" + arch.toStdString() + "'") != std::string::npos, e.what());
            QVERIFY2(msg.find("arch 'vhmn'") != std::string::npos, e.what());
        }
    }

    /// softmax(q kᵀ/√2) v for two tokens of dimension 2, by hand: q = k = I, v = [[1, 2], [3, 4]].
    /// The scores are diag(1/√2); row 0's weights are e^{1/√2}/(e^{1/√2}+1) = 0.66976155 and 0.33023845.
    void selfAttentionKnownAnswer() {
        auto q = torch::eye(2), k = torch::eye(2);
        auto v = torch::tensor({{1.0f, 2.0f}, {3.0f, 4.0f}});
        const double a = std::exp(1 / std::sqrt(2.0)) / (std::exp(1 / std::sqrt(2.0)) + 1), b = 1 - a;
        QVERIFY(std::abs(a - 0.66976155) < 1e-7);
        auto expected = torch::tensor({{float(a * 1 + b * 3), float(a * 2 + b * 4)},
                                       {float(b * 1 + a * 3), float(b * 2 + a * 4)}});
        auto out = self_attention(q, k, v);
        VHMN_VERIFY_CLOSE(out, expected, 1e-6);
        QVERIFY(std::abs(out[0][0].item<double>() - 1.66047690) < 1e-6);
        // Batched over leading dimensions the same way.
        auto batched = self_attention(q.expand({3, 2, 2, 2}), k.expand({3, 2, 2, 2}), v.expand({3, 2, 2, 2}));
        QVERIFY(test::all_close(batched[2][1], expected, 1e-6));
    }

    /// Multi-head attention splits D into heads: with qkv = [I; I; I] (no bias) and proj = I, each
    /// head attends with its own D/h dimensions.
    void multiHeadSplitsChannels() {
        MultiHeadAttention attn(4, 2);
        torch::NoGradGuard ng;
        attn->qkv->weight.copy_(torch::cat({torch::eye(4), torch::eye(4), torch::eye(4)}, 0));
        attn->qkv->bias.zero_();
        attn->proj->weight.copy_(torch::eye(4));
        attn->proj->bias.zero_();
        auto x = torch::randn({1, 3, 4});
        auto out = attn->forward(x);
        auto h0 = x.slice(2, 0, 2), h1 = x.slice(2, 2, 4);
        auto expected = torch::cat({self_attention(h0, h0, h0), self_attention(h1, h1, h1)}, 2);
        QVERIFY(test::all_close(out, expected, 1e-6));
    }

    /// PoolFormer's mixer on a 2×2 grid with a 3×3 window (padding not counted): every window
    /// covers all four tokens, so pool(y) − y = mean − y: [1, 2, 3, 4] → [1.5, 0.5, −0.5, −1.5].
    void poolMixerKnownAnswer() {
        auto y = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f}).reshape({1, 4, 1});
        auto out = pool_mixer(y, 2, 3).flatten();
        QVERIFY(test::all_close(out, torch::tensor({1.5f, 0.5f, -0.5f, -1.5f})));
        // 3×3 grid, window 3: the corner token averages its 2×2 neighbourhood (padding not counted).
        auto g = torch::arange(9, torch::kFloat).reshape({1, 9, 1});
        auto o = pool_mixer(g, 3, 3).flatten();
        QCOMPARE(o[0].item<float>(), (0 + 1 + 3 + 4) / 4.0f - 0);
        QCOMPARE(o[4].item<float>(), 36 / 9.0f - 4);
    }

    /// The Mixer's token MLP mixes tokens (a change of one token reaches the others) and the channel
    /// MLP does not (its output at a token depends on that token alone).
    void mixerMixesTokens() {
        torch::manual_seed(0);
        MixerBlock block(small("mixer"));
        auto x = torch::randn({1, 4, 8});
        auto x2 = x.clone();
        x2[0][3] += torch::randn({8});  // not a constant: LayerNorm would cancel that
        auto d = (block->forward(x2) - block->forward(x)).abs().sum(-1).flatten();
        QVERIFY(d[0].item<double>() > 1e-4);
        auto c = (block->mlp->forward(x2) - block->mlp->forward(x)).abs().sum(-1).flatten();
        QCOMPARE(c[0].item<double>(), 0.0);
        QVERIFY(c[3].item<double>() > 0);
    }

    void configJson() {
        // A baseline's JSON holds its own fields only, and round-trips.
        ModelConfig c = preset("cpu-tiny", "vit");
        nlohmann::json j = c;
        QCOMPARE(j["arch"].get<std::string>(), std::string("vit"));
        QVERIFY(j.contains("heads") && !j.contains("local_slots") && !j.contains("iterations"));
        QCOMPARE(j.get<ModelConfig>(), c);
        // Another family's field is refused by name.
        j["local_slots"] = 100;
        try {
            (void)j.get<ModelConfig>();
            QFAIL("a ViT config took local_slots");
        } catch (const ConfigError& e) {
            QVERIFY2(QString(e.what()).contains("'local_slots' is V-HMN-only"), e.what());
        }
        nlohmann::json v = preset("cpu-tiny");
        v["heads"] = 4;
        QVERIFY_EXCEPTION_THROWN((void)v.get<ModelConfig>(), ConfigError);
        // A config written before architectures existed is a V-HMN.
        nlohmann::json old = preset("cpu-tiny");
        old.erase("arch");
        QCOMPARE(old.get<ModelConfig>().arch, std::string("vhmn"));
        // Nonsense values.
        ModelConfig bad = preset("cpu-tiny", "vit");
        bad.heads = 3;  // 80 is not a multiple of 3
        QVERIFY_EXCEPTION_THROWN(bad.validate(), ConfigError);
        ModelConfig even = preset("cpu-tiny", "poolformer");
        even.pool_size = 2;
        QVERIFY_EXCEPTION_THROWN(even.validate(), ConfigError);
        QVERIFY_EXCEPTION_THROWN(preset("cpu-tiny", "resnet"), ConfigError);
        QVERIFY(!preset("cpu-tiny", "vit").shape_differences(preset("cpu-tiny")).empty());
    }

    void memoryIsRefusedClearly() {
        Model m = make_model(small("mixer"));
        try {
            memory_of(m, "the hits probe");
            QFAIL("a Mixer has memory");
        } catch (const ConfigError& e) {
            QVERIFY2(QString(e.what()).contains("MLP-Mixer") && QString(e.what()).contains("no memory banks") &&
                         QString(e.what()).contains("the hits probe"),
                     e.what());
        }
        QCOMPARE(m->iterations(), int64_t(0));
        m->set_iterations(0);
        QVERIFY_EXCEPTION_THROWN(m->set_iterations(2), ConfigError);
        Model v = make_model(test::tiny_config());
        QVERIFY(memory_of(v, "x").get() == v->memory_model());
    }

    /// End to end as a user: train a ViT, resume it, evaluate, probe robustness; the memory probes
    /// and V-HMN-only flags say why they do not apply.
    void cliTrainsAndRefuses() {
        QTemporaryDir dir;
        const QString run = dir.filePath("vit");
        auto r = test::run_cli({"train", "--data", "builtin", "--arch", "vit", "--preset", "cpu-tiny", "--fraction", "0.2",
                                "--epochs", "1", "--batch", "64", "--out", run});
        QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
        QVERIFY(r.out.contains("ViT cpu-tiny"));
        QVERIFY(std::filesystem::exists((run + "/model.pt").toStdString()));
        r = test::run_cli({"train", "--data", "builtin", "--out", run, "--resume", "--epochs", "2"});
        QVERIFY2(r.code == 0, qPrintable(r.err + r.out));
        r = test::run_cli({"train", "--data", "builtin", "--out", run, "--resume", "--epochs", "3", "--arch", "mixer"});
        QVERIFY(r.code != 0 && r.err.contains("is a ViT"));
        r = test::run_cli({"eval", run, "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j["arch"].get<std::string>(), std::string("vit"));
        QVERIFY(j["top1"].get<double>() > 0);
        const auto cfg = nlohmann::json::parse(read_text_file((run + "/config.json").toStdString()));
        QCOMPARE(cfg["model"]["arch"].get<std::string>(), std::string("vit"));
        QCOMPARE(cfg["train"]["epochs"].get<int>(), 2);
        r = test::run_cli({"probe", "robustness", run, "--limit", "50", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        for (const char* probe : {"weights", "hits"}) {
            r = test::run_cli({"probe", probe, run});
            QVERIFY2(r.code != 0 && r.err.contains("has no memory banks"), qPrintable(r.err));
        }
        r = test::run_cli({"eval", run, "--iterations", "2"});
        QVERIFY(r.code != 0 && r.err.contains("no memory banks"));
        r = test::run_cli({"train", "--data", "builtin", "--arch", "mixer", "--iterations", "2", "--out", dir.filePath("m")});
        QVERIFY(r.code != 0 && r.err.contains("--iterations is a V-HMN setting"));
        // info for every architecture.
        r = test::run_cli({"info", "--arch", "all", "--preset", "paper-small", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto all = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(all.size(), size_t(4));
        for (const auto& s : all)
            QCOMPARE(s["parameters"].get<int64_t>(), count_parameters(preset("paper-small", s["arch"].get<std::string>())));
    }
};

VHMN_TEST_SUITE(TestBaselines);
#include "test_baselines.moc"
