/* The sampling loop: a thread of its own that snapshots the target at
 * absolute deadlines, interns frames, stacks and threads, and keeps compact
 * samples.  It alone owns what it records: every ~10 ms it turns what is new
 * into a batch and leaves it in an outbox, the only place it takes a lock,
 * and Python drains the outbox in batches. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "core.h"

#define NS_PER_S 1000000000LL

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdULL;
}

static uint64_t hash_frame(const void *p)
{
    const ps_frame_entry *f = p;
    uint64_t h = mix(f->code_id, f->kind);
    h = mix(h, (uint64_t)(uint32_t)f->lineno << 32 | (uint32_t)f->end_lineno);
    h = mix(h, (uint64_t)(uint32_t)f->col << 32 | (uint32_t)f->end_col);
    return mix(h, (uint64_t)(uint32_t)f->opcode << 32 | (uint32_t)f->base_opcode);
}

static int same_frame(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(ps_frame_entry)) == 0;
}

static uint64_t hash_node(const void *p)
{
    const ps_stack_node *n = p;
    return mix(n->parent, n->frame);
}

static int same_node(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(ps_stack_node)) == 0;
}

static uint64_t hash_thread(const void *p)
{
    const ps_thread_entry *t = p;
    return mix(mix(t->thread_id, t->native_id), (uint64_t)t->interpreter_id);
}

static int same_thread(const void *a, const void *b)
{
    const ps_thread_entry *x = a, *y = b;
    return x->thread_id == y->thread_id && x->native_id == y->native_id &&
           x->interpreter_id == y->interpreter_id;
}

/* How far a thread entry's name is known.  A kernel name is provisional: a
 * thread is seen before threading lists it. */
typedef struct thread_naming {
    uint8_t main;             /* the interpreter's main thread */
    uint8_t settled;          /* named by threading, or MainThread: never looked up again */
} thread_naming;

/* A thread entry already sent whose name became known later. */
typedef struct thread_rename {
    uint32_t thread;
    int64_t name;
} thread_rename;

/* The last stack recorded for a thread, root first, with its node ids:
 * the next sample of that thread mostly repeats it from the root. */
typedef struct last_stack {
    ps_frame_entry *frames;
    uint32_t *nodes;
    uint32_t count, capacity;
} last_stack;

/* What the drain reports of a running session between publications. */
typedef struct ps_tally {
    uint64_t taken, failed, late;
    int64_t elapsed_ns;
} ps_tally;

/* Batches published and not yet drained.  A full outbox (a drain long
 * overdue) defers publishing: what is new waits in the sampler. */
#define PS_OUTBOX 64

struct ps_sampler {
    ps_unwinder *u;
    ps_sampler_config config;
    pthread_t thread;
    int started;
    atomic_int stop_requested;
    atomic_int joined;        /* the sampling thread has ended and been joined */
    int64_t start_ns;

    /* The sampling thread's alone (the drain's once the thread is joined):
     * nothing here is locked. */
    ps_tally tally;
    ps_vec samples;           /* of ps_sample */
    ps_interner threads, frames, nodes; /* of ps_thread_entry, ps_frame_entry, ps_stack_node */
    ps_vec last_stacks;       /* last_stack per thread entry */
    ps_vec renames;           /* thread_rename: names learnt after a thread was sent */
    ps_vec namings;           /* thread_naming per thread entry */
    int64_t next_naming_ns;   /* when to look again for unsettled threads' names */
    int64_t naming_every_ns;  /* doubles while nothing new is learnt */
    uint32_t threads_sent, frames_sent, nodes_sent, codes_sent, strings_sent;

    /* The tally as of the last sample, for drains between publications. */
    _Atomic uint64_t live_taken, live_failed, live_late;
    _Atomic int64_t live_elapsed_ns;

    /* The hand-off, guarded by lock. */
    pthread_mutex_t lock;
    pthread_cond_t changed;   /* state left PS_SAMPLER_RUNNING */
    int32_t state, error;
    char message[512];
    ps_read_counters counters; /* the unwinder's, as of the last publication */
    ps_batch *outbox[PS_OUTBOX];
    atomic_uint outbox_count; /* written under lock; read without it by the sampling
                                 thread, the only one that adds */

    /* The drains', guarded by drain_lock: where the next batch starts. */
    pthread_mutex_t drain_lock;
    uint32_t thread_next, frame_next, node_next, code_next, string_next;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void sleep_until(int64_t deadline)
{
    struct timespec ts = {(time_t)(deadline / NS_PER_S), (long)(deadline % NS_PER_S)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static int keep_thread(const ps_sampler *s, const ps_thread_rec *t)
{
    if (t->thread_id == s->config.exclude_thread_id && t->thread_id != 0) {
        return 0;
    }
    if (!s->config.all_threads && !(t->status & PS_THREAD_MAIN)) {
        return 0;
    }
    switch (s->config.mode) {
    case PS_MODE_CPU: return (t->status & PS_THREAD_ON_CPU) != 0;
    case PS_MODE_GIL: return (t->status & PS_THREAD_HAS_GIL) != 0;
    case PS_MODE_EXCEPTION: return (t->status & PS_THREAD_HAS_EXCEPTION) != 0;
    default: return 1;
    }
}

/* New threads are named at the end of the snapshot that first saw them
 * (one read of threading's table for all of them); those threading did
 * not know yet are looked up again every so often: the main thread is
 * sampled before `threading` exists, a new thread before threading lists it. */
#define NAMING_FIRST_NS 250000000LL
#define NAMING_MOST_NS 8000000000LL

/* Intern one thread's stack (frames leaf first) and record a sample; a
 * thread with no Python frame (starting or ending) gives none. */
static int record(ps_sampler *s, const ps_thread_rec *t, const ps_frame_rec *frames, int64_t at)
{
    if (t->frame_count == 0) {
        return PS_OK;
    }
    ps_thread_entry te = {t->thread_id, t->native_id, t->interpreter_id, -1};
    ps_sample sample = {at, 0, 0, t->status, 0};
    uint32_t known = s->threads.items.count;
    int rc = ps_intern(&s->threads, &te, &sample.thread);
    if (rc == PS_OK && s->threads.items.count > known) {
        s->next_naming_ns = 0; /* name it at the end of this snapshot */
        s->naming_every_ns = NAMING_FIRST_NS;
        thread_naming naming = {(t->status & PS_THREAD_MAIN) != 0, 0};
        rc = ps_vec_push(&s->namings, &naming);
    }
    while (rc == PS_OK && s->last_stacks.count < s->threads.items.count) {
        last_stack empty = {NULL, NULL, 0, 0};
        rc = ps_vec_push(&s->last_stacks, &empty);
    }
    last_stack *last = rc == PS_OK ? ps_vec_at(&s->last_stacks, sample.thread) : NULL;
    if (last && last->capacity < t->frame_count) {
        uint32_t capacity = t->frame_count * 2;
        ps_frame_entry *frames_copy = realloc(last->frames, capacity * sizeof *frames_copy);
        uint32_t *nodes = frames_copy ? realloc(last->nodes, capacity * sizeof *nodes) : NULL;
        if (frames_copy) {
            last->frames = frames_copy;
        }
        if (!nodes) {
            return PS_ENOMEM;
        }
        last->nodes = nodes;
        last->capacity = capacity;
    }
    uint32_t depth = 0, same = 1;
    for (uint32_t k = t->frame_count; rc == PS_OK && k > 0; k--, depth++) {
        const ps_frame_rec *f = &frames[t->frame_start + k - 1];
        ps_frame_entry fe = {f->code_id, f->kind, f->lineno, f->end_lineno, f->col, f->end_col,
                             f->opcode, f->base_opcode};
        same = same && depth < last->count && memcmp(&last->frames[depth], &fe, sizeof fe) == 0;
        if (same) {
            sample.stack = last->nodes[depth];
            continue;
        }
        uint32_t frame_id;
        rc = ps_intern(&s->frames, &fe, &frame_id);
        if (rc == PS_OK) {
            ps_stack_node node = {sample.stack, frame_id};
            rc = ps_intern(&s->nodes, &node, &sample.stack);
        }
        last->frames[depth] = fe;
        last->nodes[depth] = sample.stack;
    }
    if (last) {
        last->count = depth;
    }
    return rc == PS_OK ? ps_vec_push(&s->samples, &sample) : rc;
}

/* Threads whose name is not settled: named by ps_thread_display_name;
 * those already sent in a batch are passed on as renames. */
static int name_threads(ps_sampler *s, int64_t at)
{
    if (at < s->next_naming_ns) {
        return PS_OK;
    }
    if (!s->naming_every_ns) {
        s->naming_every_ns = NAMING_FIRST_NS;
    }
    s->next_naming_ns = at + s->naming_every_ns;
    int looked = 0, settled = 0;
    for (uint32_t i = 0; i < s->threads.items.count; i++) {
        thread_naming *naming = ps_vec_at(&s->namings, i);
        if (naming->settled) {
            continue;
        }
        if (!looked) {
            uint32_t count; /* on failure no thread has a threading name */
            ps_unwinder_thread_names(s->u, &count);
            looked = 1;
        }
        ps_thread_entry *entry = ps_vec_at(&s->threads.items, i);
        uint32_t string_id;
        int named = ps_thread_display_name(s->u, entry->thread_id, entry->native_id, naming->main,
                                           &string_id);
        if (named == PS_NAMED_NOT) {
            continue;
        }
        naming->settled = named != PS_NAMED_BY_KERNEL;
        settled |= naming->settled;
        if (entry->name_id == (int64_t)string_id) {
            continue; /* the kernel's name again, or threading's is the same */
        }
        entry->name_id = string_id;
        if (i < s->threads_sent) {
            thread_rename rename = {i, string_id};
            int rc = ps_vec_push(&s->renames, &rename);
            if (rc != PS_OK) {
                return rc;
            }
        }
    }
    if (looked && !settled && s->naming_every_ns < NAMING_MOST_NS) {
        s->naming_every_ns *= 2; /* threads threading does not know: look less often */
    }
    return PS_OK;
}

/* Whether a thread the session wants has a stack the snapshot could not read. */
static int unreadable(const ps_sampler *s, const ps_unwinder *u)
{
    for (uint32_t i = 0; i < u->thread_count; i++) {
        if (u->threads[i].error != PS_OK && keep_thread(s, &u->threads[i])) {
            return 1;
        }
    }
    return 0;
}

#define PS_FREEZE_ATTEMPTS 4

/* One sampling instant: snapshot the target and record every wanted
 * thread's stack.  *unread counts the wanted threads whose stack could not
 * be read (torn beyond retrying, or gone mid-walk): failed samples; and an
 * instant that gave no stack at all where one was wanted (a wanted thread
 * with no Python frame, or in wall mode no thread at all: a target starting
 * or shutting down) is one failed sample too. */
static int sample_once(ps_sampler *s, int64_t at, uint64_t *unread)
{
    ps_unwinder *u = s->u;
    int32_t pid = u->target.pid;
    uint32_t options = s->config.opcodes ? PS_SNAP_OPCODES : 0;
    if (s->config.mode == PS_MODE_CPU) {
        options |= PS_SNAP_CPU_STATE;
    }
    if (!s->config.all_threads) {
        options |= PS_SNAP_MAIN_ONLY;
    }
    if (s->config.mode == PS_MODE_GIL) {
        options |= PS_SNAP_GIL_ONLY;
    }
    if (s->config.native) {
        options |= PS_SNAP_NATIVE;
    }
    if (s->config.gc) {
        options |= PS_SNAP_GC;
    }
    options |= s->config.uncached ? PS_SNAP_UNCACHED : PS_SNAP_MARK;
    int rc;
    for (int attempt = 1;; attempt++) {
        int frozen = s->config.blocking && ps_freeze(pid) == 0;
        rc = ps_unwinder_snapshot(u, options);
        if (frozen) {
            ps_thaw(pid);
        }
        /* Stopped just where it updates its stack (3.11 unmaps a data stack
         * chunk before it moves its current frame off it), a thread cannot
         * be read until it runs on: let it, and stop it again. */
        if (!frozen || rc != PS_OK || attempt == PS_FREEZE_ATTEMPTS || !unreadable(s, u)) {
            break;
        }
    }
    if (rc != PS_OK) {
        return rc;
    }
    uint32_t recorded = s->samples.count, wanted = 0, unread_before = (uint32_t)*unread;
    for (uint32_t i = 0; i < u->thread_count; i++) {
        const ps_thread_rec *t = &u->threads[i];
        if (!keep_thread(s, t)) {
            continue;
        }
        wanted++;
        if (t->error != PS_OK) {
            (*unread)++;
            continue;
        }
        rc = record(s, t, u->frames, at);
        if (rc != PS_OK) {
            return rc;
        }
    }
    if (s->samples.count == recorded && *unread == unread_before &&
        (wanted > 0 || s->config.mode == PS_MODE_WALL)) {
        (*unread)++;
    }
    return name_threads(s, at);
}

/* ---- batches ------------------------------------------------------------- */

/* A malloc'd copy of items [first, v->count) of v. */
static void *copy_tail(const ps_vec *v, uint32_t first, uint32_t *count)
{
    *count = v->count - first;
    size_t size = (size_t)*count * v->item_size;
    void *copy = malloc(size ? size : 1);
    if (copy && size) {
        memcpy(copy, ps_vec_at(v, first), size);
    }
    return copy;
}

static int copy_strings(const ps_strings *strings, uint32_t first, ps_batch *b)
{
    uint32_t count = ps_strings_count(strings);
    b->string_first = first;
    b->string_count = count - first;
    size_t total = 0;
    for (uint32_t i = first; i < count; i++) {
        total += ps_strings_at(strings, i)->length;
    }
    b->string_ends = malloc(((size_t)b->string_count + 1) * sizeof *b->string_ends);
    b->string_data = malloc(total + 1);
    if (!b->string_ends || !b->string_data || total > UINT32_MAX) {
        return PS_ENOMEM;
    }
    size_t at = 0;
    for (uint32_t i = first; i < count; i++) {
        const ps_string *text = ps_strings_at(strings, i);
        memcpy(b->string_data + at, text->text, text->length);
        at += text->length;
        b->string_ends[i - first] = (uint32_t)at;
    }
    return PS_OK;
}

static int copy_renames(const ps_vec *renames, ps_batch *b)
{
    uint32_t n = renames->count;
    b->rename_thread = malloc(((size_t)n + 1) * sizeof *b->rename_thread);
    b->rename_name = malloc(((size_t)n + 1) * sizeof *b->rename_name);
    if (!b->rename_thread || !b->rename_name) {
        return PS_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        const thread_rename *r = ps_vec_at(renames, i);
        b->rename_thread[i] = r->thread;
        b->rename_name[i] = r->name;
    }
    b->rename_count = n;
    return PS_OK;
}

static int columns(const ps_vec *samples, ps_batch *b)
{
    uint32_t n = samples->count;
    b->sample_count = n;
    b->sample_time_ns = malloc(((size_t)n + 1) * sizeof *b->sample_time_ns);
    b->sample_thread = malloc(((size_t)n + 1) * sizeof *b->sample_thread);
    b->sample_stack = malloc(((size_t)n + 1) * sizeof *b->sample_stack);
    b->sample_status = malloc(((size_t)n + 1) * sizeof *b->sample_status);
    if (!b->sample_time_ns || !b->sample_thread || !b->sample_stack || !b->sample_status) {
        return PS_ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        const ps_sample *sample = ps_vec_at(samples, i);
        b->sample_time_ns[i] = sample->time_ns;
        b->sample_thread[i] = sample->thread;
        b->sample_stack[i] = sample->stack;
        b->sample_status[i] = sample->status;
    }
    return PS_OK;
}

/* Whether anything was recorded since the last batch. */
static int anything_new(const ps_sampler *s)
{
    const ps_unwinder *u = s->u;
    return s->samples.count || s->renames.count || s->threads.items.count > s->threads_sent ||
           s->frames.items.count > s->frames_sent || s->nodes.items.count > s->nodes_sent ||
           u->codes.records.count > s->codes_sent || ps_strings_count(&u->strings) > s->strings_sent;
}

/* A batch of what was recorded since the last one, by whoever owns the
 * recording (the sampling thread, or a drain once it is joined).  Nothing
 * is marked sent: commit_batch does that once the batch is handed over. */
static int build_batch(const ps_sampler *s, ps_batch **out)
{
    *out = NULL;
    const ps_unwinder *u = s->u;
    ps_batch *b = calloc(1, sizeof *b);
    if (!b) {
        return PS_ENOMEM;
    }
    int rc = columns(&s->samples, b);
    b->thread_first = s->threads_sent;
    b->threads = copy_tail(&s->threads.items, s->threads_sent, &b->thread_count);
    b->frame_first = s->frames_sent;
    b->frames = copy_tail(&s->frames.items, s->frames_sent, &b->frame_count);
    b->node_first = s->nodes_sent;
    b->nodes = copy_tail(&s->nodes.items, s->nodes_sent, &b->node_count);
    b->code_first = s->codes_sent;
    b->codes = copy_tail(&u->codes.records, s->codes_sent, &b->code_count);
    if (rc == PS_OK) {
        rc = copy_strings(&u->strings, s->strings_sent, b);
    }
    if (rc == PS_OK) {
        rc = copy_renames(&s->renames, b);
    }
    if (rc == PS_OK && (!b->threads || !b->frames || !b->nodes || !b->codes)) {
        rc = PS_ENOMEM;
    }
    if (rc != PS_OK) {
        ps_batch_free(b);
        return rc;
    }
    *out = b;
    return PS_OK;
}

/* b, built by build_batch, is handed over: the samples and renames it
 * holds go, and the tables' next batch starts where it ends. */
static void commit_batch(ps_sampler *s, const ps_batch *b)
{
    s->samples.count = 0;
    s->renames.count = 0;
    s->threads_sent = b->thread_first + b->thread_count;
    s->frames_sent = b->frame_first + b->frame_count;
    s->nodes_sent = b->node_first + b->node_count;
    s->codes_sent = b->code_first + b->code_count;
    s->strings_sent = b->string_first + b->string_count;
}

/* ---- publishing ------------------------------------------------------------ */

/* How often the sampling thread hands what is new to the outbox. */
#define PUBLISH_EVERY_NS 10000000LL

static void show_tally(ps_sampler *s)
{
    atomic_store_explicit(&s->live_taken, s->tally.taken, memory_order_relaxed);
    atomic_store_explicit(&s->live_failed, s->tally.failed, memory_order_relaxed);
    atomic_store_explicit(&s->live_late, s->tally.late, memory_order_relaxed);
    atomic_store_explicit(&s->live_elapsed_ns, s->tally.elapsed_ns, memory_order_relaxed);
}

/* How a session ends, as the drain reports it. */
typedef struct ending {
    int32_t state, error;
    const char *message;
} ending;

static const char NO_MEMORY[] = "out of memory in the sampler";

/* Build a batch of what is new and leave it in the outbox.  The batch is
 * built before the lock is taken, so the lock is held for the hand-off
 * alone.  With end set, the state leaves PS_SAMPLER_RUNNING in the same
 * hold, so a drain that sees it changed has every sample published; if the
 * batch could not be built, the session fails for want of memory and its
 * last samples wait for the drain after the join. */
static int publish(ps_sampler *s, const ending *end)
{
    ps_batch *b = NULL;
    int rc = PS_OK;
    if (atomic_load_explicit(&s->outbox_count, memory_order_relaxed) < PS_OUTBOX &&
        anything_new(s)) {
        rc = build_batch(s, &b);
    }
    if (b) {
        /* Before the hand-off: once in the outbox, b is the drain's to free.
         * The room checked above is still there, as only this thread adds. */
        commit_batch(s, b);
    }
    ending failed = {PS_SAMPLER_FAILED, rc, NO_MEMORY};
    if (end && rc != PS_OK) {
        end = &failed;
    }
    pthread_mutex_lock(&s->lock);
    if (b) {
        uint32_t count = atomic_load_explicit(&s->outbox_count, memory_order_relaxed);
        s->outbox[count] = b;
        atomic_store_explicit(&s->outbox_count, count + 1, memory_order_relaxed);
    }
    s->counters = s->u->counters;
    if (end) {
        s->state = end->state;
        s->error = end->error;
        snprintf(s->message, sizeof s->message, "%s", end->error != PS_OK ? end->message : "");
        pthread_cond_broadcast(&s->changed);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static void finish(ps_sampler *s, int32_t state, int error, const char *message)
{
    s->tally.elapsed_ns = now_ns() - s->start_ns;
    show_tally(s);
    ending end = {state, error, message};
    publish(s, &end);
}

/* A gap to the next deadline shorter than this is not slept: the sample is
 * taken at once, a little early.  Such a sleep costs more than it waits,
 * even with the timer slack at its least: on a 2-CPU VM it ends ~25-40 µs
 * past its deadline and costs the thread 25-50 µs of CPU (a snapshot takes
 * ~11 µs); at 60 kHz sampling at once served ~60 % of the deadlines at
 * 16 µs of CPU a sample, sleeping ~44 % at 23 µs. */
#define SLEEP_AT_LEAST_NS 20000LL

static void *run(void *arg)
{
    ps_sampler *s = arg;
    /* The kernel may end a sleep as late as the timer slack (50 µs by
     * default), the whole gap between samples at 20 kHz. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    int64_t interval = s->config.interval_ns > 0 ? s->config.interval_ns : 0;
    int64_t end = s->config.duration_ns > 0 ? s->start_ns + s->config.duration_ns : INT64_MAX;
    int64_t next = s->start_ns;
    int64_t publish_at = s->start_ns;
    while (!atomic_load(&s->stop_requested)) {
        int64_t now = now_ns();
        if (now >= end) {
            break;
        }
        uint64_t unread = 0;
        int rc = sample_once(s, now - s->start_ns, &unread);
        now = now_ns();
        s->tally.taken++;
        s->tally.elapsed_ns = now - s->start_ns;
        s->tally.failed += rc != PS_OK ? 1 : unread;
        if (rc == PS_EEXITED) {
            finish(s, PS_SAMPLER_EXITED, PS_OK, "");
            return NULL;
        }
        if (rc == PS_ENOMEM || rc == PS_EPERM) {
            finish(s, PS_SAMPLER_FAILED, rc, s->u->error);
            return NULL;
        }
        if (now >= publish_at) {
            if (publish(s, NULL) != PS_OK) {
                finish(s, PS_SAMPLER_FAILED, PS_ENOMEM, NO_MEMORY);
                return NULL;
            }
            now = now_ns();
            publish_at = now + PUBLISH_EVERY_NS;
        }
        if (interval) {
            next += interval;
            if (next <= now) {
                /* Behind: the last deadline passed is sampled at once, with
                 * no sleep; those before it get no sample and count as late. */
                int64_t missed = (now - next) / interval;
                s->tally.late += (uint64_t)missed;
                next += missed * interval;
            }
        }
        show_tally(s);
        if (next - now >= SLEEP_AT_LEAST_NS) {
            sleep_until(next < end ? next : end);
        }
    }
    finish(s, PS_SAMPLER_STOPPED, PS_OK, "");
    return NULL;
}

int ps_sampler_start(ps_unwinder *u, const ps_sampler_config *config, ps_sampler **out)
{
    *out = NULL;
    if (config->mode > PS_MODE_EXCEPTION || config->interval_ns < 0 || config->duration_ns < 0) {
        return PS_EINVAL;
    }
    ps_sampler *s = calloc(1, sizeof *s);
    if (!s) {
        return PS_ENOMEM;
    }
    s->u = u;
    s->config = *config;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->drain_lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    ps_vec_init(&s->samples, sizeof(ps_sample));
    ps_interner_init(&s->threads, sizeof(ps_thread_entry), hash_thread, same_thread);
    ps_interner_init(&s->frames, sizeof(ps_frame_entry), hash_frame, same_frame);
    ps_interner_init(&s->nodes, sizeof(ps_stack_node), hash_node, same_node);
    ps_vec_init(&s->last_stacks, sizeof(last_stack));
    ps_vec_init(&s->renames, sizeof(thread_rename));
    ps_vec_init(&s->namings, sizeof(thread_naming));
    ps_stack_node empty = {0, UINT32_MAX};
    uint32_t empty_id;
    if (ps_intern(&s->nodes, &empty, &empty_id) != PS_OK) {
        ps_sampler_free(s);
        return PS_ENOMEM;
    }
    s->nodes_sent = s->node_next = 1;
    s->start_ns = now_ns();
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        ps_sampler_free(s);
        return PS_ENOMEM;
    }
    s->started = 1;
    *out = s;
    return PS_OK;
}

void ps_sampler_stop(ps_sampler *s)
{
    if (s && s->started) {
        atomic_store(&s->stop_requested, 1);
        pthread_join(s->thread, NULL);
        s->started = 0;
        atomic_store(&s->joined, 1);
    }
}

int ps_sampler_wait(ps_sampler *s, int64_t timeout_ns)
{
    int64_t deadline = now_ns() + timeout_ns;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t real_deadline = (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec + timeout_ns;
    ts.tv_sec = (time_t)(real_deadline / NS_PER_S);
    ts.tv_nsec = (long)(real_deadline % NS_PER_S);
    pthread_mutex_lock(&s->lock);
    while (s->state == PS_SAMPLER_RUNNING && now_ns() < deadline) {
        if (pthread_cond_timedwait(&s->changed, &s->lock, &ts) == ETIMEDOUT) {
            break;
        }
    }
    int done = s->state != PS_SAMPLER_RUNNING;
    pthread_mutex_unlock(&s->lock);
    return done;
}

void ps_sampler_free(ps_sampler *s)
{
    if (!s) {
        return;
    }
    ps_sampler_stop(s);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->drain_lock);
    pthread_cond_destroy(&s->changed);
    for (uint32_t i = 0; i < atomic_load(&s->outbox_count); i++) {
        ps_batch_free(s->outbox[i]);
    }
    ps_vec_free(&s->samples);
    ps_interner_free(&s->threads);
    ps_interner_free(&s->frames);
    ps_interner_free(&s->nodes);
    for (uint32_t i = 0; i < s->last_stacks.count; i++) {
        last_stack *last = ps_vec_at(&s->last_stacks, i);
        free(last->frames);
        free(last->nodes);
    }
    ps_vec_free(&s->last_stacks);
    ps_vec_free(&s->renames);
    ps_vec_free(&s->namings);
    free(s);
}

/* ---- draining --------------------------------------------------------------- */

/* A column of a batch: the offsets of its pointer and of its item count. */
typedef struct batch_column {
    size_t data, count, item_size;
} batch_column;

#define COLUMN(field, count, type) {offsetof(ps_batch, field), offsetof(ps_batch, count), sizeof(type)}

static const batch_column BATCH_COLUMNS[] = {
    COLUMN(sample_time_ns, sample_count, int64_t),
    COLUMN(sample_thread, sample_count, uint32_t),
    COLUMN(sample_stack, sample_count, uint32_t),
    COLUMN(sample_status, sample_count, uint32_t),
    COLUMN(threads, thread_count, ps_thread_entry),
    COLUMN(frames, frame_count, ps_frame_entry),
    COLUMN(nodes, node_count, ps_stack_node),
    COLUMN(codes, code_count, ps_code_rec),
    COLUMN(string_ends, string_count, uint32_t),
    COLUMN(rename_thread, rename_count, uint32_t),
    COLUMN(rename_name, rename_count, int64_t),
};

#define BATCH_COLUMN_COUNT (sizeof BATCH_COLUMNS / sizeof *BATCH_COLUMNS)

static void **column_data(ps_batch *b, const batch_column *c)
{
    return (void **)((char *)b + c->data);
}

static uint32_t *column_count(ps_batch *b, const batch_column *c)
{
    return (uint32_t *)((char *)b + c->count);
}

/* The bytes of text a batch's strings hold. */
static uint32_t string_bytes(const ps_batch *b)
{
    return b->string_count ? b->string_ends[b->string_count - 1] : 0;
}

/* One batch holding parts[0..n) in order; they are left as they are.  Their
 * table tails are consecutive ranges, so merging is concatenating (string
 * ends moved by the text before them); with n == 0 it is an empty batch
 * whose tables start where `next` says. */
static int merge(ps_batch *const *parts, uint32_t n, const ps_batch *next, ps_batch **out)
{
    ps_batch *b = calloc(1, sizeof *b);
    if (!b) {
        return PS_ENOMEM;
    }
    const ps_batch *first = n ? parts[0] : next;
    b->thread_first = first->thread_first;
    b->frame_first = first->frame_first;
    b->node_first = first->node_first;
    b->code_first = first->code_first;
    b->string_first = first->string_first;
    size_t text = 0;
    for (uint32_t k = 0; k < n; k++) {
        text += string_bytes(parts[k]);
    }
    b->string_data = text <= UINT32_MAX ? malloc(text + 1) : NULL;
    int rc = b->string_data ? PS_OK : PS_ENOMEM;
    for (size_t c = 0; c < BATCH_COLUMN_COUNT && rc == PS_OK; c++) {
        const batch_column *column = &BATCH_COLUMNS[c];
        size_t total = 0;
        for (uint32_t k = 0; k < n; k++) {
            total += *column_count(parts[k], column);
        }
        char *data = total <= UINT32_MAX ? malloc((total + 1) * column->item_size) : NULL;
        *column_data(b, column) = data;
        if (!data) {
            rc = PS_ENOMEM;
            break;
        }
        *column_count(b, column) = (uint32_t)total;
        for (uint32_t k = 0; k < n; k++) {
            size_t size = *column_count(parts[k], column) * column->item_size;
            memcpy(data, *column_data(parts[k], column), size);
            data += size;
        }
    }
    if (rc != PS_OK) {
        ps_batch_free(b);
        return rc;
    }
    uint32_t at = 0, string = 0;
    for (uint32_t k = 0; k < n; k++) {
        const ps_batch *part = parts[k];
        memcpy(b->string_data + at, part->string_data, string_bytes(part));
        for (uint32_t i = 0; i < part->string_count; i++) {
            b->string_ends[string++] += at;
        }
        at += string_bytes(part);
    }
    *out = b;
    return PS_OK;
}

int ps_sampler_drain(ps_sampler *s, ps_batch **out)
{
    *out = NULL;
    pthread_mutex_lock(&s->drain_lock);
    ps_batch *parts[PS_OUTBOX + 1];
    pthread_mutex_lock(&s->lock);
    uint32_t published = atomic_load_explicit(&s->outbox_count, memory_order_relaxed);
    memcpy(parts, s->outbox, published * sizeof *parts);
    int32_t state = s->state, error = s->error;
    char message[sizeof s->message];
    memcpy(message, s->message, sizeof message);
    ps_read_counters counters = s->counters;
    pthread_mutex_unlock(&s->lock);

    /* Once the thread is joined its recording is the drains': what it could
     * not publish (a full outbox, no memory) goes now. */
    ps_batch *rest = NULL;
    int rc = PS_OK;
    if (atomic_load(&s->joined) && anything_new(s)) {
        rc = build_batch(s, &rest);
        counters = s->u->counters;
    }
    uint32_t n = published;
    if (rest) {
        parts[n++] = rest;
    }
    ps_batch *b = n == 1 ? parts[0] : NULL;
    if (rc == PS_OK && !b) {
        ps_batch next = {0};
        next.thread_first = s->thread_next;
        next.frame_first = s->frame_next;
        next.node_first = s->node_next;
        next.code_first = s->code_next;
        next.string_first = s->string_next;
        rc = merge(parts, n, &next, &b);
    }
    if (rc != PS_OK) {
        /* Nothing is taken: a later drain gets it all. */
        ps_batch_free(rest);
        pthread_mutex_unlock(&s->drain_lock);
        return rc;
    }
    if (rest) {
        commit_batch(s, rest);
    }
    pthread_mutex_lock(&s->lock);
    uint32_t count = atomic_load_explicit(&s->outbox_count, memory_order_relaxed);
    memmove(s->outbox, s->outbox + published, (count - published) * sizeof *s->outbox);
    atomic_store_explicit(&s->outbox_count, count - published, memory_order_relaxed);
    pthread_mutex_unlock(&s->lock);
    for (uint32_t k = 0; k < n; k++) {
        if (parts[k] != b) {
            ps_batch_free(parts[k]);
        }
    }
    s->thread_next = b->thread_first + b->thread_count;
    s->frame_next = b->frame_first + b->frame_count;
    s->node_next = b->node_first + b->node_count;
    s->code_next = b->code_first + b->code_count;
    s->string_next = b->string_first + b->string_count;
    pthread_mutex_unlock(&s->drain_lock);

    b->state = state;
    b->error = error;
    memcpy(b->message, message, sizeof b->message);
    b->counters = counters;
    b->taken = atomic_load_explicit(&s->live_taken, memory_order_relaxed);
    b->failed = atomic_load_explicit(&s->live_failed, memory_order_relaxed);
    b->late = atomic_load_explicit(&s->live_late, memory_order_relaxed);
    b->elapsed_ns = atomic_load_explicit(&s->live_elapsed_ns, memory_order_relaxed);
    *out = b;
    return PS_OK;
}

void ps_batch_free(ps_batch *b)
{
    if (!b) {
        return;
    }
    free(b->sample_time_ns);
    free(b->sample_thread);
    free(b->sample_stack);
    free(b->sample_status);
    free(b->threads);
    free(b->frames);
    free(b->nodes);
    free(b->codes);
    free(b->string_ends);
    free(b->string_data);
    free(b->rename_thread);
    free(b->rename_name);
    free(b);
}
