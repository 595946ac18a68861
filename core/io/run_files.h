#pragma once
// The files of a run folder (written by the trainer, read by the CLI, the GUI and the probes).

namespace vhmn {

/// File names inside a run folder.
namespace run_files {
inline constexpr const char* kConfig = "config.json";
inline constexpr const char* kCheckpoint = "checkpoint.pt";
inline constexpr const char* kModel = "model.pt";
inline constexpr const char* kRecord = "run.h5";
}  // namespace run_files

}  // namespace vhmn
