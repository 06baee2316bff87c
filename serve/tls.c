/* tls.c: a CA and a server certificate for `ccstream serve --tls`. See
 * tls.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "md_err.h"
#include "tls.h"

static int ossl_fail(char *errbuf, size_t errlen, const char *what)
{
    char reason[256] = "unknown error";
    unsigned long e = ERR_get_error();

    if (e != 0) {
        ERR_error_string_n(e, reason, sizeof reason);
    }
    ERR_clear_error();
    snprintf(errbuf, errlen, "TLS: %s: %s", what, reason);
    return MD_E_IO;
}

static EVP_PKEY *new_key(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL) {
        return 0;
    }
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

/* A certificate for key, subject cn, signed by (issuer, ikey); issuer NULL:
 * self-signed. */
static X509 *new_cert(EVP_PKEY *key, const char *cn, X509 *issuer,
                      EVP_PKEY *ikey, const char *const *ext_vals,
                      const int *ext_nids, size_t n_ext)
{
    X509 *c = X509_new();
    X509_NAME *name;
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    size_t i;

    if (c == NULL || X509_set_version(c, 2) != 1 ||
        RAND_bytes(serial, sizeof serial) != 1) {
        goto fail;
    }
    serial[0] &= 0x7f; /* positive */
    bn = BN_bin2bn(serial, sizeof serial, NULL);
    if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c)) ==
                          NULL) {
        goto fail;
    }
    if (X509_gmtime_adj(X509_getm_notBefore(c), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(c), 30L * 86400) == NULL ||
        X509_set_pubkey(c, key) != 1) {
        goto fail;
    }
    name = X509_get_subject_name(c);
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   (const unsigned char *)cn, -1, -1,
                                   0) != 1 ||
        X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer)
                                       : name) != 1) {
        goto fail;
    }
    for (i = 0; i < n_ext; i++) {
        if (!add_ext(c, issuer ? issuer : c, ext_nids[i], ext_vals[i])) {
            goto fail;
        }
    }
    if (X509_sign(c, ikey ? ikey : key, EVP_sha256()) <= 0) {
        goto fail;
    }
    BN_free(bn);
    return c;
fail:
    BN_free(bn);
    X509_free(c);
    return NULL;
}

static int write_pem(const char *path, X509 *c1, X509 *c2, EVP_PKEY *key,
                     char *errbuf, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, key ? 0600 : 0644);
    FILE *f;
    int ok = 1;

    if (fd < 0) {
        snprintf(errbuf, errlen, "TLS: %s: cannot create: %s", path,
                 strerror(errno));
        return MD_E_IO;
    }
    if (key != NULL && fchmod(fd, 0600) != 0) {
        ok = 0;
    }
    f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        snprintf(errbuf, errlen, "TLS: %s: %s", path, strerror(errno));
        return MD_E_IO;
    }
    if (c1 != NULL && PEM_write_X509(f, c1) != 1) {
        ok = 0;
    }
    if (c2 != NULL && PEM_write_X509(f, c2) != 1) {
        ok = 0;
    }
    if (key != NULL &&
        PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1) {
        ok = 0;
    }
    if (fclose(f) != 0) {
        ok = 0;
    }
    if (!ok) {
        snprintf(errbuf, errlen, "TLS: %s: cannot write the PEM file",
                 path);
        return MD_E_IO;
    }
    return MD_OK;
}

int serve_tls_make(const char *dir, const char *const *hosts, size_t n_hosts,
                   struct serve_tls_files *out, char *errbuf, size_t errlen)
{
    static const char *const def[] = {"127.0.0.1", "localhost", "::1"};
    EVP_PKEY *cakey = NULL, *key = NULL;
    X509 *ca = NULL, *cert = NULL;
    char san[1024];
    size_t i, used = 0;
    int rc = MD_E_IO;
    struct stat st;

    memset(out, 0, sizeof *out);
    if (hosts == NULL || n_hosts == 0) {
        hosts = def;
        n_hosts = sizeof def / sizeof def[0];
    }
    if (stat(dir, &st) != 0) {
        snprintf(errbuf, errlen, "TLS: %s: %s", dir, strerror(errno));
        return MD_E_IO;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(errbuf, errlen, "TLS: %s: not a directory", dir);
        return MD_E_IO;
    }
    if ((size_t)snprintf(out->ca, sizeof out->ca, "%s/ca.pem", dir) >=
            sizeof out->ca ||
        (size_t)snprintf(out->cert, sizeof out->cert, "%s/cert.pem", dir) >=
            sizeof out->cert ||
        (size_t)snprintf(out->key, sizeof out->key, "%s/key.pem", dir) >=
            sizeof out->key) {
        snprintf(errbuf, errlen, "TLS: %s: path too long", dir);
        memset(out, 0, sizeof *out);
        return MD_E_IO;
    }
    san[0] = '\0';
    for (i = 0; i < n_hosts; i++) {
        int ip = strchr(hosts[i], ':') != NULL ||
                 (strspn(hosts[i], "0123456789.") == strlen(hosts[i]));
        used += (size_t)snprintf(san + used, sizeof san - used, "%s%s:%s",
                                 i ? "," : "", ip ? "IP" : "DNS", hosts[i]);
        if (used >= sizeof san) {
            snprintf(errbuf, errlen, "TLS: too many host names");
            memset(out, 0, sizeof *out);
            return MD_E_IO;
        }
    }
    cakey = new_key();
    key = new_key();
    if (cakey == NULL || key == NULL) {
        rc = ossl_fail(errbuf, errlen, "cannot make an EC P-256 key");
        goto out;
    }
    {
        const char *vals[] = {"critical,CA:TRUE", "critical,keyCertSign,cRLSign",
                              "hash"};
        const int nids[] = {NID_basic_constraints, NID_key_usage,
                            NID_subject_key_identifier};
        ca = new_cert(cakey, "ccstream serve test CA", NULL, NULL, vals, nids,
                      3);
    }
    if (ca == NULL) {
        rc = ossl_fail(errbuf, errlen, "cannot make the CA certificate");
        goto out;
    }
    {
        const char *vals[] = {"critical,CA:FALSE",
                              "critical,digitalSignature,keyEncipherment",
                              "serverAuth", san, "keyid:always"};
        const int nids[] = {NID_basic_constraints, NID_key_usage,
                            NID_ext_key_usage, NID_subject_alt_name,
                            NID_authority_key_identifier};
        cert = new_cert(key, hosts[0], ca, cakey, vals, nids, 5);
    }
    if (cert == NULL) {
        rc = ossl_fail(errbuf, errlen, "cannot make the server certificate");
        goto out;
    }
    if ((rc = write_pem(out->ca, ca, NULL, NULL, errbuf, errlen)) != MD_OK ||
        (rc = write_pem(out->cert, cert, ca, NULL, errbuf, errlen)) !=
            MD_OK ||
        (rc = write_pem(out->key, NULL, NULL, key, errbuf, errlen)) !=
            MD_OK) {
        serve_tls_cleanup(out, NULL);
        memset(out, 0, sizeof *out);
        goto out;
    }
    rc = MD_OK;
out:
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(cakey);
    EVP_PKEY_free(key);
    if (rc != MD_OK) {
        memset(out, 0, sizeof *out);
    }
    return rc;
}

int serve_tls_tmpdir(char *dir, size_t cap, char *errbuf, size_t errlen)
{
    const char *t = getenv("TMPDIR");
    int n;

    if (t == NULL || *t == '\0') {
        t = "/tmp";
    }
    n = snprintf(dir, cap, "%s/ccstream-serve-XXXXXX", t);
    if (n < 0 || (size_t)n >= cap || mkdtemp(dir) == NULL) {
        snprintf(errbuf, errlen, "TLS: %s: cannot make a directory: %s", t,
                 strerror(errno));
        return MD_E_IO;
    }
    return MD_OK;
}

void serve_tls_cleanup(const struct serve_tls_files *f, const char *dir)
{
    if (f->ca[0] != '\0') {
        unlink(f->ca);
    }
    if (f->cert[0] != '\0') {
        unlink(f->cert);
    }
    if (f->key[0] != '\0') {
        unlink(f->key);
    }
    if (dir != NULL && *dir != '\0') {
        rmdir(dir);
    }
}
