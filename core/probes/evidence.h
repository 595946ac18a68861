#pragma once
// Evidence: from one test image to the training images its prediction retrieved (paper §1, §4.4,
// A.10: stored patterns are real training embeddings with provenance).
//
// The retrieval mass a stored slot receives from one image, per bank, is α at the last refinement
// step used (T = 0: the weights the query would get, which the model does not use):
//   global branch  mass_k = α_k                          (one query per image)
//   local branch   mass_k = Σ_n π_n α_{n,k}               (N token queries combined by the
//                                                         attention-pooling weights π of Eq. 3)
// Each is a distribution over the bank's slots (Σ_k mass_k = 1). Banks are weighted equally: with
// the default view (every block, both branches) each of the 2·depth retrievals carries 1/(2·depth)
// of the total; --block / --branch restrict the view and the remaining banks share it equally. A
// bank with nothing retrievable (empty, or fully masked by an edit) retrieves nothing (z = q) and
// is left out of the share. A training image's evidence is the sum over the slots it wrote.
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/models/vhmn.h"
#include "core/probes/framework.h"
#include "core/probes/memory_edit.h"

namespace vhmn {

/// Σ_n π_n α_{n,k}: a local branch's per-token weights α [N, K] combined by pooling weights π [N].
torch::Tensor pooled_local_mass(const torch::Tensor& alpha, const torch::Tensor& pool);

/// One bank's slot masses and its slots' provenance (CPU tensors, [K] each).
struct BankMass {
    int64_t block = 0;
    Branch branch = Branch::Global;
    torch::Tensor mass;                           ///< float64: retrieval mass per slot, Σ = 1
    torch::Tensor source, label, row, col, step;  ///< int64 provenance
    torch::Tensor retrievable;                    ///< bool: filled and not masked
};

struct EvidenceSlot {
    int64_t block = 0;
    Branch branch = Branch::Global;
    int64_t slot = -1, row = -1, col = -1, step = -1;
    double mass = 0;  ///< this slot's share of the total evidence
};

struct EvidenceImage {
    int64_t source = -1;  ///< dataset index of the training image
    int64_t label = -1;
    double mass = 0;      ///< Σ over its slots; over all images the masses sum to 1
    std::vector<EvidenceSlot> slots;  ///< the slots it wrote that carried mass, largest first
};

/// Sum slot masses by source image, each bank weighted 1/(banks that retrieved anything).
/// Sorted by mass (largest first; ties by dataset index). Slots with zero mass are left out.
std::vector<EvidenceImage> aggregate_evidence(const std::vector<BankMass>& banks);

struct EvidenceOptions {
    int64_t top = 10;            ///< images listed (0: every image with mass > 0)
    int64_t block = -1;          ///< −1: every block
    std::string branch = "both";  ///< local | global | both
};

struct Evidence {
    int64_t label = -1, prediction = -1;
    std::vector<double> probabilities;
    std::vector<EvidenceImage> images;  ///< the top ones (options.top)
    int64_t images_with_mass = 0;       ///< training images that received any mass
    double mass_listed = 0;             ///< Σ mass of the listed images
    int64_t banks_used = 0;             ///< retrievals sharing the mass
    int64_t iterations = 0;             ///< the model's T
    EvidenceOptions options;
};

/// One image (uint8 [C, H, W]) through the model (with whatever edit is applied to its banks).
Evidence probe_evidence(Model model, const torch::Tensor& image, int64_t label, const std::vector<double>& mean,
                        const std::vector<double>& std, const EvidenceOptions& options = {},
                        const torch::Device& device = torch::kCPU);

/// The same from a forward trace of that image already made (e.g. by probe_image for the
/// inspector: one forward pass for prototypes and evidence). The trace must hold the blocks in view.
Evidence evidence_of(VHMN& model, const ForwardTrace& trace, int64_t label, const EvidenceOptions& options);

/// Probe result "evidence": one row per (listed image, slot); params record the index, the view,
/// the weighting and `data_fingerprint` (the data the source indices refer to).
ProbeResult evidence_result(const Evidence& e, int64_t index, const std::string& data_fingerprint);

/// The edit that forgets the `n` images with the most evidence (their every slot, every bank).
MemoryEdit forget_evidence_edit(const Evidence& e, int64_t n, int64_t index, const std::string& name);

}  // namespace vhmn
