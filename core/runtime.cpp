#include "core/runtime.h"

#include <cstdlib>
#include <thread>

#include "core/error.h"

namespace vhmn {

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

torch::Device parse_device(const std::string& name) {
    if (name == "cpu") return torch::kCPU;
    if (name.rfind("cuda", 0) == 0) {
        if (!cuda_available())
            throw ConfigError("--device " + name + ": CUDA is not available in this build/machine");
        try {
            return torch::Device(name);
        } catch (const std::exception&) {
            throw ConfigError("--device '" + name + "' is not a valid device (cpu, cuda, cuda:N)");
        }
    }
    throw ConfigError("--device '" + name + "' is not a valid device (cpu, cuda, cuda:N)");
}

uint64_t mix_seed(uint64_t seed, uint64_t a, uint64_t stream) {
    uint64_t x = seed * 0x9E3779B97F4A7C15ull ^ (a + 1) * 0xBF58476D1CE4E5B9ull ^ (stream + 1) * 0x94D049BB133111EBull;
    x ^= x >> 31;
    x *= 0xD6E8FEB86659FD93ull;
    return x ^ (x >> 29);
}

}  // namespace vhmn
