#!/usr/bin/env bash
# tests/run-tests.sh: run the built cmocka test binaries and sum their results.
#
#   BUILD=build tests/run-tests.sh [NAME...]
#
# Unit tests first: every $BUILD/tests/test_* not named test_kafka_*, sorted.
# Then the test_kafka_* binaries against one real broker, which this script
# starts with tests/kafka/broker.sh and stops (by PID, on any exit), unless
# KAFKA_BROKERS is already set: then that cluster is used and nothing is
# started or stopped. If another broker already owns $BUILD/kafka/run (say a
# concurrent run), a private $BUILD/kafka/run.PID is used instead and removed
# afterwards unless something failed. A broker it starts also has an SSL
# listener and a SASL_SSL (PLAIN) one: KAFKA_SSL_BROKERS, KAFKA_SSL_CA (its
# CA file), KAFKA_SASL_BROKERS and KAFKA_SASL_PASSWORD_FILE (user
# "ccstream") are exported with KAFKA_BROKERS; with a cluster of your own,
# set them too. NAMEs
# (test_foo or a path) run only those.
#
# Each binary runs under `timeout $TEST_TIMEOUT` (default 300 s); its output
# is shown and kept in $BUILD/tests/logs/NAME.log. The cmocka summaries
# ("[  PASSED  ] N test(s)." / "[  FAILED  ] N test(s), listed below:") are
# summed; a binary that ends without a summary, times out, dies on a signal,
# or exits non-zero with no failed test counts as one failure. The last line
# is exactly "N passed, N failed"; the exit status is 1 if anything failed.
set -uo pipefail

cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD
TEST_TIMEOUT=${TEST_TIMEOUT:-300}
LOGDIR=$BUILD/tests/logs
unset CMOCKA_MESSAGE_OUTPUT   # keep cmocka's default human-readable output

total_pass=0
total_fail=0
rows=()
started_broker=0
private_run=

say() { echo "run-tests: $*" >&2; }

cleanup() {
    if [ "$started_broker" = 1 ]; then
        started_broker=0
        tests/kafka/broker.sh stop || say "stopping the broker failed"
    fi
    if [ -n "$private_run" ] && [ "$total_fail" = 0 ]; then
        rm -rf "$private_run" "$private_run.lock"
    fi
    private_run=
}

# start_broker: KAFKA_BROKERS from a broker.sh start; 0 when it runs. INT and
# TERM are held back until started_broker says whether cleanup must stop it.
start_broker() {
    local rc pending=
    trap 'pending=130' INT
    trap 'pending=143' TERM
    KAFKA_BROKERS=$(tests/kafka/broker.sh start)
    rc=$?
    if [ "$rc" = 3 ] && [ -z "${KAFKA_RUN_DIR:-}" ]; then
        # Someone else's broker owns $BUILD/kafka/run: use a private one.
        private_run=$BUILD/kafka/run.$$
        export KAFKA_RUN_DIR=$private_run
        say "using a private broker directory, $KAFKA_RUN_DIR"
        KAFKA_BROKERS=$(tests/kafka/broker.sh start)
        rc=$?
    fi
    [ "$rc" = 0 ] && started_broker=1
    trap 'exit 130' INT
    trap 'exit 143' TERM
    [ -n "$pending" ] && exit "$pending"
    return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# row NAME PASSED FAILED SKIPPED EXIT NOTE
row() {
    rows+=("$(printf '%-34s %6s %6s %7s %5s  %s' "$1" "$2" "$3" "$4" "$5" \
              "$6")")
    total_pass=$((total_pass + $2))
    total_fail=$((total_fail + $3))
}

# Sum of the N in every line of $2 matching the cmocka summary regex $1
# (a binary may run several groups, each with its own summary).
sum_matches() {
    grep -aoE "$1" "$2" | grep -oE '[0-9]+' | awk '{ s += $1 } END { print s + 0 }'
}

run_one() {
    local bin=$1 name log rc passed failed skipped summary note=""
    name=$(basename "$bin")
    log=$LOGDIR/$name.log
    echo "==== $name"
    timeout --foreground -k 10 "$TEST_TIMEOUT" "$bin" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}

    passed=$(sum_matches '\[  PASSED  \] [0-9]+ test\(s\)\.' "$log")
    failed=$(sum_matches '\[  FAILED  \] [0-9]+ test\(s\), listed below:' "$log")
    skipped=$(sum_matches '\[  SKIPPED \] [0-9]+ test\(s\), listed below:' "$log")
    summary=0
    grep -aqE '\[  (PASSED|FAILED)  \] [0-9]+ test\(s\)' "$log" && summary=1

    # cmocka exits with its failure count, so a code above 128 is a signal
    # only when no summary accounts for it.
    if [ "$rc" = 124 ]; then
        note="timed out after ${TEST_TIMEOUT}s"
    elif [ "$rc" -gt 128 ] && [ "$rc" -lt 160 ]; then
        note="exit $rc (signal $(kill -l $((rc - 128)) 2>/dev/null ||
                                 echo $((rc - 128))))"
    elif [ "$rc" -ge 125 ] && [ "$rc" -le 127 ]; then
        note="exit $rc (could not be run?)"
    elif [ "$rc" != 0 ]; then
        note="exit $rc"
    fi
    if [ "$summary" = 0 ]; then
        passed=0
        failed=1
        note="${note:-exit 0}, no cmocka summary"
    elif [ "$rc" = 124 ]; then
        failed=$((failed + 1))
        note="$note after its summary"
    elif [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
        failed=1
        if grep -aqE '\[  FAILED  \] GROUP (SETUP|TEARDOWN)' "$log"; then
            note="a group setup or teardown failed"
        else
            note="$note, but no failed test reported (sanitizer?)"
        fi
    else
        note=""   # the summary accounts for the exit status
    fi
    row "$name" "$passed" "$failed" "$skipped" "$rc" "$note"
}

# The binaries to run: all of them, or those named on the command line.
all=()
while IFS= read -r f; do
    all+=("$f")
done < <(find "$BUILD/tests" -maxdepth 1 -type f -name 'test_*' \
             ! -name '*.*' -perm -u+x 2>/dev/null | LC_ALL=C sort)
if [ $# -gt 0 ]; then
    sel=()
    for a in "$@"; do
        n=$(basename "$a")
        if [ -x "$BUILD/tests/$n" ] && [ -f "$BUILD/tests/$n" ]; then
            sel+=("$BUILD/tests/$n")
        else
            say "no test binary $BUILD/tests/$n (build it with make test-build)"
            exit 2
        fi
    done
    mapfile -t all < <(printf '%s\n' "${sel[@]}" | LC_ALL=C sort -u)
fi
if [ ${#all[@]} -eq 0 ]; then
    say "no test binaries in $BUILD/tests (make test-build builds them)"
    echo "0 passed, 0 failed"
    exit 1
fi

unit=()
kafka=()
for f in "${all[@]}"; do
    case $(basename "$f") in
        test_kafka_*) kafka+=("$f") ;;
        *) unit+=("$f") ;;
    esac
done

mkdir -p "$LOGDIR"
for f in "${unit[@]}"; do
    run_one "$f"
done

if [ ${#kafka[@]} -gt 0 ]; then
    broker_ok=1
    why=
    if [ -n "${KAFKA_BROKERS:-}" ]; then
        say "using the Kafka cluster in KAFKA_BROKERS=$KAFKA_BROKERS"
    elif start_broker; then
        say "started a Kafka broker at $KAFKA_BROKERS"
        # its SSL listener and the CA it is signed by (test_kafka_tls)
        run_dir=${KAFKA_RUN_DIR:-$BUILD/kafka/run}
        case $run_dir in /*) ;; *) run_dir=$PWD/$run_dir ;; esac
        KAFKA_SSL_BROKERS=$(cat "$run_dir/bootstrap-ssl")
        KAFKA_SSL_CA=$run_dir/ca.pem
        # its SASL_SSL listener (PLAIN) and the file holding the password
        KAFKA_SASL_BROKERS=$(cat "$run_dir/bootstrap-sasl")
        KAFKA_SASL_PASSWORD_FILE=$run_dir/sasl-password
        export KAFKA_SSL_BROKERS KAFKA_SSL_CA KAFKA_SASL_BROKERS \
            KAFKA_SASL_PASSWORD_FILE
    else
        say "the Kafka broker did not start; see the broker.sh messages above"
        broker_ok=0
        why="the Kafka broker did not start"
    fi
    export KAFKA_BROKERS
    for f in "${kafka[@]}"; do
        if [ "$broker_ok" = 1 ]; then
            run_one "$f"
        else
            row "$(basename "$f")" 0 1 0 - "not run: $why"
        fi
    done
    cleanup
fi

echo
echo "==== summary"
printf '%-34s %6s %6s %7s %5s  %s\n' binary passed failed skipped exit note
printf '%s\n' "${rows[@]}"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" = 0 ]
