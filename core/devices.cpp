#include "core/devices.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <unistd.h>

#include <torch/torch.h>

#include "core/torch_compat.h"

namespace vhmn {
namespace {

int64_t host_memory_bytes() {
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    return pages > 0 && page > 0 ? int64_t(pages) * int64_t(page) : 0;
}

/// The first "key : value" of /proc/cpuinfo whose key starts with `key` ("" when absent).
std::string cpuinfo(const std::string& key) {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key, 0) != 0) continue;
        const auto colon = line.find(':');
        if (colon == std::string::npos) return {};
        auto v = line.substr(colon + 1);
        v.erase(0, v.find_first_not_of(" \t"));
        return v;
    }
    return {};
}

/// The CPU's model name, else "CPU".
std::string cpu_model() {
    const auto name = cpuinfo("model name");
    return name.empty() ? "CPU" : name;
}

bool has_flag(const std::string& flags, const std::string& flag) {
    return (" " + flags + " ").find(" " + flag + " ") != std::string::npos;
}

/// The CPU's clock in GHz: cpufreq's maximum where the kernel exposes it, else /proc/cpuinfo's MHz.
double cpu_ghz(std::string& source) {
    std::ifstream max_khz("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
    double khz = 0;
    if (max_khz >> khz && khz > 0) {
        source = "cpufreq maximum";
        return khz / 1e6;
    }
    source = "/proc/cpuinfo cpu MHz";
    try {
        return std::stod(cpuinfo("cpu MHz")) / 1e3;
    } catch (const std::exception&) {
        return 0;
    }
}

/// Dense peaks of known GPUs, TFLOP/s: {name part, bf16, tf32, fp32} (NVIDIA's datasheets, SXM).
struct GpuPeak {
    const char* name;
    double bf16, tf32, fp32;
};
constexpr GpuPeak kGpuPeaks[] = {
    {"H200", 989.4, 494.7, 66.9}, {"H100", 989.4, 494.7, 66.9}, {"A100", 312.0, 156.0, 19.5}, {"L40S", 362.05, 183.0, 91.6}};

/// FLOP/s of an fp32 2048×2048 matrix product on the CPU with `threads` threads, best of three.
double measured_gemm_flops(int threads) {
    const int before = torch::get_num_threads();
    torch::set_num_threads(std::max(1, threads));
    c10::InferenceMode inference;
    const int64_t n = 2048;
    auto a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::empty({n, n});
    at::mm_out(c, a, b);  // warm-up
    double best = 0;
    for (int i = 0; i < 3; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        at::mm_out(c, a, b);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (s > 0) best = std::max(best, 2.0 * double(n * n * n) / s);
    }
    torch::set_num_threads(before);
    return best;
}

}  // namespace

PeakFlops peak_flops(const std::string& device, int threads, bool bf16, bool tf32) {
    PeakFlops p;
    char buf[256];
    if (device.rfind("cuda", 0) == 0) {
        const int index = device.size() > 5 ? std::atoi(device.c_str() + 5) : 0;
        std::string name;
        int64_t bytes = 0;
        if (!compat::cuda_device_info(index, name, bytes)) {
            p.basis = "unknown: no CUDA device " + device + " visible";
            return p;
        }
        for (const auto& g : kGpuPeaks) {
            if (name.find(g.name) == std::string::npos) continue;
            const double tflops = bf16 ? g.bf16 : tf32 && compat::cuda_has_tf32(index) ? g.tf32 : g.fp32;
            p.flops = tflops * 1e12;
            std::snprintf(buf, sizeof buf, "%s dense %s peak, %.1f TFLOP/s (datasheet)", name.c_str(),
                          bf16 ? "bf16" : tf32 ? "TF32" : "FP32", tflops);
            p.basis = buf;
            return p;
        }
        p.basis = "unknown: no peak on record for " + name + " (give --peak-tflops)";
        return p;
    }
    const std::string flags = cpuinfo("flags");
    const bool amd = cpuinfo("vendor_id") == "AuthenticAMD";
    const bool avx512 = has_flag(flags, "avx512f"), avx2 = has_flag(flags, "avx2") && has_flag(flags, "fma");
    // FP32 lanes of one full-rate FMA: AVX-512 on Intel; AMD executes AVX-512 on 256-bit pipes.
    const int lanes = avx512 && !amd ? 16 : avx2 || avx512 ? 8 : 4;
    const char* isa = avx512 && !amd ? "AVX-512" : avx512 ? "AVX-512 on 256-bit pipes" : avx2 ? "AVX2+FMA" : "SSE";
    const double per_cycle = 2.0 /* pipes */ * 2.0 /* FMA */ * lanes;
    std::string clock_source;
    const double ghz = cpu_ghz(clock_source);
    const double isa_peak = double(threads) * ghz * 1e9 * per_cycle;
    // What this CPU's BLAS reaches: an fp32 GEMM of 2048², best of three. A VM hides the clock that
    // really runs (boost) and the width of the FMA pipes, so the product above can undershoot; the
    // peak is the larger of the two, and the basis gives both.
    const double gemm = measured_gemm_flops(threads);
    p.flops = std::max(isa_peak, gemm);
    std::snprintf(buf, sizeof buf,
                  "%d threads × %.2f GHz (%s) × %.0f FP32 FLOP/cycle (%s: 2 FMA pipes × %d lanes × 2) = %.1f GFLOP/s; "
                  "measured fp32 GEMM 2048² on %d threads: %.1f GFLOP/s; peak = the larger",
                  threads, ghz, clock_source.c_str(), per_cycle, isa, lanes, isa_peak / 1e9, threads, gemm / 1e9);
    p.basis = buf;
    return p;
}

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
