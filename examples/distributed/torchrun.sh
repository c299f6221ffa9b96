#!/usr/bin/env bash
# Several machines with torchrun: run this script on every machine, with the same first host.
#   examples/distributed/torchrun.sh NODES NODE_RANK FIRST_HOST CONFIG [more train options]
# e.g. on the two machines gpu1 and gpu2 (8 GPUs each):
#   gpu1$ examples/distributed/torchrun.sh 2 0 gpu1 configs/imagenet64.toml --device cuda
#   gpu2$ examples/distributed/torchrun.sh 2 1 gpu1 configs/imagenet64.toml --device cuda
# torchrun starts one noisesched per GPU (or PROCS_PER_NODE per machine on CPUs) with RANK,
# WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR and MASTER_PORT set; each process takes
# its share of every batch and, with --device cuda, the GPU of its local rank.
# The run folder (train.out_dir) must be on a file system every machine sees.
set -euo pipefail
if [ $# -lt 4 ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
nodes=$1 node_rank=$2 first_host=$3 config=$4
shift 4
procs=${PROCS_PER_NODE:-$(nvidia-smi -L 2>/dev/null | wc -l)}
[ "$procs" -ge 1 ] || procs=1
# --redirects/--tee name explicit streams: with Python 3.11 the launcher of PyTorch 1.13 (Debian
# 12's python3-torch) fails on its own defaults.
exec torchrun --nnodes "$nodes" --node_rank "$node_rank" --nproc_per_node "$procs" \
  --master_addr "$first_host" --master_port "${MASTER_PORT:-29500}" \
  --redirects 2 --tee 2 --no_python \
  noisesched train --config "$config" "$@"
