// Class-balanced ring buffers (DESIGN.md §2).
#include <algorithm>
#include <random>

#include <torch/torch.h>

#include <QtTest>

#include "core/models/memory_bank.h"
#include "tests/helpers.h"
#include "tests/suite.h"

using namespace vhmn;

namespace {

/// Stage n writes of the given labels; vector i is filled with the value `first_id + i` and its
/// source index is `first_id + i`, so every stored vector carries its own identity.
void write(MemoryBank& bank, const std::vector<int64_t>& labels, int64_t first_id, int64_t step = 0) {
    const int64_t n = int64_t(labels.size());
    auto ids = torch::arange(first_id, first_id + n, torch::kInt64);
    auto vecs = ids.to(torch::kFloat).unsqueeze(1).expand({n, bank->dim()}).contiguous();
    bank->stage(vecs, torch::tensor(labels, torch::kInt64), ids, ids * 10, ids * 100, step);
}

int64_t id_in_slot(MemoryBank& bank, int64_t slot) {
    return static_cast<int64_t>(bank->memory[slot][0].item<float>());
}

}  // namespace

class TestMemoryBank : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void perClassCapacity() {
        MemoryBank bank(6, 4, 3);  // 2 slots per class: class c owns slots 2c, 2c+1
        bank->train();
        write(bank, {1, 1, 1, 1, 1}, 0);
        QCOMPARE(bank->commit(), int64_t(5));
        QCOMPARE(bank->filled_per_class(), (std::vector<int64_t>{0, 2, 0}));
        // Cursor order 2,3,2,3,2: the newest two survive (id 4 in slot 2, id 3 in slot 3).
        QCOMPARE(id_in_slot(bank, 2), int64_t(4));
        QCOMPARE(id_in_slot(bank, 3), int64_t(3));
        QVERIFY(!bank->valid[0].item<bool>());
    }

    void overwritesOldestOfClass() {
        MemoryBank bank(6, 4, 3);
        bank->train();
        write(bank, {0, 0}, 10);  // slots 0, 1
        bank->commit();
        write(bank, {2}, 20);  // another class does not move class 0's cursor
        bank->commit();
        write(bank, {0}, 30);  // overwrites the oldest class-0 entry (slot 0)
        bank->commit();
        QCOMPARE(id_in_slot(bank, 0), int64_t(30));
        QCOMPARE(id_in_slot(bank, 1), int64_t(11));
        QCOMPARE(id_in_slot(bank, 4), int64_t(20));
        write(bank, {0}, 40);  // then slot 1
        bank->commit();
        QCOMPARE(id_in_slot(bank, 1), int64_t(40));
        QCOMPARE(id_in_slot(bank, 0), int64_t(30));
    }

    void balancedUnderSkewedBatches() {
        MemoryBank bank(30, 3, 3);  // 10 per class
        bank->train();
        std::vector<int64_t> labels(100, 0);
        labels.push_back(2);
        labels.push_back(2);
        write(bank, labels, 0);
        bank->commit();
        QCOMPARE(bank->filled_per_class(), (std::vector<int64_t>{10, 0, 2}));
        // Class 0 stays in its own region however many it brings.
        auto lab = bank->label;
        for (int64_t j = 0; j < 30; ++j) {
            const int64_t l = lab[j].item<int64_t>();
            QVERIFY(l == -1 || l == bank->class_of_slot(j));
        }
        // The 10 newest class-0 vectors (ids 90..99) are the ones kept.
        auto kept = std::get<0>(bank->source.slice(0, 0, 10).sort());
        QVERIFY(torch::equal(kept, torch::arange(90, 100, torch::kInt64)));
    }

    void commitMatchesSequentialRingBuffer() {
        // The commit places writes with tensor ops (sort, scatter) on the bank's device; a plain
        // sequential ring buffer, one write at a time, must give the same slots, cursors and winners.
        MemoryBank bank(4 * 5, 2, 5);  // 4 slots per class
        bank->train();
        std::vector<int64_t> cursor(5, 0), slot_id(20, -1);
        std::mt19937 rng(7);
        int64_t next_id = 0;
        for (int commit = 0; commit < 6; ++commit) {
            for (int batch = 0; batch < 3; ++batch) {  // several staged batches per commit
                std::vector<int64_t> labels(size_t(rng() % 12));
                for (auto& l : labels) l = int64_t(rng() % 3 == 0 ? 1 : rng() % 5);  // class 1 overflows
                write(bank, labels, next_id);
                for (size_t i = 0; i < labels.size(); ++i) {
                    const int64_t c = labels[i];
                    slot_id[size_t(c * 4 + cursor[size_t(c)])] = next_id + int64_t(i);
                    cursor[size_t(c)] = (cursor[size_t(c)] + 1) % 4;
                }
                next_id += int64_t(labels.size());
            }
            bank->commit();
            for (int64_t j = 0; j < 20; ++j) {
                QCOMPARE(bank->valid[j].item<bool>(), slot_id[size_t(j)] >= 0);
                if (slot_id[size_t(j)] >= 0) {
                    QCOMPARE(id_in_slot(bank, j), slot_id[size_t(j)]);
                    QCOMPARE(bank->source[j].item<int64_t>(), slot_id[size_t(j)]);
                    QCOMPARE(bank->row[j].item<int64_t>(), slot_id[size_t(j)] * 10);
                }
            }
            QVERIFY(torch::equal(bank->cursor, torch::tensor(cursor, torch::kInt64)));
            QCOMPARE(bank->filled(), int64_t(std::count_if(slot_id.begin(), slot_id.end(), [](int64_t v) { return v >= 0; })));
        }
    }

    void commitAllMatchesOneCommitPerBank() {
        // A model's banks commit together, one placement for the banks that staged the same labels
        // tensor; each must end as its own commit() leaves it — with cursors that differ between
        // banks, batches that overflow a class, and a bank whose labels are another tensor.
        std::mt19937 rng(11);
        std::vector<MemoryBank> together, alone;
        for (int b = 0; b < 4; ++b)
            for (auto* v : {&together, &alone}) {
                v->push_back(MemoryBank(4 * 5, 3, 5));
                v->back()->train();
            }
        for (int step = 0; step < 5; ++step) {
            std::vector<int64_t> labels(size_t(3 + rng() % 10));
            for (auto& l : labels) l = int64_t(rng() % 3 == 0 ? 2 : rng() % 5);  // class 2 overflows
            const int64_t n = int64_t(labels.size());
            auto lab = torch::tensor(labels, torch::kInt64);
            // Rows: the rows of one [4, n] tensor (as a model's blocks stage them); columns: a tensor per bank.
            auto rows = torch::arange(4 * n, torch::kInt64).view({4, n}) + 1000 * step;
            if (step == 3) {
                // As a load or a move does: a buffer of a packed bank replaced by a copy elsewhere.
                auto& m = together[2]->memory;
                m.set_data(m.clone());
            }
            for (int b = 0; b < 4; ++b) {
                // Bank 1 skips step 0 (its cursors differ from then on); bank 3 stages its own copy.
                if (b == 1 && step == 0) continue;
                auto vecs = torch::randn({n, 3});
                auto ids = torch::arange(100 * step + 10 * b, 100 * step + 10 * b + n, torch::kInt64);
                for (auto* v : {&together, &alone})
                    (*v)[size_t(b)]->stage(vecs, b == 3 ? lab.clone() : lab, ids, rows[b], ids + 2, step);
            }
            std::vector<MemoryBankImpl*> all;
            for (auto& bank : together) all.push_back(bank.get());
            int64_t one_by_one = 0;
            for (auto& bank : alone) one_by_one += bank->commit();
            QCOMPARE(MemoryBankImpl::commit_all(all), one_by_one);
            for (int b = 0; b < 4; ++b) {
                const auto x = together[size_t(b)]->named_buffers(), y = alone[size_t(b)]->named_buffers();
                for (const auto& kv : x) QVERIFY2(torch::equal(kv.value(), *y.find(kv.key())), kv.key().c_str());
                // What retrieval reads (made for the group at commit) is what one bank makes for itself.
                const auto u = together[size_t(b)]->view(), w = alone[size_t(b)]->view();
                QVERIFY(torch::equal(u.memory_hat, w.memory_hat));
                QCOMPARE(u.filled, w.filled);
                QCOMPARE(u.logit_bias.defined(), w.logit_bias.defined());
                if (u.logit_bias.defined()) QVERIFY(torch::equal(u.logit_bias, w.logit_bias));
            }
            // The banks that shared a placement now keep their buffers in one storage.
            if (step > 0)
                QCOMPARE(together[2]->memory.storage().unsafeGetStorageImpl(),
                         together[0]->memory.storage().unsafeGetStorageImpl());
        }
        QVERIFY(!torch::equal(together[0]->cursor, together[1]->cursor));
    }

    void provenanceMovesWithVector() {
        MemoryBank bank(8, 2, 2);  // 4 per class
        bank->train();
        write(bank, {0, 1, 0, 1, 0, 0, 0}, 100, /*step=*/7);
        bank->commit();
        write(bank, {1, 0}, 200, /*step=*/8);
        bank->commit();
        std::vector<int64_t> all(8);
        std::iota(all.begin(), all.end(), 0);
        for (const auto& p : bank->provenance(all)) {
            if (p.label < 0) continue;
            const int64_t id = id_in_slot(bank, p.slot);
            QCOMPARE(p.source, id);        // the vector's own identity
            QCOMPARE(p.row, id * 10);
            QCOMPARE(p.col, id * 100);
            QCOMPARE(p.label, bank->class_of_slot(p.slot));
            QCOMPARE(p.step, id >= 200 ? int64_t(8) : int64_t(7));
        }
        QCOMPARE(bank->filled(), int64_t(7));
    }

    void writesWaitForCommit() {
        MemoryBank bank(6, 4, 3);
        bank->train();
        write(bank, {0, 1, 2}, 0);
        QCOMPARE(bank->staged(), int64_t(3));
        QCOMPARE(bank->view().filled, int64_t(0));
        bank->commit();
        QCOMPARE(bank->view().filled, int64_t(3));
        QCOMPARE(bank->staged(), int64_t(0));
    }

    void frozenInEvalMode() {
        MemoryBank bank(6, 4, 3);
        bank->eval();
        write(bank, {0, 1, 2}, 0);
        QCOMPARE(bank->staged(), int64_t(0));
        QCOMPARE(bank->commit(), int64_t(0));
        QCOMPARE(bank->filled(), int64_t(0));
    }

    void normalisedCacheFollowsWrites() {
        MemoryBank bank(6, 4, 3);
        bank->train();
        write(bank, {0}, 3);
        bank->commit();
        auto v1 = bank->view();
        QVERIFY(std::abs(v1.memory_hat[0].norm().item<double>() - 1.0) < 1e-6);
        write(bank, {1}, 5);
        bank->commit();
        auto v2 = bank->view();
        QVERIFY(std::abs(v2.memory_hat[2].norm().item<double>() - 1.0) < 1e-6);
    }

    void badLabelIsAnError() {
        MemoryBank bank(6, 4, 3);
        bank->train();
        write(bank, {3}, 0);
        QVERIFY_THROWS_EXCEPTION(std::out_of_range, bank->commit());
    }
};

VHMN_TEST_SUITE(TestMemoryBank);
#include "test_memory_bank.moc"
