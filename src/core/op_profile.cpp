// Per-operation self times through LibTorch's RecordFunction hooks (see op_profile.h).
#include "noisesched/core/op_profile.h"

#include <ATen/record_function.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <sstream>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

constexpr const char* kScopePrefix = "noisesched::";

struct Totals {
  std::int64_t calls = 0;
  std::int64_t self_ns = 0;
  std::int64_t dispatches = 0;
};

std::mutex totals_mutex;
std::map<std::string, Totals, std::less<>> totals;  // guarded by totals_mutex
bool recording = false;                             // guarded by totals_mutex
std::atomic<std::int64_t> sync_count{0};

bool on_host(const c10::IValue& value) {
  return value.isTensor() && value.toTensor().defined() && value.toTensor().device().is_cpu();
}
bool on_device(const c10::IValue& value) {
  return value.isTensor() && value.toTensor().defined() && !value.toTensor().device().is_cpu() &&
         !value.toTensor().is_meta();
}

// Whether this operation makes the host wait for the device: a value read to the host
// (_local_scalar_dense, under item() and every tensor-to-bool or -number conversion, whatever the
// tensor's device: the same code on a GPU waits), a copy from a device tensor into a host one,
// or an operation whose output size depends on device values.
bool host_sync(const at::RecordFunction& fn) {
  const char* name = fn.name();
  if (name == nullptr) return false;
  if (std::strcmp(name, "aten::_local_scalar_dense") == 0) return true;
  const bool copy = std::strcmp(name, "aten::copy_") == 0;
  const bool sized_by_values =
      std::strcmp(name, "aten::nonzero") == 0 || std::strcmp(name, "aten::masked_select") == 0 ||
      std::strcmp(name, "aten::unique") == 0 || std::strcmp(name, "aten::_unique2") == 0;
  if (!copy && !sized_by_values) return false;
  const auto inputs = fn.inputs();
  if (copy) return inputs.size() >= 2 && on_host(inputs[0]) && on_device(inputs[1]);
  return !inputs.empty() && on_device(inputs[0]);
}

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One open operation on this thread. The frames of a thread form a stack: RecordFunction calls
// its end hooks in the reverse order of the start hooks on the thread that started them.
struct Frame : at::ObserverContext {
  std::int64_t start_ns = 0;
  std::int64_t children_ns = 0;
  Frame* parent = nullptr;
  const char* scope = nullptr;  // the enclosing "noisesched::" scope, if any
  bool opens_scope = false;     // this frame is that scope's own
};

thread_local Frame* open_frame = nullptr;

std::unique_ptr<at::ObserverContext> on_start(const at::RecordFunction& fn) {
  if (host_sync(fn)) sync_count.fetch_add(1, std::memory_order_relaxed);
  auto frame = std::make_unique<Frame>();
  frame->parent = open_frame;
  frame->scope = open_frame != nullptr ? open_frame->scope : nullptr;
  const char* name = fn.name();
  if (frame->scope == nullptr && name != nullptr &&
      std::strncmp(name, kScopePrefix, std::strlen(kScopePrefix)) == 0) {
    frame->scope = name;
    frame->opens_scope = true;
  }
  open_frame = frame.get();
  frame->start_ns = now_ns();
  return frame;
}

void on_end(const at::RecordFunction& fn, at::ObserverContext* context) {
  const std::int64_t end = now_ns();
  auto* frame = static_cast<Frame*>(context);
  if (frame == nullptr) return;
  const std::int64_t total = end - frame->start_ns;
  if (frame->parent != nullptr) frame->parent->children_ns += total;
  open_frame = frame->parent;
  // Inside a scope of the program every operation counts as the scope: the self times of the
  // scope's frames add up to the scope's time, and the call is counted once, by its own frame.
  const bool scope_row =
      frame->scope != nullptr && (frame->parent == nullptr || frame->parent->scope != frame->scope);
  const char* name = frame->scope != nullptr ? frame->scope : fn.name();
  const std::int64_t self = total - frame->children_ns;
  std::lock_guard<std::mutex> lock(totals_mutex);
  if (!recording) return;
  // Looked up without building a string: the hooks' own cost lands in the self times of the
  // smallest operations, so it is kept to a map search.
  const char* key = name != nullptr ? name : "(unnamed)";
  auto found = totals.find(key);
  if (found == totals.end()) found = totals.emplace(key, Totals{}).first;
  Totals& t = found->second;
  if (frame->scope == nullptr || scope_row) t.calls += 1;
  if (frame->parent != nullptr && frame->parent->opens_scope) t.dispatches += 1;
  t.self_ns += self;
}

}  // namespace

OpProfile::OpProfile() {
  {
    std::lock_guard<std::mutex> lock(totals_mutex);
    if (recording) throw Error("an operation profile is already recording in this process");
    recording = true;
    totals.clear();
    sync_count.store(0);
  }
  // An operation whose end hook never ran (one that was open when an earlier profile stopped)
  // must not become a parent here.
  open_frame = nullptr;
  handle_ = at::addGlobalCallback(at::RecordFunctionCallback(&on_start, &on_end).needsInputs(true));
  recording_ = true;
}

OpProfile::~OpProfile() {
  if (recording_) stop();
}

std::vector<OpTime> OpProfile::stop() {
  if (!recording_) throw Error("the operation profile was already stopped");
  at::removeCallback(handle_);
  recording_ = false;
  std::vector<OpTime> out;
  std::lock_guard<std::mutex> lock(totals_mutex);
  recording = false;
  host_syncs_ = sync_count.load();
  for (const auto& [name, t] : totals) {
    out.push_back({name, t.calls, static_cast<double>(t.self_ns) * 1e-9, t.dispatches});
  }
  totals.clear();
  std::sort(out.begin(), out.end(), [](const OpTime& a, const OpTime& b) {
    return a.self_seconds != b.self_seconds ? a.self_seconds > b.self_seconds : a.name < b.name;
  });
  return out;
}

namespace {

std::mutex trace_mutex;
std::vector<std::string> trace;  // guarded by trace_mutex
bool tracing = false;            // guarded by trace_mutex

void describe(std::ostringstream& out, const c10::IValue& value) {
  if (value.isTensor()) {
    const at::Tensor& t = value.toTensor();
    if (!t.defined()) {
      out << "undefined";
    } else {
      out << c10::toString(t.scalar_type()) << t.sizes() << "@" << t.device();
    }
  } else if (value.isTensorList()) {
    out << "[";
    for (const at::Tensor& t : value.toTensorVector()) {
      describe(out, c10::IValue(t));
      out << ",";
    }
    out << "]";
  } else if (value.isDouble()) {
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", value.toDouble());
    out << text;
  } else {
    out << value;
  }
}

std::unique_ptr<at::ObserverContext> on_trace(const at::RecordFunction& fn) {
  std::ostringstream line;
  line << (fn.name() != nullptr ? fn.name() : "(unnamed)") << "(";
  for (const c10::IValue& value : fn.inputs()) {
    describe(line, value);
    line << "; ";
  }
  line << ")";
  std::lock_guard<std::mutex> lock(trace_mutex);
  if (tracing) trace.push_back(line.str());
  return nullptr;
}

}  // namespace

OpTrace::OpTrace() {
  {
    std::lock_guard<std::mutex> lock(trace_mutex);
    if (tracing) throw Error("an operation trace is already recording in this process");
    tracing = true;
    trace.clear();
  }
  handle_ = at::addGlobalCallback(at::RecordFunctionCallback(&on_trace).needsInputs(true));
  recording_ = true;
}

OpTrace::~OpTrace() {
  if (recording_) stop();
}

std::vector<std::string> OpTrace::stop() {
  if (!recording_) throw Error("the operation trace was already stopped");
  at::removeCallback(handle_);
  recording_ = false;
  std::lock_guard<std::mutex> lock(trace_mutex);
  tracing = false;
  return std::move(trace);
}

struct ProfileScope::Guard {
  at::RecordFunction function{at::RecordScope::USER_SCOPE};
};

ProfileScope::ProfileScope(const char* name) : guard_(std::make_unique<Guard>()) {
  if (guard_->function.isActive()) {
    guard_->function.before(name, c10::ArrayRef<const c10::IValue>{});
  }
}

ProfileScope::~ProfileScope() = default;

}  // namespace noisesched
