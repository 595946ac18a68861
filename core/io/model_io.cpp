#include "core/io/model_io.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/models/factory.h"
#include "core/io/atomic_file.h"
#include "core/error.h"

namespace vhmn {
namespace fs = std::filesystem;

void open_archive(torch::serialize::InputArchive& archive, const std::string& path) {
    std::error_code ec;
    if (!fs::exists(path, ec)) throw FileError(path, "no such file");
    if (fs::is_directory(path, ec)) throw FileError(path, "is a directory, expected a file");
    try {
        // Always onto the CPU: a run written on a GPU server opens on a desktop without CUDA
        // (callers move the model to their device afterwards).
        archive.load_from(path, torch::Device(torch::kCPU));
    } catch (const std::exception& e) {
        std::string why = e.what();
        why = why.substr(0, why.find('\n'));
        throw FileError(path, "not a readable V-HMN file, truncated or corrupt (" + why + ")");
    }
}

void save_archive_atomic(torch::serialize::OutputArchive& archive, const std::string& path) {
    write_atomically(path, [&](const std::string& tmp) { archive.save_to(tmp); });
}

void write_model(const Model& model, torch::serialize::OutputArchive& archive) {
    archive.write("format", c10::IValue(kModelFormat));
    archive.write("config", c10::IValue(nlohmann::json(model->config()).dump()));
    torch::serialize::OutputArchive weights;
    model->save(weights);
    archive.write("model", weights);
}

namespace {

ModelConfig config_of(torch::serialize::InputArchive& archive, const std::string& path) {
    c10::IValue format, config;
    if (!archive.try_read("format", format) || !format.isInt())
        throw FileError(path, "not a V-HMN model file (no format tag)");
    if (format.toInt() != kModelFormat)
        throw FileError(path, "model format " + std::to_string(format.toInt()) +
                                  " is not supported (expected " + std::to_string(kModelFormat) + ")");
    if (!archive.try_read("config", config) || !config.isString())
        throw FileError(path, "model file has no config");
    try {
        ModelConfig cfg = nlohmann::json::parse(config.toStringRef()).get<ModelConfig>();
        cfg.validate();
        return cfg;
    } catch (const std::exception& e) {
        throw FileError(path, std::string("model file holds an invalid config: ") + e.what());
    }
}

}  // namespace

void read_model(Model model, torch::serialize::InputArchive& archive, const std::string& path) {
    const ModelConfig stored = config_of(archive, path);
    if (stored.arch != model->config().arch)
        throw FileError(path, "holds a " + arch_display_name(stored.arch) + " (arch '" + stored.arch +
                                  "'), not a " + arch_display_name(model->config().arch) + " (arch '" +
                                  model->config().arch + "')");
    const auto diffs = model->config().shape_differences(stored);
    if (!diffs.empty()) {
        std::string msg = "made with another model config (this model vs file): ";
        for (size_t i = 0; i < diffs.size(); ++i) msg += (i ? "; " : "") + diffs[i];
        throw FileError(path, msg);
    }
    torch::serialize::InputArchive weights;
    if (!archive.try_read("model", weights)) throw FileError(path, "model file has no weights");
    try {
        model->load(weights);
    } catch (const std::exception& e) {
        throw FileError(path, "weights are incomplete or corrupt");
    }
    model->refresh_memory();
}

void save_model(const Model& model, const std::string& path) {
    torch::serialize::OutputArchive archive;
    write_model(model, archive);
    save_archive_atomic(archive, path);
}

ModelConfig read_model_config(const std::string& path) {
    torch::serialize::InputArchive archive;
    open_archive(archive, path);
    return config_of(archive, path);
}

Model load_model(const std::string& path, const torch::Device& device) {
    torch::serialize::InputArchive archive;
    open_archive(archive, path);
    Model model = make_model(config_of(archive, path));
    read_model(model, archive, path);
    model->to(device);
    model->refresh_memory();
    return model;
}

void load_model_into(Model model, const std::string& path) {
    torch::serialize::InputArchive archive;
    open_archive(archive, path);
    const auto device = model->parameters().front().device();
    read_model(model, archive, path);
    model->to(device);
    model->refresh_memory();
}

}  // namespace vhmn
