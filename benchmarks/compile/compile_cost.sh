#!/usr/bin/env bash
# Compile cost of switchyard for a user: CPU seconds (user + sys) and peak compiler memory of
# `g++ -std=c++20 -O2 -c` on four files, median of RUNS (default 3), with the ratios to the
# nlohmann/json + fmt baselines measured in the same run. Usage (from the repository root):
#   benchmarks/compile/compile_cost.sh [extra compiler flags, e.g. -DSWITCHYARD_HEADER_ONLY]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
dir="$root/benchmarks/compile"
runs=${RUNS:-3}
cxx=${CXX:-g++}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Prints "<median cpu seconds> <median peak MB>" for one file.
measure() {
    local file=$1; shift
    local cpus=() mems=()
    for _ in $(seq "$runs"); do
        /usr/bin/time -f "%U %S %M" -o "$out/t" "$cxx" -std=c++20 -O2 -I "$root/include" "$@" -c "$dir/$file" -o "$out/o.o"
        read -r user sys kb < "$out/t"
        cpus+=("$(echo "$user + $sys" | bc)")
        mems+=("$((kb / 1024))")
    done
    local cpu mem
    cpu=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
    mem=$(printf '%s\n' "${mems[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
    echo "$cpu $mem"
}

read -r base_cpu base_mem < <(measure baseline_headers.cpp "$@")
read -r umb_cpu umb_mem < <(measure umbrella.cpp "$@")
read -r qsb_cpu qsb_mem < <(measure quickstart_baseline.cpp "$@")
read -r qs_cpu qs_mem < <(measure quickstart.cpp "$@")

ratio() { echo "scale=2; $1 / $2" | bc; }
printf '| file | CPU s | peak MB | baseline | CPU s | ratio |\n|---|---:|---:|---|---:|---:|\n'
printf '| `#include <switchyard/switchyard.hpp>` | %s | %s | nlohmann + fmt headers | %s | %s× |\n' \
    "$umb_cpu" "$umb_mem" "$base_cpu" "$(ratio "$umb_cpu" "$base_cpu")"
printf '| README quick start | %s | %s | the same program with nlohmann + fmt | %s | %s× |\n' \
    "$qs_cpu" "$qs_mem" "$qsb_cpu" "$(ratio "$qs_cpu" "$qsb_cpu")"
