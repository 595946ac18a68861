// One full training step on CPU: forward, loss, backward, Adam step, bank commit.
#include <torch/torch.h>

#include <QtTest>

#include "core/models/vhmn.h"
#include "tests/helpers.h"
#include "tests/suite.h"

using namespace vhmn;

namespace {

struct Batch {
    torch::Tensor x, labels, indices;
};

Batch make_batch(const ModelConfig& cfg, int64_t first_index) {
    const int64_t B = 6;  // two images per class
    return {torch::randn({B, cfg.channels, cfg.image_size, cfg.image_size}),
            torch::tensor({0, 1, 2, 0, 1, 2}, torch::kInt64),
            torch::arange(first_index, first_index + B, torch::kInt64)};
}

/// One step; returns the loss. Writes are committed only after the optimizer step.
double train_step(VHMN& model, torch::optim::Adam& opt, const Batch& b, int64_t step) {
    model->train();
    WriteContext ctx{b.labels, b.indices, step};
    opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(model->forward(b.x, &ctx), b.labels);
    loss.backward();
    opt.step();
    model->commit_memory();
    return loss.item<double>();
}

std::vector<torch::Tensor> bank_buffers(VHMN& model) {
    std::vector<torch::Tensor> out;
    for (const auto& kv : model->named_buffers()) out.push_back(kv.value().clone());
    return out;
}

}  // namespace

class TestTrainingStep : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void fullStepReachesBetaAndProjectionsNotBanks() {
        torch::manual_seed(0);
        const ModelConfig cfg = test::tiny_config();
        VHMN model(cfg);
        torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3));

        // Step 1 fills the banks (they start empty, and an empty bank leaves z = q, so β has no
        // gradient yet). Two images per class, 2 tokens each: 4 local writes per class = the
        // 4 local slots per class; 2 global writes per class = the 2 global slots per class.
        train_step(model, opt, make_batch(cfg, 0), 0);
        for (int64_t b = 0; b < cfg.depth; ++b) {
            QCOMPARE(model->bank(b, Branch::Local)->filled(), int64_t(12));
            QCOMPARE(model->bank(b, Branch::Global)->filled(), int64_t(6));
        }

        // Step 2: gradients reach β and every projection.
        auto params_before = model->named_parameters().values();
        std::vector<torch::Tensor> before;
        for (auto& p : params_before) before.push_back(p.detach().clone());
        model->train();
        auto batch = make_batch(cfg, 6);
        WriteContext ctx{batch.labels, batch.indices, 1};
        opt.zero_grad();
        auto loss = torch::nn::functional::cross_entropy(model->forward(batch.x, &ctx), batch.labels);
        loss.backward();
        auto named = model->named_parameters();
        for (int64_t b = 0; b < cfg.depth; ++b) {
            const std::string p = "blocks." + std::to_string(b) + ".";
            for (const char* name : {"local_memory.beta", "global_memory.beta", "local_memory.query.weight",
                                     "global_memory.query.weight", "local_memory.out.weight",
                                     "global_memory.out.weight"}) {
                auto* t = named.find(p + name);
                QVERIFY2(t != nullptr, (p + name).c_str());
                QVERIFY2(t->grad().defined() && t->grad().abs().sum().item<double>() > 0,
                         (p + name + " has no gradient").c_str());
            }
        }
        // Banks are buffers: never parameters, never a gradient.
        for (const auto& kv : model->named_buffers()) {
            QVERIFY2(!kv.value().requires_grad(), kv.key().c_str());
            QVERIFY(!kv.value().grad().defined());
            QVERIFY(named.find(kv.key()) == nullptr);
        }
        // Staged writes are not in the bank before commit; the step changes the parameters.
        auto banks_before = bank_buffers(model);
        opt.step();
        auto after = model->named_parameters().values();
        bool changed = false;
        for (size_t i = 0; i < after.size(); ++i) changed |= !torch::equal(after[i], before[i]);
        QVERIFY(changed);
        auto banks_mid = bank_buffers(model);
        for (size_t i = 0; i < banks_mid.size(); ++i) QVERIFY(torch::equal(banks_mid[i], banks_before[i]));
        QVERIFY(model->commit_memory() > 0);
        // After commit the local step-1 entries of the written slots carry step 1.
        QCOMPARE(model->bank(0, Branch::Global)->step.max().item<int64_t>(), int64_t(1));
    }

    void banksFrozenInEvalMode() {
        torch::manual_seed(1);
        const ModelConfig cfg = test::tiny_config();
        VHMN model(cfg);
        torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3));
        train_step(model, opt, make_batch(cfg, 0), 0);
        auto before = bank_buffers(model);
        model->eval();
        auto b = make_batch(cfg, 100);
        WriteContext ctx{b.labels, b.indices, 5};
        {
            torch::NoGradGuard ng;
            model->forward(b.x, &ctx);
        }
        QCOMPARE(model->commit_memory(), int64_t(0));
        auto after = bank_buffers(model);
        for (size_t i = 0; i < after.size(); ++i) QVERIFY(torch::equal(after[i], before[i]));
    }

    void mix64IsSplitmix64() {
        // splitmix64 from state 0: the first output is the finaliser of 0x9E3779B97F4A7C15, which
        // is 0xE220A8397B1DCDAF (the reference implementation's well-known first value); the
        // second is the finaliser of 2·0x9E3779B97F4A7C15 = 0x6E789E6AA1B965F4.
        auto in = torch::tensor({int64_t(0x9E3779B97F4A7C15ull), int64_t(0x3C6EF372FE94F82Aull)}, torch::kInt64);
        auto out = mix64(in);
        QCOMPARE(uint64_t(out[0].item<int64_t>()), uint64_t(0xE220A8397B1DCDAFull));
        QCOMPARE(uint64_t(out[1].item<int64_t>()), uint64_t(0x6E789E6AA1B965F4ull));
    }

    void writeTokensDependOnImageNotBatch() {
        // Keys are a function of (seed, dataset index, block, token): an image keeps its tokens
        // wherever it sits in a batch and whatever else is in it; blocks and seeds choose apart.
        auto a = write_token_keys(42, torch::tensor({5, 9, 13}, torch::kInt64), 1, 16);
        auto b = write_token_keys(42, torch::tensor({13, 7, 5}, torch::kInt64), 1, 16);
        QVERIFY(torch::equal(a[0], b[2]) && torch::equal(a[2], b[0]));
        QVERIFY((a >= 0).all().item<bool>());
        QVERIFY(!torch::equal(a[0], write_token_keys(42, torch::tensor({5}, torch::kInt64), 2, 16)[0]));
        QVERIFY(!torch::equal(a[0], write_token_keys(43, torch::tensor({5}, torch::kInt64), 1, 16)[0]));
        // Distinct keys per image (no ties for topk to break differently on CPU and CUDA).
        QCOMPARE(std::get<0>(at::_unique(a[1])).numel(), int64_t(16));
        // And the bank stores exactly the top-t tokens of those keys.
        torch::manual_seed(4);
        const ModelConfig cfg = test::tiny_config();
        VHMN model(cfg);
        model->train();
        auto batch = make_batch(cfg, 100);
        WriteContext ctx{batch.labels, batch.indices, 0, 77};
        model->forward(batch.x, &ctx);
        model->commit_memory();
        auto bank = model->bank(1, Branch::Local);
        const int64_t grid = cfg.image_size / cfg.patch;
        auto keys = write_token_keys(77, batch.indices, 1, grid * grid);
        for (int64_t i = 0; i < 6; ++i) {
            auto want = std::get<0>(std::get<1>(keys[i].topk(cfg.tokens_per_image)).sort());
            auto mine = bank->source.eq(100 + i);
            auto got = std::get<0>((bank->row.masked_select(mine) * grid + bank->col.masked_select(mine)).sort());
            QVERIFY2(torch::equal(got, want), qPrintable(QString("image %1").arg(i)));
        }
    }
};

VHMN_TEST_SUITE(TestTrainingStep);
#include "test_training_step.moc"
