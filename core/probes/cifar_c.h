#pragma once
// The CIFAR-10-C corruption suite (Hendrycks & Dietterich, ICLR 2019) as a probe: top-1 accuracy
// per corruption × severity × inference-time T, the mean over the reference cells, per-family
// means and the (relative) mCE against a baseline run.
//
// Where the corrupted images come from is a CorruptionSource: the released `<corruption>.npy`
// files (datasets/readers/npy.h) or our own generator (datasets/corruptions/), which apply the reference
// generator's parameters to the run's test split. Only numbers from released files are labelled
// "CIFAR-10-C"; generated ones are "generated (comparable in distribution, not the release)", and
// frost — whose texture photographs we cannot ship, so its texture is drawn procedurally — is never
// part of a generated mean.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/corruption_source.h"
#include "core/probes/framework.h"

namespace vhmn {

struct CorruptionsOptions {
    std::vector<std::string> corruptions;  ///< empty: all the source has
    std::vector<int> severities{1, 2, 3, 4, 5};
    std::vector<int64_t> iterations;        ///< empty: the model's T (a model without memory: T = 0)
    Model baseline{nullptr};                ///< evaluated on the same images, for the mCE
};

struct CCell {
    std::string corruption;
    int severity = 0;
    int64_t iterations = 0;
    double top1 = 0;           ///< percent
    double baseline_top1 = -1;  ///< percent (−1: no baseline)
    int64_t count = 0;
};

struct CorruptionsReport {
    std::vector<CCell> cells;
    std::vector<int64_t> iterations;
    std::map<int64_t, double> clean_top1;  ///< by T, on the clean images of the cells' images
    double baseline_clean_top1 = -1;
    int64_t clean_count = 0;                ///< = the images per severity of every cell
    bool released = false;
    nlohmann::json source;                  ///< CorruptionSource::params()
    std::string description;                ///< CorruptionSource::description(): one line for people
    std::vector<std::string> ours;          ///< corruptions whose images are ours (frost when generated)
};

/// Evaluate every (corruption, severity) cell of `source` at each T, and clean accuracy on the same
/// images: `in.test` itself for a generated source, the images of `in.test` whose Split::index is the source's test_index()
/// (then the run's whole test split) for released files, whose labels must equal the split's there
/// (FileError naming labels.npy, the first differing image and both labels). Each corrupted batch
/// is made once and embedded once for all T (and the baseline).
CorruptionsReport probe_corruptions(ProbeInput& in, CorruptionSource& source, const CorruptionsOptions& opts,
                                    const ProbeControl& control = {});

/// Aggregates of one T.
struct CorruptionsSummary {
    int64_t iterations = 0;
    double clean = 0;
    double mean = 0;               ///< mean top-1 over the reference cells (75 released, 70 generated)
    int64_t reference_cells = 0;
    std::map<std::string, double> by_corruption;  ///< mean over severities
    std::map<std::string, double> by_family;      ///< mean over the family's reference cells
    double mce = -1, relative_mce = -1;           ///< percent; −1 without a baseline
};
/// ConfigError when no cell has that T.
CorruptionsSummary summarize(const CorruptionsReport& r, int64_t iterations);
/// Is a cell counted in the mean: a reference corruption whose images are not ours.
bool counts_in_mean(const CorruptionsReport& r, const std::string& corruption);
/// Why a corruption is in no mean ("ours, not the reference's …", "extra …"), empty otherwise.
std::string corruption_note(const CorruptionsReport& r, const std::string& corruption);

/// Table: one row per cell (corruption, family, severity, iterations, top1, baseline_top1, count,
/// in_mean, note); params: the source, the clean accuracy and every summary.
ProbeResult corruptions_result(const CorruptionsReport& r);
/// The stored result back (run.h5 /probes/corruptions or the CSV's table + params).
CorruptionsReport corruptions_from_result(const Table& table, const nlohmann::json& params);
/// The 15×5 unaggregated layout: one row per corruption and T, one column per severity (s1…s5),
/// their mean and the note (frost generated: ours).
Table corruptions_grid(const CorruptionsReport& r);
/// A JSON entry shaped like RobustBench's: `clean_acc`, `corruptions_acc`, per-corruption numbers,
/// for the first T (others under "by_iterations").
nlohmann::json robustbench_entry(const CorruptionsReport& r, const std::string& model_name);

}  // namespace vhmn
