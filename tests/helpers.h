#pragma once
// Small helpers shared by the suites.
#include <string>

#include <torch/torch.h>

#include <QTemporaryDir>
#include <QtTest>

#include "core/models/config.h"

namespace vhmn::test {

/// A model small enough for unit tests: 8×8×1 images, 2×2 patches (16 tokens), D = L = 8.
inline ModelConfig tiny_config() {
    ModelConfig c;
    c.image_size = 8, c.channels = 1, c.classes = 3, c.patch = 2;
    c.dim = 8, c.latent = 8, c.depth = 2, c.window = 3, c.mlp_ratio = 2;
    c.local_slots = 12, c.global_slots = 6, c.iterations = 1, c.tokens_per_image = 2;
    return c;
}

inline bool all_close(const torch::Tensor& a, const torch::Tensor& b, double tol = 1e-5) {
    return a.sizes() == b.sizes() && torch::allclose(a, b, tol, tol);
}

/// QVERIFY2 message for tensors that differ.
inline std::string diff_message(const torch::Tensor& a, const torch::Tensor& b) {
    if (a.sizes() != b.sizes()) return "shapes differ";
    return "max |a-b| = " + std::to_string((a - b).abs().max().item<double>());
}

}  // namespace vhmn::test

#define VHMN_VERIFY_CLOSE(a, b, tol) \
    QVERIFY2(::vhmn::test::all_close((a), (b), (tol)), ::vhmn::test::diff_message((a), (b)).c_str())

/// Runs `stmt`; an exception fails the test with its message (instead of aborting the whole suite,
/// as one escaping a Qt Test slot does), so one device-mixing error is reported where it happens.
#define VHMN_NO_THROW(stmt)                                                    \
    do {                                                                       \
        try {                                                                  \
            stmt;                                                              \
        } catch (const std::exception& e_) {                                   \
            QFAIL(qPrintable(QString("threw: ") + QString::fromStdString(       \
                std::string(e_.what()).substr(0, std::string(e_.what()).find('\n'))))); \
        }                                                                      \
    } while (0)
