/* Walking a target's interpreters, threads and frames into flat records. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"

/* How long the runtime's interpreter list is trusted between reads. */
#define PS_RUNTIME_REREAD_NS 100000000

#ifndef PS_PACKAGE_VERSION
#define PS_PACKAGE_VERSION "0+unknown"
#endif

const char *ps_core_version(void)
{
    return PS_PACKAGE_VERSION;
}

/* ---- small readers ------------------------------------------------------ */

/* Several 8-byte fields of one struct in one read; absent ones read as 0. */
static int read_fields(ps_unwinder *u, uint64_t base, const int32_t *offsets, uint64_t **values,
                       int n)
{
    ps_segment segs[8];
    int used = 0;
    for (int i = 0; i < n && i < 8; i++) {
        *values[i] = 0;
        if (offsets[i] != PS_ABSENT) {
            segs[used++] = (ps_segment){base + (uint64_t)offsets[i], values[i], 8};
        }
    }
    if (ps_read_many(&u->reader, segs, used) == used) {
        return PS_OK;
    }
    return ps_plausible_pointer(base) ? PS_EMEMORY : PS_ECORRUPT;
}

/* ---- records -------------------------------------------------------------- */

int ps_push_frame(ps_unwinder *u, const ps_frame_rec *f)
{
    if (u->frame_count == u->frame_capacity) {
        ps_frame_rec *frames =
            ps_grow(u->frames, u->frame_count, &u->frame_capacity, sizeof *frames, 1024);
        if (!frames) {
            return PS_ENOMEM;
        }
        u->frames = frames;
    }
    u->frames[u->frame_count++] = *f;
    return PS_OK;
}

static ps_thread_rec *push_thread(ps_unwinder *u)
{
    ps_thread_rec *threads =
        ps_grow(u->threads, u->thread_count, &u->thread_capacity, sizeof *threads, 16);
    if (!threads) {
        return NULL;
    }
    u->threads = threads;
    ps_thread_rec *t = &u->threads[u->thread_count++];
    memset(t, 0, sizeof *t);
    return t;
}

/* ---- threads ---------------------------------------------------------------- */

/* Whether the thread is inside an except block: the topmost exception
 * state with an exception set, as sys.exc_info() finds it.  The first item
 * (value, previous) was read with the thread state. */
static int handling_exception(ps_unwinder *u, uint64_t value, uint64_t previous)
{
    const ps_layout *L = &u->layout;
    for (int i = 0; i < PS_MAX_EXC_CHAIN; i++) {
        if (value && value != u->none_address) {
            return 1;
        }
        if (!previous || !ps_plausible_pointer(previous)) {
            return 0;
        }
        ps_segment segs[2] = {
            {previous + (uint64_t)L->err_stackitem_value, &value, 8},
            {previous + (uint64_t)L->err_stackitem_previous, &previous, 8},
        };
        if (ps_read_many(&u->reader, segs, 2) != 2) {
            return 0;
        }
    }
    return 0;
}

/* Versions before 3.11 do not record a thread's TID, but thread_id is its
 * pthread_t: the address of glibc's struct pthread, which holds the TID.
 * Find where by looking for the pid in the main thread's (its TID is the
 * pid), once per unwinder. */
static int32_t pthread_tid_offset(ps_unwinder *u, uint64_t main_pthread)
{
    if (u->pthread_tid_at != -1) {
        return u->pthread_tid_at;
    }
    u->pthread_tid_at = -2;
    int32_t words[512];
    if (!ps_plausible_pointer(main_pthread) ||
        ps_read(&u->reader, main_pthread, words, sizeof words) != PS_OK) {
        return u->pthread_tid_at;
    }
    for (int32_t i = 0; i < 512; i++) {
        if (words[i] == u->target.pid) {
            u->pthread_tid_at = i * 4;
            break;
        }
    }
    return u->pthread_tid_at;
}

static uint64_t native_id_of(ps_unwinder *u, uint64_t pthread, uint64_t main_pthread)
{
    int32_t at = pthread_tid_offset(u, main_pthread);
    int32_t tid = 0;
    if (at < 0 || !ps_plausible_pointer(pthread) ||
        ps_read(&u->reader, pthread + (uint64_t)at, &tid, sizeof tid) != PS_OK || tid <= 0) {
        return 0;
    }
    return (uint64_t)tid;
}

/* How many times a thread's stack is read at one sampling instant before
 * it counts as unreadable. */
#define PS_WALK_ATTEMPTS 8

/* Where the thread's current frame pointer is, given its _PyCFrame (3.11-3.12). */
static ps_frame_anchor frame_anchor(const ps_unwinder *u, uint64_t tstate, uint64_t cframe)
{
    const ps_layout *L = &u->layout;
    if (L->tstate_frame != PS_ABSENT) {
        return (ps_frame_anchor){tstate + (uint64_t)L->tstate_frame, 0, 0};
    }
    return (ps_frame_anchor){cframe + (uint64_t)L->cframe_current_frame,
                             tstate + (uint64_t)L->tstate_cframe, cframe};
}

/* The frame a thread runs now, read afresh from its thread state. */
static int reread_current_frame(ps_unwinder *u, uint64_t tstate, ps_frame_anchor *anchor,
                                uint64_t *frame)
{
    const ps_layout *L = &u->layout;
    if (L->tstate_frame == PS_ABSENT) { /* 3.11-3.12 keep it in a _PyCFrame */
        uint64_t cframe = 0;
        int rc = ps_read_ptr(&u->reader, tstate + (uint64_t)L->tstate_cframe, &cframe);
        if (rc == PS_OK && !ps_plausible_pointer(cframe)) {
            rc = PS_ECORRUPT;
        }
        if (rc != PS_OK) {
            return rc;
        }
        *anchor = frame_anchor(u, tstate, cframe);
    }
    return ps_read_ptr(&u->reader, anchor->frame_at, frame);
}

/* Whether the interpreter's collector is still running, read now: a
 * collection seen before a thread's frames were read may have ended, and
 * the thread gone on, before they were. */
static int still_collecting(ps_unwinder *u, uint64_t interp)
{
    const ps_layout *L = &u->layout;
    uint64_t at = L->interp_gc_collecting != PS_ABSENT
                      ? interp + (uint64_t)L->interp_gc_collecting
                      : u->runtime + (uint64_t)L->runtime_gc_collecting;
    int32_t collecting = 0;
    ps_segment seg = {at, &collecting, sizeof collecting};
    return ps_read_many_fresh(&u->reader, &seg, 1) == 1 && collecting > 0;
}

static int walk_thread(ps_unwinder *u, uint64_t interp, uint64_t tstate, int64_t interp_id,
                       uint64_t holder, uint64_t main_tstate, uint64_t main_ident, uint32_t options,
                       int preloaded, uint64_t *next)
{
    const ps_layout *L = &u->layout;
    int rc = PS_OK;
    if (!preloaded) {
        rc = ps_buffer_reserve(&u->scratch, (size_t)L->tstate_size);
        if (rc == PS_OK) {
            rc = ps_read(&u->reader, tstate, u->scratch.p, (size_t)L->tstate_size);
        }
        if (rc != PS_OK) {
            return rc;
        }
    }
    const unsigned char *ts = u->scratch.p;
    if (field_u64(ts, L->tstate_interp) != interp) {
        return PS_ECORRUPT;
    }
    *next = field_u64(ts, L->tstate_next);
    uint64_t thread_id = field_u64(ts, L->tstate_thread_id);
    int is_main = main_tstate ? tstate == main_tstate : thread_id == main_ident;
    if (((options & PS_SNAP_MAIN_ONLY) && !is_main) ||
        ((options & PS_SNAP_GIL_ONLY) && holder != tstate)) {
        return PS_OK;
    }
    ps_thread_rec *t = push_thread(u);
    if (!t) {
        return PS_ENOMEM;
    }
    t->interpreter_id = interp_id;
    t->tstate = tstate;
    t->thread_id = field_u64(ts, L->tstate_thread_id);
    t->native_id = L->tstate_native_thread_id != PS_ABSENT
                       ? field_u64(ts, L->tstate_native_thread_id)
                       : native_id_of(u, t->thread_id, main_ident);
    /* What the thread state points at, in one read: the current frame
     * (3.11-3.12 keep it in a _PyCFrame) and the topmost exception state. */
    uint64_t frame = L->tstate_frame != PS_ABSENT ? field_u64(ts, L->tstate_frame) : 0;
    uint64_t cframe = L->tstate_cframe != PS_ABSENT ? field_u64(ts, L->tstate_cframe) : 0;
    uint64_t exc_info =
        L->tstate_exc_info != PS_ABSENT ? field_u64(ts, L->tstate_exc_info) : 0;
    uint64_t exc_value = 0, exc_previous = 0;
    ps_segment segs[3];
    int n = 0;
    if (cframe && ps_plausible_pointer(cframe)) {
        segs[n++] = (ps_segment){cframe + (uint64_t)L->cframe_current_frame, &frame, 8};
    }
    if (exc_info && ps_plausible_pointer(exc_info)) {
        segs[n++] = (ps_segment){exc_info + (uint64_t)L->err_stackitem_value, &exc_value, 8};
        segs[n++] = (ps_segment){exc_info + (uint64_t)L->err_stackitem_previous, &exc_previous, 8};
    }
    if (n && ps_read_many(&u->reader, segs, n) != n) {
        exc_value = exc_previous = 0;
    }

    uint32_t index = (uint32_t)(t - u->threads);
    if (holder == tstate) {
        t->status |= PS_THREAD_HAS_GIL;
    }
    if (is_main) {
        t->status |= PS_THREAD_MAIN;
    }
    if (options & PS_SNAP_CPU_STATE) {
        char state = t->native_id ? ps_proc_state(u->target.pid, t->native_id) : 0;
        if (state == 'R') {
            t->status |= PS_THREAD_ON_CPU;
        } else if (!state) {
            t->status |= PS_THREAD_UNKNOWN;
        }
    }
    if (handling_exception(u, exc_value, exc_previous)) {
        u->threads[index].status |= PS_THREAD_HAS_EXCEPTION;
    }
    uint32_t first = u->frame_count;
    ps_frame_anchor anchor = frame_anchor(u, tstate, cframe);
    /* 3.15's profiler mark, as this snapshot found it (frames.c). */
    int marked = (options & PS_SNAP_MARK) && !(options & PS_SNAP_UNCACHED) &&
                 L->tstate_profiled_frame != PS_ABSENT && L->tstate_profiled_seq != PS_ABSENT;
    ps_profiled_mark mark = {0, 0, 0};
    if (marked) {
        mark = (ps_profiled_mark){field_u64(ts, L->tstate_profiled_frame),
                                  field_u64(ts, L->tstate_profiled_seq),
                                  tstate + (uint64_t)L->tstate_profiled_frame};
    }
    for (int attempt = 1;; attempt++) {
        if (options & PS_SNAP_GC) {
            ps_frame_rec gc = {UINT32_MAX, PS_FRAME_GC, -1, -1, -1, -1, -1, -1, -1};
            rc = ps_push_frame(u, &gc);
            if (rc != PS_OK) {
                return rc;
            }
        }
        /* A retry reads what lies above the mark afresh: the mark was read
         * before any of its reads. */
        rc = ps_walk_frames(u, tstate, &anchor, marked ? &mark : NULL, frame, options);
        if ((rc != PS_EMEMORY && rc != PS_ECORRUPT) || attempt == PS_WALK_ATTEMPTS) {
            break;
        }
        /* The thread changed its stack while it was read (frames popped,
         * their memory cleared or unmapped): read it again from the frame
         * it is in now, never keep a torn chain. */
        u->frame_count = first;
        ps_prefetch_distrust(&u->reader);
        if (reread_current_frame(u, tstate, &anchor, &frame) != PS_OK) {
            break;
        }
    }
    if (marked) {
        ps_walk_keep_mark(u, tstate, &mark, rc == PS_OK);
    }
    if ((options & PS_SNAP_GC) && u->frame_count > first && !still_collecting(u, interp)) {
        /* the <GC> leaf pushed first: drop it */
        memmove(&u->frames[first], &u->frames[first + 1],
                (u->frame_count - first - 1) * sizeof *u->frames);
        u->frame_count--;
    }
    t = &u->threads[index];
    t->frame_start = first;
    t->frame_count = u->frame_count - first;
    if (rc == PS_EEXITED || rc == PS_ENOMEM) {
        return rc;
    }
    t->error = rc;
    return PS_OK;
}

/* The interpreter's fields, its GIL and collector state, and (a guess from
 * last time) its main thread state, in one vectored read. */
typedef struct interp_view {
    uint64_t id, head, main_tstate, gil, next, holder;
    int32_t locked, collecting;
    int tstate_preloaded;     /* scratch holds the main thread state */
} interp_view;

static uint64_t fixed_gil(const ps_unwinder *u)
{
    const ps_layout *L = &u->layout;
    if (L->interp_gil == PS_ABSENT && L->runtime_gil_locked != PS_ABSENT) {
        return u->runtime + (uint64_t)L->runtime_gil_locked - (uint64_t)L->gil_locked;
    }
    return 0;
}

static int read_interpreter(ps_unwinder *u, uint64_t interp, uint32_t options, interp_view *v)
{
    const ps_layout *L = &u->layout;
    memset(v, 0, sizeof *v);
    ps_segment segs[10];
    int n = 0;
    int32_t offsets[5] = {L->interp_id, L->interp_threads_head, L->interp_threads_main,
                          L->interp_gil, L->interp_next};
    uint64_t *values[5] = {&v->id, &v->head, &v->main_tstate, &v->gil, &v->next};
    for (int i = 0; i < 5; i++) {
        if (offsets[i] != PS_ABSENT) {
            segs[n++] = (ps_segment){interp + (uint64_t)offsets[i], values[i], 8};
        }
    }
    int fields = n;
    uint64_t gil = fixed_gil(u) ? fixed_gil(u) : u->runtime_cache.gil;
    if (gil) {
        segs[n++] = (ps_segment){gil + (uint64_t)L->gil_locked, &v->locked, 4};
        segs[n++] = (ps_segment){gil + (uint64_t)L->gil_last_holder, &v->holder, 8};
    }
    if (L->interp_gc_collecting != PS_ABSENT) {
        segs[n++] = (ps_segment){interp + (uint64_t)L->interp_gc_collecting, &v->collecting, 4};
    } else if (L->runtime_gc_collecting != PS_ABSENT) {
        segs[n++] = (ps_segment){u->runtime + (uint64_t)L->runtime_gc_collecting, &v->collecting, 4};
    }
    uint64_t guess = u->runtime_cache.main_tstate;
    int speculate = (options & PS_SNAP_MAIN_ONLY) && !(options & PS_SNAP_GIL_ONLY) && guess &&
                    ps_buffer_reserve(&u->scratch, (size_t)L->tstate_size) == PS_OK;
    if (speculate) {
        segs[n++] = (ps_segment){guess, u->scratch.p, (size_t)L->tstate_size};
    }
    int got = ps_read_many(&u->reader, segs, n);
    if (got < fields) {
        return ps_plausible_pointer(interp) ? PS_EMEMORY : PS_ECORRUPT;
    }
    if (!fixed_gil(u) && v->gil != gil) {
        /* The GIL moved (or this is the first look): read it where it is now. */
        u->runtime_cache.gil = v->gil;
        ps_segment again[2] = {
            {v->gil + (uint64_t)L->gil_locked, &v->locked, 4},
            {v->gil + (uint64_t)L->gil_last_holder, &v->holder, 8},
        };
        if (v->gil && ps_read_many(&u->reader, again, 2) != 2) {
            return PS_EMEMORY;
        }
        if (!v->gil) {
            v->locked = 0;
        }
    } else if (got < n - speculate) {
        return PS_EMEMORY;
    }
    if (v->locked <= 0) {
        v->holder = 0;
    }
    v->tstate_preloaded = speculate && got == n && v->main_tstate == guess;
    u->runtime_cache.main_tstate = v->main_tstate;
    return PS_OK;
}

static int walk_interpreter(ps_unwinder *u, uint64_t interp, uint64_t main_ident, uint32_t options,
                            uint64_t *next)
{
    interp_view v;
    int rc = read_interpreter(u, interp, options, &v);
    if (rc != PS_OK) {
        return rc;
    }
    *next = v.next;
    /* When only one thread is wanted and its state is known, go straight to it. */
    uint64_t only = 0;
    if ((options & PS_SNAP_GIL_ONLY) && !((options & PS_SNAP_MAIN_ONLY) && !v.main_tstate)) {
        if (!v.holder || ((options & PS_SNAP_MAIN_ONLY) && v.holder != v.main_tstate)) {
            return PS_OK;
        }
        only = v.holder;
    } else if ((options & PS_SNAP_MAIN_ONLY) && v.main_tstate) {
        only = v.main_tstate;
    }
    uint64_t tstate = only ? only : v.head;
    for (int n = 0; tstate; n++) {
        if (n >= PS_MAX_THREADS || !ps_plausible_pointer(tstate)) {
            return PS_ECORRUPT;
        }
        uint32_t thread_options = options;
        if (!(v.collecting > 0 && v.holder == tstate)) {
            thread_options &= ~(uint32_t)PS_SNAP_GC;
        }
        int preloaded = v.tstate_preloaded && tstate == v.main_tstate;
        rc = walk_thread(u, interp, tstate, (int64_t)v.id, v.holder, v.main_tstate, main_ident,
                         thread_options, preloaded, &tstate);
        if (rc != PS_OK || only) {
            return rc;
        }
    }
    return PS_OK;
}

/* The snapshot proper: the runtime, its interpreters, threads and frames. */
static int walk_runtime(ps_unwinder *u, uint32_t options)
{
    const ps_layout *L = &u->layout;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    int64_t now_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
    int rc = PS_OK;
    /* Interpreters come and go rarely: the runtime's list is re-read every
     * PS_RUNTIME_REREAD_NS, and whenever walking it fails. */
    if (!u->runtime_cache.read_ns || now_ns - u->runtime_cache.read_ns >= PS_RUNTIME_REREAD_NS) {
        int32_t offsets[2] = {L->runtime_interpreters_head, L->runtime_main_thread};
        uint64_t *values[2] = {&u->runtime_cache.interp, &u->runtime_cache.main_ident};
        rc = read_fields(u, u->runtime, offsets, values, 2);
        u->runtime_cache.read_ns = rc == PS_OK ? now_ns : 0;
    }
    uint64_t interp = u->runtime_cache.interp, main_ident = u->runtime_cache.main_ident;
    for (int n = 0; rc == PS_OK && interp; n++) {
        if (n >= PS_MAX_INTERPRETERS || !ps_plausible_pointer(interp)) {
            rc = PS_ECORRUPT;
            break;
        }
        rc = walk_interpreter(u, interp, main_ident, options, &interp);
    }
    if (rc != PS_OK) {
        u->runtime_cache = (ps_runtime_cache){0}; /* read it all again next time */
    }
    if (rc == PS_OK) {
        return PS_OK;
    }
    if (rc != PS_ENOMEM && ps_target_gone(u)) {
        rc = PS_EEXITED;
    }
    char who[64];
    ps_target_name(u, who, sizeof who);
    if (rc == PS_EEXITED) {
        return ps_fail(u, rc, "%s exited", who);
    }
    return ps_fail(u, rc, "%s: %s while walking its threads", who, ps_error_name(rc));
}

int ps_unwinder_snapshot(ps_unwinder *u, uint32_t options)
{
    u->thread_count = 0;
    u->frame_count = 0;
    u->serial++;
    u->error[0] = '\0';
    if (!(options & PS_SNAP_UNCACHED)) {
        ps_prefetch_begin(&u->reader);
    }
    int rc = walk_runtime(u, options);
    ps_prefetch_end(&u->reader);
    return rc;
}

/* ---- lifetime and accessors ------------------------------------------------ */

ps_unwinder *ps_unwinder_alloc(void)
{
    ps_unwinder *u = calloc(1, sizeof *u);
    if (u) {
        ps_strings_init(&u->strings);
        ps_code_cache_init(&u->codes);
        u->pthread_tid_at = -1;
        u->reader.counters = &u->counters;
        ps_prefetch_init(&u->prefetch);
        u->reader.prefetch = &u->prefetch;
    }
    return u;
}

int ps_unwinder_new(int32_t pid, ps_unwinder **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    ps_unwinder *u = ps_unwinder_alloc();
    if (!u) {
        snprintf(errbuf, errlen, "out of memory");
        return PS_ENOMEM;
    }
    int rc = ps_locate(u, pid);
    if (rc == PS_OK && ps_read_cmdline(pid, &u->cmdline, &u->cmdline_length) != PS_OK) {
        rc = ps_fail(u, PS_ENOMEM, "out of memory reading /proc/%d/cmdline", pid);
    }
    if (rc != PS_OK) {
        snprintf(errbuf, errlen, "%s", u->error);
        ps_unwinder_free(u);
        return rc;
    }
    *out = u;
    return PS_OK;
}

void ps_unwinder_free(ps_unwinder *u)
{
    if (!u) {
        return;
    }
    ps_strings_free(&u->strings);
    ps_code_cache_free(&u->codes);
    ps_prefetch_free(&u->prefetch);
    free(u->threads);
    free(u->frames);
    ps_buffer_free(&u->cmdline);
    ps_buffer_free(&u->scratch);
    ps_buffer_free(&u->walk.batch);
    for (int i = 0; i < PS_WINDOWS; i++) {
        ps_buffer_free(&u->walk.windows[i].data);
    }
    free(u->walk.links);
    for (int i = 0; i < PS_CHAIN_CACHE; i++) {
        free(u->walk.chains[i].addrs);
        free(u->walk.chains[i].links);
    }
    if (u->reader.release) {
        u->reader.release(u->reader.ctx);
    }
    free(u->names.entries);
    free(u);
}

const ps_target_info *ps_unwinder_target(const ps_unwinder *u) { return &u->target; }
uint32_t ps_unwinder_thread_count(const ps_unwinder *u) { return u->thread_count; }
const ps_thread_rec *ps_unwinder_threads(const ps_unwinder *u) { return u->threads; }
const ps_frame_rec *ps_unwinder_frames(const ps_unwinder *u) { return u->frames; }
uint32_t ps_unwinder_code_count(const ps_unwinder *u) { return u->codes.records.count; }
const char *ps_unwinder_error(const ps_unwinder *u) { return u->error; }
const ps_read_counters *ps_unwinder_counters(const ps_unwinder *u) { return &u->counters; }

const char *ps_unwinder_cmdline(const ps_unwinder *u, size_t *length)
{
    *length = u->cmdline_length;
    return u->cmdline_length ? (const char *)u->cmdline.p : "";
}

const ps_code_rec *ps_unwinder_code(const ps_unwinder *u, uint32_t code_id)
{
    return code_id < u->codes.records.count ? ps_vec_at(&u->codes.records, code_id) : NULL;
}

const char *ps_unwinder_string(const ps_unwinder *u, uint32_t string_id, size_t *length)
{
    if (string_id >= ps_strings_count(&u->strings)) {
        *length = 0;
        return NULL;
    }
    const ps_string *s = ps_strings_at(&u->strings, string_id);
    *length = s->length;
    return s->text;
}

const char *ps_unwinder_opname(const ps_unwinder *u, int32_t opcode)
{
    if (!u->opnames || opcode < 0 || opcode > 255) {
        return NULL;
    }
    return u->opnames[opcode];
}
