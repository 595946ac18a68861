// Paper Eq. 1–2 (retrieval) and Eq. 4 (refinement) against hand-computed answers.
#include <cmath>
#include <limits>

#include <torch/torch.h>

#include <QtTest>

#include "core/emulated_device.h"
#include "core/models/hopfield.h"
#include "tests/helpers.h"
#include "tests/suite.h"

using namespace vhmn;

namespace {

BankView make_view(const torch::Tensor& M, const torch::Tensor& valid) {
    auto norms = M.norm(2, -1, true).clamp_min(1e-12);
    return {M, M / norms, valid, valid.sum().item<int64_t>()};
}

BankView full_view(const torch::Tensor& M) {
    return make_view(M, torch::ones({M.size(0)}, torch::kBool));
}

/// Retrieval written out element by element, independent of the library code.
torch::Tensor manual_m(const torch::Tensor& z, const torch::Tensor& M) {
    const int64_t K = M.size(0), L = M.size(1);
    auto out = torch::zeros_like(z);
    for (int64_t p = 0; p < z.size(0); ++p) {
        const double zn = std::sqrt((z[p] * z[p]).sum().item<double>());
        std::vector<double> logit(K);
        double mx = -1e300;
        for (int64_t j = 0; j < K; ++j) {
            const double mn = std::sqrt((M[j] * M[j]).sum().item<double>());
            logit[j] = std::sqrt(double(L)) * (z[p] * M[j]).sum().item<double>() / (zn * mn);
            mx = std::max(mx, logit[j]);
        }
        double s = 0;
        for (auto& l : logit) s += (l = std::exp(l - mx));
        for (int64_t j = 0; j < K; ++j) out[p] += (logit[j] / s) * M[j];
    }
    return out;
}

}  // namespace

class TestHopfield : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void threeSlotBankByHand() {
        // z = (1, 0); slots (1, 0), (0, 2), (−3, 0): cosines 1, 0, −1; logits √2·(1, 0, −1).
        auto z = torch::tensor({1.0f, 0.0f}).view({1, 2});
        auto M = torch::tensor({1.0f, 0.0f, 0.0f, 2.0f, -3.0f, 0.0f}).view({3, 2});
        auto r = retrieve(z, full_view(M));
        const double e0 = std::exp(std::sqrt(2.0)), e1 = 1.0, e2 = std::exp(-std::sqrt(2.0));
        const double s = e0 + e1 + e2;
        auto alpha = torch::tensor({float(e0 / s), float(e1 / s), float(e2 / s)}).view({1, 3});
        VHMN_VERIFY_CLOSE(r.alpha, alpha, 1e-6);
        // m uses the *unnormalised* slots: α0·(1,0) + α1·(0,2) + α2·(−3,0).
        auto m = torch::tensor({float((e0 - 3 * e2) / s), float(2 * e1 / s)}).view({1, 2});
        VHMN_VERIFY_CLOSE(r.m, m, 1e-6);
        QCOMPARE(r.alpha.sum().item<float>(), 1.0f);
    }

    void scaleIsSqrtL_data() {
        QTest::addColumn<int>("L");
        QTest::newRow("L=2") << 2;
        QTest::newRow("L=8") << 8;
        QTest::newRow("L=300") << 300;
    }
    void scaleIsSqrtL() {
        // Two slots with cosines +1 and −1 to z: log(α0/α1) = √L·(1 − (−1)) = 2√L.
        QFETCH(int, L);
        auto z = torch::zeros({1, L});
        z[0][0] = 1.0f;
        auto M = torch::zeros({2, L});
        M[0][0] = 5.0f;
        M[1][0] = -0.5f;
        auto a = retrieve(z, full_view(M)).alpha.to(torch::kDouble);
        const double ratio = std::log(a[0][0].item<double>() / a[0][1].item<double>());
        QVERIFY2(std::abs(ratio - 2.0 * std::sqrt(double(L))) < 1e-3 * std::sqrt(double(L)),
                 qPrintable(QString::number(ratio)));
    }

    void emptySlotsAreMasked() {
        auto z = torch::tensor({1.0f, 0.0f}).view({1, 2});
        auto M = torch::tensor({1.0f, 0.0f, 0.0f, 2.0f, 7.0f, 7.0f}).view({3, 2});
        auto valid = torch::tensor({true, true, false});
        auto r = retrieve(z, make_view(M, valid));
        QCOMPARE(r.alpha[0][2].item<float>(), 0.0f);
        const double e0 = std::exp(std::sqrt(2.0));
        QVERIFY(std::abs(r.alpha[0][0].item<double>() - e0 / (e0 + 1.0)) < 1e-6);
        VHMN_VERIFY_CLOSE(r.m, torch::tensor({float(e0 / (e0 + 1)), float(2 / (e0 + 1))}).view({1, 2}), 1e-6);
    }

    void emptyBankReturnsZ() {
        auto q = torch::randn({4, 5, 6});
        auto M = torch::randn({10, 6});
        auto view = make_view(M, torch::zeros({10}, torch::kBool));
        auto r = retrieve(q, view);
        QVERIFY(torch::equal(r.m, q));
        QCOMPARE(r.alpha.sizes(), (torch::IntArrayRef{4, 5, 10}));
        QCOMPARE(r.alpha.abs().sum().item<float>(), 0.0f);
        auto z = refine(q, view, torch::full({1}, 0.7), 3);
        QVERIFY(torch::equal(z, q));
    }

    void zeroIterationsIsIdentity() {
        auto q = torch::randn({3, 8});
        auto z = refine(q, full_view(torch::randn({5, 8})), torch::full({1}, 0.2), 0);
        QVERIFY(torch::equal(z, q));
    }

    void twoIterationsByHand() {
        torch::manual_seed(1);
        auto q = torch::randn({4, 6}, torch::kDouble);
        auto M = torch::randn({7, 6}, torch::kDouble);
        const double beta = 0.3;
        auto z1 = q + beta * (manual_m(q, M) - q);
        auto z2 = z1 + beta * (manual_m(z1, M) - z1);
        auto z = refine(q, full_view(M), torch::full({1}, beta, torch::kDouble), 2);
        VHMN_VERIFY_CLOSE(z, z2, 1e-10);
    }

    void traceRecordsEverySteps() {
        auto q = torch::randn({2, 3, 4});
        RefineTrace trace;
        refine(q, full_view(torch::randn({5, 4})), torch::full({1}, 0.5), 3, &trace);
        QCOMPARE(int(trace.alpha.size()), 3);
        QCOMPARE(int(trace.distance.size()), 4);
        QCOMPARE(trace.distance[0].abs().sum().item<float>(), 0.0f);
        VHMN_VERIFY_CLOSE(trace.alpha[2].sum(-1), torch::ones({2, 3}), 1e-5);
    }

    void betaGradientMatchesFiniteDifference() {
        torch::manual_seed(2);
        auto q = torch::randn({3, 5}, torch::kDouble);
        auto view = full_view(torch::randn({6, 5}, torch::kDouble));
        auto beta = torch::full({1}, 0.4, torch::dtype(torch::kDouble).requires_grad(true));
        auto f = [&](const torch::Tensor& b) { return refine(q, view, b, 2).pow(2).sum(); };
        f(beta).backward();
        const double h = 1e-6;
        const double fd = (f(torch::full({1}, 0.4 + h, torch::kDouble)).item<double>() -
                           f(torch::full({1}, 0.4 - h, torch::kDouble)).item<double>()) / (2 * h);
        QVERIFY2(std::abs(beta.grad().item<double>() - fd) < 1e-6,
                 qPrintable(QString("autograd %1 vs fd %2").arg(beta.grad().item<double>()).arg(fd)));
    }

    void retrievalGradientEqualsPlainAutograd_data() {
        QTest::addColumn<bool>("partial");
        QTest::addColumn<bool>("emulated");
        QTest::newRow("full bank") << false << false;
        QTest::newRow("partly filled bank") << true << false;
        // The device path (what a GPU runs: no CPU chunking, tensors kept off the host).
        QTest::newRow("full bank, emulated device") << false << true;
        QTest::newRow("partly filled bank, emulated device") << true << true;
    }
    void retrievalGradientEqualsPlainAutograd() {
        // retrieve() is one autograd node with a hand-written backward pass; it must give the
        // gradient that autograd gives for Eq. 1–2 written with plain ops (normalise, √L-scaled
        // similarities, masked softmax, weighted sum), in double precision.
        QFETCH(bool, partial);
        QFETCH(bool, emulated);
        if (emulated && !emulated_backward_works()) QSKIP("no backward pass on the emulated device in a CUDA build");
        const auto dev = emulated ? emulated_device() : torch::Device(torch::kCPU);
        torch::manual_seed(3);
        const int64_t P = 7, K = 9, L = 5;
        auto opts = torch::TensorOptions().dtype(torch::kDouble).device(dev);
        auto M = torch::randn({K, L}, torch::kDouble).to(dev);
        auto valid = torch::ones({K}, torch::kBool);
        if (partial) valid.index_put_({torch::tensor({1, 4, 8})}, false);
        valid = valid.to(dev);
        auto z0 = torch::randn({P, L}, torch::kDouble).to(dev);
        auto w = torch::randn({P, L}, torch::kDouble).to(dev);  // the loss Σ w ⊙ m

        auto z = z0.clone().requires_grad_(true);
        auto r = retrieve(z, make_view(M, valid));
        (r.m * w).sum().backward();
        QVERIFY(!r.alpha.requires_grad());  // α is read by probes, not trained through

        namespace F = torch::nn::functional;
        auto zr = z0.clone().requires_grad_(true);
        auto logits = torch::matmul(F::normalize(zr, F::NormalizeFuncOptions().dim(-1)),
                                    F::normalize(M, F::NormalizeFuncOptions().dim(-1)).t()) * std::sqrt(double(L));
        logits = logits.masked_fill(valid.logical_not().unsqueeze(0), -std::numeric_limits<double>::infinity());
        auto alpha = torch::softmax(logits, -1);
        auto m = torch::matmul(alpha, M);
        (m * w).sum().backward();

        VHMN_VERIFY_CLOSE(r.alpha, alpha.detach(), 1e-12);
        VHMN_VERIFY_CLOSE(r.m.detach(), m.detach(), 1e-12);
        VHMN_VERIFY_CLOSE(z.grad(), zr.grad(), 1e-10);
        if (partial) QCOMPARE(r.alpha.index({torch::indexing::Slice(), 4}).abs().max().item<double>(), 0.0);
        {
            // Inference without α (probes that read only m): the same m, α never stored.
            c10::InferenceMode inference;
            auto r2 = retrieve(z0, make_view(M, valid), false);
            QVERIFY(!r2.alpha.defined());
            VHMN_VERIFY_CLOSE(r2.m, m.detach(), 1e-12);
        }
        // And through a refinement step with β: z1 = q + β(m(q) − q), gradients for q and β.
        auto q = z0.clone().requires_grad_(true), beta = torch::full({1}, 0.3, opts).requires_grad_(true);
        (refine(q, make_view(M, valid), beta, 2) * w).sum().backward();
        auto qr = z0.clone().requires_grad_(true), br = torch::full({1}, 0.3, opts).requires_grad_(true);
        auto zz = qr;
        for (int t = 0; t < 2; ++t) {
            auto lg = torch::matmul(F::normalize(zz, F::NormalizeFuncOptions().dim(-1)),
                                    F::normalize(M, F::NormalizeFuncOptions().dim(-1)).t()) * std::sqrt(double(L));
            lg = lg.masked_fill(valid.logical_not().unsqueeze(0), -std::numeric_limits<double>::infinity());
            zz = zz + br * (torch::matmul(torch::softmax(lg, -1), M) - zz);
        }
        (zz * w).sum().backward();
        VHMN_VERIFY_CLOSE(q.grad(), qr.grad(), 1e-10);
        VHMN_VERIFY_CLOSE(beta.grad(), br.grad(), 1e-10);
    }

    void entropyOfKnownWeights() {
        auto a = torch::tensor({0.25f, 0.25f, 0.25f, 0.25f, 1.0f, 0.0f, 0.0f, 0.0f}).view({2, 4});
        auto h = entropy(a);
        QVERIFY(std::abs(h[0].item<double>() - std::log(4.0)) < 1e-6);
        QCOMPARE(h[1].item<float>(), 0.0f);
    }
};

VHMN_TEST_SUITE(TestHopfield);
#include "test_hopfield.moc"
