// The emulated device (see emulated_device.h): a libtorch backend registered at run time for the
// XPU dispatch key, whose one kernel is a boxed fallback. It checks the devices of the arguments,
// runs the operator's CPU kernel on CPU aliases of the device tensors (same memory), and puts the
// results back on the device: a result that shares memory with an argument (a view, an in-place
// or out= result) keeps that argument's storage, anything else is copied into device memory.
#include "core/emulated_device.h"

#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <ATen/EmptyTensor.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <ATen/record_function.h>
#include <c10/core/impl/DeviceGuardImplInterface.h>
#include <torch/library.h>

#include "core/torch_compat.h"

namespace vhmn {
namespace {

constexpr c10::DeviceType kType = c10::DeviceType::XPU;
constexpr c10::DispatchKey kKey = c10::DispatchKey::XPU;
std::atomic<int64_t> g_ops{0}, g_kernel_ops{0};
std::mutex g_names_mutex;
std::map<std::string, int64_t> g_kernel_names;

/// True for an operator that runs no kernel on a GPU: a view (a result aliasing an argument it does
/// not write) or an allocation.
bool metadata_only(const c10::FunctionSchema& schema) {
    for (const auto& r : schema.returns())
        if (r.alias_info() && !r.alias_info()->isWrite()) return true;
    const auto& n = schema.name();
    return n == "aten::empty" || n == "aten::empty_strided" || n == "aten::resize_" || n == "aten::set_";
}

void free_block(void* p) { std::free(p); }

/// Device memory: 64-byte aligned host blocks tagged with the emulated device.
struct Allocator final : c10::Allocator {
    c10::DataPtr allocate(size_t n) VHMN_ALLOCATE_CONST override {
        void* p = n ? std::aligned_alloc(64, (n + 63) / 64 * 64) : nullptr;
        if (n && !p) throw std::bad_alloc();
        return {p, p, &free_block, c10::Device(kType, 0)};
    }
    c10::DeleterFnPtr raw_deleter() const override { return &free_block; }
    VHMN_ALLOCATOR_COPY_DATA
};
Allocator g_allocator;

/// One device, one stream: every guard operation is trivial.
struct Guard final : c10::impl::DeviceGuardImplInterface {
    c10::DeviceType type() const override { return kType; }
    c10::Device exchangeDevice(c10::Device) const override { return {kType, 0}; }
    c10::Device getDevice() const override { return {kType, 0}; }
    void setDevice(c10::Device) const override {}
    void uncheckedSetDevice(c10::Device) const noexcept override {}
    c10::Stream getStream(c10::Device d) const noexcept override { return c10::Stream(c10::Stream::DEFAULT, d); }
    c10::Stream exchangeStream(c10::Stream s) const noexcept override { return s; }
    c10::DeviceIndex deviceCount() const noexcept override { return 1; }
};

bool on_device(const at::Tensor& t) { return t.defined() && t.device().type() == kType; }

at::Tensor with_geometry(c10::Storage storage, c10::DispatchKeySet keys, const at::Tensor& like, bool view = false) {
    // A view takes its base's keys as they are (libtorch's own views do: made in inference mode,
    // a view of a normal tensor is a normal tensor); a new tensor gets the mode's keys.
    auto impl = view ? c10::make_intrusive<c10::TensorImpl>(c10::TensorImpl::VIEW, std::move(storage), keys, like.dtype())
                     : c10::make_intrusive<c10::TensorImpl>(std::move(storage), keys, like.dtype());
    impl->set_sizes_and_strides(like.sizes(), like.strides());
    impl->set_storage_offset(like.storage_offset());
    return at::Tensor(std::move(impl));
}

/// A CPU tensor over the memory of device tensor `t` (same geometry). Its storage does not own the
/// memory and may be resized by a CPU kernel (an out= argument): the caller notices and copies back.
at::Tensor cpu_alias(const at::Tensor& t) {
    const auto& st = t.storage();
    c10::Storage s(c10::Storage::use_byte_size_t(), st.nbytes(), c10::DataPtr(st.data_ptr().get(), c10::Device(c10::kCPU)),
                   c10::GetAllocator(c10::kCPU), /*resizable=*/true);
    return with_geometry(std::move(s), c10::DispatchKeySet(c10::DispatchKey::CPU), t);
}

/// A device tensor holding a copy of CPU tensor `cpu`.
at::Tensor device_copy(const at::Tensor& cpu) {
    const bool keep_strides = cpu.is_non_overlapping_and_dense();
    const std::vector<int64_t> strides =
        keep_strides ? cpu.strides().vec() : std::vector<int64_t>(c10::contiguous_strides(cpu.sizes()).begin(), c10::contiguous_strides(cpu.sizes()).end());
    at::Tensor out(at::detail::empty_strided_generic(cpu.sizes(), strides, &g_allocator, c10::DispatchKeySet(kKey),
                                                     cpu.scalar_type()));
    cpu_alias(out).copy_(cpu);
    return out;
}

/// Operators that may legitimately see CPU tensors beside device tensors (as on CUDA).
bool mixing_allowed(const std::string& name) {
    static const char* const allowed[] = {"aten::copy_", "aten::_copy_from", "aten::_copy_from_and_resize",
                                          "aten::_to_copy", "aten::to", "aten::index", "aten::index_put_",
                                          "aten::_index_put_impl_", "aten::index_put", "aten::set_"};
    for (const char* a : allowed)
        if (name == a) return true;
    return false;
}

template <typename F>
void for_each_tensor(const c10::IValue& v, F&& f) {
    if (v.isTensor()) f(v.toTensor());
    else if (v.isTensorList()) for (const at::Tensor& t : v.toTensorList()) f(t);
    else if (v.isList())
        for (const auto& e : v.toListRef())
            if (e.isTensor()) f(e.toTensor());
}

void check_devices(const c10::FunctionSchema& schema, const std::vector<c10::IValue>& args) {
    bool device = false;
    std::string cpu_arg;
    for (size_t i = 0; i < args.size(); ++i)
        for_each_tensor(args[i], [&](const at::Tensor& t) {
            if (on_device(t)) device = true;
            else if (t.defined() && t.is_cpu() && t.dim() > 0 && cpu_arg.empty()) cpu_arg = schema.arguments()[i].name();
        });
    if (device && !cpu_arg.empty() && !mixing_allowed(schema.name()))
        TORCH_CHECK(false, "device mixing: ", schema.name(), " got a CPU tensor (argument '", cpu_arg,
                    "') with tensors on the emulated device; on a GPU this fails the same way — make the CPU "
                    "tensor on the data's device, or move it there");
}

/// copy_ between the host and the device: a CPU copy between the two memories.
void copy_between(const std::string& name, torch::jit::Stack* stack, size_t nargs) {
    auto args = torch::jit::last(stack, nargs);
    // _copy_from(self = source, dst), copy_(self = destination, src)
    const bool into_self = name == "aten::copy_";
    const at::Tensor src = args[into_self ? 1 : 0].toTensor(), dst = args[into_self ? 0 : 1].toTensor();
    if (name == "aten::_copy_from_and_resize" && dst.sizes() != src.sizes()) dst.resize_(src.sizes());
    auto d = on_device(dst) ? cpu_alias(dst) : dst;
    d.copy_(on_device(src) ? cpu_alias(src) : src);
    torch::jit::drop(stack, nargs);
    torch::jit::push(stack, dst);
}

/// set_(storage …) and set_(tensor): the device tensor takes the device storage directly.
void set_storage(const c10::FunctionSchema& schema, torch::jit::Stack* stack, size_t nargs) {
    auto args = torch::jit::last(stack, nargs);
    at::Tensor self = args[0].toTensor();
    auto* impl = self.unsafeGetTensorImpl();
    const int64_t item = int64_t(self.dtype().itemsize());
    if (nargs == 1) {
        impl->set_storage_keep_dtype(c10::Storage(c10::Storage::use_byte_size_t(), 0, g_allocator.allocate(0), &g_allocator, true));
        impl->set_sizes_contiguous({0});
    } else if (args[1].isTensor()) {
        const at::Tensor src = args[1].toTensor();
        impl->set_storage_keep_dtype(src.storage());
        impl->set_sizes_and_strides(src.sizes(), src.strides());
        impl->set_storage_offset(src.storage_offset());
    } else {
        const c10::Storage st = args[1].toStorage();
        impl->set_storage_keep_dtype(st);
        if (nargs >= 5) {
            impl->set_storage_offset(args[2].toInt());
            impl->set_sizes_and_strides(args[3].toIntVector(), args[4].toIntVector());
        } else {
            impl->set_sizes_contiguous({int64_t(st.nbytes()) / item});
        }
    }
    (void)schema;
    torch::jit::drop(stack, nargs);
    torch::jit::push(stack, self);
}

/// Run `op` on CPU arguments. Convolutions reach a backend that is neither the CPU nor CUDA through
/// the "overrideable" operators; their CPU implementation is the ordinary convolution.
void cpu_implementation(const c10::OperatorHandle& op, const std::string& name, torch::jit::Stack* stack) {
    if (name == "aten::convolution_overrideable") {
        static const auto conv = c10::Dispatcher::singleton().findSchemaOrThrow("aten::convolution", "");
        return conv.callBoxed(stack);  // the same arguments, in the same order
    }
    if (name == "aten::convolution_backward_overrideable") {
        // (grad, input, weight, stride, padding, dilation, transposed, output_padding, groups, mask):
        // convolution_backward takes the bias's sizes after the weight.
        static const auto back = c10::Dispatcher::singleton().findSchemaOrThrow("aten::convolution_backward", "");
        const size_t base = stack->size() - 10;
        const at::Tensor weight = (*stack)[base + 2].toTensor();
        const bool transposed = (*stack)[base + 6].toBool();
        const int64_t groups = (*stack)[base + 8].toInt();
        const auto mask = (*stack)[base + 9].to<std::array<bool, 3>>();
        c10::IValue bias_sizes;
        if (mask[2]) bias_sizes = c10::IValue(std::vector<int64_t>{transposed ? weight.size(1) * groups : weight.size(0)});
        stack->insert(stack->begin() + std::ptrdiff_t(base + 3), bias_sizes);
        return back.callBoxed(stack);
    }
    op.callBoxed(stack);
}

/// One operator call's device arguments seen as CPU tensors over the same memory, and the way back.
struct Aliases {
    struct Owner {
        c10::Storage storage;
        c10::DispatchKeySet keys;
    };
    struct Written {
        at::Tensor device, alias;
    };
    std::unordered_map<const void*, Owner> owner;  // alias memory → device storage and keys
    std::vector<Written> written;                  // arguments the operator writes
    bool any_device = false;
    int device_arg = -1;  // a Device argument: -1 none, 0 CPU, 1 emulated

    at::Tensor alias(const at::Tensor& t, bool write) {
        if (!on_device(t)) return t;
        any_device = true;
        auto a = cpu_alias(t);
        owner[t.storage().data_ptr().get()] = {t.storage(), t.key_set()};
        if (write) written.push_back({t, a});
        return a;
    }

    /// Device tensors on the stack → CPU aliases; a Device argument naming this device → the CPU.
    void to_cpu(const c10::FunctionSchema& schema, torch::jit::Stack* stack, size_t nargs) {
        for (size_t i = 0; i < nargs; ++i) {
            auto& v = (*stack)[stack->size() - nargs + i];
            const auto* info = schema.arguments()[i].alias_info();
            const bool write = info && info->isWrite();
            if (v.isTensor()) {
                v = alias(v.toTensor(), write);
            } else if (v.isTensorList()) {
                auto l = v.toTensorList();
                for (size_t k = 0; k < l.size(); ++k) l.set(k, alias(l.get(k), write));
            } else if (v.isList()) {
                auto l = v.toList();
                for (size_t k = 0; k < l.size(); ++k)
                    if (l.get(k).isTensor()) l.set(k, alias(l.get(k).toTensor(), write));
            } else if (v.isDevice()) {
                const bool here = v.toDevice().type() == kType;
                device_arg = here ? 1 : 0;
                if (here) v = c10::IValue(c10::Device(c10::kCPU));
            }
        }
    }

    /// out= and in-place arguments the CPU kernel resized or reallocated: the device tensor follows.
    void follow_written() {
        for (auto& w : written) {
            auto* impl = w.device.unsafeGetTensorImpl();
            if (w.alias.storage().data_ptr().get() != w.device.storage().data_ptr().get()) {
                auto fresh = device_copy(w.alias);
                impl->set_storage_keep_dtype(fresh.storage());
                impl->set_sizes_and_strides(fresh.sizes(), fresh.strides());
                impl->set_storage_offset(fresh.storage_offset());
                owner[w.alias.storage().data_ptr().get()] = {fresh.storage(), w.device.key_set()};
            } else if (w.alias.sizes() != w.device.sizes() || w.alias.strides() != w.device.strides()) {
                impl->set_sizes_and_strides(w.alias.sizes(), w.alias.strides());
                impl->set_storage_offset(w.alias.storage_offset());
            }
        }
    }

    /// A CPU result → the device: an argument it returns as itself, a view on device memory, or a copy.
    at::Tensor back(const at::Tensor& r) const {
        if (!r.defined() || !r.is_cpu()) return r;
        for (const auto& w : written)  // in-place and out= operators return their argument itself
            if (r.unsafeGetTensorImpl() == w.alias.unsafeGetTensorImpl()) return w.device;
        auto it = owner.find(r.storage().data_ptr().get());
        if (it != owner.end()) return with_geometry(it->second.storage, it->second.keys, r, /*view=*/true);
        return device_copy(r);
    }

    void results_to_device(const c10::FunctionSchema& schema, torch::jit::Stack* stack) const {
        if (!(device_arg == 1 || (device_arg == -1 && any_device))) return;  // results stay on the CPU
        const size_t nret = schema.returns().size();
        for (size_t i = 0; i < nret; ++i) {
            auto& v = (*stack)[stack->size() - nret + i];
            if (v.isTensor()) {
                v = back(v.toTensor());
            } else if (v.isTensorList()) {
                auto l = v.toTensorList();
                for (size_t k = 0; k < l.size(); ++k) l.set(k, back(l.get(k)));
            }
        }
    }
};

void fallback(const c10::OperatorHandle& op, torch::jit::Stack* stack) {
    ++g_ops;
    if (!metadata_only(op.schema())) {
        ++g_kernel_ops;
        std::lock_guard<std::mutex> lock(g_names_mutex);
        ++g_kernel_names[op.schema().name()];
    }
    // The CPU kernel and the copies are this operator's implementation, not more operator calls:
    // profilers and operator counts (core/train/op_count.h) see one call, as on a GPU.
    at::RecordFunctionGuard not_recorded(false);
    const auto& schema = op.schema();
    const size_t nargs = schema.arguments().size();
    const std::string name = schema.name();
    {
        auto view = torch::jit::last(stack, nargs);
        check_devices(schema, std::vector<c10::IValue>(view.begin(), view.end()));
    }
    if (name == "aten::_copy_from" || name == "aten::_copy_from_and_resize" || name == "aten::copy_")
        return copy_between(name, stack, nargs);
    if (name == "aten::set_") return set_storage(schema, stack, nargs);
    Aliases aliases;
    aliases.to_cpu(schema, stack, nargs);
    cpu_implementation(op, name, stack);
    aliases.follow_written();
    aliases.results_to_device(schema, stack);
}

void register_backend() {
    c10::SetAllocator(kType, &g_allocator);
    static c10::impl::DeviceGuardImplRegistrar guard(kType, new Guard);
    static auto* library = new torch::Library(torch::Library::IMPL, "_", kKey, __FILE__, __LINE__);
    library->fallback(torch::CppFunction::makeFromBoxedFunction<&fallback>());
    // Operators whose default implementation for other backends is an error, not a dispatch.
    static auto* aten = new torch::Library(torch::Library::IMPL, "aten", kKey, __FILE__, __LINE__);
    // copy_: libtorch 2.x implements it for every backend, through a per-device kernel table that
    // has no entry for this one.
    // native_layer_norm: CUDA runs it as one kernel; without an entry here this backend would take
    // its composite form (batch_norm + addcmul), and the op counts would not be the GPU's.
    for (const char* op : {"convolution_overrideable", "convolution_backward_overrideable", "copy_", "native_layer_norm"})
        aten->impl(op, torch::CppFunction::makeFromBoxedFunction<&fallback>());
}

}  // namespace

torch::Device emulated_device() {
    static std::once_flag once;
    std::call_once(once, register_backend);
    return torch::Device(kType, 0);
}

namespace {
// Registered when the program starts: libtorch's autograd engine sizes its per-device queues the
// first time a backward pass runs, so a device registered after that could not run backward.
const bool g_registered_at_start = (emulated_device(), true);
}  // namespace

bool is_emulated(const torch::Device& device) { return device.type() == kType; }

bool emulated_backward_works() { return !compat::kBuiltWithCuda; }

int64_t emulated_ops() { return g_ops.load(); }

int64_t emulated_kernel_ops() { return g_kernel_ops.load(); }

std::map<std::string, int64_t> emulated_kernel_ops_by_name() {
    std::lock_guard<std::mutex> lock(g_names_mutex);
    return g_kernel_names;
}

}  // namespace vhmn
