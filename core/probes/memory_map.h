#pragma once
// A map of the memory: every filled slot of one bank projected on the first two principal axes of
// the stored vectors (PCA of the unit vectors M̂, which is what retrieval compares: α depends on
// cos(z, M_j)), with its class and provenance, and a query's refinement z_0 = q … z_T drawn on the
// same axes (each z_t normalised like the slots).
#include <array>
#include <vector>

#include <torch/torch.h>

#include "core/models/vhmn.h"
#include "core/probes/framework.h"

namespace vhmn {

/// Principal axes of the rows of x [n, L]: the mean, the top `k` axes [k, L] (unit, each signed so
/// that its largest-magnitude component is positive) and the share of the variance each explains.
struct Pca {
    torch::Tensor mean, axes;
    std::vector<double> explained;
};
Pca pca(const torch::Tensor& x, int64_t k = 2);

struct MemoryMap {
    int64_t block = 0;
    Branch branch = Branch::Global;
    Pca axes;                   ///< of the filled slots' unit vectors
    torch::Tensor coords;       ///< [n, 2] float64, one row per filled slot
    std::vector<int64_t> slots, labels, sources, rows, cols, steps;  ///< provenance per row
};
/// The map of one bank (filled slots only; a bank with fewer than 2 has no axes: ConfigError).
MemoryMap memory_map(VHMN model, int64_t block, Branch branch);
/// Vectors [m, L] normalised to unit length and projected on the map's axes: [m, 2].
torch::Tensor project(const MemoryMap& map, const torch::Tensor& z);
/// The refinement z_0 = q … z_T of one test image's query on the map: [T + 1, 2]. Local branch:
/// the query of `token` (−1: the most informative token, largest pooling weight).
torch::Tensor map_trajectory(Model model, const MemoryMap& map, const torch::Tensor& image, const std::vector<double>& mean,
                             const std::vector<double>& std, int64_t token = -1, const torch::Device& device = torch::kCPU);
/// Probe result "map": slot, class, source, row, col, step, x, y; params: block, branch, explained.
ProbeResult memory_map_result(const MemoryMap& map);

}  // namespace vhmn
