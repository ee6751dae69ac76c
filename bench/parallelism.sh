#!/usr/bin/env bash
# Benchmark: how --parallelism shortens `up` and `down`, on the local AWS with a fixed
# latency per request standing in for AWS's round trip (the emulator itself is instant
# and serves one request at a time; the latency is spent outside that lock, as on AWS).
#
#   bash bench/parallelism.sh [groups=30] [latency_ms=50]
#
# Prints one line per parallelism: wall-clock seconds of `up` and of `down`.
set -euo pipefail
cd "$(dirname "$0")/.."
GROUPS_N="${1:-30}"
LATENCY="${2:-50}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/provision/target}"
# The debug build: the tool's own CPU time is negligible next to the round trips.
cargo build --quiet
BIN="$CARGO_TARGET_DIR/debug/provision"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export PROVISION_LOCAL_PORT=$PORT PROVISION_EMULATOR_OWNER_PID=$$
bash localstack/start
trap 'PROVISION_LOCAL_PORT=$PORT bash localstack/stop' EXIT
curl -s -X POST "127.0.0.1:$PORT/_provision/faults" -d "{\"latency_ms\": $LATENCY}" >/dev/null

WORK=$(mktemp -d)
{
  echo "stack: bench"
  echo "security_groups:"
  for i in $(seq 1 "$GROUPS_N"); do
    printf '  g%s:\n    ingress:\n      - { port: %s, cidr: 10.0.0.0/8 }\n' "$i" $((1000 + i))
  done
} >"$WORK/stack.yaml"

now() { python3 -c 'import time; print(time.monotonic())'; }
printf "%-12s %10s %10s   (%s security groups, %s ms per request)\n" parallelism "up (s)" "down (s)" "$GROUPS_N" "$LATENCY"
for P in 1 2 5 10 20; do
  t0=$(now)
  "$BIN" -f "$WORK/stack.yaml" --local up --yes --no-wait --parallelism "$P" >/dev/null
  t1=$(now)
  "$BIN" -f "$WORK/stack.yaml" --local down --yes --parallelism "$P" >/dev/null
  t2=$(now)
  python3 -c "print(f'{\"$P\":<12} {$t1-$t0:10.2f} {$t2-$t1:10.2f}')"
done
rm -rf "$WORK"
