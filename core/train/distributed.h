#pragma once
// A process group for data-parallel training: torch.distributed's C++ engine (c10d), Gloo on the
// CPU and NCCL on CUDA, rendezvous through a TCPStore, launched by torchrun (or anything that sets
// the same environment variables). The rest of the code sees tensors and ranks, never c10d.
//
// Failures are named: every rank keeps a heartbeat in the store, so when a collective fails (a peer
// died, hung past the timeout, or the store is gone) the survivors say which rank stopped.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace vhmn::dist {

/// Where a process stands in a distributed launch.
struct LaunchInfo {
    int rank = 0;
    int world = 1;
    int local_rank = 0;
    std::string master_addr = "127.0.0.1";
    int master_port = 29500;
    bool agent_store = false;     ///< torchrun's agent hosts the store: every rank is a client
    int restart_count = 0;        ///< TORCHELASTIC_RESTART_COUNT (the agent store's key prefix)
    std::string backend = "auto";  ///< auto (NCCL on CUDA, else Gloo), gloo, nccl
    double timeout_s = 300;       ///< rendezvous and every collective

    /// "rank 1/2" etc.
    std::string who() const;
    void validate() const;  ///< ConfigError naming the variable at fault
};

/// The launch torchrun describes through RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT and
/// TORCHELASTIC_USE_AGENT_STORE / TORCHELASTIC_RESTART_COUNT; nullopt when RANK and WORLD_SIZE are
/// both unset. A malformed value is a ConfigError naming the variable.
std::optional<LaunchInfo> launch_from_env();

/// Whether this build can form a group with `backend` ("gloo", "nccl"); empty when it can, else why not.
std::string backend_unavailable(const std::string& backend);

/// A distributed failure (a peer gone or hung, a timeout, a mismatch between ranks): the message
/// names the rank at fault where it can be told.
class DistError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class Group {
public:
    /// Rendezvous and form the group (blocks until every rank joined, at most the timeout).
    static std::unique_ptr<Group> join(const LaunchInfo& info, const torch::Device& device);
    ~Group();
    Group(const Group&) = delete;
    Group& operator=(const Group&) = delete;

    int rank() const;
    int world() const;
    const std::string& backend() const;
    const LaunchInfo& info() const;
    /// The device collectives run on (CUDA for NCCL).
    torch::Device device() const;

    /// Every tensor in place from rank 0 (one call per tensor: give flat buffers).
    void broadcast(std::vector<torch::Tensor>& tensors, const std::string& what);
    /// Sum every tensor over ranks in place; all are launched before the first is waited on.
    void all_reduce_sum(std::vector<torch::Tensor>& tensors, const std::string& what);
    /// The tensor of every rank (same shape on all), in rank order.
    std::vector<torch::Tensor> all_gather(const torch::Tensor& tensor, const std::string& what);

    /// A check every rank makes at the same point (start-up, config): `local_error` empty when this
    /// rank is fine. Throws DistError on every rank when any failed, quoting the failed ranks' own
    /// messages.
    void agree(const std::string& local_error, const std::string& stage);
    /// Every rank must hold the same `value` (e.g. a config hash); DistError naming those that differ.
    void check_same(int64_t value, const std::string& what);

    /// Wall time spent in collectives since the last reset (on CUDA: launching them, as NCCL runs
    /// asynchronously), and how many were made.
    double comm_seconds() const;
    int64_t comm_calls() const;
    void reset_comm_stats();

private:
    struct Impl;
    explicit Group(std::unique_ptr<Impl> impl);
    [[noreturn]] void fail(const std::string& what, const std::exception& e);
    std::unique_ptr<Impl> impl_;
};

}  // namespace vhmn::dist
