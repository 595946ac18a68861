// Memory probes (Fig. 2, 3, 5, 6, Table 9) on a tiny model whose banks are filled by hand, the
// corruptions' statistics, result tables and their place in run.h5.
#include <torch/torch.h>

#include <filesystem>

#include <QTemporaryDir>
#include <QtTest>

#include <ATen/CPUGeneratorImpl.h>

#include "app/common/experiment.h"
#include "core/probes/perturbations.h"
#include "core/error.h"
#include "core/probes/framework.h"
#include "core/probes/weights.h"
#include "core/probes/hits.h"
#include "core/probes/image.h"
#include "core/probes/robustness.h"
#include "core/probes/stability.h"
#include "core/io/run_record.h"
#include "core/train/trainer.h"
#include "tests/helpers.h"
#include "tests/suite.h"

using namespace vhmn;

namespace {

constexpr int64_t kImages = 4;  // class-0 test images

/// Tiny model (8×8×1, 16 tokens) whose block-0 banks hold, in the class-0 region, exactly the
/// queries of the 4 test images (global) and of all their tokens (local), with source index
/// 100 + i; the other classes hold random vectors.
struct HandFilled {
    VHMN model{nullptr};
    data::Split test, train;
    ProbeInput input;

    HandFilled() {
        torch::manual_seed(3);
        auto cfg = test::tiny_config();
        cfg.local_slots = 3 * kImages * 16;  // 64 per class: every token of every image
        cfg.global_slots = 3 * kImages;      // 4 per class: one per image
        model = VHMN(cfg);
        test.images = torch::randint(0, 256, {kImages, 1, 8, 8}, torch::kLong).to(torch::kUInt8);
        test.labels = torch::zeros({kImages}, torch::kLong);
        test.index = torch::arange(kImages, torch::kLong);
        train = test;  // the source images, stored under index 100 + i
        train.index = torch::arange(100, 100 + kImages, torch::kLong);
        const std::vector<double> mean{0.5}, std{0.25};
        input.model = model, input.test = test, input.mean = mean, input.std = std, input.batch = 3;

        torch::NoGradGuard no_grad;
        auto x = normalize_images(test.images.to(torch::kFloat) / 255.0, mean, std);
        auto h = model->patch_embed(x).flatten(2).transpose(1, 2) + model->pos_embed;
        auto* block = model->blocks[0]->as<HMNBlockImpl>();
        auto y = block->norm1(h);
        auto q_local = block->local_memory->query_of(y);           // [4, 16, L]
        auto q_global = block->global_memory->query(y.mean(1));    // [4, L]
        const int64_t L = cfg.latent;
        auto src = torch::arange(100, 100 + kImages, torch::kLong);
        auto none = torch::full({kImages}, -1, torch::kLong);
        model->train();
        auto global = model->bank(0, Branch::Global);
        global->stage(q_global, torch::zeros({kImages}, torch::kLong), src, none, none, 7);
        for (int64_t c : {1, 2})
            global->stage(torch::randn({kImages, L}), torch::full({kImages}, c, torch::kLong), none, none, none, 7);
        auto local = model->bank(0, Branch::Local);
        auto tok = torch::arange(16, torch::kLong).repeat({kImages});
        local->stage(q_local.reshape({-1, L}), torch::zeros({kImages * 16}, torch::kLong),
                     src.repeat_interleave(16), tok.div(4, "floor"), tok.remainder(4), 9);
        for (int64_t c : {1, 2})
            local->stage(torch::randn({kImages * 16, L}), torch::full({kImages * 16}, c, torch::kLong),
                         torch::full({kImages * 16}, -1, torch::kLong), tok, tok, 9);
        model->commit_memory();
        model->eval();
    }
};

}  // namespace

class TestProbes : public QObject {
    Q_OBJECT
private Q_SLOTS:
    // --limit's images: i·total/n exactly. In doubles, floor(57 · (10000 / 76)) is 7499, not 7500.
    void evenlySpacedIsExact() {
        QVERIFY(torch::equal(evenly_spaced_positions(10, 4), torch::tensor({0, 2, 5, 7}, torch::kLong)));
        QCOMPARE(evenly_spaced_positions(10000, 76)[57].item<int64_t>(), int64_t(7500));
        data::Split s{torch::zeros({10, 1, 2, 2}, torch::kUInt8), torch::arange(10, torch::kLong) % 3,
                      torch::arange(100, 110, torch::kLong)};
        QVERIFY(torch::equal(evenly_spaced(s, 4).index, torch::tensor({100, 102, 105, 107}, torch::kLong)));
        QVERIFY(torch::equal(first_images(s, 4).index, torch::tensor({100, 101, 102, 103}, torch::kLong)));
        QCOMPARE(first_images(s, 0).size(), int64_t(10));
        QCOMPARE(evenly_spaced(s, 10).size(), int64_t(10));
    }

    // ---- corruptions: exact expected statistics ----
    void noiseHasItsSigma() {
        auto x = torch::full({8, 3, 32, 32}, 0.5f);
        for (double sigma : {0.05, 0.1}) {
            auto gen = at::make_generator<at::CPUGeneratorImpl>(11);
            auto d = gaussian_noise(x, sigma, gen) - x;
            QVERIFY2(std::abs(d.std().item<double>() - sigma) < 0.02 * sigma, "noise std differs from sigma");
            QVERIFY(std::abs(d.mean().item<double>()) < 0.01 * sigma + 1e-3);
        }
        auto g1 = at::make_generator<at::CPUGeneratorImpl>(1), g2 = at::make_generator<at::CPUGeneratorImpl>(1);
        QVERIFY(torch::equal(gaussian_noise(x, 0.2, g1), gaussian_noise(x, 0.2, g2)));  // seeded
        auto clip = torch::ones({1, 1, 16, 16});
        QVERIFY(gaussian_noise(clip, 0.3, g1).max().item<float>() <= 1.0f);  // clamped to [0, 1]
    }

    void occlusionCoversItsArea() {
        QCOMPARE(occlusion_side(0.1, 32, 32), int64_t(10));  // round(sqrt(102.4))
        QCOMPARE(occlusion_side(0.05, 32, 32), int64_t(7));  // round(sqrt(51.2))
        QCOMPARE(occlusion_side(0.2, 32, 32), int64_t(14));  // round(sqrt(204.8))
        auto x = torch::ones({16, 3, 32, 32});
        auto gen = at::make_generator<at::CPUGeneratorImpl>(5);
        auto out = corrupt(x, {"occlusion", 0.1}, gen);
        for (int64_t i = 0; i < 16; ++i) {
            auto zero = out[i].eq(0);
            QCOMPARE(zero.sum().item<int64_t>(), int64_t(3 * 10 * 10));  // all channels, exactly side²
            auto where = zero[0].nonzero();  // one square: its bounding box is side × side
            const auto r0 = where.select(1, 0).min().item<int64_t>(), r1 = where.select(1, 0).max().item<int64_t>();
            const auto c0 = where.select(1, 1).min().item<int64_t>(), c1 = where.select(1, 1).max().item<int64_t>();
            QCOMPARE(r1 - r0 + 1, int64_t(10));
            QCOMPARE(c1 - c0 + 1, int64_t(10));
        }
        auto px = corrupt(x, {"occlusion_px", 4}, gen);
        QCOMPARE(px[0].eq(0).sum().item<int64_t>(), int64_t(3 * 16));
    }

    void occlusionAtAPlace() {
        auto x = torch::ones({2, 3, 16, 16});
        auto out = occlude_at(x, 2, 5, 4);
        QCOMPARE(out.eq(0).sum().item<int64_t>(), int64_t(2 * 3 * 16));
        QVERIFY(out.index({torch::indexing::Slice(), torch::indexing::Slice(), torch::indexing::Slice(2, 6),
                           torch::indexing::Slice(5, 9)}).eq(0).all().item<bool>());
        QCOMPARE(x.eq(0).sum().item<int64_t>(), int64_t(0));  // the input is not modified
        // A square sticking out is moved inside: still side² pixels, ending at the border.
        auto edge = occlude_at(x, 14, 15, 4);
        QCOMPARE(edge[0][0].eq(0).sum().item<int64_t>(), int64_t(16));
        QVERIFY(edge[0][0][15][15].item<float>() == 0.0f && edge[0][0][11][11].item<float>() == 1.0f);
        QVERIFY(torch::equal(occlude_at(x, 3, 3, 0), x));
        QCOMPARE(occlude_at(x, 0, 0, 40).eq(0).sum().item<int64_t>(), int64_t(2 * 3 * 16 * 16));  // clamped to the image
    }

    void contrastKeepsTheMean() {
        auto x = torch::rand({4, 3, 16, 16}) * 0.2 + 0.4;  // no pixel clips for f ≤ 1.5
        for (double f : {0.5, 0.75, 1.25, 1.5}) {
            auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
            auto y = corrupt(x, {"contrast", f}, gen);
            VHMN_VERIFY_CLOSE(y.mean({1, 2, 3}), x.mean({1, 2, 3}), 1e-5);
            auto m = x.mean({1, 2, 3}, true);
            VHMN_VERIFY_CLOSE(y - m, (x - m) * f, 1e-5);
        }
    }

    void nonsenseCorruptionsAreRejected() {
        auto x = torch::zeros({1, 1, 8, 8});
        auto gen = at::make_generator<at::CPUGeneratorImpl>(0);
        QVERIFY_THROWS_EXCEPTION(ConfigError, corrupt(x, {"blur", 1}, gen));
        QVERIFY_THROWS_EXCEPTION(ConfigError, corrupt(x, {"occlusion", 1.5}, gen));
        QVERIFY_THROWS_EXCEPTION(ConfigError, corrupt(x, {"noise", -0.1}, gen));
    }

    // ---- probes on hand-filled banks ----
    void hitsAreFullWhenClassSlotsEqualTheInputs() {
        HandFilled f;
        const auto rows = probe_hits(f.input);
        QCOMPARE(rows.size(), size_t(4));  // 2 blocks × {local, global}
        QCOMPARE(rows[0].block, int64_t(0));
        QCOMPARE(rows[0].branch, Branch::Local);
        QCOMPARE(rows[0].top1, 100.0);
        QCOMPARE(rows[0].top5, 100.0);
        QCOMPARE(rows[0].queries, kImages * 16);
        QCOMPARE(rows[1].branch, Branch::Global);
        QCOMPARE(rows[1].top1, 100.0);
        QCOMPARE(rows[1].queries, kImages);
        // Block 1's banks are empty: no hits, but the queries are counted.
        QCOMPARE(rows[2].top1, 0.0);
        QCOMPARE(rows[3].queries, kImages);
        // With the class-0 inputs labelled class 1 instead, the top-1 slot is never of their class.
        f.input.test.labels.fill_(1);
        QCOMPARE(probe_hits(f.input)[1].top1, 0.0);
        const auto r = hits_result(rows);
        QCOMPARE(r.table.rows(), size_t(4));
        QCOMPARE(r.table.numbers("top1_hit_rate")[1], 100.0);
    }

    void weightsSumToOneAndCountTopSlots() {
        HandFilled f;
        const auto w = probe_weights(f.input, 0, Branch::Global);
        QCOMPARE(w.mean_alpha.sizes(), (torch::IntArrayRef{3, 3 * kImages}));
        QVERIFY(std::abs(w.mean_alpha[0].sum().item<double>() - 1.0) < 1e-5);
        QCOMPARE(w.class_count, (std::vector<int64_t>{kImages, 0, 0}));
        QCOMPARE(w.mean_alpha[1].abs().sum().item<double>(), 0.0);  // no class-1 inputs
        // Image i's query is stored in slot i: each of slots 0..3 is the top-1 exactly once.
        for (int64_t j = 0; j < 3 * kImages; ++j) QCOMPARE(w.top1_count[size_t(j)], int64_t(j < kImages ? 1 : 0));
        QCOMPARE(w.slot_class[0], int64_t(0));
        QCOMPARE(w.slot_class[size_t(kImages)], int64_t(1));
        QCOMPARE(w.filled, 3 * kImages);
        QVERIFY(std::abs(w.unused_fraction - 8.0 / 12.0) < 1e-12);
        QVERIFY(w.mean_entropy > 0 && w.mean_entropy < std::log(12.0) + 1e-9);
        // The local branch: the mean over tokens still sums to 1 per class-0 image.
        const auto wl = probe_weights(f.input, 0, Branch::Local);
        QVERIFY(std::abs(wl.mean_alpha[0].sum().item<double>() - 1.0) < 1e-5);
        QCOMPARE(wl.queries, kImages * 16);
        const auto r = weights_result(w, 0);
        QCOMPARE(r.table.rows(), size_t(3 * kImages));
        QVERIFY_THROWS_EXCEPTION(ConfigError, weights_result(w, 3));
    }

    void imageProbePointsAtTheWrittenImage() {
        HandFilled f;
        for (int64_t i = 0; i < kImages; ++i) {
            const auto p = probe_image(f.model, f.test.images[i], 0, f.input.mean, f.input.std, f.train, 3);
            double sum = 0;
            for (double v : p.probabilities) sum += v;
            QVERIFY(std::abs(sum - 1.0) < 1e-5);
            QCOMPARE(p.token, int64_t(std::max_element(p.pool_weights.begin(), p.pool_weights.end()) - p.pool_weights.begin()));
            QCOMPARE(p.blocks.size(), size_t(2));
            const auto& g = p.blocks[0].global.front();
            QCOMPARE(g.hit.provenance.slot, i);
            QCOMPARE(g.hit.provenance.source, 100 + i);
            QCOMPARE(g.hit.provenance.step, int64_t(7));
            QVERIFY(torch::equal(g.source, f.test.images[i]));  // the source pixels are that image
            const auto& l = p.blocks[0].local.front();
            QCOMPARE(l.hit.provenance.source, 100 + i);
            QCOMPARE(l.hit.provenance.row, p.token_row);  // the stored token is the queried one
            QCOMPARE(l.hit.provenance.col, p.token_col);
            QCOMPARE(l.box.x, p.token_col * 2);
            QCOMPARE(l.box.y, p.token_row * 2);
            QVERIFY(p.blocks[0].global[0].hit.weight >= p.blocks[0].global[1].hit.weight);
            // Refinement trajectory: ‖z_0 − q‖ = 0, then T = 1 step.
            QCOMPARE(p.blocks[0].global_steps.distance.size(), size_t(2));
            QCOMPARE(p.blocks[0].global_steps.distance[0], 0.0);
            QCOMPARE(p.blocks[0].global_steps.entropy.size(), size_t(1));
            // ‖z_t − m(z_t)‖ for t = 0..T, and z_1 − q = β (m_0 − q): ‖z_1 − q‖ = β ‖z_0 − m_0‖.
            const auto& gs = p.blocks[0].global_steps;
            QCOMPARE(gs.memory_distance.size(), size_t(2));
            const double beta = f.model->betas()[0].second;
            QVERIFY2(std::abs(gs.distance[1] - beta * gs.memory_distance[0]) < 1e-5,
                     qPrintable(QString("%1 vs %2").arg(gs.distance[1]).arg(beta * gs.memory_distance[0])));
            QVERIFY(gs.memory_distance[0] > 0);
            QVERIFY(p.blocks[1].global.empty());  // empty bank: no prototypes
        }
        // A chosen token is queried instead of the most informative one.
        const auto p = probe_image(f.model, f.test.images[0], 0, f.input.mean, f.input.std, f.train, 1, 5);
        QCOMPARE(p.token, int64_t(5));
        QCOMPARE(p.blocks[0].local.front().hit.provenance.row, int64_t(1));
        QCOMPARE(p.blocks[0].local.front().hit.provenance.col, int64_t(1));
        const auto r = image_result(p, 0, f.test.images[0]);
        QCOMPARE(r.table.rows(), size_t(2));  // block 0: one local + one global prototype
    }

    void robustnessCleanRowsEqualEvaluation() {
        HandFilled f;
        f.input.test.labels = torch::tensor({0, 1, 2, 0}, torch::kLong);
        f.model->set_iterations(2);
        const std::vector<Corruption> cs{{"clean", 0}, {"noise", 0.2}, {"contrast", 0.5}};
        const auto rows = probe_robustness(f.input, cs, {0, 1}, 42);
        QCOMPARE(rows.size(), size_t(6));
        QCOMPARE(f.model->iterations(), int64_t(2));  // restored
        for (int64_t t : {0, 1}) {
            f.model->set_iterations(t);
            const auto e = evaluate(f.model, f.input.test, f.input.mean, f.input.std, 2, torch::kCPU);
            QCOMPARE(rows[size_t(t)].top1, e.top1);
            QCOMPARE(rows[size_t(t)].iterations, t);
        }
        const auto again = probe_robustness(f.input, cs, {0, 1}, 42);  // reproducible
        for (size_t i = 0; i < rows.size(); ++i) QCOMPARE(again[i].top1, rows[i].top1);
        const auto r = robustness_result(rows, 42);
        QCOMPARE(r.table.rows(), size_t(8));  // 6 + a mean row per T
        const auto kinds = r.table.texts("corruption");
        QCOMPARE(kinds.back(), std::string("mean"));
        const auto top1 = r.table.numbers("top1");
        QVERIFY(std::abs(top1[6] - (rows[2].top1 + rows[4].top1) / 2.0) < 1e-9);  // mean at T = 0, clean excluded
    }

    void stabilityIsPerfectWithoutCorruption() {
        HandFilled f;
        const auto rows = probe_stability(f.input, 0, Branch::Global, {{"noise", 0.0}, {"occlusion_px", 8}}, 1);
        QCOMPARE(rows[0].top5_consistency, 100.0);
        QCOMPARE(rows[0].top1_same, 100.0);
        QVERIFY(std::abs(rows[0].cosine - 1.0) < 1e-5);
        // Occluding the whole 8×8 image makes every input the same: at most one image keeps its slot.
        QVERIFY(rows[1].top1_same <= 25.0);
        QVERIFY(rows[1].cosine <= 1.0 + 1e-6 && rows[1].cosine >= -1.0 - 1e-6);
        QCOMPARE(rows[1].queries, kImages);
        // An empty bank cannot be probed for stability: one clear error.
        QVERIFY_THROWS_EXCEPTION(ConfigError, probe_stability(f.input, 1, Branch::Global, {{"noise", 0.1}}, 1));
    }

    void cancelStopsAProbe() {
        HandFilled f;
        std::atomic<bool> cancel{false};
        int calls = 0;
        ProbeControl c;
        c.cancel = &cancel;
        c.progress = [&](double, const std::string&) { ++calls, cancel = true; };
        QVERIFY_THROWS_EXCEPTION(ProbeCancelled, probe_hits(f.input, c));
        QCOMPARE(calls, 1);  // the first batch ran, the second did not
        QCOMPARE(f.model->is_training(), false);
    }

    void limitSpreadsOverASortedSplit() {
        app::OpenedRun run;
        run.model = HandFilled().model;
        run.dataset.test.images = torch::zeros({30, 1, 8, 8}, torch::kUInt8);
        run.dataset.test.labels = torch::arange(3, torch::kLong).repeat_interleave(10);  // class-sorted, like image folders
        run.dataset.test.index = torch::arange(30, torch::kLong);
        run.config.data.mean = {0.5}, run.config.data.std = {0.25};
        const auto in = app::probe_input(run, torch::kCPU, 8, 6);
        QCOMPARE(in.test.size(), int64_t(6));
        QVERIFY(torch::equal(in.test.labels.bincount(), torch::full({3}, 2, torch::kLong)));  // 2 per class
        QVERIFY(torch::equal(in.test.index, torch::tensor({0, 5, 10, 15, 20, 25}, torch::kLong)));
        QCOMPARE(app::probe_input(run, torch::kCPU, 8, 0).test.size(), int64_t(30));
        QVERIFY_THROWS_EXCEPTION(ConfigError, app::probe_input(run, torch::kCPU, 8, -1));
    }

    // ---- tables and run.h5 ----
    void tableFormats() {
        Table t({"name", "n", "value"});
        t.add_row({std::string("a,b \"q\""), int64_t(3), 1.5});
        t.add_row({std::string("x_y & 50%"), int64_t(-1), 2.0});
        QCOMPARE(t.to_csv(), std::string("name,n,value\n\"a,b \"\"q\"\"\",3,1.5\nx_y & 50%,-1,2\n"));
        QCOMPARE(t.to_markdown(1), std::string("| name | n | value |\n|---|---:|---:|\n| a,b \"q\" | 3 | 1.5 |\n"
                                               "| x_y & 50% | -1 | 2.0 |\n"));
        const auto tex = t.to_latex("T", 2);
        QVERIFY(tex.find("x\\_y \\& 50\\%") != std::string::npos);
        QVERIFY(tex.find("\\begin{tabular}{lrr}") != std::string::npos);
        QVERIFY_THROWS_EXCEPTION(ConfigError, t.add_row({int64_t(1), int64_t(2), 3.0}));  // text column
        QVERIFY_THROWS_EXCEPTION(ConfigError, t.add_row({std::string("z")}));
    }

    void probesLiveInRunRecordAndSurviveRewrites() {
        if (!run_record_available()) QSKIP("this build has no HDF5");
        HandFilled f;
        QTemporaryDir dir;
        const std::string path = dir.filePath("run.h5").toStdString();
        RunConfig cfg;
        cfg.model = f.model->config();
        History h;
        write_run_record(path, cfg, h, f.model);
        const auto hits = hits_result(probe_hits(f.input));
        write_probe_record(path, hits);
        auto stored = read_probe_record(path, "hits");
        QCOMPARE(stored.table.to_csv(), hits.table.to_csv());
        QCOMPARE(stored.params["k"].get<int>(), 5);
        // The trainer rewrites run.h5 each epoch: the probes are carried over.
        h.epochs.push_back({});
        write_run_record(path, cfg, h, f.model);
        QCOMPARE(read_probe_record(path, "hits").table.to_csv(), hits.table.to_csv());
        QCOMPARE(read_run_record(path).history.epochs.size(), size_t(1));
        // Text, integer and real columns, and replacing a probe of the same name.
        write_probe_record(path, robustness_result(probe_robustness(f.input, {{"clean", 0}}, {1}, 0), 0));
        auto again = hits;
        again.table = Table({"block", "branch", "top1_hit_rate", "top5_hit_rate", "queries"});
        again.table.add_row({int64_t(0), std::string("local"), 1.0, 2.0, int64_t(3)});
        write_probe_record(path, again);
        QCOMPARE(read_probe_record(path, "hits").table.rows(), size_t(1));
        QCOMPARE(read_probe_record(path, "robustness").table.texts("corruption").front(), std::string("clean"));
        auto names = probe_names(path);
        std::sort(names.begin(), names.end());
        QCOMPARE(names, (std::vector<std::string>{"hits", "robustness"}));
        // Missing probe, missing file: one clear error naming the file.
        try {
            read_probe_record(path, "stability");
            QFAIL("expected an error");
        } catch (const FileError& e) {
            QVERIFY(std::string(e.what()).find("run.h5") != std::string::npos);
            QVERIFY(std::string(e.what()).find("stability") != std::string::npos);
        }
        QVERIFY_THROWS_EXCEPTION(FileError, write_probe_record(dir.filePath("none.h5").toStdString(), hits));
    }
};

VHMN_TEST_SUITE(TestProbes);
#include "test_probes.moc"
