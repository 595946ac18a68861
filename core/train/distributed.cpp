#define VHMN_COMPAT_C10D
#include "core/train/distributed.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/runtime.h"
#include "core/torch_compat.h"

namespace vhmn::dist {
namespace {
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr auto kHeartbeat = milliseconds(500);  // every rank bumps its counter this often

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

int env_int(const char* name, int fallback, int lo, int hi) {
    const std::string v = env(name);
    if (v.empty()) return fallback;
    const auto x = parse_integer(v);
    if (!x || *x < lo || *x > hi)
        throw ConfigError("environment variable " + std::string(name) + "='" + v + "' is not a whole number in [" +
                          std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return int(*x);
}

/// The first line of an exception's message, without libtorch's C++ backtrace.
std::string brief(const std::exception& e) {
    std::string m;
    if (const auto* ce = dynamic_cast<const c10::Error*>(&e))
        m = ce->what_without_backtrace();
    else
        m = e.what();
    const auto nl = m.find('\n');
    if (nl != std::string::npos) m.resize(nl);
    return m;
}

std::string hostname() {
    char buf[256] = {};
    return gethostname(buf, sizeof buf - 1) == 0 ? std::string(buf) : std::string("?");
}

bool is_loopback(const std::string& addr) {
    return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

std::string bytes_to_string(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }
std::vector<uint8_t> string_to_bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

/// A store client (or, for rank 0 without torchrun's agent, the server) for `info`.
c10::intrusive_ptr<c10d::Store> open_store(const LaunchInfo& info, bool server, bool wait_workers,
                                           milliseconds timeout) {
    c10d::TCPStoreOptions o;
    o.port = static_cast<std::uint16_t>(info.master_port);
    o.isServer = server;
    if (wait_workers) o.numWorkers = size_t(info.world);
    o.waitWorkers = wait_workers;
    o.timeout = timeout;
    c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(info.master_addr, o);
    if (info.agent_store)  // torchrun's convention: one key space per restart
        store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(info.restart_count), store);
    return store;
}

}  // namespace

// --------------------------------------------------------------------------------------------
std::string LaunchInfo::who() const { return "rank " + std::to_string(rank) + "/" + std::to_string(world); }

void LaunchInfo::validate() const {
    if (world < 1) throw ConfigError("WORLD_SIZE must be >= 1, got " + std::to_string(world));
    if (rank < 0 || rank >= world)
        throw ConfigError("RANK " + std::to_string(rank) + " is outside [0, WORLD_SIZE=" + std::to_string(world) + ")");
    if (local_rank < 0) throw ConfigError("LOCAL_RANK must be >= 0, got " + std::to_string(local_rank));
    if (master_port < 1 || master_port > 65535)
        throw ConfigError("MASTER_PORT must be in [1, 65535], got " + std::to_string(master_port));
    if (master_addr.empty()) throw ConfigError("MASTER_ADDR is empty");
    if (!(timeout_s > 0 && timeout_s <= 7 * 24 * 3600.0))
        throw ConfigError("--dist-timeout must be in (0, 604800] seconds, got " + std::to_string(timeout_s));
    if (backend != "auto" && backend != "gloo" && backend != "nccl")
        throw ConfigError("--dist-backend must be auto, gloo or nccl, got '" + backend + "'");
}

std::optional<LaunchInfo> launch_from_env() {
    const bool has_rank = !env("RANK").empty(), has_world = !env("WORLD_SIZE").empty();
    if (!has_rank && !has_world) return std::nullopt;
    if (has_rank != has_world)
        throw ConfigError(std::string("a distributed launch sets both RANK and WORLD_SIZE; only ") +
                          (has_rank ? "RANK" : "WORLD_SIZE") + " is set");
    LaunchInfo info;
    info.world = env_int("WORLD_SIZE", 1, 1, 1 << 20);
    info.rank = env_int("RANK", 0, 0, 1 << 20);
    info.local_rank = env_int("LOCAL_RANK", info.rank, 0, 1 << 20);
    if (!env("MASTER_ADDR").empty()) info.master_addr = env("MASTER_ADDR");
    info.master_port = env_int("MASTER_PORT", 29500, 1, 65535);
    info.agent_store = env("TORCHELASTIC_USE_AGENT_STORE") == "True";
    info.restart_count = env_int("TORCHELASTIC_RESTART_COUNT", 0, 0, 1 << 20);
    info.validate();
    return info;
}

std::string backend_unavailable(const std::string& backend) {
    if (backend == "gloo") {
#ifdef VHMN_WITH_GLOO
        return {};
#else
        return "this build has no Gloo backend (gloo's headers, Debian's libgloo-dev, were missing when it was built)";
#endif
    }
    if (backend == "nccl") {
#ifdef VHMN_WITH_NCCL
        return {};
#else
        return "this build has no NCCL backend (it needs a CUDA libtorch with NCCL: scripts/dev.sh build-torch2)";
#endif
    }
    return "unknown backend '" + backend + "' (auto, gloo or nccl)";
}

// --------------------------------------------------------------------------------------------
struct Group::Impl {
    LaunchInfo info;
    std::string backend;
    torch::Device device{torch::kCPU};
    milliseconds timeout{0};
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<compat::DistBackend> pg;
    double comm_seconds = 0;
    int64_t comm_calls = 0;

    // Heartbeat: a thread with its own store connection bumps vhmn/alive/<rank>.
    std::thread heart;
    std::mutex heart_mutex;
    std::condition_variable heart_cv;
    bool heart_stop = false;

    static std::string alive_key(int r) { return "vhmn/alive/" + std::to_string(r); }
    static std::string who_key(int r) { return "vhmn/who/" + std::to_string(r); }

    void start_heartbeat() {
        heart = std::thread([this] {
            try {
                auto s = open_store(info, false, false, timeout);
                std::unique_lock<std::mutex> lock(heart_mutex);
                while (!heart_stop) {
                    s->add(alive_key(info.rank), 1);
                    heart_cv.wait_for(lock, kHeartbeat, [this] { return heart_stop; });
                }
            } catch (const std::exception&) {
                // The store is gone (its host stopped): the main thread finds out at its next
                // collective and says so.
            }
        });
    }

    void stop_heartbeat() {
        {
            std::lock_guard<std::mutex> lock(heart_mutex);
            heart_stop = true;
        }
        heart_cv.notify_all();
        if (heart.joinable()) heart.join();
    }

    /// Which other ranks stopped beating (dead or hung), as words; empty when all still beat.
    std::string who_stopped() const {
        const auto probe_timeout = milliseconds(3000);
        try {
            auto s = open_store(info, false, false, probe_timeout);
            std::vector<int64_t> before(info.world), after(info.world);
            for (int r = 0; r < info.world; ++r)
                if (r != info.rank) before[r] = s->add(alive_key(r), 0);
            std::this_thread::sleep_for(4 * kHeartbeat);
            std::string out;
            for (int r = 0; r < info.world; ++r) {
                if (r == info.rank) continue;
                after[r] = s->add(alive_key(r), 0);
                if (after[r] != before[r]) continue;
                std::string where;
                try {
                    where = " (" + bytes_to_string(s->get(who_key(r))) + ")";
                } catch (const std::exception&) {
                }
                out += (out.empty() ? "" : "; ") + std::string("rank ") + std::to_string(r) + where +
                       " stopped responding (no heartbeat for " +
                       std::to_string(4 * kHeartbeat.count() / 1000.0).substr(0, 3) + " s: it died or hangs)";
            }
            return out;
        } catch (const std::exception&) {
            if (info.agent_store)
                return "torchrun's store at " + info.master_addr + ":" + std::to_string(info.master_port) +
                       " is unreachable (the launcher stopped the job)";
            return "rank 0, which hosts the rendezvous store at " + info.master_addr + ":" +
                   std::to_string(info.master_port) + ", is gone (it died)";
        }
    }

    /// `launch` on every tensor (one collective each, all in flight), then wait for all.
    template <typename Launch>
    void each(std::vector<torch::Tensor>& tensors, Launch&& launch) {
        timed([&] {
            std::vector<c10::intrusive_ptr<c10d::Work>> works;
            for (auto& t : tensors) {
                std::vector<at::Tensor> one{t};
                works.push_back(launch(one));
            }
            for (auto& w : works) w->wait();
        });
    }

    template <typename F>
    void timed(F&& f) {
        const auto t0 = Clock::now();
        f();
        comm_seconds += std::chrono::duration<double>(Clock::now() - t0).count();
        ++comm_calls;
    }
};

Group::Group(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Group::~Group() {
    impl_->stop_heartbeat();
}

std::unique_ptr<Group> Group::join(const LaunchInfo& info, const torch::Device& device) {
    info.validate();
    auto impl = std::make_unique<Impl>();
    impl->info = info;
    impl->timeout = milliseconds(int64_t(info.timeout_s * 1000.0));
    impl->backend = info.backend;
    if (impl->backend == "auto") impl->backend = device.is_cuda() ? "nccl" : "gloo";
    if (impl->backend == "nccl" && !device.is_cuda())
        throw ConfigError("--dist-backend nccl needs a CUDA device (--device cuda); on the CPU use gloo");
    if (const auto why = backend_unavailable(impl->backend); !why.empty())
        throw ConfigError("distributed training (" + info.who() + "): " + why);
    impl->device = device;
    const std::string endpoint = info.master_addr + ":" + std::to_string(info.master_port);

    // Rendezvous: rank 0 hosts the store unless torchrun's agent does; everyone waits for all ranks.
    const bool server = info.rank == 0 && !info.agent_store;
    try {
        impl->store = open_store(info, server, true, impl->timeout);
    } catch (const std::exception& e) {
        const std::string m = brief(e);
        if (server && (m.find("in use") != std::string::npos || m.find("EADDRINUSE") != std::string::npos ||
                       m.find("failed to listen") != std::string::npos || m.find("bind") != std::string::npos))
            throw DistError("rendezvous: MASTER_PORT " + std::to_string(info.master_port) + " on " + info.master_addr +
                            " is in use (another run or program holds it): start again with another port "
                            "(torchrun --master_port, or MASTER_PORT) [" + m + "]");
        if (server)
            throw DistError("rendezvous: not every rank joined " + endpoint + " within " +
                            std::to_string(int64_t(info.timeout_s)) + " s (WORLD_SIZE=" + std::to_string(info.world) +
                            ": were that many processes started, all with the same MASTER_ADDR/MASTER_PORT?) [" + m + "]");
        throw DistError("rendezvous (" + info.who() + "): could not meet every rank at " + endpoint + " within " +
                        std::to_string(int64_t(info.timeout_s)) + " s (is rank 0 running, with WORLD_SIZE=" +
                        std::to_string(info.world) + " and the same MASTER_ADDR/MASTER_PORT?) [" + m + "]");
    }
    try {
        if (impl->store->add("vhmn/claim/" + std::to_string(info.rank), 1) > 1)
            throw DistError("rendezvous: two processes were started as RANK " + std::to_string(info.rank) +
                            " (every rank in [0, WORLD_SIZE) must be started exactly once)");
        impl->store->set(Impl::who_key(info.rank),
                         string_to_bytes("pid " + std::to_string(::getpid()) + " on " + hostname()));
    } catch (const DistError&) {
        throw;
    } catch (const std::exception& e) {
        throw DistError("rendezvous (" + info.who() + "): the store at " + endpoint + " failed: " + brief(e));
    }

    try {
        if (impl->backend == "gloo") {
#ifdef VHMN_WITH_GLOO
            auto opts = c10d::ProcessGroupGloo::Options::create(impl->timeout);
            const std::string ifname = env("GLOO_SOCKET_IFNAME");
            if (!ifname.empty())
                opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
            else if (is_loopback(info.master_addr))
                opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
            else
                opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
            opts->threads = 2;
            impl->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, info.rank, info.world, opts);
            impl->device = torch::kCPU;
#endif
        } else {
#ifdef VHMN_WITH_NCCL
            // One GPU per rank: make it the current device, so nothing lands on cuda:0 by default.
            c10::cuda::set_device(static_cast<c10::DeviceIndex>(device.index() >= 0 ? device.index() : 0));
            auto opts = c10d::ProcessGroupNCCL::Options::create();
            opts->timeout = impl->timeout;
            impl->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, info.rank, info.world, opts);
#endif
        }
    } catch (const std::exception& e) {
        throw DistError("rendezvous (" + info.who() + "): the " + impl->backend + " backend could not connect all " +
                        std::to_string(info.world) + " ranks within " + std::to_string(int64_t(info.timeout_s)) +
                        " s (WORLD_SIZE=" + std::to_string(info.world) + ": were that many processes started, all "
                        "with the same MASTER_ADDR/MASTER_PORT?) [" + brief(e) + "]");
    }
    impl->start_heartbeat();
    return std::unique_ptr<Group>(new Group(std::move(impl)));
}

int Group::rank() const { return impl_->info.rank; }
int Group::world() const { return impl_->info.world; }
const std::string& Group::backend() const { return impl_->backend; }
const LaunchInfo& Group::info() const { return impl_->info; }
torch::Device Group::device() const { return impl_->device; }
double Group::comm_seconds() const { return impl_->comm_seconds; }
int64_t Group::comm_calls() const { return impl_->comm_calls; }
void Group::reset_comm_stats() { impl_->comm_seconds = 0, impl_->comm_calls = 0; }

void Group::fail(const std::string& what, const std::exception& e) {
    const std::string stopped = impl_->who_stopped();
    throw DistError("distributed training stopped during " + what + " (seen by " + impl_->info.who() + "): " +
                    (stopped.empty() ? std::string("a collective failed while every rank still responds") : stopped) +
                    " [" + brief(e) + "]");
}

void Group::broadcast(std::vector<torch::Tensor>& tensors, const std::string& what) {
    c10d::BroadcastOptions o;
    o.rootRank = 0;
    try {
        impl_->each(tensors, [&](std::vector<at::Tensor>& one) { return impl_->pg->broadcast(one, o); });
    } catch (const std::exception& e) {
        fail(what, e);
    }
}

void Group::all_reduce_sum(std::vector<torch::Tensor>& tensors, const std::string& what) {
    c10d::AllreduceOptions o;
    o.reduceOp = c10d::ReduceOp::SUM;
    try {
        impl_->each(tensors, [&](std::vector<at::Tensor>& one) { return impl_->pg->allreduce(one, o); });
    } catch (const std::exception& e) {
        fail(what, e);
    }
}

std::vector<torch::Tensor> Group::all_gather(const torch::Tensor& tensor, const std::string& what) {
    std::vector<std::vector<at::Tensor>> out(1);
    for (int r = 0; r < world(); ++r) out[0].push_back(torch::empty_like(tensor));
    try {
        impl_->timed([&] {
            std::vector<at::Tensor> in{tensor.contiguous()};
            impl_->pg->allgather(out, in)->wait();
        });
    } catch (const std::exception& e) {
        fail(what, e);
    }
    return out[0];
}

void Group::agree(const std::string& local_error, const std::string& stage) {
    const std::string key = "vhmn/agree/" + stage + "/" + std::to_string(rank());
    if (!local_error.empty()) {
        try {
            impl_->store->set(key, string_to_bytes(local_error));
        } catch (const std::exception&) {
        }
    }
    auto flag = torch::full({1}, local_error.empty() ? 0 : 1, torch::TensorOptions(torch::kInt64).device(device()));
    auto all = all_gather(flag, stage);
    std::string msg;
    for (int r = 0; r < world(); ++r) {
        if (all[r].item<int64_t>() == 0) continue;
        std::string theirs = r == rank() ? local_error : std::string("(its message could not be read)");
        if (r != rank()) try {
                theirs = bytes_to_string(impl_->store->get("vhmn/agree/" + stage + "/" + std::to_string(r)));
            } catch (const std::exception&) {
            }
        msg += (msg.empty() ? "" : "; ") + std::string("rank ") + std::to_string(r) + ": " + theirs;
    }
    if (!msg.empty()) throw DistError(stage + " failed on " + msg);
}

void Group::check_same(int64_t value, const std::string& what) {
    auto v = torch::full({1}, value, torch::TensorOptions(torch::kInt64).device(device()));
    auto all = all_gather(v, what + " check");
    std::string differ;
    for (int r = 1; r < world(); ++r)
        if (all[r].item<int64_t>() != all[0].item<int64_t>())
            differ += (differ.empty() ? "" : ", ") + std::to_string(r);
    if (!differ.empty())
        throw DistError("rank" + std::string(differ.find(',') != std::string::npos ? "s " : " ") + differ +
                        " started with another " + what + " than rank 0: every rank must run the same command "
                        "(same flags, same data)");
}

}  // namespace vhmn::dist
