#pragma once
// Counting ATen operator calls: on a GPU each one costs a host-side dispatch and usually a kernel
// launch, so the count of a training step decides how fast a small model can go there. Countable
// on any machine, with the same code path as on a GPU when the step runs on the emulated device
// (core/emulated_device.h): the CPU's fused retrieval (core/models/hopfield.cpp) is a CPU-only path.
#include <cstdint>
#include <map>
#include <string>

namespace vhmn {

/// Counts every operator call libtorch's RecordFunction sees (the profiler's FUNCTION scope: each
/// dispatch from our code or from inside another operator, on every thread, backward included)
/// while it is alive. One counter at a time.
class OpCounter {
public:
    /// `by_name`: also count per operator name (slower; for profiling).
    explicit OpCounter(bool by_name = false);
    ~OpCounter();
    OpCounter(const OpCounter&) = delete;
    OpCounter& operator=(const OpCounter&) = delete;

    /// Every call counted so far.
    int64_t all() const;
    /// Calls made from outside any operator (our code, or the autograd engine running a backward
    /// node): what a reader of the code can count.
    int64_t top_level() const;
    /// Top-level calls per operator name (with by_name).
    std::map<std::string, int64_t> by_name() const;
    /// Forget what was counted (e.g. after warm-up steps).
    void reset();

private:
    uint64_t handle_ = 0;
};

}  // namespace vhmn
