#!/usr/bin/env bash
# run-demo.sh BIN DEMO.db: `make run`: the demo session replayed through
# Kafka and read back. An embedded broker (`ccstream broker`, librdkafka's
# mock cluster) on loopback, the replay publishing every bar to it, then
# `ccstream tail` reading the topics back: the bars per instrument and a
# summary. Stops the broker it started, by its PID, on any exit.
set -euo pipefail
bin=$1 demo=$2
tmp=$(mktemp -d /tmp/ccstream-run.XXXXXX)
pid=
cleanup() {
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
"$bin" broker --max-time 10m >"$tmp/broker" 2>"$tmp/broker.err" &
pid=$!
for _ in $(seq 100); do
    [ -s "$tmp/broker" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/broker.err" >&2; exit 1; }
    sleep 0.1
done
brokers=$(head -1 "$tmp/broker")
[ -n "$brokers" ] || { echo "run: the embedded broker did not start" >&2; exit 1; }
echo "== embedded Kafka broker at $brokers"
echo "== replay $demo -> Kafka"
"$bin" replay "$demo" --brokers "$brokers" --no-create-topics 2>"$tmp/replay"
cat "$tmp/replay"
echo
echo "== the topics read back (ccstream tail), per instrument"
"$bin" tail --brokers "$brokers" --from-beginning --exit-at-end \
    >"$tmp/bars" 2>"$tmp/tail"
head -1 "$tmp/bars"
tail -n +2 "$tmp/bars" | sort -s -k3,3 -k4,4 -k5,5 -k6,6 -k1,2
produced=$(sed -n 's/^broker: \([0-9]*\) records produced, \([0-9]*\) acknowledged, \([0-9]*\) undelivered.*/\1 \2 \3/p' "$tmp/replay")
read -r p a u <<<"${produced:-0 0 0}"
back=$(($(wc -l <"$tmp/bars") - 1))
lost=$((p - back))
echo
echo "summary: $p bars published, $a acknowledged, $u undelivered, $back read back, lost $lost"
[ "$lost" -eq 0 ] && [ "$u" -eq 0 ]
