/* tls.h: the certificates of `ccstream serve --tls`: a CA made at start
 * and a server certificate it signs for the loopback names, written as
 * PEM files for libwebsockets (cert, key) and for clients (the CA).
 * OpenSSL 3 libcrypto; EC P-256 keys. Shell code. */
#ifndef SERVE_TLS_H
#define SERVE_TLS_H

#include <limits.h>
#include <stddef.h>

struct serve_tls_files {
    char ca[PATH_MAX];   /* the CA certificate: what clients trust */
    char cert[PATH_MAX]; /* the server certificate, then the CA: a chain */
    char key[PATH_MAX];  /* the server key (mode 0600) */
};

/* Make a CA and a server certificate for hosts (NULL: 127.0.0.1,
 * localhost, ::1; an IP literal goes into the subjectAltName as IP, a
 * name as DNS) into dir (which must exist): ca.pem, cert.pem, key.pem.
 * Valid from an hour ago for 30 days, random 128-bit serials. MD_OK; else
 * MD_E_IO or MD_E_NOMEM with errbuf naming the file and OpenSSL's reason;
 * nothing is left behind. */
int serve_tls_make(const char *dir, const char *const *hosts, size_t n_hosts,
                   struct serve_tls_files *out, char *errbuf, size_t errlen);

/* A new private directory under $TMPDIR (or /tmp). MD_OK or MD_E_IO. */
int serve_tls_tmpdir(char *dir, size_t cap, char *errbuf, size_t errlen);

/* Remove the files and, when dir is not NULL, the directory. */
void serve_tls_cleanup(const struct serve_tls_files *f, const char *dir);

#endif /* SERVE_TLS_H */
