#!/usr/bin/env bash
# Runs switchyard's libFuzzer targets from a build configured with -DSWITCHYARD_BUILD_FUZZERS=ON:
# first each saved regression input (fuzz/regressions/<target>/*; skip with FUZZ_SKIP_REGRESSIONS=1),
# then each target for a bounded time on a temporary copy of its seed corpus (the repo is never
# written). Exits non-zero if anything crashed or timed out, printing the reproducer's path.
# Targets run side by side, FUZZ_JOBS at a time (default: the number of CPUs): each libFuzzer
# process uses one core, so on two cores the whole run takes half as long for the same fuzzing.
#
# usage: scripts/fuzz.sh <build-dir> [seconds-per-target, default 60]
set -uo pipefail

if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 <build-dir> [seconds-per-target, default 60]" >&2
  exit 2
fi
build=$1
seconds=${2:-60}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
targets=(fuzz_pattern_compile fuzz_pattern_match fuzz_put_events fuzz_transform fuzz_schedule_expression)
# -timeout=1: an input that takes over a second is a bug (matching is meant to be fast), not noise.
common=(-timeout=1 -rss_limit_mb=2048)

work=$(mktemp -d "${TMPDIR:-/tmp}/switchyard-fuzz.XXXXXX")
failures=()

# A dictionary of the input language's tokens per target (fuzz/*.dict): byte mutations alone
# rarely spell "$or" or a placeholder.
dict_of() {
  case $1 in
    fuzz_pattern_compile | fuzz_pattern_match) echo "$repo/fuzz/pattern.dict" ;;
    fuzz_put_events) echo "$repo/fuzz/put_events.dict" ;;
    fuzz_transform) echo "$repo/fuzz/transform.dict" ;;
    fuzz_schedule_expression) echo "$repo/fuzz/schedule.dict" ;;
  esac
}

binary_of() {
  local path="$build/fuzz/$1"
  [[ -x $path ]] && { echo "$path"; return; }
  # Multi-config generators put binaries in a per-configuration directory.
  find "$build" -type f -name "$1" -perm -u+x 2>/dev/null | head -n 1
}

fuzz_one() {
  local t=$1 bin log rc runs secs dict input
  local -a dict_flag artifacts failures=()
  bin=$(binary_of "$t")
  if [[ -z $bin ]]; then
    echo "fuzz.sh: $t is not built in $build (configure with -DSWITCHYARD_BUILD_FUZZERS=ON and Clang)" >&2
    failures+=("$t: not built")
    printf '%s\n' "${failures[@]}" >"$work/$t/failures"
    return 0
  fi
  mkdir -p "$work/$t/corpus" "$work/$t/artifacts"

  # Regressions first, one process each, so every failing one is reported, not just the first.
  if [[ ${FUZZ_SKIP_REGRESSIONS:-0} != 1 && -d $repo/fuzz/regressions/$t ]]; then
    for input in "$repo/fuzz/regressions/$t"/*; do
      [[ -f $input ]] || continue
      log="$work/$t/regression-$(basename "$input").log"
      if "$bin" "${common[@]}" -artifact_prefix="$work/$t/artifacts/" "$input" >"$log" 2>&1; then
        echo "fuzz.sh: $t regression $(basename "$input"): passes"
      else
        echo "fuzz.sh: $t regression FAILS: $input (log: $log)" >&2
        grep -m 3 -E "ERROR: |invariant violated|SUMMARY: " "$log" | sed 's/^/    /' >&2
        failures+=("$t: regression $input")
      fi
    done
  fi

  cp -R "$repo/fuzz/corpus/$t/." "$work/$t/corpus/" 2>/dev/null || true
  log="$work/$t/fuzz.log"
  echo "fuzz.sh: $t for ${seconds}s ..."
  dict=$(dict_of "$t")
  dict_flag=()
  [[ -n $dict && -f $dict ]] && dict_flag=(-dict="$dict")
  "$bin" "${common[@]}" "${dict_flag[@]}" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$work/$t/artifacts/" "$work/$t/corpus" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  secs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  echo "fuzz.sh: $t: exit $rc, ${runs:-?} runs, ${secs:-?} exec/s"
  shopt -s nullglob
  artifacts=("$work/$t/artifacts/"*)
  shopt -u nullglob
  if [[ $rc -ne 0 || ${#artifacts[@]} -gt 0 ]]; then
    echo "fuzz.sh: $t FAILED; log: $log" >&2
    grep -m 5 -E "ERROR: |invariant violated|SUMMARY: |Test unit written" "$log" | sed 's/^/    /' >&2
    for a in "${artifacts[@]}"; do
      echo "fuzz.sh: reproducer: $a  (replay: $bin ${common[*]} $a)" >&2
    done
    failures+=("$t: fuzzing")
  fi
  # This runs in a background job: its failures reach the caller through a file.
  [[ ${#failures[@]} -gt 0 ]] && printf '%s\n' "${failures[@]}" >"$work/$t/failures"
  return 0
}

# Each target's output goes to its own report, printed in the targets' order once all are done.
jobs_max=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
for t in "${targets[@]}"; do
  mkdir -p "$work/$t"
  fuzz_one "$t" >"$work/$t/report" 2>&1 &
  while (( $(jobs -rp | wc -l) >= jobs_max )); do wait -n; done
done
wait
for t in "${targets[@]}"; do
  cat "$work/$t/report"
  if [[ -f $work/$t/failures ]]; then
    while IFS= read -r line; do failures+=("$line"); done <"$work/$t/failures"
  fi
done

if [[ ${#failures[@]} -gt 0 ]]; then
  echo "fuzz.sh: ${#failures[@]} failure(s); logs and reproducers kept in $work" >&2
  printf '  %s\n' "${failures[@]}" >&2
  exit 1
fi
rm -rf "$work"
echo "fuzz.sh: all targets passed"
