/* outfile.c: output files that never destroy an input and never pretend
 * (contract in outfile.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "md_err.h"
#include "outfile.h"

/* The absolute name of path's directory joined with its last part (the
 * file itself need not exist); false if the directory cannot be
 * resolved. */
static bool canon(const char *path, char *buf, size_t cap)
{
    char dir[PATH_MAX], real[PATH_MAX];
    const char *slash = strrchr(path, '/');
    const char *base = slash != NULL ? slash + 1 : path;
    size_t n = slash != NULL ? (size_t)(slash - path) : 0;

    if (n >= sizeof dir) {
        return false;
    }
    if (slash == NULL) {
        memcpy(dir, ".", 2);
    } else if (n == 0) {
        memcpy(dir, "/", 2);
    } else {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    if (realpath(dir, real) == NULL) {
        return false;
    }
    return snprintf(buf, cap, "%s/%s", real, base) < (int)cap;
}

/* The same file: equal device and inode when both exist (a hard link, a
 * symlink or another spelling of the path all count), else the same
 * absolute name. */
static bool same_file(const char *a, const char *b)
{
    char ca[PATH_MAX + 256], cb[PATH_MAX + 256];
    struct stat sa, sb;

    if (stat(a, &sa) == 0 && stat(b, &sb) == 0) {
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    }
    return canon(a, ca, sizeof ca) && canon(b, cb, sizeof cb) &&
           strcmp(ca, cb) == 0;
}

int outfile_check(const char *path, const char *const *inputs,
                  size_t n_inputs, char *err, size_t errlen)
{
    size_t k;

    if (path == NULL || strcmp(path, "-") == 0) {
        return MD_OK;
    }
    for (k = 0; k < n_inputs; k++) {
        if (inputs[k] != NULL && strcmp(inputs[k], "-") != 0 &&
            (strcmp(path, inputs[k]) == 0 || same_file(path, inputs[k]))) {
            snprintf(err, errlen, "%s is the input %s: refusing to write "
                     "over it", path, inputs[k]);
            return MD_E_INVAL;
        }
    }
    return MD_OK;
}

int outfile_open(struct outfile *o, const char *path, const char *mode,
                 const char *const *inputs, size_t n_inputs, char *err,
                 size_t errlen)
{
    struct stat st;
    size_t n;
    int fd, rc;

    memset(o, 0, sizeof *o);
    rc = outfile_check(path, inputs, n_inputs, err, errlen);
    if (rc != MD_OK) {
        return rc;
    }
    o->path = path;
    if (strcmp(path, "-") == 0) {
        o->f = stdout;
        o->is_stdout = true;
        return MD_OK;
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* a device, a FIFO, a terminal: written to directly (a rename
         * would replace it) */
        if (S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "cannot write %s: %s", path,
                     strerror(EISDIR));
            return MD_E_IO;
        }
        o->f = fopen(path, mode);
        if (o->f == NULL) {
            snprintf(err, errlen, "cannot write %s: %s", path,
                     strerror(errno));
            return MD_E_IO;
        }
        return MD_OK;
    }
    /* beside the final name, so the rename stays on one file system */
    n = strlen(path) + sizeof ".tmp-XXXXXX";
    o->tmp = malloc(n);
    if (o->tmp == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        return MD_E_NOMEM;
    }
    snprintf(o->tmp, n, "%s.tmp-XXXXXX", path);
    /* cleaned up on a signal from before it exists: no window */
    outfile_on_signal(o->tmp);
    fd = mkstemp(o->tmp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        outfile_forget(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
        return MD_E_IO;
    }
    (void)fchmod(fd, 0644 & ~outfile_umask());
    o->f = fdopen(fd, mode);
    if (o->f == NULL) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        unlink(o->tmp);
        outfile_forget(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
        return MD_E_IO;
    }
    return MD_OK;
}

mode_t outfile_umask(void)
{
    mode_t m = umask(0);

    umask(m);
    return m;
}

int outfile_commit(struct outfile *o, char *err, size_t errlen)
{
    int rc = MD_OK, e = 0;

    if (o->f == NULL) {
        return MD_OK;
    }
    errno = 0;
    if (fflush(o->f) != 0 || ferror(o->f)) {
        e = errno != 0 ? errno : EIO;
        rc = MD_E_IO;
    }
    if (o->is_stdout) {
        o->f = NULL;
        if (rc != MD_OK) {
            snprintf(err, errlen, "cannot write standard output: %s",
                     strerror(e));
        }
        return rc;
    }
    if (fclose(o->f) != 0 && rc == MD_OK) {
        e = errno;
        rc = MD_E_IO;
    }
    o->f = NULL;
    if (o->tmp == NULL) { /* not a regular file: written in place */
        if (rc != MD_OK) {
            snprintf(err, errlen, "cannot write %s: %s", o->path,
                     strerror(e));
        }
        return rc;
    }
    if (rc == MD_OK && rename(o->tmp, o->path) != 0) {
        e = errno;
        rc = MD_E_IO;
    }
    if (rc != MD_OK) {
        snprintf(err, errlen, "cannot write %s: %s", o->path, strerror(e));
        unlink(o->tmp);
    }
    outfile_forget(o->tmp);
    free(o->tmp);
    o->tmp = NULL;
    return rc;
}

void outfile_abort(struct outfile *o)
{
    if (o->f != NULL && !o->is_stdout) {
        fclose(o->f);
    }
    if (o->tmp != NULL) {
        unlink(o->tmp);
        outfile_forget(o->tmp);
        free(o->tmp);
    }
    memset(o, 0, sizeof *o);
}

/* ---- captures ------------------------------------------------------- */

static const char *const sides[] = {"", "-wal", "-shm", "-journal"};

int outfile_db_remove(const char *path)
{
    char side[PATH_MAX + 16];
    size_t i;
    int rc = 0;

    for (i = 0; i < sizeof sides / sizeof sides[0]; i++) {
        if (snprintf(side, sizeof side, "%s%s", path, sides[i]) >=
            (int)sizeof side) {
            continue;
        }
        if (unlink(side) != 0 && errno != ENOENT && i == 0) {
            rc = -1;
        }
    }
    return rc;
}

int outfile_db_begin(const char *path, char *tmp, size_t cap, char *err,
                     size_t errlen)
{
    int fd;

    if (snprintf(tmp, cap, "%s.tmp-XXXXXX", path) >= (int)cap) {
        snprintf(err, errlen, "%s: name too long", path);
        return MD_E_IO;
    }
    /* cleaned up on a signal from before it exists: no window */
    outfile_on_signal(tmp);
    fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        outfile_forget(tmp);
        return MD_E_IO;
    }
    close(fd);
    unlink(tmp); /* the name is ours; the writer creates it O_EXCL */
    return MD_OK;
}

int outfile_db_commit(const char *tmp, const char *path, bool replace,
                      char *err, size_t errlen)
{
    int e;

    if (replace) {
        /* an old capture's companions must not pair with the new file */
        char side[PATH_MAX + 16];
        size_t i;
        for (i = 1; i < sizeof sides / sizeof sides[0]; i++) {
            if (snprintf(side, sizeof side, "%s%s", path, sides[i]) <
                (int)sizeof side) {
                (void)unlink(side);
            }
        }
        if (rename(tmp, path) == 0) {
            return MD_OK;
        }
    } else if (link(tmp, path) == 0) {
        unlink(tmp);
        return MD_OK;
    }
    e = errno;
    if (e == EEXIST) {
        snprintf(err, errlen, "%s appeared while this capture was written "
                 "(another writer?); it is left as it is (--force "
                 "replaces it)", path);
    } else {
        snprintf(err, errlen, "cannot put the capture in place as %s: %s",
                 path, strerror(e));
    }
    outfile_db_remove(tmp);
    return MD_E_IO;
}

/* ---- cleanup on a signal --------------------------------------------- */

static const char *volatile g_tmp[4];
static void (*volatile g_first)(int);
static volatile sig_atomic_t g_seen;

static void on_signal(int sig)
{
    char side[PATH_MAX + 16];
    size_t k, i, n;

    if (g_first != NULL && !g_seen && sig != SIGHUP) {
        g_seen = 1; /* the first INT or TERM: a clean stop */
        g_first(sig);
        return;
    }
    for (k = 0; k < sizeof g_tmp / sizeof g_tmp[0]; k++) {
        const char *t = g_tmp[k];
        if (t == NULL) {
            continue;
        }
        /* async-signal-safe: no stdio, the name built by hand */
        n = strlen(t);
        if (n + 10 >= sizeof side) {
            continue;
        }
        for (i = 0; i < sizeof sides / sizeof sides[0]; i++) {
            memcpy(side, t, n);
            memcpy(side + n, sides[i], strlen(sides[i]) + 1);
            unlink(side);
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install(void)
{
    static bool installed;
    struct sigaction sa;

    if (installed) {
        return;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    installed = true;
}

void outfile_on_first_signal(void (*fn)(int))
{
    g_first = fn;
    install();
}

void outfile_on_signal(const char *tmp)
{
    size_t k;

    for (k = 0; k < sizeof g_tmp / sizeof g_tmp[0]; k++) {
        if (g_tmp[k] == tmp) {
            return; /* already registered */
        }
    }
    for (k = 0; k < sizeof g_tmp / sizeof g_tmp[0]; k++) {
        if (g_tmp[k] == NULL) {
            g_tmp[k] = tmp;
            break;
        }
    }
    install();
}

void outfile_forget(const char *tmp)
{
    size_t k;

    for (k = 0; k < sizeof g_tmp / sizeof g_tmp[0]; k++) {
        if (g_tmp[k] == tmp) {
            g_tmp[k] = NULL;
        }
    }
}

/* Every occurrence of from in buf replaced by to (as far as buf holds). */
void outfile_msg_names(char *buf, size_t cap, const char *from,
                       const char *to)
{
    char out[1024];
    size_t fl = strlen(from), n = 0;
    const char *p = buf, *hit;

    if (fl == 0) {
        return;
    }
    while ((hit = strstr(p, from)) != NULL && n < sizeof out) {
        n += (size_t)snprintf(out + n, sizeof out - n, "%.*s%s",
                              (int)(hit - p), p, to);
        p = hit + fl;
    }
    if (n < sizeof out) {
        snprintf(out + n, sizeof out - n, "%s", p);
    }
    snprintf(buf, cap, "%.*s", (int)(cap > 0 ? cap - 1 : 0), out);
}
