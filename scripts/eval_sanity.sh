#!/usr/bin/env bash
# The sanity table of docs/evaluation.md: FID, IS, KID and precision/recall on Fashion-MNIST at
# 32x32 (the default preset's resolution) against the training split, for the test split, the
# test split blurred or replaced by uniform noise, and the main job's trained model.
# Run after scripts/run.sh (it uses that run's extractor, cache and out/fmnist32_eval.json).
# Prints a Markdown table; about 3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${NOISESCHED_OUT:-out}
ns=${NOISESCHED_BUILD_DIR:-build}/noisesched
export NOISESCHED_CACHE=${NOISESCHED_CACHE:-$out/cache}
mkdir -p "$out/sanity"

row() {  # row NAME JSON
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
r = json.load(open(path))
m = r["metrics"]
print(f"| {name} | {m['num_images']} | {m['fid']:.2f} | {m['is']['mean']:.2f} ± {m['is']['spread']:.2f} "
      f"| {m['kid']['mean']:.3f} ± {m['kid']['spread']:.3f} | {m['precision']:.3f} | {m['recall']:.3f} |")
PY
}

score() {  # score NAME ARGS...
  local name=$1
  shift
  local file="$out/sanity/${name//[^a-zA-Z0-9]/_}.json"
  "$ns" eval --resolution 32 --json "$file" "$@" >/dev/null 2>"$file.log" || {
    cat "$file.log" >&2
    exit 1
  }
  row "$name" "$file"
}

echo "| images scored against the train split (60000) | N | FID | IS | KID | precision | recall |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
score "test split" --images test
score "test split, first 2000" --images test --limit 2000
score "test split, blur sigma 0.5" --images test --limit 2000 --corrupt blur:0.5
score "test split, blur sigma 1" --images test --limit 2000 --corrupt blur:1
score "test split, blur sigma 2" --images test --limit 2000 --corrupt blur:2
score "uniform noise" --images test --limit 2000 --corrupt uniform
# The main job's model, and any further evaluations of it saved as out/sanity/model_*.json
# (docs/evaluation.md gives the commands).
for file in "$out/fmnist32_eval.json" "$out"/sanity/model_*.json; do
  [ -f "$file" ] || continue
  name=$(/usr/bin/python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))
print("trained model: %s, %d steps, guidance %g" % (r["sampler"], r["steps"], r["guidance"]))' \
    "$file")
  row "$name" "$file"
done
extractor=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["extractor"])' \
  "$out/sanity/test_split.json")
echo
echo "extractor: $extractor"
