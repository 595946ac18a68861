#pragma once
// run.h5: a run's record, readable with h5py and no knowledge of this code. Schema:
//
//   /                    attrs: format = "vhmn-run-1", config = run config JSON (config.json)
//   /metrics/epoch/      1-D datasets, one entry per epoch: epoch, step, train_loss, train_acc,
//                        test_top1, test_top5, test_loss, lr, seconds, train_seconds, eval_seconds;
//                        2-D [epochs, depth] memory over training (V-HMN): unused_local,
//                        unused_global (share of filled slots no query's top-1), age_local,
//                        age_global (mean steps since written); NaN rows: epochs without them
//   /metrics/step/       1-D per logged step: step, epoch, epoch_progress, loss, accuracy, lr,
//                        images_per_s; 2-D [steps, depth]: beta_local, beta_global,
//                        entropy_local, entropy_global
//   /model/<name>        every parameter under its module name (a state dict), float32
//   /banks/block_<i>/{local,global}/  memory [K, L] float32, valid [K] uint8, label, source, row,
//                        col, step [K] int64, cursor [classes] int64 (provenance per slot)
//   /dataset             attrs: name, format, path, class_names (JSON list), train_size,
//                        test_size, full_train_size, fraction, imbalance, fingerprint (JSON:
//                        train/test count, shape, content, ordered; subset_indices, subset_count);
//                        datasets mean, std, and train_image_hashes / test_image_hashes [N] uint64
//                        (per image of the full split as read, dataset-index order: maps indices
//                        when the same images come in another order)
//   /probes/<name>/      results of `vhmn probe <name>`: attrs format = "vhmn-probe-1", params
//                        (JSON: what was asked and summary values), columns (JSON list);
//                        table/<column> 1-D (float64, int64 or fixed-length strings), one entry
//                        per table row (the same rows as the probe's CSV); further arrays by name
//                        (e.g. weights: mean_alpha [classes, K]; image: input [C, H, W] uint8,
//                        block_<i>/local/sources [k, C, H, W] uint8)
//
// The file is rewritten atomically after every epoch (temp file + rename); probe results already
// in it are carried over (the params record the epoch they were computed at).
#include <string>

#include "core/train/metrics.h"
#include "core/io/probe_result.h"
#include "core/models/vhmn.h"
#include "core/train/train_config.h"

namespace vhmn {

/// False when this build has no HDF5 (headless builds without libhdf5-dev).
bool run_record_available();

/// `also`: a probe result stored with the record in the same write (replacing one of its name).
void write_run_record(const std::string& path, const RunConfig& config, const History& history,
                      Model model, const ProbeResult* also = nullptr);

struct RunRecord {
    RunConfig config;
    History history;
};
/// Read config and metrics (not the weights). FileError for a missing/corrupt file.
RunRecord read_run_record(const std::string& path);

/// Store a probe result as /probes/<result.name> in an existing run.h5 (replacing an earlier one
/// of that name), atomically: a copy is edited and renamed over the file.
void write_probe_record(const std::string& path, const ProbeResult& result);

struct StoredProbe {
    nlohmann::json params;
    Table table;
};
/// Read a probe's params and table back (FileError if the file or the probe is missing).
StoredProbe read_probe_record(const std::string& path, const std::string& name);
/// Per-image content hashes a run recorded (/dataset/{train,test}_image_hashes); empty vectors
/// when the record has none (runs made before fingerprints). FileError for a missing/corrupt file.
struct RecordedImageHashes {
    std::vector<uint64_t> train, test;
};
RecordedImageHashes read_image_hashes(const std::string& path);

/// Names of the probes stored in a run.h5 (empty if none).
std::vector<std::string> probe_names(const std::string& path);

}  // namespace vhmn
