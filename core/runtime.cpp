#include "core/runtime.h"

#include <cstdlib>
#include <cstring>
#include <mutex>

#include <malloc.h>
#include <sys/resource.h>
#include <thread>

#include "core/emulated_device.h"
#include "core/error.h"
#include "core/torch_compat.h"

namespace vhmn {

AllocatorPolicy configure_allocator() {
    static std::once_flag once;
    static AllocatorPolicy policy;
    std::call_once(once, [] {
        const char* env = std::getenv("VHMN_MALLOC");
        if (env && std::strcmp(env, "system") == 0) {
            policy = {false, "glibc defaults ($VHMN_MALLOC=system)"};
            return;
        }
        constexpr int kMmapThreshold = 1 << 30;      // blocks up to 1 GiB come from the heap
        constexpr int kTrimThreshold = 512 << 20;    // give the heap top back beyond 512 MiB free
        constexpr int kTopPad = 64 << 20;            // grow the heap in 64 MiB steps
        const bool ok = mallopt(M_MMAP_THRESHOLD, kMmapThreshold) == 1 &&
                        mallopt(M_TRIM_THRESHOLD, kTrimThreshold) == 1 && mallopt(M_TOP_PAD, kTopPad) == 1;
        policy = {ok, ok ? "glibc malloc: mmap threshold 1 GiB, trim threshold 512 MiB, top pad 64 MiB"
                         : "glibc malloc: mallopt refused the policy, defaults kept"};
    });
    return policy;
}

void release_free_memory() { malloc_trim(0); }

std::pair<double, double> process_cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return {double(u.ru_utime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec),
            double(u.ru_stime.tv_sec) + 1e-6 * double(u.ru_stime.tv_usec)};
}

long peak_rss_kib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

int configure_threads(std::optional<int> requested) {
    int n = 0;
    if (requested) {
        if (*requested < 1) throw ConfigError("--threads must be at least 1, got " + std::to_string(*requested));
        n = *requested;
    } else if (const char* env = std::getenv("VHMN_THREADS"); env && *env) {
        char* end = nullptr;
        const long v = std::strtol(env, &end, 10);
        if (*end != '\0' || v < 1 || v > 4096)
            throw ConfigError(std::string("VHMN_THREADS must be a positive integer, got '") + env + "'");
        n = static_cast<int>(v);
    } else {
        n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    }
    torch::set_num_threads(n);
    return n;
}

bool cuda_available() { return torch::cuda::is_available(); }

torch::Tensor to_device(const torch::Tensor& t, const torch::Device& device) {
    if (!t.defined() || t.device() == device) return t;
    if (t.is_cpu() && device.is_cuda()) return t.pin_memory().to(device, /*non_blocking=*/true);
    return t.to(device);
}

torch::Device parse_device(const std::string& name) {
    if (name == "cpu") return torch::kCPU;
    if (name == "emulated") return emulated_device();  // a CPU-backed stand-in that checks device discipline
    if (name.rfind("cuda", 0) == 0) {
        if (!cuda_available())
            throw ConfigError("--device " + name + ": CUDA is not available in this build/machine");
        try {
            return torch::Device(name);
        } catch (const std::exception&) {
            throw ConfigError("--device '" + name + "' is not a valid device (cpu, cuda, cuda:N, emulated)");
        }
    }
    throw ConfigError("--device '" + name + "' is not a valid device (cpu, cuda, cuda:N, emulated)");
}

std::string device_name(const torch::Device& device) {
    if (is_emulated(device)) return "emulated";
    return device.str();
}

void set_tf32(bool on) { compat::set_cuda_tf32(on); }

bool parse_on_off(const std::string& flag, const std::string& value) {
    if (value == "on") return true;
    if (value == "off") return false;
    throw ConfigError(flag + " must be 'on' or 'off', got '" + value + "'");
}

std::optional<int64_t> parse_integer(const std::string& text) {
    size_t used = 0;
    int64_t x = 0;
    try {
        x = std::stoll(text, &used);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (used != text.size()) return std::nullopt;
    return x;
}

std::string precision_name(const torch::Device& device, bool bf16, bool tf32) {
    if (!device.is_cuda()) return "fp32";
    std::string p = bf16 ? "bf16 autocast" : "fp32";
    if (tf32 && compat::cuda_has_tf32(device.has_index() ? device.index() : 0)) p += ", TF32 matmuls";
    return p;
}

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t stream) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull ^ (a + 1) * 0xBF58476D1CE4E5B9ull ^ (stream + 1) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    x *= 0xD6E8FEB86659FD93ull;
    return x ^ (x >> 29);
}

}  // namespace vhmn
