// Where a process stands in a multi-process run, from its launcher's variables; shares of a batch.
#include "noisesched/common/launch.h"

#include <gtest/gtest.h>

#include <map>

#include "noisesched/common/error.h"

namespace noisesched {
namespace {

Environment fake(std::map<std::string, std::string> values) {
  return [values](const std::string& name) -> std::optional<std::string> {
    const auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Placement, AloneWithoutALauncher) {
  const ProcessPlacement p = placement_from_environment(fake({{"HOME", "/root"}}));
  EXPECT_EQ(p.rank, 0);
  EXPECT_EQ(p.world_size, 1);
  EXPECT_FALSE(p.distributed());
  EXPECT_EQ(p.launcher, "none");
}

TEST(Placement, Torchrun) {
  const ProcessPlacement p =
      placement_from_environment(fake({{"RANK", "3"},
                                       {"WORLD_SIZE", "4"},
                                       {"LOCAL_RANK", "1"},
                                       {"LOCAL_WORLD_SIZE", "2"},
                                       {"MASTER_ADDR", "node7"},
                                       {"MASTER_PORT", "29400"},
                                       {"TORCHELASTIC_USE_AGENT_STORE", "True"},
                                       {"TORCHELASTIC_RESTART_COUNT", "2"}}));
  EXPECT_EQ(p.rank, 3);
  EXPECT_EQ(p.world_size, 4);
  EXPECT_EQ(p.local_rank, 1);
  EXPECT_EQ(p.local_world_size, 2);
  EXPECT_EQ(p.master_addr, "node7");
  EXPECT_EQ(p.master_port, 29400);
  EXPECT_EQ(p.launcher, "torchrun");
  EXPECT_TRUE(p.agent_store);
  EXPECT_EQ(p.restart_count, 2);
  EXPECT_EQ(p.describe(), "rank 3 of 4 (local 1 of 2, torchrun)");
}

TEST(Placement, NprocChildrenNameTheirLauncher) {
  const ProcessPlacement p = placement_from_environment(fake({{"RANK", "0"},
                                                              {"WORLD_SIZE", "2"},
                                                              {"MASTER_PORT", "5000"},
                                                              {"NOISESCHED_LAUNCHER", "nproc"}}));
  EXPECT_EQ(p.launcher, "nproc");
  EXPECT_EQ(p.master_addr, "127.0.0.1");
  EXPECT_FALSE(p.agent_store);
}

TEST(Placement, Slurm) {
  const ProcessPlacement p =
      placement_from_environment(fake({{"SLURM_PROCID", "5"},
                                       {"SLURM_STEP_NUM_TASKS", "8"},
                                       {"SLURM_LOCALID", "1"},
                                       {"SLURM_STEP_TASKS_PER_NODE", "4(x2)"},
                                       {"SLURM_STEP_NODELIST", "gpu[03-04]"},
                                       {"SLURM_JOB_ID", "123456"}}));
  EXPECT_EQ(p.launcher, "slurm");
  EXPECT_EQ(p.rank, 5);
  EXPECT_EQ(p.world_size, 8);
  EXPECT_EQ(p.local_rank, 1);
  EXPECT_EQ(p.local_world_size, 4);
  EXPECT_EQ(p.master_addr, "gpu03");
  EXPECT_EQ(p.master_port, 20000 + 123456 % 10000);
  // MASTER_ADDR and MASTER_PORT win.
  const ProcessPlacement q = placement_from_environment(fake({{"SLURM_PROCID", "0"},
                                                              {"SLURM_STEP_NUM_TASKS", "2"},
                                                              {"MASTER_ADDR", "head"},
                                                              {"MASTER_PORT", "4242"}}));
  EXPECT_EQ(q.master_addr, "head");
  EXPECT_EQ(q.master_port, 4242);
}

TEST(Placement, ASlurmBatchScriptItselfRunsAlone) {
  // sbatch sets SLURM_PROCID and SLURM_NTASKS for the script, but no step of tasks.
  const ProcessPlacement p = placement_from_environment(
      fake({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "8"}, {"SLURM_JOB_ID", "9"}}));
  EXPECT_FALSE(p.distributed());
}

TEST(Placement, MalformedVariablesNameThemselves) {
  const auto message = [](std::map<std::string, std::string> values) {
    try {
      placement_from_environment(fake(values));
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "1"}}).find("RANK=2"),
            std::string::npos);
  EXPECT_NE(message({{"RANK", "x"}, {"WORLD_SIZE", "2"}}).find("RANK"), std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}}).find("WORLD_SIZE"), std::string::npos);
  EXPECT_NE(message({{"RANK", "0"}, {"WORLD_SIZE", "2"}}).find("MASTER_PORT"), std::string::npos);
  EXPECT_NE(
      message({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}}).find("MASTER_PORT"),
      std::string::npos);
  EXPECT_NE(message({{"RANK", "0"},
                     {"WORLD_SIZE", "2"},
                     {"LOCAL_RANK", "2"},
                     {"LOCAL_WORLD_SIZE", "2"},
                     {"MASTER_PORT", "5"}})
                .find("local rank 2"),
            std::string::npos);
  EXPECT_NE(message({{"SLURM_PROCID", "0"},
                     {"SLURM_STEP_NUM_TASKS", "2"},
                     {"SLURM_STEP_TASKS_PER_NODE", "x"}})
                .find("SLURM_STEP_TASKS_PER_NODE"),
            std::string::npos);
}

TEST(Placement, ThreadsAreSharedAmongTheProcessesOfAMachine) {
  EXPECT_EQ(default_threads_per_process(16, 1), 16);
  EXPECT_EQ(default_threads_per_process(16, 4), 4);
  EXPECT_EQ(default_threads_per_process(2, 2), 1);
  EXPECT_EQ(default_threads_per_process(2, 3), 1);
}

TEST(Placement, SlurmHostLists) {
  EXPECT_EQ(first_slurm_host("node12"), "node12");
  EXPECT_EQ(first_slurm_host("a1,b2"), "a1");
  EXPECT_EQ(first_slurm_host("gpu[003-007,9]"), "gpu003");
  EXPECT_EQ(first_slurm_host("gpu[7],cpu[1-2]"), "gpu7");
  EXPECT_EQ(first_slurm_host("login,gpu[1-2]"), "login");
  EXPECT_THROW(first_slurm_host("gpu[]"), Error);
  EXPECT_THROW(first_slurm_host(""), Error);
}

TEST(ShardRange, SharesCoverTheBatchInOrderWithoutOverlap) {
  for (const std::int64_t n : {0, 1, 5, 7, 64, 80, 1000}) {
    for (const int world : {1, 2, 3, 4, 7}) {
      for (const std::int64_t align : {1, 4, 64}) {
        std::int64_t next = 0, smallest = n, largest = 0;
        for (int rank = 0; rank < world; ++rank) {
          const auto [begin, end] = shard_range(n, rank, world, align);
          EXPECT_EQ(begin, next) << n << " " << world << " " << align;
          EXPECT_LE(begin, end);
          if (rank + 1 < world) {
            EXPECT_EQ(begin % align, 0);
          }
          next = end;
          if (rank + 1 < world) {
            smallest = std::min(smallest, end - begin);
            largest = std::max(largest, end - begin);
          }
        }
        EXPECT_EQ(next, n);
        if (world > 2) {
          EXPECT_LE(largest - smallest, align);
        }
      }
    }
  }
  using Range = std::pair<std::int64_t, std::int64_t>;
  EXPECT_EQ(shard_range(5, 0, 2), Range(0, 3));
  EXPECT_EQ(shard_range(5, 1, 2), Range(3, 5));
  EXPECT_EQ(shard_range(80, 0, 2, 64), Range(0, 64));
  EXPECT_EQ(shard_range(80, 1, 2, 64), Range(64, 80));
  EXPECT_THROW(shard_range(5, 2, 2), Error);
}

TEST(LocalLaunch, FreePortsAreUsablePorts) {
  const int port = free_local_port();
  EXPECT_GT(port, 0);
  EXPECT_LT(port, 65536);
}

}  // namespace
}  // namespace noisesched
