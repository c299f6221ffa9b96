// The batch loader: batches are a pure function of (seed, step), whatever the threads.
#include "noisesched/data/loader.h"

#include <gtest/gtest.h>

#include <set>

#include "data/data_test_util.h"
#include "noisesched/common/error.h"

namespace noisesched {
namespace {

std::unique_ptr<Dataset> small_dataset(int n) {
  const auto folder = testing::fresh_folder("loader-" + std::to_string(n));
  testing::write_idx_dataset(folder, "train", n, 8, 10, false);
  DataConfig config;
  config.dataset = "mnist";
  config.path = folder.string();
  config.resolution = 8;
  return open_dataset(config);
}

TEST(Loader, SameBatchesForAnyWorkerCountPrefetchAndStartStep) {
  const auto dataset = small_dataset(50);
  LoaderOptions one;
  one.batch_size = 16;
  one.seed = 3;
  one.workers = 1;
  one.prefetch = 1;
  LoaderOptions many = one;
  many.workers = 4;
  many.prefetch = 7;
  BatchLoader a(*dataset, one, 0);
  BatchLoader b(*dataset, many, 0);
  std::vector<ByteBatch> first;
  for (int s = 0; s < 9; ++s) {
    const ByteBatch x = a.next(), y = b.next();
    EXPECT_EQ(x.step, s);
    EXPECT_EQ(x.pixels, y.pixels) << "step " << s;
    EXPECT_EQ(x.labels, y.labels) << "step " << s;
    first.push_back(x);
  }
  // A loader started at step 5 (a resumed run) continues with the same batches.
  BatchLoader resumed(*dataset, many, 5);
  for (int s = 5; s < 9; ++s) EXPECT_EQ(resumed.next().pixels, first[s].pixels) << "step " << s;
}

TEST(Loader, EachEpochVisitsEveryExampleOnceInANewOrder) {
  const auto dataset = small_dataset(40);
  LoaderOptions options;
  options.batch_size = 10;
  options.random_flip = false;
  BatchLoader loader(*dataset, options, 0);
  std::vector<std::vector<std::uint8_t>> epoch_first_images;
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::vector<std::int64_t> labels;
    for (int b = 0; b < 4; ++b) {
      const ByteBatch batch = loader.next();
      for (int i = 0; i < 10; ++i) labels.push_back(batch.labels[i]);
      if (b == 0) epoch_first_images.push_back(batch.pixels);
    }
    std::vector<int> count(10, 0);
    for (auto l : labels) ++count[l];
    for (int c = 0; c < 10; ++c) EXPECT_EQ(count[c], 4) << "epoch " << epoch << " class " << c;
  }
  EXPECT_NE(epoch_first_images[0], epoch_first_images[1]);  // reshuffled
}

TEST(Loader, SeedChangesOrderAndFlipsAreDeterministic) {
  const auto dataset = small_dataset(30);
  LoaderOptions a;
  a.batch_size = 30;
  a.random_flip = false;
  LoaderOptions b = a;
  b.seed = 99;
  ByteBatch x, y;
  fill_batch(*dataset, a, 0, x);
  fill_batch(*dataset, b, 0, y);
  EXPECT_NE(x.labels, y.labels);
  LoaderOptions flipped = a;
  flipped.random_flip = true;
  ByteBatch f1, f2;
  fill_batch(*dataset, flipped, 0, f1);
  fill_batch(*dataset, flipped, 0, f2);
  EXPECT_EQ(f1.pixels, f2.pixels);
  EXPECT_EQ(f1.labels, x.labels);  // flipping changes pixels, not order
  int flips = 0;
  for (int i = 0; i < 30; ++i) {
    flips += !std::equal(x.pixels.begin() + i * 64, x.pixels.begin() + (i + 1) * 64,
                         f1.pixels.begin() + i * 64);
  }
  EXPECT_GT(flips, 5);  // about half are mirrored (each row differs unless symmetric)
  EXPECT_LT(flips, 25);
}

TEST(Loader, WorkerErrorsReachTheConsumer) {
  class Failing final : public Dataset {
   public:
    std::size_t size() const override { return 4; }
    int num_classes() const override { return 2; }
    int channels() const override { return 1; }
    int resolution() const override { return 2; }
    int load(std::size_t, std::uint8_t*) const override { throw Error("'bad.png': cannot decode"); }
    std::string describe() const override { return "failing"; }
    std::vector<std::string> class_names() const override { return {"a", "b"}; }
  } failing;
  LoaderOptions options;
  options.batch_size = 2;
  BatchLoader loader(failing, options, 0);
  try {
    loader.next();
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "'bad.png': cannot decode");
  }
}

}  // namespace
}  // namespace noisesched
