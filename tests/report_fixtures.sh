#!/usr/bin/env bash
# report_fixtures.sh BIN BUILT_FIXTURES TMP: `ccstream report` on every replay
# fixture (fixtures/replay/*: its own capture, or the capture it `uses` with
# its `inject` lines as --inject), each page checked by report_check.py
# against the bars `ccstream replay` writes for the same run. Exit 0, or 1
# naming the fixture and what is wrong.
set -uo pipefail
bin=$1 built=$2 tmp=$3
n=0
for d in fixtures/replay/*/; do
    name=$(basename "$d")
    db="$built/$name.db"
    args=()
    if [ -f "$d/uses" ]; then
        db="$built/$(cat "$d/uses").db"
    fi
    if [ -f "$d/inject" ]; then
        while IFS= read -r l; do
            [ -n "$l" ] && args+=(--inject "$l")
        done <"$d/inject"
    fi
    [ -f "$db" ] || { echo "report_fixtures: $name: no capture $db"; exit 1; }
    if ! "$bin" report "$db" "${args[@]}" --out "$tmp/r.html" 2>"$tmp/err"; then
        echo "report_fixtures: $name: report failed"; cat "$tmp/err"; exit 1
    fi
    # the same run's bars, and its sockets counted from its trace (each
    # opening is the conn machine's OPEN output), for the checker
    rc=0
    "$bin" replay "$db" "${args[@]}" --quiet --bars-out "$tmp/b.jsonl" \
        --trace "$tmp/t.txt" 2>"$tmp/rerr" || rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
        echo "report_fixtures: $name: replay exit $rc"; cat "$tmp/rerr"; exit 1
    fi
    conns=$(grep -c '^[0-9]* conn [A-Z_]* --[A-Z_]*\(\[[a-z_]*\]\)\?/OPEN--> ' \
        "$tmp/t.txt" || true)
    if ! /usr/bin/python3 tests/report_check.py "$tmp/r.html" "$tmp/b.jsonl" \
        --injected=$((${#args[@]} / 2)) --conns="$conns" >"$tmp/out"; then
        echo "report_fixtures: $name"; cat "$tmp/out"; exit 1
    fi
    n=$((n + 1))
done
[ "$n" -gt 60 ] || { echo "report_fixtures: only $n fixtures"; exit 1; }
echo "report_fixtures: $n fixtures ok"
