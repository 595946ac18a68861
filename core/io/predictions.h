#pragma once
// Every test image's prediction and confidence, kept in run.h5 as the probe "predictions" when
// training ends (the final evaluation computes them anyway), so that opening a run in the app needs
// no forward pass over the test split. Stale entries (other weights, another T, another test split)
// are recognised and ignored.
//
//   /probes/predictions/  params: epochs (of the weights), iterations (T), test_count;
//                         table: index (dataset index), label, prediction, confidence (max softmax)
#include <optional>
#include <string>

#include <torch/torch.h>

#include "core/data.h"
#include "core/io/probe_result.h"

namespace vhmn {

inline constexpr const char* kPredictionsProbe = "predictions";

struct TestPredictions {
    torch::Tensor prediction;  ///< [n] int64, on the CPU
    torch::Tensor confidence;  ///< [n] float64, on the CPU
};

/// The probe result stored for `test` (every image of it, in split order).
ProbeResult predictions_result(const TestPredictions& p, const data::Split& test, int64_t epochs, int64_t iterations);

/// The stored predictions of `record` when they belong to these weights (`epochs`), this T and
/// exactly this test split (same size, same dataset indices and labels); nullopt when absent,
/// stale or unreadable (the caller computes them).
std::optional<TestPredictions> read_predictions(const std::string& record, const data::Split& test, int64_t epochs,
                                                int64_t iterations);

}  // namespace vhmn
