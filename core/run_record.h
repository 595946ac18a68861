#pragma once
// run.h5: a run's record, readable with h5py and no knowledge of this code. Schema:
//
//   /                    attrs: format = "vhmn-run-1", config = run config JSON (config.json)
//   /metrics/epoch/      1-D datasets, one entry per epoch: epoch, step, train_loss, train_acc,
//                        test_top1, test_top5, test_loss, lr, seconds
//   /metrics/step/       1-D per logged step: step, epoch, epoch_progress, loss, accuracy, lr,
//                        images_per_s; 2-D [steps, depth]: beta_local, beta_global,
//                        entropy_local, entropy_global
//   /model/<name>        every parameter under its module name (a state dict), float32
//   /banks/block_<i>/{local,global}/  memory [K, L] float32, valid [K] uint8, label, source, row,
//                        col, step [K] int64, cursor [classes] int64 (provenance per slot)
//   /dataset             attrs: name, format, path, class_names (JSON list), train_size,
//                        test_size, full_train_size, fraction, imbalance; datasets mean, std
//   /probes/<name>/      results of `vhmn probe` (see the probes' documentation)
//
// The file is rewritten atomically after every epoch (temp file + rename).
#include <string>

#include "core/metrics.h"
#include "core/model.h"
#include "core/train_config.h"

namespace vhmn {

/// False when this build has no HDF5 (headless builds without libhdf5-dev).
bool run_record_available();

void write_run_record(const std::string& path, const RunConfig& config, const History& history,
                      VHMN& model);

struct RunRecord {
    RunConfig config;
    History history;
};
/// Read config and metrics (not the weights). FileError for a missing/corrupt file.
RunRecord read_run_record(const std::string& path);

}  // namespace vhmn
