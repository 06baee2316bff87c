/* cli_conf.c: configuration files (cli_conf.h). */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_conf.h"
#include "md_err.h"

const char *cli_conf_file(int argc, char **argv)
{
    const char *f = NULL;
    int k;

    for (k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--") == 0) {
            break;
        }
        if (strcmp(argv[k], "--config") == 0 && k + 1 < argc) {
            f = argv[k + 1];
        } else if (strncmp(argv[k], "--config=", 9) == 0) {
            f = argv[k] + 9;
        }
    }
    return f;
}

void cli_conf_free(char **keep)
{
    size_t i;

    for (i = 0; keep[i] != NULL; i++) {
        free(keep[i]);
        keep[i] = NULL;
    }
}

static bool skipped(const int *skip, int id)
{
    for (; skip != NULL && *skip != 0; skip++) {
        if (*skip == id) {
            return true;
        }
    }
    return false;
}

/* The keys a file may hold, for the message about an unknown one. */
static void key_list(const struct option *lo, const int *skip, char *out,
                     size_t cap)
{
    size_t n = 0;

    out[0] = '\0';
    for (; lo->name != NULL && n + 1 < cap; lo++) {
        if (!skipped(skip, lo->val)) {
            n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? ", " : "",
                                  lo->name);
        }
    }
}

int cli_conf_read(const char *file, const struct option *lo,
                  const int *skip, cli_conf_set_fn set, void *ctx,
                  char **keep, char *err, size_t errlen)
{
    FILE *f = fopen(file, "r");
    char line[4096], why[400];
    size_t used = 0;
    int ln = 0, rc = MD_OK;

    if (f == NULL) {
        snprintf(err, errlen, "--config %s: %s", file, strerror(errno));
        return MD_E_IO;
    }
    while (rc == MD_OK && fgets(line, sizeof line, f) != NULL) {
        char *k, *e, *v, *ve;
        const struct option *op;
        size_t kl, vl;
        ln++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(err, errlen, "%s:%d:1: a line longer than %zu bytes",
                     file, ln, sizeof line - 2);
            rc = MD_E_USAGE;
            break;
        }
        for (k = line; *k == ' ' || *k == '\t'; k++) {
        }
        if (*k == '#' || *k == '\n' || *k == '\r' || *k == '\0') {
            continue;
        }
        e = strchr(k, '=');
        if (e == NULL) {
            snprintf(err, errlen, "%s:%d:%d: expected KEY = VALUE", file, ln,
                     (int)(k - line) + 1);
            rc = MD_E_USAGE;
            break;
        }
        for (kl = (size_t)(e - k);
             kl > 0 && (k[kl - 1] == ' ' || k[kl - 1] == '\t'); kl--) {
        }
        for (v = e + 1; *v == ' ' || *v == '\t'; v++) {
        }
        for (ve = v + strlen(v); ve > v && strchr(" \t\r\n", ve[-1]) != NULL;
             ve--) {
        }
        vl = (size_t)(ve - v);
        for (op = lo; op->name != NULL; op++) {
            if (strlen(op->name) == kl && memcmp(op->name, k, kl) == 0) {
                break;
            }
        }
        if (op->name == NULL || skipped(skip, op->val)) {
            char keys[1500];
            key_list(lo, skip, keys, sizeof keys);
            snprintf(err, errlen, "%s:%d:%d: unknown key '%.*s' (keys are "
                     "the command's long options: %s)", file, ln,
                     (int)(k - line) + 1, (int)(kl > 64 ? 64 : kl), k, keys);
            rc = MD_E_USAGE;
            break;
        }
        if (used == CLI_CONF_MAX) {
            snprintf(err, errlen, "%s:%d:1: more than %d settings", file, ln,
                     CLI_CONF_MAX);
            rc = MD_E_USAGE;
            break;
        }
        keep[used] = strndup(v, vl);
        if (keep[used] == NULL) {
            snprintf(err, errlen, "out of memory");
            rc = MD_E_NOMEM;
            break;
        }
        keep[++used] = NULL;
        if (op->has_arg == no_argument) {
            if (strcmp(keep[used - 1], "true") != 0 &&
                strcmp(keep[used - 1], "false") != 0) {
                snprintf(err, errlen, "%s:%d:%d: %s takes true or false",
                         file, ln, (int)(v - line) + 1, op->name);
                rc = MD_E_USAGE;
                break;
            }
            if (strcmp(keep[used - 1], "false") == 0) {
                continue;
            }
        } else if (vl == 0) {
            snprintf(err, errlen, "%s:%d:%d: %s needs a value", file, ln,
                     (int)(v - line) + 1, op->name);
            rc = MD_E_USAGE;
            break;
        }
        if (set(ctx, op->val, keep[used - 1], why, sizeof why) != MD_OK) {
            snprintf(err, errlen, "%s:%d:%d: %s: %s", file, ln,
                     (int)(v - line) + 1, op->name, why);
            rc = MD_E_USAGE;
            break;
        }
    }
    fclose(f);
    return rc;
}
