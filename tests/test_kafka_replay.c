/* test_kafka_replay.c: `ccstream replay --brokers` against the real broker
 * tests/run-tests.sh starts: the bars published through the real producer
 * equal the bars of the virtual run (--bars-out, byte for byte), topics
 * are created through the Admin API on demand (auto-creation is off on the
 * test broker), and kcat reads back exactly those bars: one record per
 * bar, its key the series, its headers the identity, its JSON value the
 * bar's own line; python3-confluent-kafka checks the same of one topic. Every wait is bounded (the replay's own drain: 60 s). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "md_err.h"
#include "replay.h"
#include "support/proc.h"

#include "cmocka_inc.h"

#ifdef free
#undef free
#endif
#ifdef malloc
#undef malloc
#endif

static char g_dir[256], g_bin[512], g_root[256];

static const char *brokers(void)
{
    const char *b = getenv("KAFKA_BROKERS");

    if (b == NULL || b[0] == '\0') {
        fail_msg("KAFKA_BROKERS is not set: run through tests/run-tests.sh");
    }
    return b;
}

static int sh(const char *cmd)
{
    int st = system(cmd);

    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long len;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)len + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)len, f), (size_t)len);
    b[len] = '\0';
    fclose(f);
    *n = (size_t)len;
    return b;
}

static size_t lines(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++) {
        n += *s == '\n';
    }
    return n;
}

static int group_setup(void **state)
{
    (void)state;
    if (tbuild_path(g_bin, sizeof g_bin, "ccstream") != 0) {
        return -1;
    }
    if (getcwd(g_root, sizeof g_root) == NULL) {
        return -1;
    }
    snprintf(g_dir, sizeof g_dir, "/tmp/test_kafka_replay.XXXXXX");
    return mkdtemp(g_dir) == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return sh(cmd) == 0 ? 0 : -1;
}

static void test_replay_through_the_broker(void **state)
{
    char cmd[4096], prefix[64];
    char *virt, *real, *sum, *got;
    size_t nv, nr, ns, ng, nbars;
    const char *line;

    (void)state;
    snprintf(prefix, sizeof prefix, "ccs-t%d-%lld", (int)getpid(),
             (long long)time(NULL));
    snprintf(cmd, sizeof cmd,
             "'%s' synth --out '%s/s.db' --minutes 3 --seed 2 >/dev/null && "
             "'%s' replay '%s/s.db' --bars-out '%s/virtual.jsonl' --quiet",
             g_bin, g_dir, g_bin, g_dir, g_dir);
    assert_int_equal(sh(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "printf '# the client\\nclient.id = ccs-test\\n\\n' "
             ">'%s/client.properties' && "
             "'%s' replay '%s/s.db' --brokers '%s' --kafka-format json "
             "--topic '%s.{market}.{interval}' -X linger.ms=0 "
             "-X @'%s/client.properties' "
             "--bars-out '%s/real.jsonl' 2>'%s/summary.txt'",
             g_dir, g_bin, g_dir, brokers(), prefix, g_dir, g_dir, g_dir);
    assert_int_equal(sh(cmd), 0);
    /* the same bars, byte for byte */
    snprintf(cmd, sizeof cmd, "%s/virtual.jsonl", g_dir);
    virt = slurp(cmd, &nv);
    snprintf(cmd, sizeof cmd, "%s/real.jsonl", g_dir);
    real = slurp(cmd, &nr);
    assert_int_equal(nv, nr);
    assert_memory_equal(virt, real, nv);
    nbars = lines(real);
    assert_true(nbars > 20);
    /* every one acknowledged, nothing undelivered */
    snprintf(cmd, sizeof cmd, "%s/summary.txt", g_dir);
    sum = slurp(cmd, &ns);
    {
        char want[128];
        snprintf(want, sizeof want, "broker: %zu records produced, %zu "
                 "acknowledged, 0 undelivered", nbars, nbars);
        if (strstr(sum, want) == NULL) {
            fail_msg("summary lacks '%s': %s", want, sum);
        }
    }
    /* kcat: one record per bar; each JSON value is a line of --bars-out */
    snprintf(cmd, sizeof cmd,
             "for t in '%s.CCCAGG.1m' '%s.Coinbase.1m'; do timeout 30 kcat "
             "-C -b '%s' -t \"$t\" -o beginning -e -q -f '%%k\\t%%h\\t%%s\\n' "
             "|| exit 1; done >'%s/kcat.txt'",
             prefix, prefix, brokers(), g_dir);
    assert_int_equal(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/kcat.txt", g_dir);
    got = slurp(cmd, &ng);
    for (line = got; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        const char *t1 = strchr(line, '\t'), *t2;
        char value[4096], key[128];
        size_t vl;
        assert_non_null(nl);
        assert_non_null(t1);
        t2 = strchr(t1 + 1, '\t');
        assert_non_null(t2);
        snprintf(key, sizeof key, "%.*s", (int)(t1 - line), line);
        vl = (size_t)(nl - t2 - 1);
        assert_true(vl < sizeof value);
        memcpy(value, t2 + 1, vl);
        value[vl] = '\n';
        value[vl + 1] = '\0';
        /* the value is one of the bars replay wrote */
        if (strstr(real, value) == NULL) {
            fail_msg("record not among the bars: %s", value);
        }
        /* the headers say its identity */
        assert_true(strstr(t1, "ccs-schema=1") != NULL);
        assert_true(strstr(t1, "content-type=application/json") != NULL);
        /* the key names the series: its market is in the value */
        {
            char market[64];
            snprintf(market, sizeof market, "\"market\":\"%.*s\"",
                     (int)strcspn(key, ":"), key);
            assert_non_null(strstr(value, market));
        }
        line = nl + 1;
    }
    assert_int_equal(lines(got), nbars);
    /* python3-confluent-kafka: the CCCAGG topic, every record checked
     * against the bars (value, headers, key, timestamp) */
    {
        size_t ncc = 0;
        const char *q;
        for (q = real; (q = strstr(q, "\"market\":\"CCCAGG\"")) != NULL;
             q++) {
            ncc++;
        }
        assert_true(ncc > 5);
        snprintf(cmd, sizeof cmd,
                 "timeout 90 /usr/bin/python3 tests/kafka_consume.py '%s' "
                 "'%s.CCCAGG.1m' %zu '%s/real.jsonl'",
                 brokers(), prefix, ncc, g_dir);
        assert_int_equal(sh(cmd), 0);
    }
    free(virt);
    free(real);
    free(sum);
    free(got);
}

/* `ccstream broker` (the embedded mock cluster), replay into it without
 * Admin requests (it makes topics on first use), `ccstream tail` reads back
 * exactly the bars replay wrote; and `make run`'s script says lost 0. */
/* -X @FILE: a property refused by librdkafka is named with its file, its
 * value (a secret, maybe) never printed; a line without '=' is named by
 * FILE:LINE; both are usage errors (exit 2), for replay and for tail. */
static void test_properties_file(void **state)
{
    char cmd[2048], *err;
    size_t n;

    (void)state;
    snprintf(cmd, sizeof cmd,
             "printf 'sasl.password=s3cr3t-value\\nno.such.prop = "
             "s3cr3t-value\\n' >'%s/bad.properties' && "
             "printf 'acks=all\\nnot a property\\n' >'%s/bad2.properties'",
             g_dir, g_dir);
    assert_int_equal(sh(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "'%s' replay '%s/s.db' --what-if --brokers 127.0.0.1:9 "
             "-X @'%s/bad.properties' 2>'%s/err.txt'",
             g_bin, g_dir, g_dir, g_dir);
    assert_int_equal(sh(cmd), 2);
    snprintf(cmd, sizeof cmd,
             "'%s' tail --brokers 127.0.0.1:9 -X @'%s/bad.properties' "
             "2>>'%s/err.txt'", g_bin, g_dir, g_dir);
    assert_int_equal(sh(cmd), 2);
    snprintf(cmd, sizeof cmd,
             "'%s' replay '%s/s.db' --what-if --brokers 127.0.0.1:9 "
             "-X @'%s/bad2.properties' 2>>'%s/err.txt'",
             g_bin, g_dir, g_dir, g_dir);
    assert_int_equal(sh(cmd), 2);
    /* a fault of the virtual broker is refused with a real one */
    snprintf(cmd, sizeof cmd,
             "'%s' replay '%s/s.db' --brokers embedded --inject "
             "queue-full@10s 2>>'%s/err.txt'", g_bin, g_dir, g_dir);
    assert_int_equal(sh(cmd), 2);
    snprintf(cmd, sizeof cmd, "%s/err.txt", g_dir);
    err = slurp(cmd, &n);
    if (strstr(err, "replay: Kafka property no.such.prop (value not shown)")
            == NULL ||
        strstr(err, "tail: Kafka property no.such.prop (value not shown)")
            == NULL ||
        strstr(err, "bad2.properties:2: not KEY=VALUE") == NULL ||
        strstr(err, "--inject queue-full: acts on the virtual broker only")
            == NULL ||
        strstr(err, "s3cr3t") != NULL) {
        fail_msg("stderr: %s", err);
    }
    free(err);
}

/* Replay s.db into brokers with the client properties rx (replay's -X
 * arguments) under topics PREFIX.{market}.{interval}: its --bars-out
 * (NAME.jsonl) equals the virtual run's byte for byte, and kcat, given
 * kx (its own arguments for the same properties), reads one record per
 * bar back. */
static void replay_read_back(const char *brokers, const char *rx,
                             const char *kx, const char *prefix,
                             const char *name)
{
    char cmd[4096], *virt, *real;
    size_t nv, nr;

    snprintf(cmd, sizeof cmd,
             "'%s' replay '%s/s.db' --brokers '%s' --kafka-format json "
             "--topic '%s.{market}.{interval}' %s --bars-out '%s/%s.jsonl' "
             "2>'%s/%s.txt'",
             g_bin, g_dir, brokers, prefix, rx, g_dir, name, g_dir, name);
    assert_int_equal(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/virtual.jsonl", g_dir);
    virt = slurp(cmd, &nv);
    snprintf(cmd, sizeof cmd, "%s/%s.jsonl", g_dir, name);
    real = slurp(cmd, &nr);
    assert_int_equal(nv, nr);
    assert_memory_equal(virt, real, nv);
    snprintf(cmd, sizeof cmd,
             "n=0; for t in '%s.CCCAGG.1m' '%s.Coinbase.1m'; do "
             "c=$(timeout 30 kcat -C -b '%s' %s -t \"$t\" -o beginning -e "
             "-q -f '%%k\\n' 2>/dev/null | wc -l) || exit 1; "
             "n=$((n + c)); done; test \"$n\" = %zu",
             prefix, prefix, brokers, kx, lines(real));
    assert_int_equal(sh(cmd), 0);
    free(virt);
    free(real);
}

/* The same replay into the broker's SSL listener (a keytool certificate,
 * tests/kafka/broker.sh): the bars arrive over TLS, kcat reads them back
 * over TLS; without the CA the handshake is refused and replay stops at
 * once, saying so, instead of waiting for a broker that will never
 * answer. */
static void test_tls_listener(void **state)
{
    const char *ssl = getenv("KAFKA_SSL_BROKERS"), *ca = getenv("KAFKA_SSL_CA");
    char cmd[4096], prefix[64], tls[1024], *err;
    size_t ne;

    (void)state;
    if (ssl == NULL || *ssl == '\0' || ca == NULL || *ca == '\0') {
        fail_msg("KAFKA_SSL_BROKERS and KAFKA_SSL_CA are not set: run "
                 "through tests/run-tests.sh");
    }
    snprintf(prefix, sizeof prefix, "ccs-tls%d-%lld", (int)getpid(),
             (long long)time(NULL));
    snprintf(tls, sizeof tls,
             "-X security.protocol=ssl -X ssl.ca.location='%s'", ca);
    replay_read_back(ssl, tls, tls, prefix, "tls");
    /* another CA: refused, said, and over in seconds */
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=other "
             "-days 1 -keyout '%s/other.key' -out '%s/other.pem' "
             "2>/dev/null && "
             "timeout 30 '%s' replay '%s/s.db' --what-if --brokers '%s' "
             "--topic '%s-noca.{market}' -X security.protocol=ssl "
             "-X ssl.ca.location='%s/other.pem' 2>'%s/noca.txt'",
             g_dir, g_dir, g_bin, g_dir, ssl, prefix, g_dir, g_dir);
    assert_int_equal(sh(cmd), 1);
    snprintf(cmd, sizeof cmd, "%s/noca.txt", g_dir);
    err = slurp(cmd, &ne);
    if (strstr(err, "SSL") == NULL ||
        strstr(err, "check -X security.protocol") == NULL) {
        fail_msg("stderr: %s", err);
    }
    free(err);
}

/* The same replay into the broker's SASL_SSL listener (PLAIN, user
 * "ccstream"), the credentials in a properties file given with -X @FILE as
 * a deployment keeps them: the bars arrive, kcat reads them back with the
 * same file; a wrong password stops replay at once, saying it was refused
 * and what to check; SCRAM, which this librdkafka cannot do with Kafka 4,
 * is refused with that said. No password, right or wrong, appears in any
 * output. */
static void test_sasl_listener(void **state)
{
    const char *sasl = getenv("KAFKA_SASL_BROKERS"),
               *pwf = getenv("KAFKA_SASL_PASSWORD_FILE"),
               *ca = getenv("KAFKA_SSL_CA");
    char cmd[4096], prefix[64], pw[128], rx[1024], kx[1024], *err;
    size_t ne;
    FILE *f;

    (void)state;
    if (sasl == NULL || *sasl == '\0' || pwf == NULL || *pwf == '\0' ||
        ca == NULL || *ca == '\0') {
        fail_msg("KAFKA_SASL_BROKERS, KAFKA_SASL_PASSWORD_FILE and "
                 "KAFKA_SSL_CA are not set: run through tests/run-tests.sh");
    }
    f = fopen(pwf, "r");
    assert_non_null(f);
    assert_non_null(fgets(pw, sizeof pw, f));
    fclose(f);
    pw[strcspn(pw, "\n")] = '\0';
    assert_true(strlen(pw) >= 16);
    snprintf(cmd, sizeof cmd,
             "umask 077 && for w in good bad scram; do "
             "p=$(cat '%s'); m=PLAIN; test $w = bad && p=wrong-$p; "
             "test $w = scram && m=SCRAM-SHA-256; "
             "printf 'security.protocol=SASL_SSL\nssl.ca.location=%s\n"
             "sasl.mechanism=%%s\nsasl.username=ccstream\n"
             "sasl.password=%%s\n' $m \"$p\" >'%s/sasl-'$w'.properties'; "
             "done",
             pwf, ca, g_dir);
    assert_int_equal(sh(cmd), 0);
    snprintf(prefix, sizeof prefix, "ccs-sasl%d-%lld", (int)getpid(),
             (long long)time(NULL));
    snprintf(rx, sizeof rx, "-X @'%s/sasl-good.properties'", g_dir);
    snprintf(kx, sizeof kx, "-F '%s/sasl-good.properties'", g_dir);
    replay_read_back(sasl, rx, kx, prefix, "sasl");
    /* the wrong password: refused, said, over in seconds */
    snprintf(cmd, sizeof cmd,
             "timeout 30 '%s' replay '%s/s.db' --what-if --brokers '%s' "
             "--topic '%s-bad.{market}' -X @'%s/sasl-bad.properties' "
             "2>'%s/sasl-bad.txt'",
             g_bin, g_dir, sasl, prefix, g_dir, g_dir);
    assert_int_equal(sh(cmd), 1);
    /* tail too, following and to the end: it stops and says why, instead
     * of waiting for bars that cannot come */
    snprintf(cmd, sizeof cmd,
             "timeout 20 '%s' tail --brokers '%s' --topic '%s.CCCAGG.1m' "
             "-X @'%s/sasl-bad.properties' >/dev/null 2>>'%s/sasl-bad.txt'; "
             "test $? = 1 && "
             "timeout 20 '%s' tail --brokers '%s' --exit-at-end "
             "-X @'%s/sasl-bad.properties' >/dev/null 2>>'%s/sasl-bad.txt'; "
             "test $? = 1",
             g_bin, sasl, prefix, g_dir, g_dir, g_bin, sasl, g_dir, g_dir);
    assert_int_equal(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/sasl-bad.txt", g_dir);
    err = slurp(cmd, &ne);
    if (strstr(err, "SASL") == NULL ||
        strstr(err, "replay: Kafka at") == NULL ||
        strstr(err, "tail: Kafka at") == NULL ||
        strstr(strstr(err, "tail: Kafka at") + 1, "tail: Kafka at") ==
            NULL ||
        strstr(err, "check -X security.protocol") == NULL ||
        strstr(err, pw) != NULL) {
        fail_msg("stderr: %s", err);
    }
    free(err);
    /* SCRAM with the right password: librdkafka before 2.6.1 repeats the
     * client nonce, which Kafka 4 refuses; ccstream says what to do
     * instead. A newer librdkafka publishes. */
    snprintf(cmd, sizeof cmd,
             "timeout 60 '%s' replay '%s/s.db' --brokers '%s' "
             "--topic '%s-scram.{market}' -X @'%s/sasl-scram.properties' "
             "2>'%s/sasl-scram.txt'",
             g_bin, g_dir, sasl, prefix, g_dir, g_dir);
    if (rd_kafka_version() < 0x020601ff) {
        assert_int_equal(sh(cmd), 1);
        snprintf(cmd, sizeof cmd, "%s/sasl-scram.txt", g_dir);
        err = slurp(cmd, &ne);
        if (strstr(err, "SCRAM") == NULL ||
            strstr(err, "needs librdkafka 2.6.1 or later") == NULL ||
            strstr(err, "sasl.mechanism=PLAIN") == NULL ||
            strstr(err, pw) != NULL) {
            fail_msg("stderr: %s", err);
        }
        free(err);
    } else {
        assert_int_equal(sh(cmd), 0);
    }
    snprintf(cmd, sizeof cmd, "%s/sasl.txt", g_dir);
    err = slurp(cmd, &ne);
    if (strstr(err, pw) != NULL) {
        fail_msg("the password is in replay's stderr: %s", err);
    }
    free(err);
}

/* Failures injected for real into an embedded broker this test owns (so
 * it can be read after the run): at 90 s the broker refuses a Produce
 * request for good (under the gapless guarantee librdkafka makes that
 * fatal, after naming the refused bar), at 150 s the producer fails
 * fatally. The trace shows the machine's error paths (the bar
 * dead-lettered, HANDLE_ERROR_FATAL and the reset); kcat then reads every
 * bar of --bars-out but the dead-lettered one exactly once (the bars a
 * dead producer wrote are reported delivered, not produced again), each
 * series in order of (start, revision). */
static void test_injected_failures(void **state)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    struct rpl_opts o;
    struct rpl_summary sum;
    char err[1024], path[512], capture[512], cmd[2048], *bars, *trace;
    char *got, *line;
    char *save = NULL;
    FILE *fb, *ft;
    size_t nb, nt, ng, nrec = 0;
    char lastkey[64][96];
    long long laststart[64], lastrev[64];
    size_t nkeys = 0, i;

    (void)state;
    rd_kafka_conf_set(c, "log_level", "3", NULL, 0);
    rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    assert_non_null(rk);
    mc = rd_kafka_mock_cluster_new(rk, 1);
    assert_non_null(mc);
    snprintf(capture, sizeof capture, "%s/s.db", g_dir);
    rpl_opts_default(&o);
    o.capture = capture;
    o.mode = RPL_WHATIF;
    o.brokers = "embedded";
    o.mock_cluster = mc;
    o.kafka_format = 1; /* JSON */
    assert_int_equal(rpl_add_inject(&o, "publish-reject@90s"), MD_OK);
    assert_int_equal(rpl_add_inject(&o, "kafka-fatal@150s"), MD_OK);
    snprintf(path, sizeof path, "%s/inj.jsonl", g_dir);
    fb = fopen(path, "w");
    snprintf(path, sizeof path, "%s/inj.trace", g_dir);
    ft = fopen(path, "w");
    assert_non_null(fb);
    assert_non_null(ft);
    o.bars = fb;
    o.trace = ft;
    if (rpl_run(&o, &sum, err, sizeof err) != MD_OK) {
        fail_msg("replay: %s", err);
    }
    fclose(fb);
    fclose(ft);
    assert_int_equal(sum.dead_lettered, 1);
    /* kafka-fatal kills the producer before it takes the next bars: the
     * machine puts them back and resets (the refusal's fatal error may
     * have found every bar settled: then the shell replaced the producer
     * by itself, and the machine saw nothing) */
    assert_true(sum.producer_fatal >= 1);
    snprintf(path, sizeof path, "%s/inj.trace", g_dir);
    trace = slurp(path, &nt);
    assert_non_null(strstr(trace, "--PUBLISH_REJECTED[else]/DEAD_LETTER-->"));
    assert_non_null(strstr(trace, "--PRODUCER_FATAL/HANDLE_ERROR_FATAL-->"));
    snprintf(path, sizeof path, "%s/inj.jsonl", g_dir);
    bars = slurp(path, &nb);
    /* the bars equal the virtual run's: the failures changed no bar */
    {
        char *virt;
        size_t nv;
        snprintf(path, sizeof path, "%s/virtual.jsonl", g_dir);
        virt = slurp(path, &nv);
        assert_int_equal(nv, nb);
        assert_memory_equal(virt, bars, nb);
        free(virt);
    }
    snprintf(cmd, sizeof cmd,
             "for t in ohlcv.CCCAGG.1m ohlcv.Coinbase.1m; do timeout 30 kcat "
             "-C -b '%s' -t $t -o beginning -e -q -f '%%k\t%%s\n' || "
             "exit 1; done >'%s/inj.kcat'",
             rd_kafka_mock_cluster_bootstraps(mc), g_dir);
    assert_int_equal(sh(cmd), 0);
    snprintf(path, sizeof path, "%s/inj.kcat", g_dir);
    got = slurp(path, &ng);
    for (line = strtok_r(got, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *tab = strchr(line, '\t'), value[4096];
        const char *st, *rv;
        long long start, rev;
        assert_non_null(tab);
        *tab = '\0';
        snprintf(value, sizeof value, "%s\n", tab + 1);
        /* one of the bars, and no bar twice: it is then taken out */
        {
            char *at = strstr(bars, value);
            if (at == NULL) {
                fail_msg("record not among the bars, or twice: %s", value);
            }
            memset(at, '#', strlen(value) - 1);
        }
        st = strstr(tab + 1, "\"start_ms\":");
        rv = strstr(tab + 1, "\"revision\":");
        assert_non_null(st);
        assert_non_null(rv);
        start = strtoll(st + 11, NULL, 10);
        rev = strtoll(rv + 11, NULL, 10);
        for (i = 0; i < nkeys && strcmp(lastkey[i], line) != 0; i++) {
        }
        if (i == nkeys) {
            assert_true(nkeys < 64);
            snprintf(lastkey[nkeys++], sizeof lastkey[0], "%s", line);
        } else if (start < laststart[i] ||
                   (start == laststart[i] && rev <= lastrev[i])) {
            fail_msg("%s: %lld r%lld after %lld r%lld", line, start, rev,
                     laststart[i], lastrev[i]);
        }
        laststart[i] = start;
        lastrev[i] = rev;
        nrec++;
    }
    /* all but the dead letter */
    assert_int_equal(nrec + 1, lines(bars));
    free(bars);
    free(trace);
    free(got);
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
}

/* Topics the broker refuses to create (a replication factor of 3 on its
 * one node): the machine's CreatingTopic error path, retried, in the
 * trace; each refusal said once per topic; the bars are not published and
 * the run fails, naming how many. */
static void test_topic_refused(void **state)
{
    char cmd[2048], prefix[64], *err, *trace;
    size_t ne, nt;
    const char *q;
    int said = 0;

    (void)state;
    snprintf(prefix, sizeof prefix, "ccs-tr%d-%lld", (int)getpid(),
             (long long)time(NULL));
    snprintf(cmd, sizeof cmd,
             "cd '%s' && timeout 120 '%s' replay s.db --brokers '%s' "
             "--topic '%s.{market}' --topic-replication 3 --trace tr.trace "
             "2>tr.txt", g_dir, g_bin, brokers(), prefix);
    assert_int_equal(sh(cmd), 1);
    snprintf(cmd, sizeof cmd, "%s/tr.txt", g_dir);
    err = slurp(cmd, &ne);
    for (q = err; (q = strstr(q, "replication factor of 3")) != NULL; q++) {
        said++;
    }
    if (said != 2 || strstr(err, "bars whose topic never came") == NULL ||
        strstr(err, "bars not delivered to") == NULL) {
        fail_msg("stderr: %s", err);
    }
    snprintf(cmd, sizeof cmd, "%s/tr.trace", g_dir);
    trace = slurp(cmd, &nt);
    assert_non_null(strstr(trace, "--TOPIC_FAILED/HANDLE_ERROR_TOPIC-->"));
    free(err);
    free(trace);
}

/* Ctrl-C in the middle of a replay into the broker: the input stops, the
 * open bars are closed and flushed, every one is acknowledged, the run
 * says it was interrupted and exits 0 (nothing lost); kcat reads back
 * exactly the bars of --bars-out. A second signal abandons: the process
 * dies of it, leaving no output. */
static void test_interrupted(void **state)
{
    char cmd[4096], prefix[64], *err, *bars;
    size_t ne, nb;

    (void)state;
    snprintf(prefix, sizeof prefix, "ccs-int%d-%lld", (int)getpid(),
             (long long)time(NULL));
    snprintf(cmd, sizeof cmd,
             "cd '%s' && '%s' synth --out s10.db --minutes 10 --seed 3 "
             ">/dev/null && { '%s' replay s10.db --brokers '%s' --speed 60 "
             "--kafka-format json --topic '%s.{market}.{interval}' "
             "--bars-out int.jsonl 2>int.txt & pid=$!; sleep 3; "
             "kill -INT $pid; wait $pid; echo \"exit $?\" >>int.txt; }",
             g_dir, g_bin, g_bin, brokers(), prefix);
    assert_int_equal(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/int.txt", g_dir);
    err = slurp(cmd, &ne);
    if (strstr(err, "interrupted: no input after") == NULL ||
        strstr(err, " 0 undelivered") == NULL ||
        strstr(err, "exit 0") == NULL) {
        fail_msg("stderr: %s", err);
    }
    snprintf(cmd, sizeof cmd, "%s/int.jsonl", g_dir);
    bars = slurp(cmd, &nb);
    assert_true(lines(bars) > 0);
    /* mid-run: fewer bars than the whole capture makes */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && test $('%s' replay s10.db --quiet --bars-out - | "
             "wc -l) -gt %zu", g_dir, g_bin, lines(bars));
    assert_int_equal(sh(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "n=0; for t in '%s.CCCAGG.1m' '%s.Coinbase.1m'; do "
             "c=$(timeout 30 kcat -C -b '%s' -t \"$t\" -o beginning -e -q "
             "-f '%%k\\n' | wc -l) || exit 1; n=$((n + c)); done; "
             "test \"$n\" = %zu", prefix, prefix, brokers(), lines(bars));
    assert_int_equal(sh(cmd), 0);
    free(err);
    free(bars);
    /* twice: abandoned */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && { '%s' replay s10.db --brokers '%s' --speed 60 "
             "--topic '%s.{market}.{interval}' --bars-out int2.jsonl "
             "2>/dev/null & pid=$!; sleep 2; kill -INT $pid; "
             "kill -TERM $pid; wait $pid; st=$?; "
             "{ test $st = 143 || test $st = 130; } && "
             "! test -e int2.jsonl; }",
             g_dir, g_bin, brokers(), prefix);
    assert_int_equal(sh(cmd), 0);
}

static void test_embedded_broker_and_tail(void **state)
{
    char cmd[4096];
    char *want, *got, *run;
    size_t nw, ng, nr;
    const char *line;

    (void)state;
    snprintf(cmd, sizeof cmd,
             "set -e; cd '%s'; '%s' synth --out e.db --minutes 3 --seed 4 "
             ">/dev/null; '%s' broker --max-time 60s >broker.txt & bp=$!; "
             "for i in $(seq 100); do [ -s broker.txt ] && break; sleep 0.1; "
             "done; b=$(head -1 broker.txt); "
             "'%s' replay e.db --brokers \"$b\" --no-create-topics "
             "--bars-out e.jsonl 2>replay.txt; "
             "'%s' tail --brokers \"$b\" --from-beginning --exit-at-end "
             "--format json >tail.jsonl 2>tail.txt; "
             "kill $bp; wait $bp || true",
             g_dir, g_bin, g_bin, g_bin, g_bin);
    assert_int_equal(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/e.jsonl", g_dir);
    want = slurp(cmd, &nw);
    snprintf(cmd, sizeof cmd, "%s/tail.jsonl", g_dir);
    got = slurp(cmd, &ng);
    assert_int_equal(lines(got), lines(want));
    assert_true(lines(want) > 20);
    for (line = got; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        char one[4096];
        size_t l = (size_t)(nl - line) + 1;
        assert_true(l < sizeof one);
        memcpy(one, line, l);
        one[l] = '\0';
        if (strstr(want, one) == NULL) {
            fail_msg("tail printed a bar replay did not write: %s", one);
        }
        line = nl + 1;
    }
    free(want);
    free(got);
    /* make run's script: serve, the embedded broker, live and tail,
     * stopped by Ctrl-C (SIGINT to its process group, as a terminal
     * sends it; a command started with & ignores SIGINT unless told) after
     * 12 s: the producer drains and exits 0, every process it started is
     * gone, bars are in Kafka */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && setsid env --default-signal=INT "
             "'%s/scripts/run-demo.sh' '%s' >run.txt 2>&1 "
             "& p=$!; sleep 12; kill -INT -$p; "
             "for i in $(seq 300); do kill -0 $p 2>/dev/null || break; "
             "sleep 0.1; done; wait $p",
             g_dir, g_root, g_bin);
    assert_int_equal(sh(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/run.txt", g_dir);
    run = slurp(cmd, &nr);
    if (strstr(run, "the producer exited 0 ") == NULL ||
        strstr(run, "== stopping (Ctrl-C)") == NULL ||
        strstr(run, " 0 dropped, 0 left in ") == NULL) {
        fail_msg("make run's script: %s", run);
    }
    {
        const char *sm = strstr(run, "summary: ");
        assert_non_null(sm);
        assert_true(strtol(sm + 9, NULL, 10) > 0); /* bars in Kafka */
    }
    /* nothing it started is left (its broker, serve, live, tail) */
    assert_int_equal(sh("! pgrep -f 'ccstream-run\\.' >/dev/null"), 0);
    free(run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_through_the_broker),
        cmocka_unit_test(test_properties_file),
        cmocka_unit_test(test_tls_listener),
        cmocka_unit_test(test_sasl_listener),
        cmocka_unit_test(test_injected_failures),
        cmocka_unit_test(test_interrupted),
        cmocka_unit_test(test_topic_refused),
        cmocka_unit_test(test_embedded_broker_and_tail),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
