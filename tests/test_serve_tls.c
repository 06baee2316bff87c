/* test_serve_tls.c: the certificates `ccstream serve --tls` makes
 * (serve/tls.h), checked with OpenSSL itself: the server certificate
 * verifies against the CA for serverAuth, for 127.0.0.1, ::1 and
 * localhost and for nothing else; the key matches and is private; every
 * run makes new keys; a missing directory is an error that leaves nothing
 * behind. The TLS handshake with real clients is in test_serve. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cmocka_inc.h"
#include "md_err.h"
#include "tls.h"

static X509 *load_cert(const char *path, int index)
{
    FILE *f = fopen(path, "r");
    X509 *c = NULL;
    int i;

    assert_non_null(f);
    for (i = 0; i <= index; i++) {
        X509_free(c);
        c = PEM_read_X509(f, NULL, NULL, NULL);
        assert_non_null(c);
    }
    fclose(f);
    return c;
}

static int verify(X509 *ca, X509 *cert)
{
    X509_STORE *st = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok;

    X509_STORE_add_cert(st, ca);
    X509_STORE_CTX_init(ctx, st, cert, NULL);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    ok = X509_verify_cert(ctx);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(st);
    return ok;
}

static void test_chain_names_and_key(void **state)
{
    struct serve_tls_files f, g;
    char dir[4096], err[512];
    X509 *ca, *cert, *chained_ca, *other_ca;
    EVP_PKEY *key;
    FILE *kf;
    struct stat st;

    (void)state;
    assert_int_equal(serve_tls_tmpdir(dir, sizeof dir, err, sizeof err),
                     MD_OK);
    assert_int_equal(serve_tls_make(dir, NULL, 0, &f, err, sizeof err),
                     MD_OK);
    ca = load_cert(f.ca, 0);
    cert = load_cert(f.cert, 0);
    chained_ca = load_cert(f.cert, 1);
    assert_int_equal(X509_cmp(ca, chained_ca), 0);
    assert_int_equal(X509_check_ca(ca), 1);
    assert_int_equal(X509_check_ca(cert), 0);
    assert_int_equal(verify(ca, cert), 1);
    assert_int_equal(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
    assert_int_equal(X509_check_ip_asc(cert, "::1", 0), 1);
    assert_int_equal(X509_check_host(cert, "localhost", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(cert, "10.0.0.1", 0), 0);
    assert_int_equal(X509_check_host(cert, "example.com", 0, 0, NULL), 0);
    kf = fopen(f.key, "r");
    assert_non_null(kf);
    key = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
    fclose(kf);
    assert_non_null(key);
    assert_int_equal(X509_check_private_key(cert, key), 1);
    assert_int_equal(stat(f.key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* a second run: new keys, a CA the first certificate does not chain to */
    assert_int_equal(serve_tls_make(dir, NULL, 0, &g, err, sizeof err),
                     MD_OK);
    other_ca = load_cert(g.ca, 0);
    assert_int_not_equal(X509_cmp(ca, other_ca), 0);
    assert_int_equal(verify(other_ca, cert), 0);
    X509_free(ca);
    X509_free(cert);
    X509_free(chained_ca);
    X509_free(other_ca);
    EVP_PKEY_free(key);
    serve_tls_cleanup(&g, dir);
    assert_int_not_equal(access(dir, F_OK), 0);
}

static void test_hosts_given(void **state)
{
    static const char *const hosts[] = {"ccstream.test", "192.0.2.7"};
    struct serve_tls_files f;
    char dir[4096], err[512];
    X509 *cert;

    (void)state;
    assert_int_equal(serve_tls_tmpdir(dir, sizeof dir, err, sizeof err),
                     MD_OK);
    assert_int_equal(serve_tls_make(dir, hosts, 2, &f, err, sizeof err),
                     MD_OK);
    cert = load_cert(f.cert, 0);
    assert_int_equal(X509_check_host(cert, "ccstream.test", 0, 0, NULL), 1);
    assert_int_equal(X509_check_ip_asc(cert, "192.0.2.7", 0), 1);
    assert_int_equal(X509_check_ip_asc(cert, "127.0.0.1", 0), 0);
    X509_free(cert);
    serve_tls_cleanup(&f, dir);
}

static void test_bad_directory(void **state)
{
    struct serve_tls_files f;
    char err[512];

    (void)state;
    assert_int_equal(serve_tls_make("/nonexistent/ccstream-tls", NULL, 0, &f,
                                    err, sizeof err),
                     MD_E_IO);
    assert_non_null(strstr(err, "/nonexistent/ccstream-tls"));
    assert_int_equal(f.ca[0], '\0');
    assert_int_equal(access("/nonexistent/ccstream-tls/ca.pem", F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_names_and_key),
        cmocka_unit_test(test_hosts_given),
        cmocka_unit_test(test_bad_directory),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
