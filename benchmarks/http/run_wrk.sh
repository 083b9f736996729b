#!/usr/bin/env bash
# Ingress throughput with wrk on loopback, beside a minimal Beast server in the same run:
#   benchmarks/http/run_wrk.sh <build-dir> [seconds=10] [rounds=3] [connections=32] [server-threads=1]
# Rounds alternate the two servers; prints, per entries-per-request (1 and 10, or ENTRY_COUNTS),
# the median requests/s of each, their ratio, the median of the rounds' ratios, and events/s.
# Needs wrk (Debian: wrk).
set -euo pipefail
build=${1:?usage: $0 <build-dir> [seconds] [rounds] [connections] [server-threads]}
seconds=${2:-10}
rounds=${3:-3}
connections=${4:-32}
threads=${5:-1}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
server=$(find "$build" -type f -name http_bench_server -perm -u+x | head -n 1)
[[ -x $server ]] || { echo "http_bench_server not built in $build (needs SWITCHYARD_WITH_HTTP=ON)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk not found (Debian: apt-get install wrk)" >&2; exit 2; }

# run <mode> <entries>: one wrk run against a fresh server; prints "requests/s events_delivered"
run() {
  local mode=$1 entries=$2 dir port out rps events keep pid
  dir=$(mktemp -d)
  mkfifo "$dir/in"
  "$server" "$mode" "$threads" <"$dir/in" >"$dir/out" &
  pid=$!
  exec {keep}>"$dir/in"  # the server's stdin: it serves until this closes
  for _ in $(seq 200); do grep -q '^PORT' "$dir/out" && break; sleep 0.05; done
  port=$(sed -n 's/^PORT //p' "$dir/out")
  [[ -n $port ]] || { echo "$mode server did not start" >&2; exit 1; }
  out=$(ENTRIES=$entries wrk -t2 -c"$connections" -d"${seconds}s" -s "$here/put_events.lua" "http://127.0.0.1:$port/")
  if grep -q "Non-2xx" <<<"$out"; then echo "$mode: non-2xx responses: $out" >&2; exit 1; fi
  rps=$(sed -n 's/^Requests\/sec: *//p' <<<"$out")
  exec {keep}>&-
  wait "$pid"
  events=$(sed -n 's/^events //p' "$dir/out")
  rm -rf "$dir"
  echo "$rps ${events:-0}"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# ratio: of the two medians; per-round: the median of each round's ratio (the two servers run
# back to back in a round, so it is less exposed to the machine's load drifting between rounds).
printf "%-8s %14s %14s %7s %10s %14s\n" entries "baseline req/s" "ingress req/s" ratio per-round "events/s"
for entries in ${ENTRY_COUNTS:-1 10}; do
  base=() ingress=() ratios=()
  for ((r = 0; r < rounds; ++r)); do
    base+=("$(run baseline "$entries" | cut -d' ' -f1)")
    read -r rps events < <(run ingress "$entries")
    ingress+=("$rps")
    ratios+=("$(echo "$rps / ${base[-1]}" | bc -l)")
    echo "  round $((r + 1)), $entries per request: baseline ${base[-1]} req/s, ingress $rps req/s ($events events delivered)" >&2
  done
  b=$(printf "%s\n" "${base[@]}" | median)
  i=$(printf "%s\n" "${ingress[@]}" | median)
  per_round=$(printf "%s\n" "${ratios[@]}" | median)
  printf "%-8s %14.0f %14.0f %7.2f %10.2f %14.0f\n" "$entries" "$b" "$i" "$(echo "$i / $b" | bc -l)" "$per_round" "$(echo "$i * $entries" | bc -l)"
done
