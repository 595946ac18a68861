#include "core/devices.h"

#include <cstdio>
#include <fstream>

#include <unistd.h>

#include <torch/torch.h>

#include "core/torch_compat.h"

namespace vhmn {
namespace {

/// "model name" of /proc/cpuinfo, else "CPU".
std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) != 0) continue;
        const auto colon = line.find(':');
        if (colon == std::string::npos) break;
        auto name = line.substr(colon + 1);
        name.erase(0, name.find_first_not_of(" \t"));
        if (!name.empty()) return name;
    }
    return "CPU";
}

int64_t host_memory_bytes() {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? int64_t(pages) * int64_t(page) : 0;
}

}  // namespace

std::string DeviceInfo::id() const { return type == "cuda" ? "cuda:" + std::to_string(index) : type; }

std::string DeviceInfo::label() const {
    if (type != "cuda") return id();
    char gib[32];
    std::snprintf(gib, sizeof gib, "%.0f", double(memory_bytes) / double(int64_t(1) << 30));
    return id() + " \u2014 " + name + ", " + gib + " GiB";
}

nlohmann::json DeviceList::to_json() const {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& d : devices)
        list.push_back({{"type", d.type}, {"index", d.index}, {"name", d.name}, {"memory_bytes", d.memory_bytes}});
    nlohmann::json j = {{"devices", list}, {"torch_version", torch_version}, {"cuda", cuda_build}};
    if (!cpu_only_reason.empty()) j["cpu_only_reason"] = cpu_only_reason;
    return j;
}

DeviceList list_devices() {
    DeviceList out;
    out.cuda_build = compat::kBuiltWithCuda;
    out.torch_version = TORCH_VERSION;
    out.devices.push_back({"cpu", -1, cpu_model(), host_memory_bytes()});
    const int count = out.cuda_build ? int(torch::cuda::device_count()) : 0;
    for (int i = 0; i < count; ++i) {
        DeviceInfo d{"cuda", i, "CUDA device", 0};
        compat::cuda_device_info(i, d.name, d.memory_bytes);
        out.devices.push_back(d);
    }
    if (!out.cuda_build)
        out.cpu_only_reason = "no CUDA in this build (libtorch " + out.torch_version + ", CPU only)";
    else if (count == 0)
        out.cpu_only_reason = "no GPU visible (this build has CUDA; no device or driver found)";
    return out;
}

GpuMemory gpu_memory(int cuda_index) {
    GpuMemory m;
    m.valid = compat::cuda_memory_stats(cuda_index, m.allocated, m.reserved, m.peak_allocated, m.peak_reserved);
    return m;
}

void reset_gpu_peaks(int cuda_index) { compat::cuda_reset_peak_memory(cuda_index); }

}  // namespace vhmn
