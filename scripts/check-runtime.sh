#!/usr/bin/env bash
# Checks that a noisesched program runs on one C++ runtime: every symbol the program takes from
# the C++ standard library binds, at run time, to the libstdc++.so.6 the program loads, and the
# exception machinery (__cxa_throw, __gxx_personality_v0, _Unwind_RaiseException) to libstdc++ and
# libgcc_s. A library that exports its own copy of standard-library code (PyTorch's wheels export
# 182 such symbols from libtorch.so) must not win, or calls jump into code built for another
# libstdc++ (docs/reliability.md, "One C++ runtime"). Prints what it finds: the libraries, the
# RPATH, where the exception symbols bind, and every misbound symbol (demangled); exits 1 when any
# is misbound, 0 otherwise.
# Usage: scripts/check-runtime.sh PROGRAM [ARGS...]   (default ARGS: info)
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 PROGRAM [ARGS...]" >&2; exit 2; }
bin=$(readlink -f "$1")
shift
[ $# -gt 0 ] || set -- info
[ -x "$bin" ] || { echo "check-runtime: $bin is not an executable" >&2; exit 2; }

stdcxx=$(ldd "$bin" | awk '$1 ~ /^libstdc\+\+\.so/ {print $3}')
[ -n "$stdcxx" ] || { echo "check-runtime: $bin does not load libstdc++.so" >&2; exit 1; }
stdcxx=$(readlink -f "$stdcxx")
echo "program:   $bin"
echo "libstdc++: $stdcxx"
echo "libraries needed, in lookup order: $(readelf -d "$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
echo "rpath:     $(readelf -d "$bin" | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]/\2/p')"
echo "LD_LIBRARY_PATH: ${LD_LIBRARY_PATH:-(unset)}"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# Every binding resolved at start (LD_BIND_NOW), written to a file instead of stderr.
LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT="$scratch/bind" "$bin" "$@" >/dev/null 2>&1 || true
cat "$scratch"/bind.* >"$scratch/bindings" 2>/dev/null || true
[ -s "$scratch/bindings" ] || { echo "check-runtime: no bindings recorded" >&2; exit 1; }
# "binding file A [0] to B [0]: normal symbol `NAME' [VERSION]" -> "A B NAME"
sed -n "s/.*binding file \([^ ]*\) \[[0-9]*\] to \([^ ]*\) \[[0-9]*\]: normal symbol \`\([^']*\)'.*/\1 \2 \3/p" \
  "$scratch/bindings" >"$scratch/pairs"

echo "exception symbols bind to:"
for sym in __cxa_throw __gxx_personality_v0 _Unwind_RaiseException _Unwind_Resume; do
  awk -v s="$sym" '$3 == s {print $2}' "$scratch/pairs" | sort -u | sed "s/^/  $sym -> /"
done

nm -D --defined-only "$stdcxx" | awk '{print $NF}' | sed 's/@.*//' | sort -u >"$scratch/stdcxx-symbols"
awk -v bin="$bin" '$1 == bin {print $3, $2}' "$scratch/pairs" | sort -u >"$scratch/program"
# Data the program refers to (vtables, typeinfo) is copied into it (copy relocations) and bound
# there by design, and a sanitizer's runtime intercepts some functions (__cxa_throw) by design;
# everything else must come from libstdc++ itself.
misbound=$(awk -v lib="$stdcxx" -v bin="$bin" 'NR == FNR {std[$1] = 1; next}
  ($1 in std) && $2 != lib && $2 != bin && $2 !~ /\/lib(a|ub|t|l|hwa)san\.so/ {print}' \
  "$scratch/stdcxx-symbols" "$scratch/program" |
  while read -r sym where; do
    [ "$(readlink -f "$where")" = "$stdcxx" ] || echo "$sym $where"
  done)
total=$(wc -l <"$scratch/program")
if [ -n "$misbound" ]; then
  count=$(printf '%s\n' "$misbound" | wc -l)
  echo "!! $count of the program's $total symbol bindings take standard-library code from" \
    "another library than $stdcxx:"
  printf '%s\n' "$misbound" | head -20 | while read -r sym where; do
    echo "  $(echo "$sym" | c++filt) -> $where"
  done
  exit 1
fi
echo "ok: all $total symbol bindings of the program that libstdc++ defines go to $stdcxx"
