#pragma once
// Save and load a model with its memory banks and provenance.
//
// File layout (a libtorch serialize archive; for reading from Python use the run's run.h5):
//   format  int    kModelFormat
//   config  str    the ModelConfig as JSON
//   model   archive of every parameter and buffer (banks included) under its module name
#include <string>

#include <torch/torch.h>

#include "core/models/vhmn.h"

namespace vhmn {

constexpr int64_t kModelFormat = 1;

/// Writes atomically (temp file + rename): an existing file is never left half-written.
void save_model(const Model& model, const std::string& path);

/// The config stored in a model file (throws FileError for a missing/corrupt file).
ModelConfig read_model_config(const std::string& path);

/// Build a model from a file (its own config; `iterations` from the file too).
Model load_model(const std::string& path, const torch::Device& device = torch::kCPU);

/// Load weights and banks into an existing model. A file whose shape fields differ from the
/// model's config is rejected with a FileError naming each differing field.
void load_model_into(Model model, const std::string& path);

// Building blocks shared with checkpoints.
void write_model(const Model& model, torch::serialize::OutputArchive& archive);
void read_model(Model model, torch::serialize::InputArchive& archive, const std::string& path);
/// Open an archive for reading, turning libtorch's errors into one FileError.
void open_archive(torch::serialize::InputArchive& archive, const std::string& path);
/// Save an archive atomically.
void save_archive_atomic(torch::serialize::OutputArchive& archive, const std::string& path);

}  // namespace vhmn
