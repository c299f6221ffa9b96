// Processes of a run talking through LibTorch's c10d (see communicator.h).
#include "noisesched/core/communicator.h"

#include <ATen/ATen.h>
#include <c10/core/Event.h>
#include <c10/core/impl/VirtualGuardImpl.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if NOISESCHED_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if NOISESCHED_HAVE_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "noisesched/common/error.h"
#include "noisesched/common/numbers.h"

namespace noisesched {
namespace {

constexpr std::int64_t kBucketBytes = 25 << 20;

std::chrono::milliseconds to_milliseconds(double seconds) {
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000)));
}

// The first line of an error: c10d's messages carry a C++ backtrace below it.
std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string reason_of(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) {
    return first_line(c10->what_without_backtrace());
  }
  return first_line(e.what());
}

// A process group of type PG (ProcessGroupGloo or ProcessGroupNCCL) behind the seam.
template <class PG>
class C10dCommunicator : public Communicator {
 public:
  C10dCommunicator(ProcessPlacement placement, c10::intrusive_ptr<c10d::Store> store,
                   c10::intrusive_ptr<PG> group, std::string backend, c10::Device device,
                   double timeout_seconds)
      : placement_(std::move(placement)),
        store_(std::move(store)),
        group_(std::move(group)),
        backend_(std::move(backend)),
        device_(device),
        timeout_seconds_(timeout_seconds) {}

  int rank() const override { return placement_.rank; }
  int world_size() const override { return placement_.world_size; }
  std::string describe() const override {
    return placement_.describe() + ", " + backend_ + ", timeout " + format_exact(timeout_seconds_) +
           " s";
  }

  void all_reduce_sum(std::vector<at::Tensor>& tensors, const std::string& what) override {
    guarded(what, [&] {
      // Buckets of one dtype and device, in the order given, each at most kBucketBytes (a larger
      // tensor is a bucket alone); all are reduced at once, then copied back.
      std::vector<std::vector<std::size_t>> buckets;
      std::map<std::tuple<int, std::string>, std::size_t> open;  // (dtype, device) -> bucket
      std::vector<std::int64_t> bucket_bytes;
      for (std::size_t i = 0; i < tensors.size(); ++i) {
        const at::Tensor& t = tensors[i];
        const auto key = std::make_tuple(static_cast<int>(t.scalar_type()), t.device().str());
        const std::int64_t bytes = t.numel() * static_cast<std::int64_t>(t.element_size());
        auto it = open.find(key);
        if (it == open.end() || bucket_bytes[it->second] + bytes > kBucketBytes) {
          buckets.emplace_back();
          bucket_bytes.push_back(0);
          it = open.insert_or_assign(key, buckets.size() - 1).first;
        }
        buckets[it->second].push_back(i);
        bucket_bytes[it->second] += bytes;
      }
      std::vector<at::Tensor> flats;
      std::vector<c10::intrusive_ptr<c10d::Work>> works;
      for (const auto& bucket : buckets) {
        std::vector<at::Tensor> parts;
        for (const std::size_t i : bucket) parts.push_back(tensors[i].reshape({-1}));
        // NCCL reduces CUDA tensors only, Gloo these CPU ones: the buffer lives on the group's
        // device and the results are copied back to wherever the tensors are.
        std::vector<at::Tensor> flat{at::cat(parts).to(device_)};
        works.push_back(group_->allreduce(flat, c10d::AllreduceOptions()));
        flats.push_back(flat[0]);
      }
      for (auto& work : works) work->wait();
      for (std::size_t b = 0; b < buckets.size(); ++b) {
        std::int64_t offset = 0;
        for (const std::size_t i : buckets[b]) {
          at::Tensor& t = tensors[i];
          t.copy_(flats[b].narrow(0, offset, t.numel()).view(t.sizes()));
          offset += t.numel();
        }
      }
    });
  }

  void broadcast(std::vector<at::Tensor>& tensors, const std::string& what) override {
    guarded(what, [&] {
      std::vector<c10::intrusive_ptr<c10d::Work>> works;
      std::vector<std::vector<at::Tensor>> lists;
      lists.reserve(tensors.size());
      for (auto& t : tensors) {
        lists.push_back(
            {t.device() == device_ && t.is_contiguous() ? t : t.to(device_).contiguous()});
        c10d::BroadcastOptions options;
        options.rootRank = 0;
        works.push_back(group_->broadcast(lists.back(), options));
      }
      for (auto& work : works) work->wait();
      for (std::size_t i = 0; i < tensors.size(); ++i) {
        if (!lists[i][0].is_same(tensors[i])) tensors[i].copy_(lists[i][0]);
      }
    });
  }

  int max(int value, const std::string& what) override { return max_later(value, what)(); }

  std::function<int()> max_later(int value, const std::string& what) override {
    std::vector<at::Tensor> one;
    c10::intrusive_ptr<c10d::Work> work;
    at::Tensor host;                     // on a GPU: where the result arrives (pinned)
    std::shared_ptr<c10::Event> copied;  // on a GPU: recorded after that copy
    guarded(what, [&] {
      one.push_back(at::full({1}, value, at::TensorOptions().dtype(at::kLong).device(device_)));
      c10d::AllreduceOptions options;
      options.reduceOp = c10d::ReduceOp::MAX;
      work = group_->allreduce(one, options);
      if (device_.is_cuda()) {
        // The current stream waits for the reduction (the host does not) and copies its result
        // to the host behind the work queued so far; reading it later waits for that work only,
        // not for what is queued in between.
        work->wait();
        host = at::empty({1}, at::TensorOptions().dtype(at::kLong).pinned_memory(true));
        host.copy_(one[0], /*non_blocking=*/true);
        const c10::impl::VirtualGuardImpl guard(device_.type());
        copied = std::make_shared<c10::Event>(device_.type());
        copied->record(guard.getStream(device_));
      }
    });
    return [this, what, one, work, host, copied] {
      int result = 0;
      guarded(what, [&] {
        if (copied) {
          while (!copied->query()) std::this_thread::yield();
          result = static_cast<int>(host.data_ptr<std::int64_t>()[0]);
        } else {
          work->wait();
          result = static_cast<int>(one[0].item<std::int64_t>());
        }
      });
      return result;
    };
  }

  ~C10dCommunicator() override {
    if (heartbeat_.joinable()) {
      {
        std::lock_guard<std::mutex> lock(heartbeat_mutex_);
        stopping_ = true;
      }
      heartbeat_changed_.notify_all();
      heartbeat_.join();
    }
    if (failed_) {
      // After a failed operation the group's queue may hold work that waits for a peer that
      // will never answer, each piece up to the timeout; the process is ending with an error,
      // so the group and the store are left to the operating system instead of destroyed.
      (void)group_.release();
      (void)store_.release();
    }
  }

  // Every process beats every half second while it lives and is not stopped (a store counter of
  // its own), so that a process waiting for another can tell a slow one from a dead or stopped
  // one. The beat comes from a thread of its own: it says nothing about a main thread that is
  // stuck inside its work.
  void start_heartbeat() {
    heartbeat_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(heartbeat_mutex_);
      while (!stopping_) {
        try {
          store_->add(heartbeat_key(rank()), 1);
        } catch (const std::exception&) {
          return;  // the store is gone: the run is ending
        }
        heartbeat_changed_.wait_for(lock, std::chrono::milliseconds(500));
      }
    });
  }

  void follow_first(const std::string& what, double patience_seconds) override {
    const std::string key = "follow/" + std::to_string(++follows_);
    if (first()) {
      set_key(key, "finishing " + what);
      return;
    }
    wait_for_keys("waiting for the first process to finish " + what, {{0, key}}, patience_seconds);
  }

  void arrive_together(const std::string& what, double patience_seconds) override {
    const std::string prefix = "arrive/" + std::to_string(++arrivals_) + "/";
    set_key(prefix + std::to_string(rank()), what);
    std::vector<std::pair<int, std::string>> others;
    for (int r = 0; r < world_size(); ++r) {
      if (r != rank()) others.emplace_back(r, prefix + std::to_string(r));
    }
    wait_for_keys("waiting for the other processes to finish " + what, others, patience_seconds);
  }

  void leave_first_last(const std::string& what, double patience_seconds) override {
    const std::string prefix = "leave/" + std::to_string(++leavings_) + "/";
    if (!first()) {
      set_key(prefix + std::to_string(rank()), what);
      return;
    }
    std::vector<std::pair<int, std::string>> others;
    for (int r = 1; r < world_size(); ++r) others.emplace_back(r, prefix + std::to_string(r));
    wait_for_keys("waiting for the other processes to leave " + what, others, patience_seconds);
  }

  at::Tensor gather_rows(const at::Tensor& rows, const std::string& what) override {
    at::Tensor result;
    guarded(what, [&] {
      const int world = world_size();
      const auto long_options = at::TensorOptions().dtype(at::kLong).device(device_);
      std::vector<at::Tensor> counts{at::zeros({world}, long_options)};
      counts[0][rank()] = rows.size(0);
      group_->allreduce(counts, c10d::AllreduceOptions())->wait();
      const at::Tensor sizes = counts[0].to(at::kCPU);
      const std::int64_t most = sizes.max().item<std::int64_t>();
      std::vector<std::int64_t> shape = rows.sizes().vec();
      shape[0] = most;
      const at::Tensor local = rows.to(device_).contiguous();
      at::Tensor padded = at::zeros(shape, local.options());
      if (local.size(0) > 0) padded.narrow(0, 0, local.size(0)).copy_(local);
      std::vector<at::Tensor> input{padded};
      std::vector<std::vector<at::Tensor>> outputs(1);
      for (int r = 0; r < world; ++r) outputs[0].push_back(at::empty(shape, local.options()));
      group_->allgather(outputs, input)->wait();
      std::vector<at::Tensor> parts;
      for (int r = 0; r < world; ++r) {
        parts.push_back(outputs[0][r].narrow(0, 0, sizes[r].item<std::int64_t>()));
      }
      result = at::cat(parts).to(rows.device());
    });
    return result;
  }

 private:
  static std::string heartbeat_key(int rank) { return "heartbeat/" + std::to_string(rank); }

  void set_key(const std::string& key, const std::string& what) {
    try {
      store_->set(key, std::vector<std::uint8_t>{1});
    } catch (const std::exception& e) {
      failed_ = true;
      throw Error(placement_.describe() + ": telling the others about " + what + " failed (" +
                  reason_of(e) + "); the process hosting the store died");
    }
  }

  // Waits until the key of every (rank, key) pair exists, for up to `patience_seconds` (at least
  // the timeout); a rank whose heartbeat stands still for the timeout ends the wait with an error
  // naming it.
  void wait_for_keys(const std::string& what, std::vector<std::pair<int, std::string>> pending,
                     double patience_seconds) {
    const double patience = std::max(patience_seconds, timeout_seconds_);
    const auto begin = std::chrono::steady_clock::now();
    std::string failure;
    try {
      std::map<int, std::pair<std::int64_t, std::chrono::steady_clock::time_point>> beats;
      for (const auto& [r, key] : pending) beats[r] = {store_->add(heartbeat_key(r), 0), begin};
      while (!pending.empty()) {
        const auto now = std::chrono::steady_clock::now();
        for (auto it = pending.begin(); it != pending.end();) {
          if (store_->check({it->second})) {
            it = pending.erase(it);
            continue;
          }
          auto& [count, when] = beats[it->first];
          const std::int64_t seen = store_->add(heartbeat_key(it->first), 0);
          if (seen != count) {
            count = seen;
            when = now;
          }
          if (std::chrono::duration<double>(now - when).count() > timeout_seconds_) {
            failure = "rank " + std::to_string(it->first) + " stopped answering for " +
                      format_exact(timeout_seconds_) + " s (train.dist_timeout)";
            break;
          }
          ++it;
        }
        if (!failure.empty() || pending.empty()) break;
        if (std::chrono::duration<double>(now - begin).count() > patience) {
          failure = "rank " + std::to_string(pending.front().first) + " took longer than " +
                    format_exact(patience) + " s";
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    } catch (const std::exception& e) {
      failure = reason_of(e) + "; the process hosting the store (rank 0) died";
    }
    if (!failure.empty()) {
      failed_ = true;
      throw Error(placement_.describe() + ": " + what + " failed: " + failure);
    }
  }

  template <class F>
  void guarded(const std::string& what, F&& work) {
    try {
      work();
    } catch (const std::exception& e) {
      failed_ = true;
      throw Error(placement_.describe() + ": " + what + " failed (" + reason_of(e) +
                  "); another process of the run died, was stopped or did not answer within " +
                  format_exact(timeout_seconds_) + " s (train.dist_timeout)");
    }
  }

  ProcessPlacement placement_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<PG> group_;
  std::string backend_;
  c10::Device device_;
  double timeout_seconds_;
  std::int64_t follows_ = 0, arrivals_ = 0, leavings_ = 0;
  bool failed_ = false;
  std::thread heartbeat_;
  std::mutex heartbeat_mutex_;
  std::condition_variable heartbeat_changed_;
  bool stopping_ = false;
};

c10::intrusive_ptr<c10d::Store> rendezvous(const ProcessPlacement& placement,
                                           double timeout_seconds) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<std::uint16_t>(placement.master_port);
  options.timeout = to_milliseconds(timeout_seconds);
  if (placement.agent_store) {
    // torchrun's agent hosts the store; its workers use a prefix per restart attempt.
    options.isServer = false;
    auto store = c10::make_intrusive<c10d::TCPStore>(placement.master_addr, options);
    return c10::make_intrusive<c10d::PrefixStore>(
        "/worker/attempt_" + std::to_string(placement.restart_count) + "/noisesched", store);
  }
  options.isServer = placement.rank == 0;
  options.numWorkers = static_cast<std::size_t>(placement.world_size);
  options.waitWorkers = true;
  options.multiTenant = true;
  auto store = c10::make_intrusive<c10d::TCPStore>(placement.master_addr, options);
  return c10::make_intrusive<c10d::PrefixStore>("noisesched", store);
}

}  // namespace

std::unique_ptr<Communicator> single_process() { return std::make_unique<Communicator>(); }

std::string distributed_backends() {
  std::string names;
#if NOISESCHED_HAVE_GLOO
  names = "gloo";
#endif
#if NOISESCHED_HAVE_NCCL
  names += names.empty() ? "nccl" : ", nccl";
#endif
  return names.empty() ? "none" : names;
}

std::unique_ptr<Communicator> connect(const ProcessPlacement& placement, const c10::Device& device,
                                      double timeout_seconds, DistBackend backend) {
  if (!placement.distributed()) return single_process();
  return join_process_group(placement, device, timeout_seconds, backend);
}

std::unique_ptr<Communicator> join_process_group(const ProcessPlacement& placement,
                                                 const c10::Device& device, double timeout_seconds,
                                                 DistBackend backend) {
  const bool nccl =
      backend == DistBackend::kNccl || (backend == DistBackend::kAuto && device.is_cuda());
  if (nccl && !device.is_cuda()) {
    throw Error("train.dist_backend = nccl needs a CUDA device (train.device is " + device.str() +
                "); use gloo or auto on the CPU");
  }
  if (!(std::isfinite(timeout_seconds) && timeout_seconds > 0)) {
    throw Error("the distributed timeout must be > 0 seconds, got " +
                format_exact(timeout_seconds));
  }
  const std::string where = placement.describe() + ": ";
  c10::intrusive_ptr<c10d::Store> store;
  try {
    store = rendezvous(placement, timeout_seconds);
  } catch (const std::exception& e) {
    throw Error(where + "rendezvous at " + placement.master_addr + ":" +
                std::to_string(placement.master_port) + " failed within " +
                format_exact(timeout_seconds) + " s: " + reason_of(e));
  }
  try {
    if (nccl) {
#if NOISESCHED_HAVE_NCCL
      // Without blocking wait, NCCL's wait() neither blocks nor reports a timeout (a watchdog
      // aborts the process instead); with it, failures reach the same error as Gloo's. The
      // variable's name changed between LibTorch 1.13 and 2.x; a user's own setting is kept.
      ::setenv("NCCL_BLOCKING_WAIT", "1", 0);
      ::setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0);
      // Each process on its own GPU before NCCL creates its communicators.
      c10::cuda::set_device(device.has_index()
                                ? device.index()
                                : static_cast<c10::DeviceIndex>(placement.local_rank));
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = to_milliseconds(timeout_seconds);
      auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, placement.rank,
                                                               placement.world_size, options);
      auto communicator = std::make_unique<C10dCommunicator<c10d::ProcessGroupNCCL>>(
          placement, store, group, "nccl", device, timeout_seconds);
      communicator->start_heartbeat();
      return communicator;
#else
      throw Error(where +
                  "this LibTorch build has no NCCL (c10d ProcessGroupNCCL); multi-process "
                  "training on CUDA needs a CUDA build of LibTorch, or train.dist_backend = gloo");
#endif
    }
#if NOISESCHED_HAVE_GLOO
    auto options = c10d::ProcessGroupGloo::Options::create(to_milliseconds(timeout_seconds));
    const char* interface = std::getenv("GLOO_SOCKET_IFNAME");
    if (interface != nullptr && *interface != '\0') {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
    } else if (placement.master_addr == "127.0.0.1" || placement.master_addr == "localhost") {
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else {
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    options->threads = 2;
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, placement.rank,
                                                             placement.world_size, options);
    // Gloo reduces CPU tensors: a CUDA run's buckets go through the host and back.
    auto communicator = std::make_unique<C10dCommunicator<c10d::ProcessGroupGloo>>(
        placement, store, group, device.is_cuda() ? "gloo through the host" : "gloo",
        c10::Device(c10::kCPU), timeout_seconds);
    communicator->start_heartbeat();
    return communicator;
#else
    throw Error(where +
                "this build has no Gloo (c10d ProcessGroupGloo; install libgloo-dev and "
                "rebuild); multi-process training on the CPU needs it");
#endif
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(where + "joining the process group failed within " + format_exact(timeout_seconds) +
                " s: " + reason_of(e));
  }
}

}  // namespace noisesched
