/* cmd_export.c: `ccstream export` and `ccstream import`: a capture to
 * JSON lines and back (capture/store_jsonl.c does the work). Argument
 * parsing and messages only; exit status 0 ok, 1 failure, 2 usage. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "md_err.h"
#include "outfile.h"
#include "store.h"

static void export_usage(FILE *f)
{
    fprintf(f,
            "usage: ccstream export [--out FILE] CAPTURE.db\n"
            "\n"
            "Write a capture as JSON lines, one record per line in capture\n"
            "order: a \"capture\" header, the session, the connections,\n"
            "then one \"event\" per recorded event (payload as a JSON\n"
            "string when it is UTF-8, else \"payload_b64\"). `ccstream\n"
            "import` reads it back; export -> import -> export is\n"
            "byte-identical. Format: docs/capture-format.md.\n"
            "\n"
            "  --out FILE  write to FILE instead of standard output\n"
            "  -h, --help  this text\n"
            "\n"
            "FILE is written under a temporary name and put in place when\n"
            "complete; it may not be the capture itself.\n"
            "\n"
            "Exit status: 0 ok, 1 error, 2 usage.\n");
}

static void import_usage(FILE *f)
{
    fprintf(f,
            "usage: ccstream import FILE.jsonl --out CAPTURE.db\n"
            "\n"
            "Read JSON lines written by `ccstream export` (FILE.jsonl, or -\n"
            "for standard input) into a new capture. CAPTURE.db must not\n"
            "exist. Errors name the line and column. Credentials in known\n"
            "places (an api_key= URL parameter, an Authorization token) are\n"
            "redacted, and so is the API key in every form when it is known.\n"
            "\n"
            "  --out CAPTURE.db      the capture to create (required)\n"
            "  --api-key-file FILE   the API key to scrub, on FILE's first\n"
            "                        line (default: $CCSTREAM_API_KEY)\n"
            "  -h, --help            this text\n"
            "\n"
            "Exit status: 0 ok, 1 error, 2 usage.\n");
}

/* Split argv into --out VALUE and one positional argument. Returns 0,
 * 1 for --help, or 2 after printing a usage error. */
static int parse_args(const char *cmd, int argc, char **argv,
                      const char **out, const char **pos,
                      const char **keyfile, void (*usage)(FILE *))
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    static const struct option import_opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"api-key-file", required_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    int c;

    *out = NULL;
    *pos = NULL;
    cli_opt_begin();
    while ((c = cli_opt_next(cmd, argc, argv, ":ho:",
                             keyfile != NULL ? import_opts : longopts)) !=
           -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return 1;
        case 'o':
            *out = optarg;
            break;
        case 'k':
            *keyfile = optarg;
            break;
        default:
            fputc('\n', stderr);
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc - 1) {
        fprintf(stderr, "ccstream %s: one input file only ('%.80s')\n\n",
                cmd, argv[optind + 1]);
        usage(stderr);
        return 2;
    }
    if (optind == argc) {
        fprintf(stderr, "ccstream %s: which file?\n\n", cmd);
        usage(stderr);
        return 2;
    }
    *pos = argv[optind];
    if (*out != NULL && (*out)[0] == '\0') {
        fprintf(stderr, "ccstream %s: --out needs a file name\n\n", cmd);
        usage(stderr);
        return 2;
    }
    return 0;
}

int cmd_export(int argc, char **argv)
{
    const char *out_path, *in_path;
    struct store_reader *r = NULL;
    struct outfile out;
    char err[1024];
    int rc;

    rc = parse_args("export", argc, argv, &out_path, &in_path, NULL,
                    export_usage);
    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    if (outfile_check(out_path, &in_path, 1, err, sizeof err) != MD_OK) {
        fprintf(stderr, "ccstream export: %s\n", err);
        return 2;
    }
    rc = store_reader_open(in_path, &r, err, sizeof err);
    if (rc != MD_OK) {
        fprintf(stderr, "ccstream export: %s\n", err);
        return 1;
    }
    if (store_reader_warning(r) != NULL) {
        fprintf(stderr, "ccstream export: warning: %s\n",
                store_reader_warning(r));
    }
    rc = outfile_open(&out, out_path != NULL ? out_path : "-", "w",
                      &in_path, 1, err, sizeof err);
    if (rc != MD_OK) {
        fprintf(stderr, "ccstream export: %s\n", err);
        store_reader_close(r);
        return 1;
    }
    rc = store_export(r, out.f, err, sizeof err);
    store_reader_close(r);
    if (rc == MD_OK) {
        rc = outfile_commit(&out, err, sizeof err);
    } else {
        char e2[2048];
        /* name the file the problem is in: the output for a write, else
         * the capture (unless the message does already) */
        if (rc == MD_E_IO) {
            snprintf(e2, sizeof e2, "%s: %s", out.is_stdout
                                                  ? "standard output"
                                                  : out.path, err);
            snprintf(err, sizeof err, "%.1000s", e2);
        } else if (strstr(err, in_path) == NULL) {
            snprintf(e2, sizeof e2, "%s: %s", in_path, err);
            snprintf(err, sizeof err, "%.1000s", e2);
        }
        outfile_abort(&out);
    }
    if (rc != MD_OK) {
        fprintf(stderr, "ccstream export: %s\n", err);
        return 1;
    }
    return 0;
}

int cmd_import(int argc, char **argv)
{
    const char *out_path, *in_path;
    FILE *in = stdin;
    const char *keyfile = NULL;
    char err[1024], tmp[4096], key[512];
    int rc;

    rc = parse_args("import", argc, argv, &out_path, &in_path, &keyfile,
                    import_usage);
    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    if (cli_api_key(keyfile, key, sizeof key, err, sizeof err) != MD_OK) {
        fprintf(stderr, "ccstream import: %s\n", err);
        return 2;
    }
    if (out_path == NULL) {
        fprintf(stderr, "ccstream import: --out CAPTURE.db is required\n\n");
        import_usage(stderr);
        return 2;
    }
    if (strcmp(in_path, "-") != 0) {
        in = fopen(in_path, "r");
        if (in == NULL) {
            fprintf(stderr, "ccstream import: %s: cannot open: %s\n",
                    in_path, strerror(errno));
            return 1;
        }
    }
    if (access(out_path, F_OK) == 0) {
        fprintf(stderr, "ccstream import: %s: already exists (import "
                "writes a new capture)\n", out_path);
        if (in != stdin) {
            fclose(in);
        }
        return 1;
    }
    /* written under a temporary name, put in place when complete */
    if (outfile_db_begin(out_path, tmp, sizeof tmp, err, sizeof err) !=
        MD_OK) {
        fprintf(stderr, "ccstream import: %s\n", err);
        if (in != stdin) {
            fclose(in);
        }
        return 1;
    }
    outfile_on_signal(tmp);
    rc = store_import(in, strcmp(in_path, "-") == 0 ? "<stdin>" : in_path,
                      tmp, key, err, sizeof err);
    if (in != stdin) {
        fclose(in);
    }
    if (rc == MD_OK) {
        rc = outfile_db_commit(tmp, out_path, false, err, sizeof err);
    } else {
        outfile_db_remove(tmp);
        outfile_msg_names(err, sizeof err, tmp, out_path);
    }
    outfile_forget(tmp);
    if (rc != MD_OK) {
        fprintf(stderr, "ccstream import: %s\n", err);
        return 1;
    }
    return 0;
}
