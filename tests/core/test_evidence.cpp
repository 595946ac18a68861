// Memory as evidence (issue 15): inference-time slot masks, memory edits, the evidence of a
// prediction, the ablation curve and leave-one-class-out, on hand-filled banks and a tiny model.
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include <QTemporaryDir>
#include <QtTest>

#include "core/probes/image.h"
#include "core/error.h"
#include "core/models/hopfield.h"
#include "core/models/memory_bank.h"
#include "core/probes/ablation.h"
#include "core/probes/evidence.h"
#include "core/probes/memory_edit.h"
#include "core/probes/memory_map.h"
#include "core/train/trainer.h"
#include "tests/helpers.h"
#include "tests/suite.h"

using namespace vhmn;

namespace {

/// The tiny model (T iterations) with every bank filled by one training forward pass of 12
/// random images (labels i mod 3, dataset indices 100 + i, step 1).
VHMN filled_model(int64_t iterations) {
    torch::manual_seed(7);
    auto cfg = test::tiny_config();
    cfg.iterations = iterations;
    VHMN m(cfg);
    m->train();
    WriteContext ctx;
    ctx.labels = torch::arange(12, torch::kLong).remainder(3);
    ctx.indices = torch::arange(100, 112, torch::kLong);
    ctx.step = 1;
    {
        torch::NoGradGuard no_grad;
        m->forward(torch::randn({12, 1, 8, 8}), &ctx);
    }
    m->commit_memory();
    m->eval();
    return m;
}

torch::Tensor logits_of(VHMN& m, const torch::Tensor& x) {
    c10::InferenceMode inference;
    return m->forward(x).clone();
}

ProbeInput input_of(VHMN m, int64_t n) {
    ProbeInput in;
    in.model = m;
    torch::manual_seed(11);
    in.test.images = torch::randint(0, 256, {n, 1, 8, 8}, torch::kLong).to(torch::kUInt8);
    in.test.labels = torch::arange(n, torch::kLong).remainder(3);
    in.test.index = torch::arange(n, torch::kLong);
    in.mean = {0.5}, in.std = {0.25};
    in.batch = 5;
    return in;
}

BankMass bank_mass(std::vector<double> mass, std::vector<int64_t> source, std::vector<bool> ok, int64_t block = 0) {
    BankMass b;
    b.block = block;
    b.mass = torch::tensor(mass, torch::kDouble);
    b.source = torch::tensor(source, torch::kLong);
    b.label = b.source.remainder(3);
    const auto n = int64_t(mass.size());
    b.row = torch::full({n}, -1, torch::kLong), b.col = b.row.clone(), b.step = torch::ones({n}, torch::kLong);
    b.retrievable = torch::zeros({n}, torch::kBool);
    for (int64_t i = 0; i < n; ++i) b.retrievable[i] = bool(ok[size_t(i)]);
    return b;
}

}  // namespace

class TestEvidence : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void maskZeroesAlphaAndRenormalisesTheRest() {
        // Two orthogonal unit slots and a query equal to the first: logits √L·(1, 0) = (2, 0) for
        // L = 4, so α = (e²/(e²+1), 1/(e²+1)); masking slot 0 leaves α = (0, 1).
        MemoryBank bank(6, 4, 3);
        bank->eval();
        torch::NoGradGuard no_grad;
        bank->memory.copy_(torch::randn({6, 4}));
        bank->memory[0] = torch::tensor({1.f, 0.f, 0.f, 0.f});
        bank->memory[1] = torch::tensor({0.f, 1.f, 0.f, 0.f});
        bank->valid.fill_(false);
        bank->valid.slice(0, 0, 2).fill_(true);
        bank->refresh();
        const auto q = torch::tensor({{1.f, 0.f, 0.f, 0.f}});
        const auto a = retrieve(q, bank->view()).alpha[0];
        const double e2 = std::exp(2.0);
        QVERIFY(std::abs(a[0].item<double>() - e2 / (e2 + 1)) < 1e-6);
        QVERIFY(std::abs(a[1].item<double>() - 1 / (e2 + 1)) < 1e-6);
        auto mask = torch::zeros({6}, torch::kBool);
        mask[0] = true;
        bank->set_mask(mask);
        const auto r = retrieve(q, bank->view());
        QCOMPARE(r.alpha[0][0].item<float>(), 0.0f);
        QCOMPARE(r.alpha[0][1].item<float>(), 1.0f);
        VHMN_VERIFY_CLOSE(r.m, bank->memory.slice(0, 1, 2), 1e-6);

        // A full bank of random slots: masked slots get exactly 0, the rest α_j / (1 − Σ masked).
        bank->memory.copy_(torch::randn({6, 4}));
        bank->valid.fill_(true);
        bank->refresh();
        bank->set_mask({});
        const auto z = torch::randn({5, 4});
        const auto full = retrieve(z, bank->view()).alpha;
        mask = torch::tensor({false, true, false, false, true, false});
        bank->set_mask(mask);
        const auto part = retrieve(z, bank->view()).alpha;
        QVERIFY(torch::equal(part.index({torch::indexing::Slice(), mask}), torch::zeros({5, 2})));
        const auto keep = mask.logical_not();
        const auto expect = full.index({torch::indexing::Slice(), keep}) /
                            (1 - full.index({torch::indexing::Slice(), mask}).sum(1, true));
        VHMN_VERIFY_CLOSE(part.index({torch::indexing::Slice(), keep}), expect, 1e-6);
        QCOMPARE(bank->view().filled, int64_t(4));
        QCOMPARE(bank->filled(), int64_t(6));  // the stored bank is untouched

        // Every slot masked: the empty-bank behaviour, z = q, α all zero.
        bank->set_mask(torch::ones({6}, torch::kBool));
        const auto none = retrieve(z, bank->view());
        QVERIFY(torch::equal(none.m, z));
        QVERIFY(torch::equal(none.alpha, torch::zeros({5, 6})));
        QVERIFY(torch::equal(refine(z, bank->view(), torch::full({1}, 0.7), 3), z));

        // Training never writes through a mask.
        bank->train();
        QVERIFY_THROWS_EXCEPTION(std::logic_error,
                                 bank->stage(torch::randn({1, 4}), torch::zeros({1}, torch::kLong),
                                             torch::zeros({1}, torch::kLong), torch::zeros({1}, torch::kLong),
                                             torch::zeros({1}, torch::kLong), 0));
    }

    void maskingABranchEqualsEmptyingIt() {
        auto m = filled_model(2);
        const auto x = torch::randn({4, 1, 8, 8});
        const auto before = logits_of(m, x);
        MemoryEdit edit;
        edit.branch = "local";
        edit.classes = {0, 1, 2};
        QCOMPARE(apply_edit(m, edit), int64_t(2 * 12));  // both blocks' full local banks
        const auto masked = logits_of(m, x);
        QVERIFY(!torch::equal(masked, before));
        clear_edit(m);
        QVERIFY(torch::equal(logits_of(m, x), before));
        for (int64_t b = 0; b < 2; ++b) m->bank(b, Branch::Local)->clear();
        QVERIFY(torch::equal(logits_of(m, x), masked));
    }

    void everySlotMaskedEqualsNoIterations() {
        // The ablation curve's 100 % point is `vhmn eval --iterations 0`, exactly.
        auto m = filled_model(3);
        const auto x = torch::randn({6, 1, 8, 8});
        MemoryEdit all;
        all.classes = {0, 1, 2};
        apply_edit(m, all);
        const auto masked = logits_of(m, x);
        clear_edit(m);
        m->set_iterations(0);
        QVERIFY(torch::equal(masked, logits_of(m, x)));
        m->set_iterations(3);

        auto in = input_of(m, 30);
        const auto usage = slot_usage(in);
        AblationOptions o;
        o.orders = {"random", "most_used"};
        o.branches = {"both"};
        o.fractions = {0.0, 0.5, 1.0};
        const auto rows = probe_ablation(in, usage, o);
        QCOMPARE(rows.size(), size_t(6));
        m->set_iterations(0);
        const auto t0 = evaluate(m, in.test, in.mean, in.std, 7, torch::kCPU);
        m->set_iterations(3);
        const auto t3 = evaluate(m, in.test, in.mean, in.std, 7, torch::kCPU);
        for (const auto& r : rows) {
            if (r.masked_fraction == 1.0) {
                QCOMPARE(r.top1, t0.top1);
                QCOMPARE(r.masked_slots, int64_t(2 * (12 + 6)));
            }
            if (r.masked_fraction == 0.0) {
                QCOMPARE(r.top1, t3.top1);
                QCOMPARE(r.masked_slots, int64_t(0));
            }
            if (r.masked_fraction == 0.5) QCOMPARE(r.masked_slots, int64_t(2 * (6 + 3)));
        }
        for (int64_t b = 0; b < 2; ++b) QVERIFY(!m->bank(b, Branch::Local)->has_mask());  // restored
    }

    void ablationMaskFollowsTheOrder() {
        // Six slots, slot 5 empty; usage (top-1 counts) 5, 0, 3, 0, 9, –.
        const auto valid = torch::tensor({true, true, true, true, true, false});
        const auto usage = torch::tensor({5, 0, 3, 0, 9, 7}, torch::kLong);
        auto slots = [](const torch::Tensor& m) {
            std::vector<int64_t> out;
            for (int64_t i = 0; i < m.numel(); ++i)
                if (m[i].item<bool>()) out.push_back(i);
            return out;
        };
        // 40 % of 5 filled slots = 2.
        QCOMPARE(slots(ablation_mask(valid, usage, AblationOrder::MostUsed, 0.4, 0, 0)), (std::vector<int64_t>{0, 4}));
        QCOMPARE(slots(ablation_mask(valid, usage, AblationOrder::LeastUsed, 0.4, 0, 0)), (std::vector<int64_t>{1, 3}));
        QCOMPARE(slots(ablation_mask(valid, usage, AblationOrder::LeastUsed, 0.6, 0, 0)), (std::vector<int64_t>{1, 2, 3}));
        QCOMPARE(slots(ablation_mask(valid, usage, AblationOrder::Random, 1.0, 0, 0)), (std::vector<int64_t>{0, 1, 2, 3, 4}));
        QCOMPARE(slots(ablation_mask(valid, usage, AblationOrder::Random, 0.0, 0, 0)), (std::vector<int64_t>{}));
        // Random masks grow nested with the fraction and depend on the seed only.
        const auto small = ablation_mask(valid, usage, AblationOrder::Random, 0.2, 5, 1);
        const auto large = ablation_mask(valid, usage, AblationOrder::Random, 0.6, 5, 1);
        QCOMPARE(small.sum().item<int64_t>(), int64_t(1));
        QCOMPARE(large.sum().item<int64_t>(), int64_t(3));
        QVERIFY(torch::equal(small.logical_and(large), small));
        QVERIFY(torch::equal(large, ablation_mask(valid, usage, AblationOrder::Random, 0.6, 5, 1)));
        QVERIFY_THROWS_EXCEPTION(ConfigError, parse_ablation_order("oldest"));
        AblationOptions bad;
        bad.fractions = {0.5, 1.5};
        QVERIFY_THROWS_EXCEPTION(ConfigError, validate_ablation(bad));
    }

    void evidenceSumsByHand() {
        // π = (3/4, 1/4) over two tokens: Σ_n π_n α_n = (.375, .375, .25).
        const auto alpha = torch::tensor({{0.5, 0.5, 0.0}, {0.0, 0.0, 1.0}}, torch::kDouble);
        VHMN_VERIFY_CLOSE(pooled_local_mass(alpha, torch::tensor({0.75, 0.25}, torch::kDouble)),
                          torch::tensor({0.375, 0.375, 0.25}, torch::kDouble), 1e-12);
        // Bank A: sources 5, 5, 7 with mass .5, .25, .25; bank B: 7, 9 with .5, .5 and a masked
        // slot of source 11; bank C retrieves nothing (left out). Two banks share: 1/2 each.
        std::vector<BankMass> banks{bank_mass({0.5, 0.25, 0.25}, {5, 5, 7}, {true, true, true}),
                                    bank_mass({0.5, 0.0, 0.5}, {7, 11, 9}, {true, false, true}, 1),
                                    bank_mass({0.0, 0.0}, {13, 14}, {false, false}, 2)};
        const auto ev = aggregate_evidence(banks);
        QCOMPARE(ev.size(), size_t(3));
        QCOMPARE(ev[0].source, int64_t(5));  // a tie with 7 (.375 each): the lower index first
        QCOMPARE(ev[1].source, int64_t(7));
        QCOMPARE(ev[2].source, int64_t(9));
        QCOMPARE(ev[0].mass, 0.375);
        QCOMPARE(ev[1].mass, 0.375);
        QCOMPARE(ev[2].mass, 0.25);
        QCOMPARE(ev[0].slots.size(), size_t(2));
        QCOMPARE(ev[0].slots[0].mass, 0.25);  // slot 0 of bank A: .5 × 1/2
        QCOMPARE(ev[1].slots[0].block, int64_t(1));  // its larger share comes from bank B
        QCOMPARE(ev[0].label, int64_t(5 % 3));
    }

    void evidenceOfAPredictionAndForgettingIt() {
        auto m = filled_model(2);
        const auto image = torch::randint(0, 256, {1, 8, 8}, torch::kLong).to(torch::kUInt8);
        EvidenceOptions all;
        all.top = 0;
        const auto e = probe_evidence(m, image, 1, {0.5}, {0.25}, all);
        QCOMPARE(e.banks_used, int64_t(4));
        double total = 0;
        for (const auto& im : e.images) {
            QVERIFY(im.source >= 100 && im.source < 112);
            QCOMPARE(im.label, (im.source - 100) % 3);
            double slots = 0;
            for (const auto& s : im.slots) slots += s.mass;
            QVERIFY(std::abs(slots - im.mass) < 1e-12);
            total += im.mass;
        }
        QVERIFY2(std::abs(total - 1.0) < 1e-6, std::to_string(total).c_str());
        // The inspector's way: the same answer from probe_image's own forward pass.
        ForwardTrace kept;
        (void)probe_image(m, image, 1, {0.5}, {0.25}, {}, 5, -1, torch::kCPU, &kept);
        const auto same = evidence_of(m, kept, 1, all);
        QCOMPARE(same.images.size(), e.images.size());
        for (size_t i = 0; i < e.images.size(); ++i) {
            QCOMPARE(same.images[i].source, e.images[i].source);
            QVERIFY(std::abs(same.images[i].mass - e.images[i].mass) < 1e-12);
        }
        // One block's global branch alone: its α at the last step, by source.
        EvidenceOptions one;
        one.top = 0, one.block = 1, one.branch = "global";
        const auto g = probe_evidence(m, image, 1, {0.5}, {0.25}, one);
        QCOMPARE(g.banks_used, int64_t(1));
        auto x = normalize_images(image.unsqueeze(0).to(torch::kFloat) / 255.0, {0.5}, {0.25});
        const auto trace = m->forward_trace(x, {1});
        const auto alpha = trace.blocks[1].global.alpha.back()[0].to(torch::kDouble);
        const auto src = m->bank(1, Branch::Global)->source;
        for (const auto& im : g.images) {
            const double expect = alpha.masked_select(src.eq(im.source)).sum().item<double>();
            QVERIFY(std::abs(im.mass - expect) < 1e-9);
        }
        // Forget the top 2 evidence images: none of their slots carries mass any more, and the
        // stored banks are untouched once the scope ends.
        const auto edit = forget_evidence_edit(e, 2, 0, "forget");
        QCOMPARE(edit.sources.size(), size_t(2));
        {
            const MaskScope restore(m);
            QVERIFY(apply_edit(m, edit, true) > 0);
            const auto after = probe_evidence(m, image, 1, {0.5}, {0.25}, all);
            for (const auto& im : after.images)
                QVERIFY(im.source != edit.sources[0] && im.source != edit.sources[1]);
        }
        for (int64_t b = 0; b < 2; ++b) QVERIFY(!m->bank(b, Branch::Global)->has_mask());
    }

    void editSelectorsAndFiles() {
        auto m = filled_model(1);
        auto bank = m->bank(0, Branch::Global);  // 6 slots, 2 per class
        {
            torch::NoGradGuard no_grad;
            bank->source.copy_(torch::tensor({10, 11, 12, 13, 14, 15}, torch::kLong));
            bank->step.copy_(torch::tensor({1, 2, 3, 4, 5, 6}, torch::kLong));
            bank->valid[5] = false;
        }
        bank->refresh();
        MemoryEdit e;
        e.sources = {11, 99};
        e.classes = {2};  // slots 4, 5 (5 is empty: never counted)
        e.steps = std::make_pair(int64_t(3), int64_t(3));
        e.slots = {{0, Branch::Global, 0}, {1, Branch::Global, 5}};
        const auto mask = edit_mask(m, e, 0, Branch::Global);
        QVERIFY(torch::equal(mask, torch::tensor({true, true, true, false, true, false})));
        e.blocks = {1};
        QVERIFY(!edit_mask(m, e, 0, Branch::Global).any().item<bool>());  // out of scope
        e.blocks = {};
        e.branch = "local";
        QVERIFY(!edit_mask(m, e, 0, Branch::Global).any().item<bool>());
        e.branch = "both";
        e.slots.push_back({0, Branch::Local, 12});
        QVERIFY_THROWS_EXCEPTION(ConfigError, apply_edit(m, e));  // local banks have 12 slots
        e.slots.pop_back();

        // The file round-trips.
        QTemporaryDir dir;
        e.name = "my-edit";
        e.description = "test";
        e.data_fingerprint = "train 12 images";
        e.origin = {{"evidence_of", 3}};
        const auto path = save_edit(dir.path().toStdString(), e);
        QVERIFY(std::filesystem::exists(path));
        const auto back = load_edit(dir.path().toStdString(), "my-edit");
        QCOMPARE(edit_to_json(back).dump(), edit_to_json(e).dump());
        QCOMPARE(list_edits(dir.path().toStdString()), std::vector<std::string>{"my-edit"});
        try {
            load_edit(dir.path().toStdString(), "other");
            QFAIL("a missing edit was read");
        } catch (const FileError& err) {
            QVERIFY2(std::string(err.what()).find("saved: my-edit") != std::string::npos, err.what());
        }
        const auto bad = [&](const std::string& text) {
            std::ofstream(path) << text;
            try {
                load_edit(dir.path().toStdString(), "my-edit");
            } catch (const ConfigError& err) {
                return std::string(err.what());
            } catch (const FileError& err) {
                return std::string(err.what());
            }
            return std::string();
        };
        QVERIFY(bad("{\"format\": \"vhmn-edit-1\", \"clases\": [1]}").find("unknown key \"clases\"") != std::string::npos);
        QVERIFY(bad("{\"format\": \"vhmn-edit-1\", \"classes\": [\"cat\"]}").find("must be an integer") != std::string::npos);
        QVERIFY(bad("{\"format\": \"vhmn-edit-1\", \"steps\": [5, 1]}").find("first <= last") != std::string::npos);
        QVERIFY(bad("{\"format\": \"vhmn-edit-1\", \"branch\": \"left\"}").find("\"branch\"") != std::string::npos);
        QVERIFY(bad("{\"classes\": [1]}").find("not a memory edit") != std::string::npos);
        QVERIFY(bad("{\"format\": \"vhmn-ed").find("not valid JSON") != std::string::npos);
        QVERIFY_THROWS_EXCEPTION(ConfigError, validate_edit_name("../x"));
        QVERIFY_THROWS_EXCEPTION(ConfigError, validate_edit_name(""));
    }

    void pcaByHand() {
        // Four points: variance 2/3 along x, 1/6 along y; axes e_x then e_y, explaining 80 % and 20 %.
        const auto x = torch::tensor({{1.0, 0.0}, {-1.0, 0.0}, {0.0, 0.5}, {0.0, -0.5}}, torch::kDouble) + 3.0;
        const auto p = pca(x, 2);
        VHMN_VERIFY_CLOSE(p.mean, torch::tensor({3.0, 3.0}, torch::kDouble), 1e-12);
        VHMN_VERIFY_CLOSE(p.axes, torch::tensor({{1.0, 0.0}, {0.0, 1.0}}, torch::kDouble), 1e-12);
        QVERIFY(std::abs(p.explained[0] - 0.8) < 1e-12 && std::abs(p.explained[1] - 0.2) < 1e-12);
        QVERIFY_THROWS_EXCEPTION(ConfigError, pca(torch::ones({1, 3}, torch::kDouble)));
    }

    void memoryMapAndTrajectory() {
        auto m = filled_model(3);
        const auto map = memory_map(m, 1, Branch::Local);
        QCOMPARE(map.coords.sizes(), (torch::IntArrayRef{12, 2}));
        QCOMPARE(map.slots.size(), size_t(12));
        // The slots' own vectors land on their coordinates.
        auto bank = m->bank(1, Branch::Local);
        VHMN_VERIFY_CLOSE(project(map, bank->memory.index_select(0, torch::tensor(map.slots))), map.coords, 1e-9);
        const auto image = torch::randint(0, 256, {1, 8, 8}, torch::kLong).to(torch::kUInt8);
        const auto path = map_trajectory(m, map, image, {0.5}, {0.25}, 5);
        QCOMPARE(path.sizes(), (torch::IntArrayRef{4, 2}));  // z_0 … z_3
        auto x = normalize_images(image.unsqueeze(0).to(torch::kFloat) / 255.0, {0.5}, {0.25});
        const auto trace = m->forward_trace(x, {1});
        VHMN_VERIFY_CLOSE(path[0], project(map, trace.blocks[1].local.query[0][5].unsqueeze(0))[0], 1e-9);
        const auto result = memory_map_result(map);
        QCOMPARE(result.table.rows(), size_t(12));
    }

    void leaveClassOutMatrix() {
        auto m = filled_model(2);
        auto in = input_of(m, 24);
        const auto r = probe_leave_class_out(in);
        QCOMPARE(r.accuracy.size(), size_t(3));
        QCOMPARE(r.class_count, (std::vector<int64_t>{8, 8, 8}));
        const auto base = evaluate(m, in.test, in.mean, in.std, 24, torch::kCPU);
        QCOMPARE(r.baseline_top1, base.top1);
        // Row c equals evaluating with class c's memories masked by an edit.
        for (int64_t c = 0; c < 3; ++c) {
            MemoryEdit e;
            e.classes = {c};
            const int64_t masked = apply_edit(m, e);
            QCOMPARE(r.masked_slots[size_t(c)], masked);
            QCOMPARE(r.top1[size_t(c)], evaluate(m, in.test, in.mean, in.std, 24, torch::kCPU).top1);
            clear_edit(m);
        }
        const auto table = leave_class_out_result(r);
        QCOMPARE(table.table.rows(), size_t(3 + 9));
        QCOMPARE(table.arrays[0].second.sizes(), (torch::IntArrayRef{3, 3}));
    }
};

VHMN_TEST_SUITE(TestEvidence);
#include "test_evidence.moc"
