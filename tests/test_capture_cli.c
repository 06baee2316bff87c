/* test_capture_cli.c: `ccstream export`, `import` and `inspect`, driven
 * through their cmd_* functions with stdout/stderr sent to temp files:
 * export -> import -> export byte-identical (binary, empty, NUL, unicode,
 * invalid UTF-8 payloads), JSONL errors with line and column, exit codes,
 * the inspect summary of a hand-made capture, and --json parsed back. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cc_json.h"
#include "cli.h"
#include "cmocka_inc.h"
#include "md_err.h"
#include "store.h"

static char g_dir[256];
static int g_n;
static char g_out[300], g_err[300];

#define T0 INT64_C(1714564800000000000) /* 2024-05-01T12:00:00Z */
#define SEC INT64_C(1000000000)

static int group_setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/test_capture_cli.XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        return -1;
    }
    snprintf(g_out, sizeof g_out, "%s/stdout", g_dir);
    snprintf(g_err, sizeof g_err, "%s/stderr", g_dir);
    return 0;
}

static int group_teardown(void **state)
{
    char cmd[300];

    (void)state;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void tmp_path(char *buf, size_t cap, const char *what)
{
    snprintf(buf, cap, "%s/%02d-%s", g_dir, ++g_n, what);
}

/* Run fn with the NULL-terminated arguments (copied: cmd_* take char **),
 * stdout into g_out and stderr into g_err. Returns the exit status. */
static int run(int (*fn)(int, char **), ...)
{
    static char pool[16][512];
    char *argv[17];
    int argc = 0, so, se, fo, fe, st;
    const char *a;
    va_list ap;

    va_start(ap, fn);
    while ((a = va_arg(ap, const char *)) != NULL && argc < 16) {
        snprintf(pool[argc], sizeof pool[argc], "%s", a);
        argv[argc] = pool[argc];
        argc++;
    }
    va_end(ap);
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    so = dup(1);
    se = dup(2);
    fo = open(g_out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    fe = open(g_err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(so >= 0 && se >= 0 && fo >= 0 && fe >= 0);
    dup2(fo, 1);
    dup2(fe, 2);
    st = fn(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    close(fo);
    close(fe);
    return st;
}

/* The whole of a file, NUL-terminated (free with free()). */
static char *slurp(const char *path, size_t *n_out)
{
    FILE *f = fopen(path, "rb");
    char *b;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)n + 1);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    if (n_out != NULL) {
        *n_out = (size_t)n;
    }
    return b;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The file contains `want` (else show what it holds). */
static void expect_in(const char *path, const char *want)
{
    char *b = slurp(path, NULL);

    if (strstr(b, want) == NULL) {
        fprintf(stderr, "--- %s:\n%s---\n", path, b);
        free(b);
        fail_msg("expected \"%s\" in %s", want, path);
    }
    free(b);
}

static void expect_status(int got, int want)
{
    if (got != want) {
        char *e = slurp(g_err, NULL);
        print_error("--- stderr:\n%s---\n", e);
        free(e);
        fail_msg("exit status %d, want %d", got, want);
    }
}

/* Run sql on the capture at path with the sqlite3 CLI. */
static void run_sql_cli(const char *path, const char *sql)
{
    char cmd[1024];

    snprintf(cmd, sizeof cmd, "sqlite3 '%s' \"%s\"", path, sql);
    assert_int_equal(system(cmd), 0);
}

/* ---- writing captures through the API ---- */

static struct store_writer *wopen(const char *path)
{
    struct store_session s;
    struct store_writer *w = NULL;
    char err[256];

    memset(&s, 0, sizeof s);
    s.started_mono_ns = 5 * SEC;
    s.started_wall_ns = T0;
    s.tool = "ccstream 0.1.0";
    s.kind = "capture";
    s.config = "{ \"symbols\": [\"BTC-USD\", \"ETH-USD\"],\n \"n\": 2 }";
    s.prng_seed = 42;
    s.notes = "hand-made \xe2\x98\x83";
    if (store_writer_open(path, &s, NULL, NULL, &w, err, sizeof err) !=
        MD_OK) {
        fail_msg("%s", err);
    }
    return w;
}

static int64_t conn(struct store_writer *w, const char *kind,
                    const char *url, int64_t t)
{
    struct store_conn c;
    int64_t id;

    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.url = url;
    c.opened_mono_ns = 5 * SEC + t;
    c.opened_wall_ns = T0 + t;
    assert_int_equal(store_conn_open(w, &c, &id), MD_OK);
    return id;
}

static void ev(struct store_writer *w, int64_t cid, int kind, int dir,
               int64_t t, int64_t status, const char *meta, const void *p,
               size_t n)
{
    struct store_event e;

    memset(&e, 0, sizeof e);
    e.conn_id = cid;
    e.kind = kind;
    e.dir = dir;
    e.mono_ns = 5 * SEC + t;
    e.wall_ns = T0 + t;
    e.status = status;
    e.meta = meta;
    e.payload = p;
    e.payload_len = n;
    assert_int_equal(store_append(w, &e), MD_OK);
}

static void text(struct store_writer *w, int64_t cid, int64_t t,
                 const char *s)
{
    ev(w, cid, STORE_K_WS_TEXT, STORE_D_IN, t, 0, NULL, s, strlen(s));
}

static void wclose(struct store_writer *w)
{
    char err[256];

    if (store_writer_close(w, err, sizeof err) != MD_OK) {
        fail_msg("%s", err);
    }
}

/* Payloads that exercise the text form. */
static void odd_capture(const char *path)
{
    static const unsigned char bin[] = {0x00, 0x01, 0xff, 0xfe, 0x80, 0x00};
    static const char nul_utf8[] = "a\0b\0\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80";
    static const char *const bad_utf8[] = {
        "\xc3",             /* truncated sequence */
        "\xc0\xaf",         /* overlong '/' */
        "\xed\xa0\x80",     /* a surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "ok\x80",           /* stray continuation */
    };
    char ctl[40], *big;
    struct store_writer *w = wopen(path);
    int64_t a, b;
    size_t i;

    a = conn(w, "ws", "wss://streamer.cryptocompare.com/v2?api_key=REDACTED",
             0);
    b = conn(w, "rest", "https://min-api.cryptocompare.com/\xc3\xa9\xff", 1);
    ev(w, a, STORE_K_WS_CONNECT, STORE_D_OUT, 1, 0,
       "{\"url\" : \"wss://x\",\n\t\"n\": [1, 2, {\"deep\": \"\\u00e9 \\\" "
       "\\\\ \\n\"}]}",
       "", 0);
    ev(w, a, STORE_K_WS_HANDSHAKE, STORE_D_IN, 2, 101,
       "{\"headers\":{\"upgrade\":\"websocket\"}}", NULL, 0);
    text(w, a, 3, "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\"}");
    ev(w, a, STORE_K_WS_BINARY, STORE_D_IN, 4, 0, NULL, bin, sizeof bin);
    ev(w, a, STORE_K_WS_TEXT, STORE_D_IN, 5, 0, NULL, nul_utf8,
       sizeof nul_utf8 - 1);
    for (i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        ev(w, a, STORE_K_WS_TEXT, STORE_D_IN, 6 + (int64_t)i, 0, NULL,
           bad_utf8[i], strlen(bad_utf8[i]));
    }
    for (i = 0; i < 32; i++) {
        ctl[i] = (char)i;
    }
    memcpy(ctl + 32, "\"\\/\x7f", 4);
    ev(w, a, STORE_K_WS_TEXT, STORE_D_OUT, 20, 0, NULL, ctl, 36);
    ev(w, a, STORE_K_WS_PONG, STORE_D_IN, 21, 0, NULL, "", 0);
    ev(w, b, STORE_K_HTTP_REQUEST, STORE_D_OUT, 22, 0,
       "{\"method\":\"GET\",\"url\":\"https://min-api.cryptocompare.com/data/"
       "price?fsym=BTC&tsyms=USD\"}",
       "", 0);
    big = malloc(100000);
    assert_non_null(big);
    for (i = 0; i < 100000; i++) {
        big[i] = (char)('a' + i % 26);
    }
    ev(w, b, STORE_K_HTTP_RESPONSE, STORE_D_IN, 23, 200,
       "{\"headers\":{\"content-type\":\"application/json\"}}", big, 100000);
    free(big);
    ev(w, 0, STORE_K_TIMER, STORE_D_LOCAL, 24, 0,
       "{\"timer\":\"bar\",\"deadline\":-9223372036854775808}", NULL, 0);
    ev(w, 0, STORE_K_DELIVERY, STORE_D_IN, 25, -185, NULL, "{}", 2);
    {
        /* the largest wall clock (mono_ns stays near the others: a jump
         * of more than 7 days is a damaged capture) */
        struct store_event e;
        memset(&e, 0, sizeof e);
        e.kind = STORE_K_SIGNAL;
        e.dir = STORE_D_LOCAL;
        e.mono_ns = 5 * SEC + 26;
        e.wall_ns = INT64_MAX;
        e.status = 15;
        assert_int_equal(store_append(w, &e), MD_OK);
    }
    ev(w, a, STORE_K_WS_CLOSE, STORE_D_IN, 30, 1000, NULL, "bye \xe2\x82\xac",
       7);
    assert_int_equal(store_conn_close(w, a, 5 * SEC + 31, T0 + 31, 1000,
                                      "normal \"quoted\" \xc3\xa9"),
                     MD_OK);
    wclose(w);
}

/* Two captures hold the same events, byte for byte. */
static void same_events(const char *p1, const char *p2)
{
    struct store_reader *r1 = NULL, *r2 = NULL;
    struct store_event e1, e2;
    char err[256];
    int rc1, rc2;

    assert_int_equal(store_reader_open(p1, &r1, err, sizeof err), MD_OK);
    assert_int_equal(store_reader_open(p2, &r2, err, sizeof err), MD_OK);
    for (;;) {
        rc1 = store_next(r1, &e1);
        rc2 = store_next(r2, &e2);
        assert_int_equal(rc1, rc2);
        if (rc1 != MD_OK) {
            break;
        }
        assert_int_equal(e1.seq, e2.seq);
        assert_int_equal(e1.conn_id, e2.conn_id);
        assert_int_equal(e1.conn_seq, e2.conn_seq);
        assert_int_equal(e1.kind, e2.kind);
        assert_int_equal(e1.dir, e2.dir);
        assert_int_equal(e1.mono_ns, e2.mono_ns);
        assert_int_equal(e1.wall_ns, e2.wall_ns);
        assert_int_equal(e1.status, e2.status);
        assert_int_equal(e1.payload_len, e2.payload_len);
        assert_memory_equal(e1.payload, e2.payload, e1.payload_len);
        assert_int_equal(e1.meta == NULL, e2.meta == NULL);
    }
    assert_int_equal(rc1, MD_E_NOTFOUND);
    store_reader_close(r1);
    store_reader_close(r2);
}

/* Every line of a JSONL file is one valid JSON object. */
static int valid_lines(const char *path)
{
    size_t n, i = 0;
    char *b = slurp(path, &n);
    int lines = 0;

    while (i < n) {
        char *nl = memchr(b + i, '\n', n - i);
        size_t len;
        struct cc_json j;
        struct cc_err e;
        assert_non_null(nl);
        len = (size_t)(nl - (b + i));
        cc_json_init(&j, b + i, len, &e);
        assert_int_equal(cc_json_peek(&j), '{');
        if (cc_json_skip(&j) != MD_OK || cc_json_end(&j) != MD_OK) {
            fail_msg("line %d is not valid JSON: %s at %zu", lines + 1,
                     e.what, e.off);
        }
        lines++;
        i += len + 1;
    }
    free(b);
    return lines;
}

static void test_cli_roundtrip(void **state)
{
    char db1[300], j1[300], db2[300], j2[300], db3[300], j3[300];
    char *a, *b;
    size_t na, nb;

    (void)state;
    tmp_path(db1, sizeof db1, "odd.db");
    tmp_path(j1, sizeof j1, "odd.jsonl");
    tmp_path(db2, sizeof db2, "odd2.db");
    tmp_path(j2, sizeof j2, "odd2.jsonl");
    tmp_path(db3, sizeof db3, "odd3.db");
    tmp_path(j3, sizeof j3, "odd3.jsonl");
    odd_capture(db1);
    expect_status(run(cmd_export, "export", "--out", j1, db1, NULL), 0);
    expect_status(run(cmd_import, "import", j1, "--out", db2, NULL), 0);
    expect_status(run(cmd_export, "export", db2, NULL), 0); /* to stdout */
    a = slurp(j1, &na);
    b = slurp(g_out, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    /* the text form holds what it should */
    assert_non_null(strstr(a, "{\"rec\":\"capture\",\"format\":"
                              "\"ccstream-capture\",\"schema_version\":2,"
                              "\"trailer\":true}\n"));
    /* it ends with the end record: the count of events and the state */
    assert_true(na > 40);
    assert_non_null(strstr(a + na - 60, ",\"state\":\"complete\"}\n"));
    assert_non_null(strstr(a, "{\"rec\":\"end\",\"events\":"));
    assert_non_null(strstr(a, "\"config\":{\"symbols\":[\"BTC-USD\","
                              "\"ETH-USD\"],\"n\":2}"));
    assert_non_null(strstr(a, "\"payload\":\"a\\u0000b\\u0000\xc3\xa9"));
    assert_non_null(strstr(a, "\"payload_b64\":\"AAH//oAA\""));
    assert_non_null(strstr(a, "\\u001f\\\"\\\\/\\u007f\""));
    assert_non_null(strstr(a, "\"close_reason\":\"normal \\\"quoted\\\" "
                              "\xc3\xa9\""));
    assert_non_null(strstr(a, "\"status\":-185"));
    assert_non_null(strstr(a, "cryptocompare.com/\xc3\xa9?\""));
    assert_non_null(strstr(a, "\"meta\":{\"url\":\"wss://x\",\"n\":[1,2,{"
                              "\"deep\":\"\\u00e9 \\\" \\\\ \\n\"}]}"));
    free(a);
    free(b);
    assert_int_equal(valid_lines(j1), 2 + 2 + 18 + 1); /* + the end */
    same_events(db1, db2);

    /* and once more, through standard input */
    {
        FILE *keep = stdin;
        FILE *in = fopen(j1, "r");
        assert_non_null(in);
        stdin = in;
        expect_status(run(cmd_import, "import", "-", "--out", db3, NULL), 0);
        stdin = keep;
        fclose(in);
    }
    expect_status(run(cmd_export, "export", "--out", j3, db3, NULL), 0);
    a = slurp(j1, &na);
    b = slurp(j3, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
    (void)j2;
}

/* A JSONL written by hand: keys in any order, whitespace, no seq. */
static void test_cli_import_handmade(void **state)
{
    char in[300], db[300], j1[300], db2[300];
    char *a, *b;
    size_t na, nb;

    (void)state;
    tmp_path(in, sizeof in, "hand.jsonl");
    tmp_path(db, sizeof db, "hand.db");
    tmp_path(j1, sizeof j1, "hand-out.jsonl");
    tmp_path(db2, sizeof db2, "hand2.db");
    write_text(in,
               "{ \"schema_version\": 1, \"rec\": \"capture\", \"format\": "
               "\"ccstream-capture\" }\r\n"
               "\n"
               "{\"rec\":\"session\",\"kind\":\"synth\",\"tool\":\"me\","
               "\"started_mono_ns\":0,"
               "\"started_wall_ns\":0,\"prng_seed\":7,\"config\":[1, 2]}\n"
               "{\"rec\":\"conn\",\"id\":1,\"kind\":\"ws\",\"url\":\"wss://x\","
               "\"opened_mono_ns\":1,\"opened_wall_ns\":2}\n"
               "{\"payload\":\"{\\\"TYPE\\\":\\\"999\\\"}\",\"rec\":\"event\","
               "\"conn\":1,\"dir\":\"in\",\"kind\":\"ws_text\",\"mono_ns\":5,"
               "\"wall_ns\":6,\"status\":0}\n"
               "{\"rec\":\"event\",\"conn\":1,\"conn_seq\":2,\"dir\":\"in\","
               "\"kind\":\"ws_binary\",\"mono_ns\":7,\"wall_ns\":8,"
               "\"status\":0,\"meta\":{ \"a\" : 1 },\"payload_b64\":\"\"}");
    expect_status(run(cmd_import, "import", in, "--out", db, NULL), 0);
    expect_status(run(cmd_export, "export", db, "-o", j1, NULL), 0);
    a = slurp(j1, &na);
    assert_non_null(strstr(a, "\"tool\":\"me\""));
    assert_non_null(strstr(a, "\"kind\":\"synth\""));
    assert_non_null(strstr(a, "\"config\":[1,2]"));
    assert_non_null(strstr(a, "\"seq\":2,\"conn\":1,\"conn_seq\":2"));
    assert_non_null(strstr(a, "\"meta\":{\"a\":1},\"payload\":\"\"}"));
    expect_status(run(cmd_import, "import", j1, "--out", db2, NULL), 0);
    expect_status(run(cmd_export, "export", db2, NULL), 0);
    b = slurp(g_out, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
}

static const char hdr[] =
    "{\"rec\":\"capture\",\"format\":\"ccstream-capture\","
    "\"schema_version\":1}\n";
static const char ses[] =
    "{\"rec\":\"session\",\"id\":1,\"started_mono_ns\":0,\"started_wall_ns\":"
    "0,\"tool\":\"t\",\"kind\":\"capture\",\"prng_seed\":1,\"config\":{},"
    "\"notes\":null}\n";
static const char con[] =
    "{\"rec\":\"conn\",\"id\":1,\"kind\":\"ws\",\"url\":\"wss://x\","
    "\"opened_mono_ns\":0,\"opened_wall_ns\":0,\"closed_mono_ns\":null,"
    "\"closed_wall_ns\":null,\"close_code\":null,\"close_reason\":null}\n";
#define EV "{\"rec\":\"event\",\"conn\":1,\"dir\":\"in\",\"kind\":\"ws_text\","

/* Each bad input: exit 1, a message "FILE:LINE:COLUMN: what", no file.
 * `after` says what precedes the case: 0 nothing, 2 the header and the
 * session (the case is line 3), 3 those and a connection (line 4). */
static void test_cli_import_errors(void **state)
{
    static const struct {
        int after;
        const char *text;
        const char *want;
    } cases[] = {
        {0, "", "empty"},
        {0, "{\"rec\":\"event\"}\n", ":1:1: expected the header"},
        {0,
         "{\"rec\":\"capture\",\"format\":\"sqlite\",\"schema_version\":1}\n",
         ":1:27: format \"sqlite\" is not"},
        {0,
         "{\"rec\":\"capture\",\"format\":\"ccstream-capture\","
         "\"schema_version\":3}\n",
         ":1:63: schema_version 3"},
        {0,
         "{\"rec\":\"capture\",\"format\":\"ccstream-capture\","
         "\"schema_version\":1}\n",
         ":1: ends after the header"},
        {0, "{\"rec\":\"capture\"\n", ":1:17: invalid JSON"},
        {2, "{\"rec\":\"conn\",", ":3:15: invalid JSON"},
        {2, "{\"rec\":\"conn\",\"foo\":1}\n", ":3:15: unknown key \"foo\""},
        {2, "{\"rec\":\"conn\",\"id\":1,\"id\":1}\n",
         ":3:22: duplicate key \"id\""},
        {2,
         "{\"rec\":\"conn\",\"id\":2,\"kind\":\"ws\",\"url\":\"x\","
         "\"opened_mono_ns\":0,\"opened_wall_ns\":0}\n",
         ":3:20: connection id 2 out of order (expected 1)"},
        {2,
         "{\"rec\":\"conn\",\"id\":1,\"kind\":\"ws\",\"url\":\"a\\u0000b\","
         "\"opened_mono_ns\":0,\"opened_wall_ns\":0}\n",
         ":3:40: \"url\" must not contain NUL"},
        {2,
         "{\"rec\":\"conn\",\"id\":1,\"kind\":\"ws\",\"url\":\"x\","
         "\"opened_mono_ns\":0,\"opened_wall_ns\":0,\"close_code\":1}\n",
         ":3:1: closed_mono_ns, closed_wall_ns, close_code"},
        {2, "{\"rec\":\"session\"}\n", ":3:1: \"started_mono_ns\" is missing"},
        {3, "{\"rec\":\"session\",\"id\":2,\"started_mono_ns\":0,"
            "\"started_wall_ns\":0,\"tool\":\"t\",\"kind\":\"c\","
            "\"prng_seed\":1,\"config\":{}}\n",
         ":4:1: a session after connections or events"},
        {2, "{\"rec\":\"bar\"}\n",
         ":3:8: \"rec\" must be \"conn\" or \"event\""},
        {2, "{\"id\":1}\n", ":3:1: \"rec\" is missing"},
        {2, "[1,2]\n", ":3:1: invalid JSON"},
        {2, "{\"rec\":\"event\",\"format\":\"x\"}\n",
         ":3:25: key \"format\" does not belong in a \"event\" record"},
        {3, EV "\"mono_ns\":9223372036854775807,\"wall_ns\":0,"
               "\"status\":0,\"payload\":\"\"}\n",
         ":4:63: mono_ns 9223372036854775807 is 106752 days after"},
        {3, EV "\"mono_ns\":-5,\"wall_ns\":0,\"status\":0,"
               "\"payload\":\"\"}\n",
         ":4:63: mono_ns -5 is negative"},
        {3, EV "\"seq\":5,\"mono_ns\":0,\"wall_ns\":0,\"status\":0,"
               "\"payload\":\"\"}\n",
         ":4:59: seq 5 out of order (expected 1)"},
        {3, EV "\"conn_seq\":2,\"mono_ns\":0,\"wall_ns\":0,\"status\":0,"
               "\"payload\":\"\"}\n",
         ":4:64: conn_seq 2 out of order (expected 1)"},
        {3, EV "\"mono_ns\":0,\"wall_ns\":0,\"status\":0,\"payload_b64\":"
               "\"AB=\"}\n",
         ":4:102: payload_b64 is not canonical base64"},
        {3, EV "\"mono_ns\":0,\"wall_ns\":0,\"status\":0,\"payload_b64\":"
               "\"AB==\"}\n",
         ":4:102: payload_b64 is not canonical base64"},
        {3,
         "{\"rec\":\"event\",\"conn\":3,\"dir\":\"in\",\"kind\":\"ws_text\","
         "\"mono_ns\":0,\"wall_ns\":0,\"status\":0,\"payload\":\"\"}\n",
         ":4:23: conn 3 has no \"conn\" record"},
        {3, EV "\"mono_ns\":0,\"wall_ns\":0,\"status\":0,\"meta\":[1],"
               "\"payload\":\"\"}\n",
         ":4:95: \"meta\" must be a JSON object or null"},
        {3,
         "{\"rec\":\"event\",\"conn\":1,\"dir\":\"in\",\"kind\":\"nope\","
         "\"mono_ns\":0,\"wall_ns\":0,\"status\":0,\"payload\":\"\"}\n",
         ":4:43: unknown kind \"nope\""},
        {3,
         "{\"rec\":\"event\",\"conn\":1,\"dir\":\"up\",\"kind\":\"ws_text\","
         "\"mono_ns\":0,\"wall_ns\":0,\"status\":0,\"payload\":\"\"}\n",
         ":4:31: dir \"up\" is not in, out or local"},
        {3, EV "\"mono_ns\":0,\"wall_ns\":0,\"status\":0,\"payload\":\"\","
               "\"payload_b64\":\"\"}\n",
         ":4:1: exactly one of \"payload\" and \"payload_b64\""},
        {3, EV "\"mono_ns\":1.5,\"wall_ns\":0,\"status\":0,\"payload\":\"\"}\n",
         ":4:63: \"mono_ns\" must be an integer"},
        {3, EV "\"mono_ns\":99999999999999999999,\"wall_ns\":0,\"status\":0,"
               "\"payload\":\"\"}\n",
         ":4:63: \"mono_ns\" is out of range"},
        {3, EV "\"wall_ns\":0,\"status\":0,\"payload\":\"\"}\n",
         ":4:1: \"mono_ns\" is missing"},
        {3,
         EV "\"mono_ns\":0,\"wall_ns\":0,\"status\":0,\"payload\":\"\xff\"}\n",
         ":4:98: \"payload\" is not valid UTF-8"},
        {3,
         EV "\"mono_ns\":0,\"wall_ns\":0,\"status\":0,\"payload\":\"\\x\"}\n",
         ":4:100: invalid JSON"},
        {3, EV "\"mono_ns\":0,\"wall_ns\":0,\"status\":0,\"payload\":\"\"}x\n",
         ":4:101: invalid JSON"},
    };
    char in[300], db[300], buf[2048];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tmp_path(in, sizeof in, "bad.jsonl");
        tmp_path(db, sizeof db, "bad.db");
        snprintf(buf, sizeof buf, "%s%s%s%s", cases[i].after >= 2 ? hdr : "",
                 cases[i].after >= 2 ? ses : "",
                 cases[i].after >= 3 ? con : "", cases[i].text);
        write_text(in, buf);
        if (run(cmd_import, "import", in, "--out", db, NULL) != 1) {
            fail_msg("case %zu (%s) did not fail", i, cases[i].want);
        }
        {
            char *e = slurp(g_err, NULL);
            char want[400];
            if (cases[i].want[0] == ':') {
                snprintf(want, sizeof want, "%s%s", in, cases[i].want);
            } else {
                snprintf(want, sizeof want, "%s", cases[i].want);
            }
            if (strstr(e, want) == NULL) {
                print_error("case %zu: stderr: %s", i, e);
                free(e);
                fail_msg("case %zu: expected \"%s\"", i, want);
            }
            free(e);
        }
        assert_int_equal(access(db, F_OK), -1);
    }

    /* the output exists already: refused, and left alone */
    tmp_path(in, sizeof in, "ok.jsonl");
    snprintf(buf, sizeof buf, "%s%s", hdr, ses);
    write_text(in, buf);
    tmp_path(db, sizeof db, "exists.db");
    write_text(db, "precious");
    expect_status(run(cmd_import, "import", in, "--out", db, NULL), 1);
    expect_in(g_err, "already exists");
    {
        char *keep = slurp(db, NULL);
        assert_string_equal(keep, "precious");
        free(keep);
    }
    /* usage errors */
    expect_status(run(cmd_import, "import", in, NULL), 2);
    expect_in(g_err, "--out CAPTURE.db is required");
    expect_in(g_err, "usage: ccstream import");
    expect_status(run(cmd_import, "import", NULL), 2);
    expect_status(run(cmd_import, "import", "--bogus", in, NULL), 2);
    expect_in(g_err, "unknown option '--bogus'");
    expect_status(run(cmd_import, "import", in, "--out", NULL), 2);
    expect_status(run(cmd_import, "import", "--help", NULL), 0);
    expect_in(g_out, "usage: ccstream import");
    tmp_path(db, sizeof db, "never.db");
    expect_status(
        run(cmd_import, "import", "/nonexistent/x.jsonl", "--out", db, NULL),
        1);
    expect_in(g_err, "/nonexistent/x.jsonl: cannot open: No such file");
}

static void test_cli_export_errors(void **state)
{
    char p[300], good[300];

    (void)state;
    expect_status(run(cmd_export, "export", NULL), 2);
    expect_in(g_err, "usage: ccstream export");
    expect_status(run(cmd_export, "export", "--frobnicate", "x.db", NULL), 2);
    expect_in(g_err, "unknown option '--frobnicate'");
    expect_status(run(cmd_export, "export", "a.db", "b.db", NULL), 2);
    expect_status(run(cmd_export, "export", "--help", NULL), 0);
    expect_in(g_out, "usage: ccstream export");
    tmp_path(p, sizeof p, "nothere.db");
    expect_status(run(cmd_export, "export", p, NULL), 1);
    expect_in(g_err, "No such file");
    expect_in(g_err, p);
    tmp_path(p, sizeof p, "text.db");
    write_text(p, "just some text\n");
    expect_status(run(cmd_export, "export", p, NULL), 1);
    expect_in(g_err, "not an SQLite database");
    tmp_path(p, sizeof p, "empty.db");
    write_text(p, "");
    expect_status(run(cmd_export, "export", p, NULL), 1);
    expect_in(g_err, "empty");
    tmp_path(good, sizeof good, "good.db");
    odd_capture(good);
    expect_status(
        run(cmd_export, "export", "--out", "/nonexistent/dir/x", good, NULL),
        1);
    expect_in(g_err, "cannot write /nonexistent/dir/x");
}

/* ---- inspect ---- */

/* A small, realistic session with one of each problem inspect reports. */
static void story_capture(const char *path)
{
    static const char subadd[] =
        "{\"action\":\"SubAdd\",\"subs\":[\"5~CCCAGG~BTC~USD\"]}";
    struct store_writer *w = wopen(path);
    int64_t a, b, r;
    int i;
    char f[256];

    a = conn(w, "ws", "wss://streamer.cryptocompare.com/v2?api_key=REDACTED",
             0);
    r = conn(w, "rest", "https://min-api.cryptocompare.com", 0);
    ev(w, a, STORE_K_WS_CONNECT, STORE_D_OUT, 0, 0,
       "{\"url\":\"wss://streamer.cryptocompare.com/v2?api_key=REDACTED\"}",
       NULL, 0);
    ev(w, a, STORE_K_WS_HANDSHAKE, STORE_D_IN, SEC / 10, 101,
       "{\"headers\":{}}", NULL, 0);
    text(w, a, SEC / 5,
         "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\",\"SERVER_UPTIME_"
         "SECONDS\":1,\"SERVER_NAME\":\"ccc-streamer01\",\"SERVER_TIME_MS\":"
         "1714564800200,\"CLIENT_ID\":1,\"DATA_FORMAT\":\"JSON\","
         "\"SOCKET_ID\":\"x\",\"SOCKETS_ACTIVE\":1,\"SOCKETS_REMAINING\":0,"
         "\"RATELIMIT_MAX_SECOND\":30,\"RATELIMIT_MAX_MINUTE\":60,"
         "\"RATELIMIT_MAX_HOUR\":1200,\"RATELIMIT_MAX_DAY\":10000,"
         "\"RATELIMIT_MAX_MONTH\":20000,\"RATELIMIT_REMAINING_SECOND\":29,"
         "\"RATELIMIT_REMAINING_MINUTE\":59,\"RATELIMIT_REMAINING_HOUR\":"
         "1199,\"RATELIMIT_REMAINING_DAY\":9999,\"RATELIMIT_REMAINING_"
         "MONTH\":19999}");
    ev(w, a, STORE_K_WS_TEXT, STORE_D_OUT, SEC / 4, 0, NULL, subadd,
       strlen(subadd));
    text(w, a, SEC / 2,
         "{\"TYPE\":\"16\",\"MESSAGE\":\"SUBSCRIBECOMPLETE\",\"SUB\":"
         "\"5~CCCAGG~BTC~USD\"}");
    text(w, a, SEC / 2 + 1,
         "{\"TYPE\":\"500\",\"MESSAGE\":\"INVALID_SUB\",\"PARAMETER\":"
         "\"5~CCCAGG~NOPE~USD\",\"INFO\":\"We only support...\"}");
    for (i = 0; i < 10; i++) {
        snprintf(f, sizeof f,
                 "{\"TYPE\":\"5\",\"MARKET\":\"CCCAGG\",\"FROMSYMBOL\":\"BTC\","
                 "\"TOSYMBOL\":\"USD\",\"FLAGS\":1,\"PRICE\":6%04d.5}",
                 i);
        text(w, a, SEC + i * SEC / 10, f);
    }
    for (i = 0; i < 3; i++) {
        snprintf(f, sizeof f,
                 "{\"TYPE\":\"0\",\"M\":\"Coinbase\",\"FSYM\":\"BTC\",\"TSYM\":"
                 "\"USD\",\"F\":\"1\",\"ID\":\"%d\",\"TS\":1714564802,\"Q\":"
                 "0.1,\"P\":60000.5,\"TOTAL\":6000.05}",
                 i);
        text(w, a, 2 * SEC + i, f);
    }
    text(w, a, 2 * SEC + 10, "{\"TYPE\":\"5\",\"MARKET\":"); /* malformed */
    /* 7 s of silence, then a heartbeat */
    text(w, a, 9 * SEC + SEC / 2,
         "{\"TYPE\":\"999\",\"MESSAGE\":\"HEARTBEAT\",\"TIMEMS\":"
         "1714564809500}");
    text(w, a, 10 * SEC,
         "{\"TYPE\":\"429\",\"MESSAGE\":\"TOO_MANY_SOCKETS_MAX_1_PER_CLIENT\","
         "\"INFO\":\"too many\"}");
    ev(w, a, STORE_K_WS_CLOSED, STORE_D_IN, 10 * SEC + 1, 1006, NULL, NULL,
       0);
    assert_int_equal(store_conn_close(w, a, 5 * SEC + 10 * SEC + 1,
                                      T0 + 10 * SEC + 1, 1006, NULL),
                     MD_OK);

    /* REST: a 200, a 429, a 500 and a transport error */
    for (i = 0; i < 3; i++) {
        static const int64_t st[] = {200, 429, 500};
        ev(w, r, STORE_K_HTTP_REQUEST, STORE_D_OUT, 10 * SEC + 10 + i * 2, 0,
           "{\"method\":\"GET\",\"url\":\"https://min-api.cryptocompare.com/"
           "data/v2/histominute?fsym=BTC&tsym=USD&limit=60&api_key="
           "REDACTED\"}",
           NULL, 0);
        ev(w, r, STORE_K_HTTP_RESPONSE, STORE_D_IN, 10 * SEC + 11 + i * 2,
           st[i], "{\"headers\":{}}", "{}", 2);
    }
    ev(w, r, STORE_K_HTTP_REQUEST, STORE_D_OUT, 10 * SEC + 20, 0,
       "{\"method\":\"GET\",\"url\":\"https://min-api.cryptocompare.com/data/"
       "price?fsym=BTC&tsyms=USD\"}",
       NULL, 0);
    ev(w, r, STORE_K_HTTP_ERROR, STORE_D_IN, 10 * SEC + 21, 28, NULL,
       "Operation timed out", 19);

    /* the second socket, closed normally */
    b = conn(w, "ws", "wss://streamer.cryptocompare.com/v2", 11 * SEC);
    ev(w, b, STORE_K_WS_HANDSHAKE, STORE_D_IN, 11 * SEC, 101, NULL, NULL, 0);
    text(w, b, 11 * SEC + SEC / 2,
         "{\"TYPE\":\"20\",\"MESSAGE\":\"STREAMERWELCOME\"}");
    ev(w, b, STORE_K_WS_CLOSE, STORE_D_OUT, 12 * SEC, 1000, NULL, "", 0);
    ev(w, b, STORE_K_WS_CLOSED, STORE_D_IN, 12 * SEC + 1, 1000, NULL, NULL,
       0);
    assert_int_equal(store_conn_close(w, b, 5 * SEC + 12 * SEC + 1,
                                      T0 + 12 * SEC + 1, 1000, "bye"),
                     MD_OK);
    ev(w, 0, STORE_K_TIMER, STORE_D_LOCAL, 12 * SEC + 2, 0,
       "{\"timer\":\"bar_close\",\"deadline\":17000000002}", NULL, 0);
    ev(w, 0, STORE_K_DELIVERY, STORE_D_IN, 12 * SEC + 3, -192, NULL, NULL, 0);
    ev(w, 0, STORE_K_SIGNAL, STORE_D_LOCAL, 12 * SEC + 4, 15, NULL, NULL, 0);
    wclose(w);
}

static void test_cli_inspect_text(void **state)
{
    char db[300];
    static const char *const want[] = {
        "(ccstream-capture, schema 2, 38 events)",
        "span         2024-05-01T12:00:00.000Z .. 2024-05-01T12:00:12.000Z "
        "(12.000s)",
        "session      capture by ccstream 0.1.0, seed 42, started "
        "2024-05-01T12:00:00.000Z",
        "notes: hand-made \xe2\x98\x83",
        "connections  3 (ws 2, rest 1)",
        "lived 10.000s, ended 1006 (abrupt)",
        "ended 1000 (normal) \"bye\"",
        "still open at the end",
        "frames       in 20 (",
        "  ws_text        in            20",
        "  5                 10  CCCAGG\n",
        "  0                  3  trade\n",
        "  20                 2  welcome\n",
        "  malformed          1",
        "  GET    /data/v2/histominute                     200        1",
        "  GET    /data/v2/histominute                     429        1",
        "  GET    /data/v2/histominute                     500        1",
        "  GET    /data/price                              ERR        1",
        "  16                 1  sub complete\n",
        "  999                1  heartbeat\n",
        "gaps         1 without an inbound frame for > 5.000s",
        "  #1   7.499s from 2024-05-01T12:00:02.000Z",
        "errors       7",
        "  ws 500 INVALID_SUB                              1  first at seq 6",
        "  ws 429 TOO_MANY_SOCKETS_MAX_X_PER_CLIENT",
        "  ws malformed frame                              1",
        "  http 429 ",
        "  http 500 ",
        "  http transport error ",
        "  kafka delivery error ",
        "disconnects  2",
        "  1000   normal                  1",
        "  1006   abrupt                  1",
    };
    size_t i;
    char *out;

    (void)state;
    tmp_path(db, sizeof db, "story.db");
    story_capture(db);
    expect_status(run(cmd_inspect, "inspect", db, NULL), 0);
    out = slurp(g_out, NULL);
    for (i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (strstr(out, want[i]) == NULL) {
            fprintf(stderr, "--- inspect output:\n%s---\n", out);
            free(out);
            fail_msg("inspect lacks \"%s\"", want[i]);
        }
    }
    free(out);
    /* a shorter threshold finds more gaps; --check adds quick_check */
    expect_status(run(cmd_inspect, "inspect", "--gap", "0.45", "--check", db,
                      NULL),
                  0);
    expect_in(g_out, "quick_check ok");
    expect_in(g_out, "gaps         5 without an inbound frame for > 0.450s");
}

/* ---- a small path lookup over the --json output, via cc_json ---- */

/* Position j at the value named by path ("errors.total", "types.0.type").
 * Returns MD_OK or a negative code. */
static int jfind(struct cc_json *j, const char *path)
{
    char seg[64];
    const char *dot;
    size_t n;
    struct cc_str k;
    int rc;

    while (*path) {
        dot = strchr(path, '.');
        n = dot ? (size_t)(dot - path) : strlen(path);
        snprintf(seg, sizeof seg, "%.*s", (int)n, path);
        path += n + (dot ? 1 : 0);
        if (seg[0] >= '0' && seg[0] <= '9') {
            long idx = strtol(seg, NULL, 10), i;
            rc = cc_json_arr_begin(j);
            for (i = 0; rc == MD_OK; i++) {
                rc = cc_json_arr_next(j);
                if (rc <= 0) {
                    return MD_E_NOTFOUND;
                }
                if (i == idx) {
                    break;
                }
                rc = cc_json_skip(j);
            }
            if (rc < 0) {
                return rc;
            }
            continue;
        }
        rc = cc_json_obj_begin(j);
        while (rc == MD_OK) {
            rc = cc_json_obj_next(j, &k);
            if (rc <= 0) {
                return MD_E_NOTFOUND;
            }
            if (cc_str_eq(&k, seg, strlen(seg))) {
                break;
            }
            rc = cc_json_skip(j);
        }
        if (rc < 0) {
            return rc;
        }
    }
    return MD_OK;
}

static int64_t jint(const char *doc, const char *path)
{
    struct cc_json j;
    struct cc_num num;
    int64_t v = 0;

    cc_json_init(&j, doc, strlen(doc), NULL);
    if (jfind(&j, path) != MD_OK || cc_json_num(&j, &num) != MD_OK ||
        cc_dec_to_i64(&num.dec, &v) != MD_OK) {
        fail_msg("--json has no integer at %s", path);
    }
    return v;
}

static void jstr(const char *doc, const char *path, const char *want)
{
    struct cc_json j;
    struct cc_str s;

    cc_json_init(&j, doc, strlen(doc), NULL);
    if (jfind(&j, path) != MD_OK || cc_json_str(&j, &s) != MD_OK ||
        !cc_str_eq(&s, want, strlen(want))) {
        fail_msg("--json: %s is not \"%s\"", path, want);
    }
}

static void test_cli_inspect_json(void **state)
{
    char db[300];
    char *out;
    struct cc_json j;

    (void)state;
    tmp_path(db, sizeof db, "story-json.db");
    story_capture(db);
    expect_status(run(cmd_inspect, "inspect", "--json", db, NULL), 0);
    out = slurp(g_out, NULL);
    cc_json_init(&j, out, strlen(out), NULL);
    assert_int_equal(cc_json_peek(&j), '{');
    assert_int_equal(cc_json_skip(&j), MD_OK);
    assert_int_equal(cc_json_end(&j), MD_OK);

    jstr(out, "format", "ccstream-capture");
    assert_int_equal(jint(out, "schema_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(jint(out, "events"), 38);
    assert_int_equal(jint(out, "span.first_wall_ns"), T0);
    assert_int_equal(jint(out, "span.duration_ns"), 12 * SEC + 4);
    jstr(out, "span.first_utc", "2024-05-01T12:00:00.000000000Z");
    jstr(out, "sessions.0.kind", "capture");
    assert_int_equal(jint(out, "sessions.0.prng_seed"), 42);
    jstr(out, "connections.0.end", "closed");
    assert_int_equal(jint(out, "connections.0.close_code"), 1006);
    assert_int_equal(jint(out, "connections.0.frames_in"), 19);
    assert_int_equal(jint(out, "connections.0.frames_out"), 1);
    jstr(out, "connections.1.kind", "rest");
    jstr(out, "connections.1.end", "open");
    assert_int_equal(jint(out, "connections.2.close_code"), 1000);
    jstr(out, "connections.2.close_reason", "bye");
    assert_int_equal(jint(out, "frames.in.count"), 20);
    assert_int_equal(jint(out, "frames.out.count"), 1);
    jstr(out, "types.0.type", "5");
    assert_int_equal(jint(out, "types.0.count"), 10);
    jstr(out, "types.1.type", "0");
    assert_int_equal(jint(out, "types.1.count"), 3);
    assert_int_equal(jint(out, "malformed"), 1);
    jstr(out, "rest.0.endpoint", "/data/price");
    assert_int_equal(jint(out, "rest.0.status"), 0); /* transport error */
    jstr(out, "rest.1.endpoint", "/data/v2/histominute");
    assert_int_equal(jint(out, "rest.1.status"), 200);
    assert_int_equal(jint(out, "rest.3.status"), 500);
    assert_int_equal(jint(out, "gaps.threshold_ns"), 5 * SEC);
    assert_int_equal(jint(out, "gaps.count"), 1);
    assert_int_equal(jint(out, "gaps.longest.0.conn"), 1);
    assert_int_equal(jint(out, "gaps.longest.0.duration_ns"),
                     9 * SEC + SEC / 2 - (2 * SEC + 10));
    assert_int_equal(jint(out, "errors.total"), 7);
    assert_int_equal(jint(out, "disconnects.total"), 2);
    assert_int_equal(jint(out, "disconnects.by_code.0.code"), 1000);
    free(out);
}

static void test_cli_inspect_errors(void **state)
{
    char p[300];

    (void)state;
    expect_status(run(cmd_inspect, "inspect", NULL), 2);
    expect_in(g_err, "usage: ccstream inspect");
    expect_status(run(cmd_inspect, "inspect", "--nope", "x.db", NULL), 2);
    expect_in(g_err, "unknown option '--nope'");
    expect_status(run(cmd_inspect, "inspect", "--gap", "abc", "x.db", NULL),
                  2);
    expect_status(run(cmd_inspect, "inspect", "--gap", "-1", "x.db", NULL),
                  2);
    expect_status(run(cmd_inspect, "inspect", "--gap", NULL), 2);
    expect_status(run(cmd_inspect, "inspect", "a.db", "b.db", NULL), 2);
    expect_status(run(cmd_inspect, "inspect", "-h", NULL), 0);
    expect_in(g_out, "usage: ccstream inspect");
    tmp_path(p, sizeof p, "missing.db");
    expect_status(run(cmd_inspect, "inspect", p, NULL), 1);
    expect_in(g_err, "No such file");
    tmp_path(p, sizeof p, "foreign.txt");
    write_text(p, "SQLite format 3 is what I am not\n");
    expect_status(run(cmd_inspect, "inspect", "--json", p, NULL), 1);
    expect_in(g_err, "not an SQLite database");
}

/* The end record: an export cut at a line boundary no longer imports as
 * whole; the end record's count must match; nothing may follow it; the
 * state it names is what the new capture says (an incomplete source stays
 * incomplete); an export without the header's trailer flag (older) still
 * imports, with its state unknown. */
static void test_cli_import_end_record(void **state)
{
    static const char thdr[] =
        "{\"rec\":\"capture\",\"format\":\"ccstream-capture\","
        "\"schema_version\":2,\"trailer\":true}\n";
    static const char ev1[] =
        EV "\"mono_ns\":1,\"wall_ns\":1,\"status\":0,\"meta\":null,"
           "\"payload\":\"x\"}\n";
    static const struct {
        const char *tail;
        int status;
        const char *want;
    } cases[] = {
        {"", 1, ":4: ends without its end record"},
        {"{\"rec\":\"end\",\"events\":2,\"state\":\"complete\"}\n", 1,
         "the end record counts 2 events, the file holds 1"},
        {"{\"rec\":\"end\",\"events\":1,\"state\":\"complete\"}\n" EV
         "\"mono_ns\":2,\"wall_ns\":2,\"status\":0,\"meta\":null,"
         "\"payload\":\"y\"}\n", 1, "a record after the end record"},
        {"{\"rec\":\"end\",\"events\":1,\"state\":\"odd\"}\n", 1,
         "unknown state \"odd\""},
        {"{\"rec\":\"end\",\"events\":1,\"state\":\"incomplete\"}\n", 0,
         "INCOMPLETE"},
        {"{\"rec\":\"end\",\"events\":1,\"state\":\"complete\"}\n", 0,
         "state        complete"},
    };
    char in[300], db[300], text[2048];
    size_t k;

    (void)state;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        tmp_path(in, sizeof in, "end.jsonl");
        tmp_path(db, sizeof db, "end.db");
        snprintf(text, sizeof text, "%s%s%s%s%s", thdr, ses, con, ev1,
                 cases[k].tail);
        write_text(in, text);
        expect_status(run(cmd_import, "import", in, "--out", db, NULL),
                      cases[k].status);
        if (cases[k].status != 0) {
            expect_in(g_err, cases[k].want);
            assert_int_not_equal(access(db, F_OK), 0);
        } else {
            expect_status(run(cmd_inspect, "inspect", db, NULL), 0);
            expect_in(g_out, cases[k].want);
        }
    }
    /* no trailer flag: an older export, whole or not, state unknown */
    tmp_path(in, sizeof in, "old.jsonl");
    tmp_path(db, sizeof db, "old.db");
    snprintf(text, sizeof text, "%s%s%s%s", hdr, ses, con, ev1);
    write_text(in, text);
    expect_status(run(cmd_import, "import", in, "--out", db, NULL), 0);
    expect_status(run(cmd_inspect, "inspect", db, NULL), 0);
    expect_in(g_out, "state        unknown");
}

/* What editors do to text files: a UTF-8 byte order mark at the start, a
 * line of blanks only, CRLF ends; each imports as if absent. An invalid
 * session in a capture is refused by export naming the file. */
static void test_cli_import_editor_marks(void **state)
{
    char in[300], db[300], text[2048];

    (void)state;
    tmp_path(in, sizeof in, "bom.jsonl");
    tmp_path(db, sizeof db, "bom.db");
    snprintf(text, sizeof text, "\xef\xbb\xbf%s%s   \t \r\n%s\r\n", hdr, ses,
             con);
    write_text(in, text);
    expect_status(run(cmd_import, "import", in, "--out", db, NULL), 0);
    expect_status(run(cmd_inspect, "inspect", db, NULL), 0);
    expect_in(g_out, "0 events");
    run_sql_cli(db, "UPDATE sessions SET tool=CAST(X'C328' AS TEXT)");
    expect_status(run(cmd_export, "export", db, NULL), 1);
    expect_in(g_err, "bom.db: session 1");
}

/* A capture of two sessions (the second added in SQL, as another tool
 * could): export -> import -> export is byte-identical, both sessions
 * kept with their values. */
static void test_cli_two_sessions_round_trip(void **state)
{
    char db[300], j1[300], db2[300];
    char *a, *b;
    size_t na, nb;

    (void)state;
    tmp_path(db, sizeof db, "two.db");
    tmp_path(j1, sizeof j1, "two.jsonl");
    tmp_path(db2, sizeof db2, "two2.db");
    odd_capture(db);
    run_sql_cli(db, "INSERT INTO sessions SELECT 2, started_mono_ns + 7, "
                    "started_wall_ns + 7, 'tool two', 'replay', '[2]', "
                    "'18446744073709551615', 'second', NULL FROM sessions "
                    "WHERE id = 1");
    expect_status(run(cmd_export, "export", db, "--out", j1, NULL), 0);
    expect_status(run(cmd_import, "import", j1, "--out", db2, NULL), 0);
    expect_status(run(cmd_export, "export", db2, NULL), 0);
    a = slurp(j1, &na);
    b = slurp(g_out, &nb);
    assert_non_null(strstr(a, "\"id\":2,"));
    assert_non_null(strstr(a, "\"tool\":\"tool two\""));
    assert_non_null(strstr(a, "\"prng_seed\":18446744073709551615"));
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cli_roundtrip),
        cmocka_unit_test(test_cli_import_handmade),
        cmocka_unit_test(test_cli_import_errors),
        cmocka_unit_test(test_cli_import_end_record),
        cmocka_unit_test(test_cli_import_editor_marks),
        cmocka_unit_test(test_cli_two_sessions_round_trip),
        cmocka_unit_test(test_cli_export_errors),
        cmocka_unit_test(test_cli_inspect_text),
        cmocka_unit_test(test_cli_inspect_json),
        cmocka_unit_test(test_cli_inspect_errors),
    };
    return cmocka_run_group_tests_name("capture_cli", tests, group_setup,
                                       group_teardown);
}
