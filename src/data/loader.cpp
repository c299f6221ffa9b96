// Deterministic prefetching batch loader (see loader.h).
#include "noisesched/data/loader.h"

#include <memory>
#include <tuple>

#include "noisesched/common/error.h"
#include "noisesched/common/random.h"
#include "noisesched/common/random_purpose.h"
#include "noisesched/data/image_ops.h"

namespace noisesched {
namespace {

// The permutation of one epoch, cached for the few epochs a batch can span.
class EpochOrder {
 public:
  std::shared_ptr<const std::vector<std::uint32_t>> get(std::uint64_t seed, std::uint32_t n,
                                                        std::int64_t epoch) {
    const Key key{seed, n, epoch};
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [k, order] : cache_) {
      if (k == key) return order;
    }
    auto order = std::make_shared<const std::vector<std::uint32_t>>(seeded_permutation(
        n, hash_values({seed, purpose::kPermutation, static_cast<std::uint64_t>(epoch)})));
    cache_.emplace_back(key, order);
    if (cache_.size() > 8) cache_.erase(cache_.begin());
    return order;
  }

 private:
  using Key = std::tuple<std::uint64_t, std::uint32_t, std::int64_t>;
  std::mutex mutex_;
  std::vector<std::pair<Key, std::shared_ptr<const std::vector<std::uint32_t>>>> cache_;
};

EpochOrder& epoch_order() {
  static EpochOrder order;
  return order;
}

}  // namespace

void fill_batch(const Dataset& dataset, const LoaderOptions& options, std::int64_t step,
                ByteBatch& batch) {
  const std::int64_t n = static_cast<std::int64_t>(dataset.size());
  if (n == 0) throw Error("the data set is empty");
  const std::size_t bytes = dataset.example_bytes();
  batch.step = step;
  const int count = options.shard_size > 0 ? options.shard_size : options.batch_size;
  batch.size = count;
  batch.channels = dataset.channels();
  batch.resolution = dataset.resolution();
  batch.pixels.resize(bytes * count);
  batch.labels.resize(count);
  for (int i = 0; i < count; ++i) {
    const std::int64_t position = step * options.batch_size + options.shard_begin + i;
    const std::int64_t epoch = position / n;
    const auto order = epoch_order().get(options.seed, static_cast<std::uint32_t>(n), epoch);
    const std::size_t index = (*order)[static_cast<std::size_t>(position % n)];
    std::uint8_t* out = batch.pixels.data() + bytes * i;
    batch.labels[i] = dataset.load(index, out);
    if (options.random_flip &&
        (hash_values({options.seed, purpose::kFlip, static_cast<std::uint64_t>(position)}) & 1)) {
      flip_horizontal_chw(out, batch.resolution, batch.resolution, batch.channels);
    }
  }
}

BatchLoader::BatchLoader(const Dataset& dataset, LoaderOptions options, std::int64_t first_step)
    : dataset_(dataset),
      options_(options),
      next_to_build_(first_step),
      next_to_deliver_(first_step) {
  if (options_.batch_size < 1) throw Error("batch size must be >= 1");
  if (options_.shard_begin < 0 || options_.shard_size < 0 ||
      options_.shard_begin + options_.shard_size > options_.batch_size) {
    throw Error("the share [" + std::to_string(options_.shard_begin) + ", " +
                std::to_string(options_.shard_begin + options_.shard_size) +
                ") does not fit a batch of " + std::to_string(options_.batch_size));
  }
  if (options_.workers < 1) throw Error("data.workers must be >= 1");
  if (options_.prefetch < 1) throw Error("data.prefetch must be >= 1");
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { work(); });
}

BatchLoader::~BatchLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& worker : workers_) worker.join();
}

void BatchLoader::work() {
  while (true) {
    std::int64_t step;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(
          lock, [&] { return stopping_ || next_to_build_ < next_to_deliver_ + options_.prefetch; });
      if (stopping_) return;
      step = next_to_build_++;
    }
    ByteBatch batch;
    std::exception_ptr error;
    try {
      fill_batch(dataset_, options_, step, batch);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (error) {
        failed_[step] = error;
      } else {
        ready_[step] = std::move(batch);
      }
    }
    changed_.notify_all();
  }
}

ByteBatch BatchLoader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  const std::int64_t step = next_to_deliver_;
  changed_.wait(lock, [&] { return ready_.count(step) > 0 || failed_.count(step) > 0; });
  if (auto failure = failed_.find(step); failure != failed_.end()) {
    std::rethrow_exception(failure->second);
  }
  ByteBatch batch = std::move(ready_[step]);
  ready_.erase(step);
  ++next_to_deliver_;
  lock.unlock();
  changed_.notify_all();
  return batch;
}

}  // namespace noisesched
