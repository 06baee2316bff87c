#!/usr/bin/env bash
# run-demo.sh BIN: `make run`: the main job on embedded defaults. Three
# processes on loopback: `ccstream serve` (a fake CryptoCompare playing a
# synthetic BTC/ETH/LTC session re-based to now, ten times real speed,
# looped), `ccstream broker` (an in-memory Kafka), and `ccstream live`
# between them, the producer, with `ccstream tail` showing the bars as
# they arrive. Runs for $CCSTREAM_RUN_FOR (default 2m) or until Ctrl-C,
# then stops the producer first (it drains its outbox), the others after,
# and prints a summary. Every process is stopped by its PID.
set -euo pipefail
bin=$1
run_for=${CCSTREAM_RUN_FOR:-2m}
tmp=$(mktemp -d /tmp/ccstream-run.XXXXXX)
broker= serve= live= tail_pid=
stop() { # PID: SIGTERM, then wait up to 15 s, then SIGKILL
    local p=$1 i
    [ -n "$p" ] || return 0
    kill -TERM "$p" 2>/dev/null || return 0
    for i in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}
cleanup() {
    stop "$live"; stop "$tail_pid"; stop "$serve"; stop "$broker"
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo; echo "== stopping (Ctrl-C)"' INT

# the broker and the server in sessions of their own: Ctrl-C reaches the
# producer and tail only; they are stopped after the producer has drained
setsid "$bin" broker --max-time 1h >"$tmp/broker" 2>"$tmp/broker.err" &
broker=$!
setsid "$bin" serve "synth:minutes=6,seed=20250722" --port 0 --speed 10 \
    --loop --rebase-time=1m --max-time 1h >"$tmp/serve" 2>"$tmp/serve.err" &
serve=$!
for _ in $(seq 200); do
    [ -s "$tmp/broker" ] && grep -q 'listening on' "$tmp/serve" && break
    kill -0 "$broker" 2>/dev/null || { cat "$tmp/broker.err" >&2; exit 1; }
    kill -0 "$serve" 2>/dev/null || { cat "$tmp/serve.err" >&2; exit 1; }
    sleep 0.1
done
brokers=$(head -1 "$tmp/broker")
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/serve")
[ -n "$brokers" ] && [ -n "$port" ] ||
    { echo "run: the broker or the server did not start" >&2; exit 1; }
echo "== ccstream serve: a fake CryptoCompare at 127.0.0.1:$port (synthetic session, 10x, looped)"
echo "== ccstream broker: an in-memory Kafka at $brokers"
echo "== ccstream live: the producer, for $run_for (Ctrl-C to stop earlier); its log: $tmp/live.log"
echo "== ccstream tail: the bars as they arrive"
CCSTREAM_API_KEY=demo-key-not-secret "$bin" live --brokers "$brokers" \
    --ws-url "ws://127.0.0.1:$port/v2" --rest-url "http://127.0.0.1:$port" \
    --no-create-topics --state "$tmp/ccstream.state" --duration "$run_for" \
    --status-every 10s --metrics-listen 127.0.0.1:0 \
    --max-clock-skew 0 >"$tmp/live.log" 2>&1 & # serve's clock runs 10x
live=$!
"$bin" tail --brokers "$brokers" --from-beginning --timeout 1h &
tail_pid=$!
set +e
wait "$live"
rc=$?
while [ "$rc" -gt 128 ] && kill -0 "$live" 2>/dev/null; do
    wait "$live"; rc=$? # interrupted by Ctrl-C: the producer drains
done
set -e
live=
sleep 1 # the last bars reach tail
stop "$tail_pid"; tail_pid=
echo
echo "== the producer's log"
grep -v '^live: [0-9]* frames/s' "$tmp/live.log" || true
grep '^live: [0-9]* frames/s' "$tmp/live.log" | tail -1 || true
echo
echo "== read back"
"$bin" tail --brokers "$brokers" --from-beginning --exit-at-end \
    --format json >"$tmp/bars" 2>"$tmp/tail.err" || true
echo "summary: $(wc -l <"$tmp/bars") bars in Kafka; the producer exited $rc (0: every bar acknowledged)"
[ "$rc" -eq 0 ]
