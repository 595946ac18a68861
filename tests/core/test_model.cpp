// Whole-model behaviour: shapes, parameter count, save/load, read API.
#include <filesystem>
#include <fstream>

#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include "core/error.h"
#include "core/probes/inspect.h"
#include "core/models/vhmn.h"
#include "core/io/model_io.h"
#include "core/models/stats.h"
#include "tests/helpers.h"
#include "tests/suite.h"

using namespace vhmn;

namespace {

int64_t instantiated_parameters(const ModelConfig& cfg) {
    VHMN model(cfg);
    int64_t n = 0;
    for (const auto& p : model->parameters()) n += p.numel();
    return n;
}

/// Fill every bank by one training forward + commit.
void fill_banks(VHMN& model, int64_t batch = 12) {
    const auto& c = model->config();
    model->train();
    auto labels = torch::arange(batch, torch::kInt64).remainder(c.classes);
    WriteContext ctx{labels, torch::arange(batch, torch::kInt64), 3};
    torch::NoGradGuard ng;
    model->forward(torch::randn({batch, c.channels, c.image_size, c.image_size}), &ctx);
    model->commit_memory();
    model->eval();
}

}  // namespace

class TestModel : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void shapes_data() {
        QTest::addColumn<int>("size");
        QTest::addColumn<int>("channels");
        QTest::newRow("28x28x1") << 28 << 1;
        QTest::newRow("32x32x3") << 32 << 3;
    }
    void shapes() {
        QFETCH(int, size);
        QFETCH(int, channels);
        ModelConfig cfg = preset("cpu-tiny");
        cfg.image_size = size, cfg.channels = channels, cfg.depth = 2;
        VHMN model(cfg);
        fill_banks(model);
        auto x = torch::randn({3, channels, size, size});
        auto trace = model->forward_trace(x);
        const int64_t N = (size / 4) * (size / 4);
        QCOMPARE(trace.logits.sizes(), (torch::IntArrayRef{3, 10}));
        QCOMPARE(trace.pool_weights.sizes(), (torch::IntArrayRef{3, N}));
        VHMN_VERIFY_CLOSE(trace.pool_weights.sum(-1), torch::ones({3}), 1e-5);
        QCOMPARE(trace.blocks[1].local.alpha[0].sizes(), (torch::IntArrayRef{3, N, 500}));
        QCOMPARE(trace.blocks[1].global.alpha[0].sizes(), (torch::IntArrayRef{3, 200}));
        QCOMPARE(trace.blocks[1].local.query.sizes(), (torch::IntArrayRef{3, N, 64}));
        // The wrong input shape is one clear error, not a crash.
        QVERIFY_THROWS_EXCEPTION(std::invalid_argument, model->forward(torch::randn({1, channels, size + 4, size + 4})));
    }

    void parameterCountMatchesModel_data() {
        QTest::addColumn<QString>("name");
        QTest::newRow("tiny") << "tiny";
        QTest::newRow("cpu-tiny") << "cpu-tiny";
        QTest::newRow("cpu-small") << "cpu-small";
        QTest::newRow("paper-small") << "paper-small";
    }
    void parameterCountMatchesModel() {
        QFETCH(QString, name);
        const ModelConfig cfg = name == "tiny" ? test::tiny_config() : preset(name.toStdString());
        QCOMPARE(count_parameters(cfg), instantiated_parameters(cfg));
    }

    void flopsGrowWithIterationsByRetrievalCost() {
        ModelConfig c = preset("cpu-tiny");
        c.iterations = 1;
        const int64_t f1 = forward_flops(c);
        c.iterations = 2;
        const int64_t f2 = forward_flops(c);
        // One more step: per block, N local queries and one global query each do 2·L·K MACs.
        const int64_t per_step = 2 * c.depth * (c.tokens() * 2 * c.latent * c.local_slots + 2 * c.latent * c.global_slots);
        QCOMPARE(f2 - f1, per_step);
    }

    void saveLoadIsBitIdentical() {
        torch::manual_seed(3);
        const ModelConfig cfg = test::tiny_config();
        VHMN model(cfg);
        fill_banks(model);
        auto x = torch::randn({5, cfg.channels, cfg.image_size, cfg.image_size});
        torch::Tensor logits;
        {
            torch::NoGradGuard ng;
            logits = model->forward(x);
        }
        QTemporaryDir dir;
        const std::string path = dir.filePath("model.pt").toStdString();
        save_model(model, path);
        VHMN loaded = memory_of(load_model(path), "test");
        loaded->eval();
        torch::NoGradGuard ng;
        QVERIFY(torch::equal(loaded->forward(x), logits));
        for (int64_t b = 0; b < cfg.depth; ++b)
            for (auto br : {Branch::Local, Branch::Global}) {
                QVERIFY(torch::equal(loaded->bank(b, br)->source, model->bank(b, br)->source));
                QVERIFY(torch::equal(loaded->bank(b, br)->memory, model->bank(b, br)->memory));
                QCOMPARE(loaded->bank(b, br)->filled(), model->bank(b, br)->filled());
            }
        // No temporary file is left beside it.
        QCOMPARE(QDir(dir.path()).entryList(QDir::Files).size(), 1);
    }

    void loadRejectsOtherConfig() {
        const ModelConfig cfg = test::tiny_config();
        VHMN model(cfg);
        QTemporaryDir dir;
        const std::string path = dir.filePath("model.pt").toStdString();
        save_model(model, path);
        ModelConfig other = cfg;
        other.dim = 16;
        other.local_slots = 24;
        VHMN wrong(other);
        try {
            load_model_into(wrong, path);
            QFAIL("loading a file of another config must fail");
        } catch (const FileError& e) {
            const QString msg = e.what();
            QVERIFY2(msg.contains("dim: 16 vs 8") && msg.contains("local_slots: 24 vs 12") &&
                         msg.contains("model.pt"), qPrintable(msg));
        }
    }

    void corruptOrTruncatedFileIsOneClearError() {
        QTemporaryDir dir;
        const std::string garbage = dir.filePath("garbage.pt").toStdString();
        std::ofstream(garbage) << "this is not a model";
        QVERIFY_THROWS_EXCEPTION(FileError, load_model(garbage));

        VHMN model(test::tiny_config());
        const std::string good = dir.filePath("good.pt").toStdString();
        save_model(model, good);
        const auto size = std::filesystem::file_size(good);
        const std::string cut = dir.filePath("cut.pt").toStdString();
        std::filesystem::copy_file(good, cut);
        std::filesystem::resize_file(cut, size / 2);
        try {
            load_model(cut);
            QFAIL("a truncated file must not load");
        } catch (const FileError& e) {
            QVERIFY2(QString(e.what()).contains("cut.pt"), e.what());
        }
        QVERIFY_THROWS_EXCEPTION(FileError, load_model(dir.filePath("missing.pt").toStdString()));
    }

    void topSlotsReportWeightsAndProvenance() {
        torch::manual_seed(4);
        ModelConfig cfg = test::tiny_config();
        VHMN model(cfg);
        fill_banks(model);
        auto x = torch::randn({2, cfg.channels, cfg.image_size, cfg.image_size});
        auto alpha = retrieval_weights(model, x, 1, Branch::Global);  // [2, K]
        QCOMPARE(alpha.sizes(), (torch::IntArrayRef{2, 6}));
        auto hits = top_slots(model, 1, Branch::Global, alpha[0], 3);
        QCOMPARE(int(hits.size()), 3);
        QVERIFY(hits[0].weight >= hits[1].weight && hits[1].weight >= hits[2].weight);
        auto bank = model->bank(1, Branch::Global);
        for (const auto& h : hits) {
            QCOMPARE(h.weight, alpha[0][h.provenance.slot].item<double>());
            QCOMPARE(h.provenance.source, bank->source[h.provenance.slot].item<int64_t>());
            QCOMPARE(h.provenance.label, bank->class_of_slot(h.provenance.slot));
            QCOMPARE(h.provenance.step, int64_t(3));
        }
        // Local weights: one distribution per token.
        auto local = retrieval_weights(model, x, 0, Branch::Local);
        QCOMPARE(local.sizes(), (torch::IntArrayRef{2, cfg.tokens(), 12}));
        VHMN_VERIFY_CLOSE(local.sum(-1), torch::ones({2, cfg.tokens()}), 1e-5);
        auto lh = top_slots(model, 0, Branch::Local, local[0][5], 1);
        QVERIFY(lh[0].provenance.row >= 0 && lh[0].provenance.row < cfg.grid());
    }
};

VHMN_TEST_SUITE(TestModel);
#include "test_model.moc"
