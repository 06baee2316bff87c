#!/usr/bin/env bash
# tests/kafka/broker.sh: a real single-node Apache Kafka broker (KRaft,
# combined broker+controller) on 127.0.0.1, for the test_kafka_* tests.
#
#   broker.sh fetch    put the broker jars in $BUILD/kafka/libs (Maven, once)
#   broker.sh start    format and start a fresh broker on free loopback ports,
#                      wait until it serves metadata, print 127.0.0.1:PORT
#                      (PLAINTEXT); an SSL listener too, its address in
#                      $RUN/bootstrap-ssl, the CA clients trust in
#                      $RUN/ca.pem (keytool, self-signed for 127.0.0.1);
#                      and a SASL_SSL listener (same certificate; SASL PLAIN
#                      and SCRAM-SHA-256, user "ccstream"), its
#                      address in $RUN/bootstrap-sasl, the user's password in
#                      $RUN/sasl-password (a test secret, loopback only)
#   broker.sh stop     stop the broker whose PID is in $RUN/broker.pid
#   broker.sh status   say whether it runs, and where (exit 0 if it runs)
#   broker.sh crash    SIGKILL it (no clean shutdown), keeping data and ports
#   broker.sh restart  start it again on that data, on the same ports
#   broker.sh pause    SIGSTOP it (a hung broker); resume: SIGCONT
#
# BUILD (default "build") is relative to the repository root; the script cds
# there itself. RUN is $KAFKA_RUN_DIR, default $BUILD/kafka/run: it holds
# broker.pid, bootstrap (the address), server.properties, data/ and
# logs/{server,console}.log. KAFKA_START_TIMEOUT (default 60) bounds the wait
# for readiness, in seconds. start exits 3 if a broker already runs in RUN.
# start and stop hold a lock ($RUN.lock), so concurrent callers sharing a
# RUN cannot interleave. Loopback only; stop kills no process but the one in
# broker.pid, and only if it is the kafka.Kafka started for this RUN.
set -euo pipefail

cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
LIBS=$BUILD/kafka/libs
RUN=${KAFKA_RUN_DIR:-$BUILD/kafka/run}
case $RUN in /*) ;; *) RUN=$PWD/$RUN ;; esac
PIDFILE=$RUN/broker.pid
ADDRFILE=$RUN/bootstrap
POM=tests/kafka/pom.xml
LOG4J=tests/kafka/log4j2.xml
START_TIMEOUT=${KAFKA_START_TIMEOUT:-60}
STOP_TIMEOUT=15
JAVA=${JAVA:-java}
PY=/usr/bin/python3

say() { echo "broker.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# lock FD FILE: take an exclusive flock on FILE through descriptor FD (held
# until exit). The broker itself is started with both descriptors closed.
lock() {
    mkdir -p "$(dirname "$2")"
    eval "exec $1>\"\$2\""
    flock -w 120 "$1" || die "could not lock $2 within 120s"
}

# fetch: the stamp holds the pom's checksum, so editing the pom refetches.
fetch() {
    local sum stamp=$LIBS/.fetched
    sum=$(sha256sum "$POM" | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] &&
       compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null; then
        return 0
    fi
    lock 8 "$LIBS.lock"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ] &&
       compgen -G "$LIBS/kafka_2.13-*.jar" >/dev/null; then
        return 0   # fetched by whoever held the lock before us
    fi
    command -v mvn >/dev/null ||
        die "mvn not found: install Maven (scripts/deps.sh test)"
    say "fetching the Kafka broker jars into $LIBS (Maven)"
    local tmp=$LIBS.tmp.$$ out
    rm -rf "$tmp"
    mkdir -p "$(dirname "$LIBS")"
    if ! out=$(mvn -B -q -Dstyle.color=never -f "$POM" \
                   dependency:copy-dependencies \
                   -DoutputDirectory="$tmp" 2>&1); then
        rm -rf "$tmp"
        printf '%s\n' "$out" | tail -n 40 >&2
        die "mvn dependency:copy-dependencies failed for $POM (is Maven" \
            "Central reachable, or ~/.m2 populated?)"
    fi
    compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || {
        rm -rf "$tmp"; die "mvn ran but no kafka_2.13 jar appeared in $tmp"; }
    echo "$sum" >"$tmp/.fetched"
    rm -rf "$LIBS"
    mv "$tmp" "$LIBS"
}

# The PID in the pid file, if that process is alive and is our broker.
running_pid() {
    local pid cmd
    [ -f "$PIDFILE" ] || return 1
    pid=$(cat "$PIDFILE")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmd == *" kafka.Kafka $RUN/server.properties "* ]] || return 1
    echo "$pid"
}

# TERM, wait up to STOP_TIMEOUT seconds, then KILL; only this PID.
kill_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    say "pid $pid ignored TERM for ${STOP_TIMEOUT}s, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
}

# Four distinct free loopback ports, chosen by the kernel.
free_ports() {
    "$PY" - <<'EOF'
import socket
socks = []
for _ in range(4):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

show_logs() {
    local f
    for f in "$RUN/logs/console.log" "$RUN/logs/server.log"; do
        [ -s "$f" ] || continue
        say "---- tail of $f ----"
        tail -n 30 "$f" >&2
    done
}

# The SSL listener's key and certificate, made with Java's keytool: a
# self-signed certificate for 127.0.0.1 (its own CA), valid 2 days, in a
# PKCS12 keystore; its PEM (ca.pem) is what clients trust.
make_keystore() {
    rm -f "$RUN/broker.p12" "$RUN/ca.pem"
    keytool -genkeypair -alias broker -keyalg RSA -keysize 2048 \
        -dname "CN=127.0.0.1" -ext "SAN=ip:127.0.0.1,dns:localhost" \
        -validity 2 -storetype PKCS12 -keystore "$RUN/broker.p12" \
        -storepass ccstream-test -keypass ccstream-test \
        >>"$RUN/logs/console.log" 2>&1 || return 1
    keytool -exportcert -rfc -alias broker -keystore "$RUN/broker.p12" \
        -storepass ccstream-test -file "$RUN/ca.pem" \
        >>"$RUN/logs/console.log" 2>&1
}

# The SASL user's password: a test secret of this RUN only (the broker
# listens on loopback), where clients of the tests read it.
SASL_USER=ccstream
sasl_password() {
    [ -s "$RUN/sasl-password" ] ||
        "$PY" -c 'import secrets; print(secrets.token_hex(16))' \
            >"$RUN/sasl-password"
    cat "$RUN/sasl-password"
}

write_config() {
    local port=$1 cport=$2 sport=$3 aport=$4 pw
    pw=$(sasl_password)
    cat >"$RUN/server.properties" <<EOF
# Generated by tests/kafka/broker.sh: single-node KRaft test broker.
process.roles=broker,controller
node.id=1
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport,SSL://127.0.0.1:$sport,SASL_SSL://127.0.0.1:$aport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,SSL://127.0.0.1:$sport,SASL_SSL://127.0.0.1:$aport
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL
# SASL over TLS: PLAIN (a JAAS user) and SCRAM-SHA-256 (credentials in
# the cluster metadata, added at format time). Debian 12's librdkafka
# (2.0.2) cannot do SCRAM against Kafka 4 (it repeats the client nonce,
# fixed in librdkafka 2.6.1): the tests check that ccstream says so.
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SASL_USER="$pw";
ssl.keystore.type=PKCS12
ssl.keystore.location=$RUN/broker.p12
ssl.keystore.password=ccstream-test
ssl.key.password=ccstream-test
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
controller.quorum.bootstrap.servers=127.0.0.1:$cport
log.dirs=$RUN/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=false
# bars replayed from old captures carry their own (old) timestamps: time
# retention would delete them at its next check (every 5 minutes)
log.retention.ms=-1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
}

# One attempt: 0 ready, 1 failed, 2 failed because a port was taken.
start_once() {
    local ports port cport sport aport cid jvm pw
    ports=$(free_ports) || die "could not pick free ports with $PY"
    read -r port cport sport aport <<<"$ports"
    rm -rf "$RUN/data" "$RUN/logs" "$RUN/sasl-password"
    mkdir -p "$RUN/data" "$RUN/logs"
    write_config "$port" "$cport" "$sport" "$aport"
    pw=$(sasl_password)
    make_keystore || { show_logs; die "keytool could not make the keystore"; }
    echo "127.0.0.1:$sport" >"$RUN/bootstrap-ssl"
    echo "127.0.0.1:$aport" >"$RUN/bootstrap-sasl"

    jvm=(-Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
         -Djava.awt.headless=true -Dkafka.logs.dir="$RUN/logs"
         -Dlog4j2.configurationFile="$PWD/$LOG4J"
         -cp "$LIBS/*")

    # What `kafka-storage random-uuid` prints (16 random bytes, base64url,
    # unpadded, no leading '-'), without starting a second JVM for it.
    cid=$("$PY" -c 'import base64, os
while True:
    u = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    if not u.startswith("-"):
        print(u)
        break') || die "could not make a cluster id with $PY"
    if ! "$JAVA" "${jvm[@]}" kafka.tools.StorageTool format --standalone \
             -t "$cid" -c "$RUN/server.properties" \
             -S "SCRAM-SHA-256=[name=$SASL_USER,password=$pw]" \
             >>"$RUN/logs/console.log" 2>&1; then
        show_logs; die "kafka-storage format failed"
    fi

    launch "$port"
}

# Start kafka.Kafka on the configuration and data in RUN and wait until it
# serves metadata on 127.0.0.1:PORT: 0 ready, 1 failed, 2 port taken.
launch() {
    local port=$1 pid deadline md
    local jvm=(-Xms128m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1
               -Djava.awt.headless=true -Dkafka.logs.dir="$RUN/logs"
               -Dlog4j2.configurationFile="$PWD/$LOG4J"
               -cp "$LIBS/*")
    "$JAVA" "${jvm[@]}" kafka.Kafka "$RUN/server.properties" \
        </dev/null >>"$RUN/logs/console.log" 2>&1 8>&- 9>&- &
    pid=$!
    echo "$pid" >"$PIDFILE"
    # Interrupted while waiting: do not leave the broker behind.
    trap 'kill_pid '"$pid"'; rm -f "$PIDFILE" "$ADDRFILE"; exit 130' INT TERM
    echo "127.0.0.1:$port" >"$ADDRFILE"

    deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PIDFILE" "$ADDRFILE"
            if grep -qs 'Address already in use' "$RUN/logs/console.log" \
                   "$RUN/logs/server.log"; then
                return 2
            fi
            show_logs
            say "broker (pid $pid) exited during startup"
            return 1
        fi
        md=$(timeout 10 kcat -L -b "127.0.0.1:$port" -m 2 -q 2>/dev/null) ||
            md=
        if [[ $md == *" broker 1 at 127.0.0.1:$port"* ]]; then
            return 0
        fi
        sleep 0.2
    done
    show_logs
    say "broker (pid $pid) not ready after ${START_TIMEOUT}s; killing it"
    kill_pid "$pid"
    rm -f "$PIDFILE" "$ADDRFILE"
    return 1
}

start() {
    local pid attempt rc t0
    command -v kcat >/dev/null || die "kcat not found (scripts/deps.sh test)"
    command -v keytool >/dev/null || die "keytool not found (scripts/deps.sh test)"
    command -v "$JAVA" >/dev/null || die "java not found (scripts/deps.sh test)"
    command -v flock >/dev/null || die "flock not found (util-linux)"
    lock 9 "$RUN.lock"
    if pid=$(running_pid); then
        say "a broker is already running in $RUN (pid $pid at" \
            "$(cat "$ADDRFILE" 2>/dev/null)): export" \
            "KAFKA_BROKERS=$(cat "$ADDRFILE" 2>/dev/null) to use it, or run" \
            "'$0 stop' first"
        exit 3
    fi
    rm -f "$PIDFILE" "$ADDRFILE"
    fetch
    mkdir -p "$RUN"
    t0=$(date +%s.%N)
    for attempt in 1 2 3; do
        rc=0
        start_once || rc=$?
        case $rc in
            0) trap - INT TERM
               say "broker pid $(cat "$PIDFILE") ready at $(cat "$ADDRFILE")" \
                   "in $(awk -v a="$t0" -v b="$(date +%s.%N)" \
                         'BEGIN { printf "%.1f", b - a }')s"
               cat "$ADDRFILE"
               return 0 ;;
            2) say "port taken before the broker bound it (attempt $attempt)," \
                   "retrying" ;;
            *) exit 1 ;;
        esac
    done
    show_logs
    die "could not bind free ports in 3 attempts"
}

stop() {
    local pid
    lock 9 "$RUN.lock"
    if pid=$(running_pid); then
        kill_pid "$pid"
        if kill -0 "$pid" 2>/dev/null; then
            die "broker pid $pid still alive after KILL"
        fi
        say "stopped broker pid $pid"
    elif [ -f "$PIDFILE" ]; then
        say "stale pid file (pid $(cat "$PIDFILE") is not a running broker)"
    else
        say "no broker running ($PIDFILE absent)"
    fi
    rm -f "$PIDFILE" "$ADDRFILE"
}

# crash: SIGKILL the broker (no clean shutdown), keep its data and ports.
crash() {
    local pid i
    lock 9 "$RUN.lock"
    pid=$(running_pid) || die "no broker running in $RUN"
    kill -CONT "$pid" 2>/dev/null || true
    kill -KILL "$pid"
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    rm -f "$PIDFILE"
    say "killed broker pid $pid (data kept in $RUN/data)"
}

# restart: start the broker again on the data and ports it had.
restart() {
    local port pid
    lock 9 "$RUN.lock"
    if pid=$(running_pid); then
        die "a broker is already running in $RUN (pid $pid)"
    fi
    [ -f "$RUN/server.properties" ] && [ -d "$RUN/data" ] ||
        die "nothing to restart in $RUN (start first)"
    port=$(sed -n 's/^advertised.listeners=PLAINTEXT:\/\/127.0.0.1:\([0-9]*\).*/\1/p' \
           "$RUN/server.properties")
    [ -n "$port" ] || die "no port in $RUN/server.properties"
    fetch
    if launch "$port"; then
        trap - INT TERM
        say "broker pid $(cat "$PIDFILE") ready again at $(cat "$ADDRFILE")"
        cat "$ADDRFILE"
        return 0
    fi
    die "restart failed"
}

# pause / resume: SIGSTOP / SIGCONT the running broker (a hung broker).
signal_broker() {
    local pid
    pid=$(running_pid) || die "no broker running in $RUN"
    kill "-$1" "$pid"
}

status() {
    local pid
    if pid=$(running_pid); then
        echo "running: pid $pid at $(cat "$ADDRFILE" 2>/dev/null)"
        return 0
    fi
    if [ -f "$PIDFILE" ]; then
        echo "not running (stale $PIDFILE)"
    else
        echo "not running"
    fi
    return 1
}

case "${1:-}" in
    fetch) fetch ;;
    start) start ;;
    stop) stop ;;
    status) status ;;
    crash) crash ;;
    restart) restart ;;
    pause) signal_broker STOP ;;
    resume) signal_broker CONT ;;
    *) echo "usage: $0 fetch|start|stop|status|crash|restart|pause|resume" >&2
       exit 2 ;;
esac
