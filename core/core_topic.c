/* core_topic.c: the core's topic table (core_int.h). A bar's topic is its
 * name under the configured template; the first bar bound for a topic
 * that does not exist yet parks in the bar store and asks for it (the
 * publisher's CREATE_DYNAMIC_TOPIC); the Admin request names every topic
 * wanted; each result names its topic: the bars of a topic created go to
 * the publisher at once, those of a topic that failed wait for the next
 * request; the publisher hears of the request when its last result is in.
 * Every change of a topic's state is undone with a failed step. Pure: no
 * I/O, no allocation, no clock. */
#include <string.h>

#include "core_int.h"
#include "md_err.h"

/* ---- names ------------------------------------------------------------ */

static const char *const placeholders[] = {"market", "base", "quote",
                                           "interval", "source"};

static bool legal(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
}

/* The placeholder at p ("{name}"), its index, or -1; *len its length. */
static int placeholder(const char *p, size_t *len)
{
    size_t k;

    for (k = 0; k < sizeof placeholders / sizeof placeholders[0]; k++) {
        size_t n = strlen(placeholders[k]);
        if (p[0] == '{' && strncmp(p + 1, placeholders[k], n) == 0 &&
            p[n + 1] == '}') {
            *len = n + 2;
            return (int)k;
        }
    }
    return -1;
}

int core_topic_template_check(const char *tmpl)
{
    size_t i = 0, len;

    if (tmpl == NULL || tmpl[0] == '\0' ||
        strlen(tmpl) >= CORE_TOPIC_TEMPLATE_MAX) {
        return MD_E_INVAL;
    }
    while (tmpl[i] != '\0') {
        if (tmpl[i] == '{') {
            if (placeholder(tmpl + i, &len) < 0) {
                return MD_E_INVAL;
            }
            i += len;
            continue;
        }
        if (!legal(tmpl[i])) {
            return MD_E_INVAL;
        }
        i++;
    }
    /* "." and ".." are no topic names */
    return strcmp(tmpl, ".") == 0 || strcmp(tmpl, "..") == 0 ? MD_E_INVAL
                                                             : MD_OK;
}

size_t core_topic_render(const char *tmpl, const struct bar *b, char *out,
                         size_t cap)
{
    size_t i = 0, n = 0, len;
    char iv[16];

    if (cap == 0) {
        return 0;
    }
    while (tmpl[i] != '\0') {
        const char *v = NULL;
        int k = tmpl[i] == '{' ? placeholder(tmpl + i, &len) : -1;
        if (k < 0) {
            if (n + 1 >= cap) {
                return 0;
            }
            out[n++] = tmpl[i++];
            continue;
        }
        switch (k) {
        case 0:
            v = b->market;
            break;
        case 1:
            v = b->base;
            break;
        case 2:
            v = b->quote;
            break;
        case 3:
            if (bar_interval_name(b->interval_s, iv, sizeof iv) <= 0) {
                return 0;
            }
            v = iv;
            break;
        default:
            v = bar_source_name(b->source);
            break;
        }
        for (; *v != '\0'; v++) {
            if (n + 1 >= cap) {
                return 0;
            }
            out[n++] = legal(*v) ? *v : '_';
        }
        i += len;
    }
    out[n] = '\0';
    return n;
}

/* ---- the table -------------------------------------------------------- */

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s != '\0'; s++) {
        h = (h ^ (uint8_t)*s) * 16777619u;
    }
    return h;
}

void topics_init(struct core *c)
{
    unsigned k;

    for (k = 0; k <= c->topic_mask; k++) {
        c->topic_index[k] = UINT32_MAX;
    }
}

void topics_save(struct core *c)
{
    if (!c->stg.topics_saved) {
        memcpy(c->stg.topic_state, c->topic_state, c->topic_cap);
        c->stg.topics_saved = true;
    }
}

void topics_restore(struct core *c)
{
    if (c->stg.topics_saved) {
        memcpy(c->topic_state, c->stg.topic_state, c->topic_cap);
    }
}

static void set_state(struct core *c, uint32_t t, uint8_t st)
{
    topics_save(c);
    c->topic_state[t] = st;
}

/* The index of name, added if new; UINT32_MAX when the table is full. An
 * index slot naming a topic at or past n_topics (added by a step that was
 * undone) counts as empty. */
static uint32_t topic_find(struct core *c, const char *name)
{
    uint32_t k = hash(name) & c->topic_mask, t;

    for (;; k = (k + 1) & c->topic_mask) {
        t = c->topic_index[k];
        if (t == UINT32_MAX || t >= c->s.n_topics) {
            break;
        }
        if (strcmp(c->topic[t].name, name) == 0) {
            return t;
        }
    }
    if (c->s.n_topics == c->topic_cap) {
        return UINT32_MAX;
    }
    t = c->s.n_topics++;
    memcpy(c->topic[t].name, name, strlen(name) + 1);
    set_state(c, t, CORE_TOPIC_NEW);
    c->topic_index[k] = t;
    return t;
}

/* A name as a result names it (not NUL-terminated), or UINT32_MAX. */
static uint32_t topic_lookup(const struct core *c, const char *name,
                             size_t len)
{
    char buf[CORE_TOPIC_MAX];
    uint32_t k, t;

    if (name == NULL || len == 0 || len >= sizeof buf) {
        return UINT32_MAX;
    }
    memcpy(buf, name, len);
    buf[len] = '\0';
    for (k = hash(buf) & c->topic_mask;; k = (k + 1) & c->topic_mask) {
        t = c->topic_index[k];
        if (t == UINT32_MAX || t >= c->s.n_topics) {
            return UINT32_MAX;
        }
        if (strcmp(c->topic[t].name, buf) == 0) {
            return t;
        }
    }
}

int topics_of_bar(struct core *c, struct md_bar *m, bool *ready)
{
    uint32_t t;

    if (core_topic_render(c->cfg.topic_template, &m->bar, c->stg.topic_name,
                          sizeof c->stg.topic_name) == 0) {
        return MD_E_INVAL; /* cannot happen: a bar's fields are short */
    }
    t = topic_find(c, c->stg.topic_name);
    if (t == UINT32_MAX) {
        return MD_E_FULL;
    }
    m->topic = c->topic[t].name;
    *ready = c->topic_state[t] == CORE_TOPIC_READY;
    if (c->topic_state[t] == CORE_TOPIC_NEW) {
        set_state(c, t, CORE_TOPIC_WANTED);
        c->stg.topic_wanted = true;
    }
    return MD_OK;
}

size_t topics_ask(struct core *c, struct md_action *a)
{
    uint32_t t;
    size_t n = 0;

    for (t = 0; t < c->s.n_topics; t++) {
        if (c->topic_state[t] == CORE_TOPIC_WANTED) {
            set_state(c, t, CORE_TOPIC_ASKED);
            c->topic_ask[n++] = c->topic[t].name;
        }
    }
    c->s.n_asked = (unsigned)n;
    c->s.admin_failed = false;
    c->st.topics_asked += n;
    a->n = n;
    a->arg = n;
    a->p.topics = c->topic_ask;
    return n;
}

/* The parked bars of topic t go to the queue, in their place; how many. */
static uint64_t release(struct core *c, uint32_t t)
{
    const char *name = c->topic[t].name;
    uint64_t id, n = 0;

    for (id = c->s.lo; id < c->s.next_id; id++) {
        if (c->bar_state[id & (c->bar_cap - 1)] == CORE_BAR_PARKED &&
            bars_at(c, id)->topic == name) {
            bars_set_state(c, id, CORE_BAR_QUEUED);
            n++;
        }
    }
    if (n > 0) {
        bars_queue_rebuild(c);
    }
    return n;
}

int topics_result(struct core *c, const char *name, size_t len, bool ok,
                  uint64_t *released, bool *last)
{
    uint32_t t = topic_lookup(c, name, len);

    *released = 0;
    *last = false;
    if (!bars_ref_room(c, (size_t)c->s.n_parked)) {
        return MD_E_FULL;
    }
    if (ok && t == UINT32_MAX && len > 0 && len < CORE_TOPIC_MAX) {
        /* a topic the shell knows to exist (the broker's metadata),
         * before any bar was bound for it */
        char buf[CORE_TOPIC_MAX];
        memcpy(buf, name, len);
        buf[len] = '\0';
        if (core_topic_template_check(buf) != MD_OK || strchr(buf, '{')) {
            c->st.topic_results_stale++;
            return MD_E_STATE;
        }
        t = topic_find(c, buf);
        if (t == UINT32_MAX) {
            c->st.topic_results_stale++;
            return MD_E_STATE;
        }
    }
    if (ok && t != UINT32_MAX &&
        (c->topic_state[t] == CORE_TOPIC_NEW ||
         c->topic_state[t] == CORE_TOPIC_WANTED)) {
        /* exists, not asked for: ready; no request of the publisher's
         * ends with it */
        set_state(c, t, CORE_TOPIC_READY);
        *released = release(c, t);
        return MD_OK;
    }
    if (t == UINT32_MAX || c->topic_state[t] != CORE_TOPIC_ASKED ||
        c->s.n_asked == 0) {
        c->st.topic_results_stale++;
        return MD_E_STATE;
    }
    if (ok) {
        set_state(c, t, CORE_TOPIC_READY);
        c->st.topics_created++;
        *released = release(c, t);
    } else {
        /* asked again with the next request: the publisher's retry */
        set_state(c, t, CORE_TOPIC_WANTED);
        c->st.topics_failed++;
        c->s.admin_failed = true;
    }
    c->s.n_asked--;
    *last = c->s.n_asked == 0;
    return MD_OK;
}
