/* cli_kafka.c: -X for the commands that talk to Kafka (replay, tail), as
 * kcat takes it: KEY=VALUE, or @FILE for a file of KEY=VALUE lines (blank
 * lines and lines starting with '#' skipped), so secrets such as
 * sasl.password stay off the command line. Values are never printed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_kafka.h"

/* The lines read from files, kept for the process's life (the properties
 * point into them) and reachable from here. */
static char *g_kept[128];
static unsigned g_n_kept;

static int add(const char *cmd, const char *where, char *line,
               const char *props[][2], unsigned *n, unsigned cap)
{
    char *eq = strchr(line, '='), *end;

    if (eq == NULL || eq == line) {
        fprintf(stderr, "ccstream %s: %s: not KEY=VALUE (a librdkafka "
                "property)\n", cmd, where);
        return 2;
    }
    if (*n >= cap) {
        fprintf(stderr, "ccstream %s: %s: more than %u Kafka properties\n",
                cmd, where, cap);
        return 2;
    }
    *eq = '\0';
    /* "key = value", as in a Java properties file */
    for (end = eq; end > line && (end[-1] == ' ' || end[-1] == '\t');) {
        *--end = '\0';
    }
    for (eq++; *eq == ' ' || *eq == '\t'; eq++) {
    }
    props[*n][0] = line;
    props[(*n)++][1] = eq;
    return 0;
}

int cli_kafka_prop(const char *cmd, char *arg, const char *props[][2],
                   unsigned *n, unsigned cap)
{
    FILE *f;
    char buf[4096];
    unsigned line = 0;
    int rc = 0;

    if (arg[0] != '@') {
        return add(cmd, "-X", arg, props, n, cap);
    }
    if ((f = fopen(arg + 1, "r")) == NULL) {
        fprintf(stderr, "ccstream %s: -X %s: %s\n", cmd, arg,
                strerror(errno));
        return 2;
    }
    while (rc == 0 && fgets(buf, sizeof buf, f) != NULL) {
        size_t len = strlen(buf);
        char where[64 + 4096], *s = buf, *copy;
        line++;
        snprintf(where, sizeof where, "%s:%u", arg + 1, line);
        if (len == sizeof buf - 1 && buf[len - 1] != '\n') {
            fprintf(stderr, "ccstream %s: %s: line longer than %zu bytes\n",
                    cmd, where, sizeof buf - 2);
            rc = 2;
            break;
        }
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
                           buf[len - 1] == ' ' || buf[len - 1] == '\t')) {
            buf[--len] = '\0';
        }
        while (*s == ' ' || *s == '\t') {
            s++;
        }
        if (*s == '\0' || *s == '#') {
            continue;
        }
        /* kept for the run: the properties point into it */
        if (g_n_kept == sizeof g_kept / sizeof g_kept[0]) {
            fprintf(stderr, "ccstream %s: %s: too many Kafka properties\n",
                    cmd, where);
            rc = 2;
            break;
        }
        if ((copy = strdup(s)) == NULL) {
            fprintf(stderr, "ccstream %s: out of memory\n", cmd);
            rc = 1;
            break;
        }
        g_kept[g_n_kept++] = copy;
        rc = add(cmd, where, copy, props, n, cap);
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "ccstream %s: -X %s: read error\n", cmd, arg);
        rc = 2;
    }
    fclose(f);
    return rc;
}
