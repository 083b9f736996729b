#!/usr/bin/env bash
# The seed architecture on one machine: a JetStream server, the producer service publishing
# credit-card transactions, and the fraud and ledger services, each consuming the whole stream on
# its own durable consumer. Checks that both saw exactly what the producer published and that
# the ledger's total is the producer's.
#   run.sh <producer> <fraud> <ledger> [transactions]    (NATS_SERVER=/path/to/nats-server)
# Exits 0 when the totals agree, 1 when not, 77 (skipped) without nats-server.
set -euo pipefail

usage="usage: run.sh <producer> <fraud> <ledger> [transactions]"
producer=${1:?$usage} fraud=${2:?$usage} ledger=${3:?$usage} count=${4:-2000}

# Debian installs it in /usr/sbin, which may not be on a user's PATH.
server=${NATS_SERVER:-$(command -v nats-server || true)}
for candidate in /usr/sbin/nats-server /usr/local/bin/nats-server; do
  if [ -z "$server" ] && [ -x "$candidate" ]; then server=$candidate; fi
done
if [ -z "$server" ] || [ ! -x "$server" ]; then
  echo "SKIPPED: no nats-server (Debian: apt-get install nats-server)"; exit 77
fi

dir=$(mktemp -d)
pids=()
# Whatever happens, nothing started here outlives the script.
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  wait
  rm -rf "$dir"
}
trap cleanup EXIT

# -p -1: the server picks a free port itself (and logs it), so parallel runs never collide.
"$server" -js -a 127.0.0.1 -p -1 -sd "$dir/store" > "$dir/server.log" 2>&1 &
pids+=($!)

# Ready once a connection gets the server's INFO line saying JetStream is on.
url=
ready() {
  local port line=
  port=$(sed -n 's/.*Listening for client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/server.log")
  [ -n "$port" ] || return 1
  { IFS= read -r -t 2 line <&3; } 3<> "/dev/tcp/127.0.0.1/$port" 2> /dev/null || return 1
  [[ $line == INFO*'"jetstream":true'* ]] && url="nats://127.0.0.1:$port"
}
deadline=$((SECONDS + 20))
until ready; do
  if ! kill -0 "${pids[0]}" 2> /dev/null || [ "$SECONDS" -ge "$deadline" ]; then
    cat "$dir/server.log"; echo "FAIL: nats-server did not start"; exit 1
  fi
  sleep 0.05  # polling a port: there is nothing to wait on
done
echo "nats-server on $url"

# Consumers first, so they are already pulling while the producer publishes (any order works:
# each declares the stream, and a new durable consumer starts at the stream's first message).
start=$SECONDS
"$fraud" "$url" "$count" > "$dir/fraud.out" 2>&1 & fraud_pid=$!
"$ledger" "$url" "$count" > "$dir/ledger.out" 2>&1 & ledger_pid=$!
"$producer" "$url" "$count" > "$dir/producer.out" 2>&1 & producer_pid=$!
pids+=("$fraud_pid" "$ledger_pid" "$producer_pid")
failed=0
for service in producer fraud ledger; do
  pid_var=${service}_pid
  if ! wait "${!pid_var}"; then echo "FAIL: $service exited non-zero"; failed=1; fi
  cat "$dir/$service.out"
done
echo "all three done in $((SECONDS - start)) s"

# The summary lines:
#   producer: 2000 published, total 123456.78 USD, 0 not stored
#   fraud: 2000 seen, 137 flagged
#   ledger: 2000 posted, total 123456.78 USD, 50 customers, 0 out of order
field() { sed -n "s/^$1: $2.*/\\1/p" "$dir/$1.out"; }
published=$(field producer '\([0-9]*\) published')
produced_total=$(field producer '[0-9]* published, total \([0-9.]* USD\)')
seen=$(field fraud '\([0-9]*\) seen')
flagged=$(field fraud '[0-9]* seen, \([0-9]*\) flagged')
posted=$(field ledger '\([0-9]*\) posted')
ledger_total=$(field ledger '[0-9]* posted, total \([0-9.]* USD\)')

check() {
  if [ -z "$2" ] || [ "$2" != "$3" ]; then echo "FAIL: $1: '$2', expected '$3'"; failed=1; fi
}
check "published" "$published" "$count"
check "fraud saw" "$seen" "$count"
check "ledger posted" "$posted" "$count"
check "ledger total" "$ledger_total" "$produced_total"
[ "$failed" -eq 0 ] || exit 1
echo "totals agree: $published transactions, $produced_total, $flagged flagged for review"
