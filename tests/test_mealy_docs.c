/* test_mealy_docs.c: docs/mealy.md must show the tables the code runs on.
 * Each block between "<!-- BEGIN GENERATED mealy NAME -->" and its END
 * marker must equal `ccstream mealy --markdown NAME` byte for byte;
 * `make docs` regenerates them. Run from the repository root. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmocka_inc.h"
#include "core.h"
#include "mealy_fmt.h"

#define BIG (256 * 1024)
static char doc[BIG], gen[BIG];

static void load_doc(void)
{
    FILE *f = fopen("docs/mealy.md", "r");
    size_t n;

    if (f == NULL) {
        fail_msg("cannot open docs/mealy.md (run from the repository root)");
    }
    n = fread(doc, 1, sizeof doc - 1, f);
    doc[n] = '\0';
    fclose(f);
}

static void check_machine(const struct fsm_def *d)
{
    char begin[128], end[128];
    const char *b, *e;
    size_t glen;
    FILE *f;

    snprintf(begin, sizeof begin, "<!-- BEGIN GENERATED mealy %s -->\n",
             d->name);
    snprintf(end, sizeof end, "<!-- END GENERATED mealy %s -->", d->name);
    b = strstr(doc, begin);
    if (b == NULL) {
        fail_msg("docs/mealy.md lacks the marker for machine %s", d->name);
    }
    b += strlen(begin);
    e = strstr(b, end);
    if (e == NULL) {
        fail_msg("docs/mealy.md lacks the END marker for %s", d->name);
    }
    memset(gen, 0, sizeof gen);
    f = fmemopen(gen, sizeof gen - 1, "w");
    assert_non_null(f);
    mealy_print_markdown(f, d);
    fclose(f);
    glen = strlen(gen);
    if ((size_t)(e - b) != glen || memcmp(b, gen, glen) != 0) {
        size_t i = 0;
        while (i < glen && b + i < e && b[i] == gen[i]) {
            i++;
        }
        fail_msg("docs/mealy.md table of %s differs from the code at byte "
                 "%zu of the block; run 'make docs'",
                 d->name, i);
    }
}

static void test_mealy_docs_tables(void **state)
{
    unsigned m;

    (void)state;
    load_doc();
    for (m = 1; m < MD_M__COUNT; m++) {
        check_machine(core_defs[m]);
    }
}

/* The projection pi and the defect list are documented. */
static void test_mealy_docs_mentions_seed(void **state)
{
    static const char *const words[] = {
        "FETCH_DATA", "DATA_READY", "PUBLISH_SUCCESS", "PUBLISH_FAILURE",
        "RESET", "FETCH_FAILURE", "CREATE_DYNAMIC_TOPIC", "START_FETCH",
        "START_PUBLISH", "HANDLE_ERROR", "RESET_ERROR", "CREATE_NEW_TOPIC",
        "FetchingData", "CreatingTopic", "## Projection",
    };
    size_t i;

    (void)state;
    load_doc();
    for (i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (strstr(doc, words[i]) == NULL) {
            fail_msg("docs/mealy.md does not mention %s", words[i]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mealy_docs_tables),
        cmocka_unit_test(test_mealy_docs_mentions_seed),
    };
    return cmocka_run_group_tests_name("mealy_docs", tests, NULL, NULL);
}
