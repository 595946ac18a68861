// The local query "unfold k×k neighbourhood (zero padding) + linear" is exactly a convolution.
#include <torch/torch.h>

#include <QtTest>

#include "core/models/vhmn.h"
#include "tests/helpers.h"
#include "tests/suite.h"

using namespace vhmn;

class TestLocalConv : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void convEqualsUnfoldLinear_data() {
        QTest::addColumn<int>("k");
        QTest::newRow("k=3") << 3;
        QTest::newRow("k=5") << 5;
        QTest::newRow("k=7") << 7;
    }
    void convEqualsUnfoldLinear() {
        QFETCH(int, k);
        torch::manual_seed(k);
        ModelConfig cfg = test::tiny_config();
        cfg.image_size = 12, cfg.patch = 2, cfg.window = k, cfg.dim = 6, cfg.latent = 5;
        LocalMemory local(cfg);
        const int64_t g = cfg.grid(), D = cfg.dim, L = cfg.latent, B = 2, r = k / 2;
        auto y = torch::randn({B, g * g, D}, torch::kDouble);
        local->query->to(torch::kDouble);  // (Module::to(dtype) would also cast the int buffers)
        auto q = local->query_of(y);  // [B, N, L]

        // Explicit unfold: for token (i, j) gather y at (i+di, j+dj), zero outside the grid,
        // flattened as (channel, di, dj) — the layout of the linear map W [L, D·k·k].
        auto W = local->query->weight.reshape({L, D * k * k});
        auto bias = local->query->bias;
        auto expected = torch::zeros({B, g * g, L}, torch::kDouble);
        for (int64_t b = 0; b < B; ++b)
            for (int64_t i = 0; i < g; ++i)
                for (int64_t j = 0; j < g; ++j) {
                    auto patch = torch::zeros({D, k, k}, torch::kDouble);
                    for (int64_t di = -r; di <= r; ++di)
                        for (int64_t dj = -r; dj <= r; ++dj) {
                            const int64_t ii = i + di, jj = j + dj;
                            if (ii < 0 || jj < 0 || ii >= g || jj >= g) continue;
                            patch.select(1, di + r).select(1, dj + r).copy_(y[b][ii * g + jj]);
                        }
                    expected[b][i * g + j] = torch::matmul(W, patch.flatten()) + bias;
                }
        VHMN_VERIFY_CLOSE(q, expected, 1e-10);
    }
};

VHMN_TEST_SUITE(TestLocalConv);
#include "test_local_conv.moc"
