#!/usr/bin/env bash
# `pip install --no-build-isolation .` puts a working `noisesched` module into a fresh virtual
# environment, offline (no index, no download), from the project's existing build, as
# docs/python.md tells a user to; the installed copy is the one imported, from outside the tree.
# Usage: python_install_test.sh SOURCE_DIR BUILD_DIR PYTHON
set -euo pipefail
source_dir=$1 build_dir=$2 python=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m venv --system-site-packages "$work/venv"
NOISESCHED_BUILD_DIR=$build_dir PIP_NO_INDEX=1 \
  "$work/venv/bin/pip" install --no-build-isolation --no-deps -q "$source_dir" > "$work/pip.log" 2>&1 ||
  { cat "$work/pip.log"; echo "FAIL: pip install"; exit 1; }
cd "$work"
"$work/venv/bin/python" - "$work/venv" <<'PY'
import math
import sys
import noisesched
assert noisesched.__file__.startswith(sys.argv[1]), noisesched.__file__
s = noisesched.Schedule("sigmoid@0,3,0.7", scale=0.5)
v = lambda u: 1 / (1 + math.exp(-u / 0.7))
expected = (v(3) - v(0.5 * 3)) / (v(3) - v(0))
assert abs(s.gamma(0.5) - expected) < 1e-12, (s.gamma(0.5), expected)
print("installed:", noisesched.__file__, s, s.gamma(0.5))
try:
    noisesched.Schedule("nope")
except noisesched.Error as e:
    print("error:", e)
else:
    sys.exit("FAIL: a bad spec did not raise")
PY
"$work/venv/bin/pip" uninstall -y -q noisesched
echo "PASS: pip installed noisesched into a fresh environment offline"
