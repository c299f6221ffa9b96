// noisesched/data/loader.h: batches prepared ahead of the model on worker threads.
//
// The batch for optimizer step s is a pure function of (seed, s): the stream of examples is the
// concatenation of per-epoch permutations (epoch e shuffled by a generator seeded with (seed, e)),
// step s takes positions [s B, (s + 1) B) of it, and each position's horizontal flip is a hash bit
// of (seed, position). A resumed run therefore sees exactly the batches an uninterrupted one sees,
// whatever the number of workers or their timing.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "noisesched/data/dataset.h"

namespace noisesched {

struct LoaderOptions {
  int batch_size = 128;
  std::uint64_t seed = 0;
  bool random_flip = true;
  int workers = 1;
  int prefetch = 4;  // batches ready or in preparation ahead of the consumer
  // This process's share of each batch when several processes train together: positions
  // [shard_begin, shard_begin + shard_size) of the batch of batch_size (0: the whole batch).
  int shard_begin = 0;
  int shard_size = 0;
};

// Bytes of a batch (or of this process's share of it): pixels [B, C, H, W], labels [B].
struct ByteBatch {
  std::int64_t step = 0;
  int size = 0, channels = 0, resolution = 0;
  std::vector<std::uint8_t> pixels;
  std::vector<std::int64_t> labels;
};

// Builds the batch of `step` (the function the workers run).
void fill_batch(const Dataset& dataset, const LoaderOptions& options, std::int64_t step,
                ByteBatch& batch);

class BatchLoader {
 public:
  // Starts the workers at `first_step` (the step a resumed run continues from).
  BatchLoader(const Dataset& dataset, LoaderOptions options, std::int64_t first_step = 0);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch in step order; rethrows a worker's error (naming the bad file).
  ByteBatch next();

 private:
  void work();

  const Dataset& dataset_;
  LoaderOptions options_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::int64_t next_to_build_;
  std::int64_t next_to_deliver_;
  std::map<std::int64_t, ByteBatch> ready_;
  std::map<std::int64_t, std::exception_ptr> failed_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace noisesched
