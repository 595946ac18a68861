#include "core/train/op_count.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>

#include <ATen/record_function.h>

namespace vhmn {
namespace {

std::atomic<int64_t> g_all{0}, g_top{0};
std::atomic<bool> g_active{false}, g_by_name{false};
std::mutex g_names_mutex;
std::map<std::string, int64_t> g_names;
thread_local int t_depth = 0;

/// Operators only: the profiler also records autograd nodes and user scopes.
bool is_operator(const at::RecordFunction& fn) { return fn.scope() == at::RecordScope::FUNCTION && fn.operator_name(); }

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
    if (!is_operator(fn)) return nullptr;
    ++g_all;
    if (t_depth++ > 0) return nullptr;
    ++g_top;
    if (g_by_name) {
        std::lock_guard<std::mutex> lock(g_names_mutex);
        ++g_names[fn.name()];
    }
    return nullptr;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext*) {
    if (is_operator(fn)) --t_depth;
}

}  // namespace

OpCounter::OpCounter(bool by_name) {
    if (g_active.exchange(true)) throw std::logic_error("OpCounter: another counter is active");
    reset();
    g_by_name = by_name;
    handle_ = at::addGlobalCallback(
        at::RecordFunctionCallback(&on_start, &on_end).scopes({at::RecordScope::FUNCTION}).needsInputs(false));
}

OpCounter::~OpCounter() {
    at::removeCallback(handle_);
    g_by_name = false;
    g_active = false;
}

int64_t OpCounter::all() const { return g_all; }
int64_t OpCounter::top_level() const { return g_top; }

std::map<std::string, int64_t> OpCounter::by_name() const {
    std::lock_guard<std::mutex> lock(g_names_mutex);
    return g_names;
}

void OpCounter::reset() {
    g_all = 0, g_top = 0;
    std::lock_guard<std::mutex> lock(g_names_mutex);
    g_names.clear();
}

}  // namespace vhmn
