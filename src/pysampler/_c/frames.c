/* Walking one thread's frame chain into frame records, in few reads.
 *
 * A chain is a linked list in the target, so each frame's address is only
 * known from the one before.  Consecutive samples of a thread mostly see
 * the same chain, so the addresses walked last time predict this one: from
 * the first frame found among them, the rest are read in one vectored read
 * and then checked link by link (a wrong guess costs a fallback read, never
 * a wrong stack).  Code objects met again are checked in one more vectored
 * read against what was cached for their address. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define PS_BATCH_FRAMES 512
#define PS_MAX_SPAN (64 * 1024)
#define PS_MAX_RUNS 32
#define PS_PAGE 4096
#define PS_WINDOW_PAGES 16

/* The cached chain of the thread whose PyThreadState is at tstate. */
static ps_thread_frames *chain_cache(ps_unwinder *u, uint64_t tstate)
{
    ps_thread_frames *oldest = &u->walk.chains[0];
    for (int i = 0; i < PS_CHAIN_CACHE; i++) {
        ps_thread_frames *c = &u->walk.chains[i];
        if (c->tstate == tstate) {
            c->used = u->serial;
            return c;
        }
        if (c->used < oldest->used) {
            oldest = c;
        }
    }
    ps_chain_link *links = oldest->links;
    uint64_t *addrs = oldest->addrs;
    uint32_t capacity = oldest->capacity;
    *oldest = (ps_thread_frames){.tstate = tstate, .used = u->serial, .addrs = addrs,
                                 .links = links, .capacity = capacity};
    return oldest;
}

/* Remember the chain just walked and checked; its code entries follow once
 * resolved (remember_entries).  The mark read at the previous snapshot,
 * before any of its frames were read, becomes what it is judged by. */
static int remember_chain(ps_thread_frames *c, const ps_chain_link *links, uint32_t n)
{
    if (n > c->capacity) {
        uint64_t *addrs = realloc(c->addrs, n * sizeof *addrs);
        ps_chain_link *kept = addrs ? realloc(c->links, n * sizeof *kept) : NULL;
        if (addrs) {
            c->addrs = addrs;
        }
        if (!kept) {
            c->count = 0;
            return PS_ENOMEM;
        }
        c->links = kept;
        c->capacity = n;
    }
    for (uint32_t i = 0; i < n; i++) {
        c->addrs[i] = links[i].frame;
        c->links[i] = links[i];
    }
    c->count = n;
    c->checked = 1;
    c->resolved = 0;
    c->basis = c->previous;
    return PS_OK;
}

/* Once every link of the chain remembered has its code entry. */
static void remember_entries(ps_thread_frames *c, const ps_chain_link *links, uint32_t n)
{
    if (c->count != n) {
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        c->links[i].entry = links[i].entry;
    }
    c->resolved = 1;
}

static int push_link(ps_walk_cache *w, const ps_chain_link *link)
{
    if (w->link_count == w->link_capacity) {
        ps_chain_link *links =
            ps_grow(w->links, w->link_count, &w->link_capacity, sizeof *links, 256);
        if (!links) {
            return PS_ENOMEM;
        }
        w->links = links;
    }
    w->links[w->link_count++] = *link;
    return PS_OK;
}

/* Segments read ahead of a batch of frames, in the same call. */
#define PS_CHECKS 2

static int read_segments(ps_unwinder *u, const ps_segment *segs, int n, int fresh)
{
    return fresh ? ps_read_many_fresh(&u->reader, segs, n) : ps_read_many(&u->reader, segs, n);
}

/* The frames at addrs[0..n) as a few spans of memory, when they sit close
 * together (3.11+ keep frames on data-stack chunks, and 3.8-3.10's frame
 * objects mostly share a few allocator pools): the kernel's cost is per
 * range far more than per byte (some 0.16 us a range against 10 us for
 * 180 KiB), so copying what lies between frames is cheaper than one range
 * per frame.  Frames near each other form a run; all runs are read in one
 * vectored read.  Frame i lands at u->walk.batch.p + i * size. */
static int read_runs(ps_unwinder *u, const uint64_t *addrs, uint32_t n, size_t size,
                     const ps_segment *checks, int check_count)
{
    uint64_t lo[PS_MAX_RUNS], hi[PS_MAX_RUNS];
    uint32_t run_of[PS_BATCH_FRAMES];
    int runs = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t a = addrs[i];
        int r = runs - 1;
        if (r >= 0) {
            uint64_t new_lo = a < lo[r] ? a : lo[r], new_hi = a > hi[r] ? a : hi[r];
            /* Joined when it adds no more than PS_JOIN_GAP of memory between
             * frames (then the prefetch, which joins ranges by the same
             * rule, holds the run whole). */
            if (new_hi - new_lo + size <= PS_MAX_SPAN &&
                new_hi - new_lo <= hi[r] - lo[r] + size + PS_JOIN_GAP) {
                lo[r] = new_lo;
                hi[r] = new_hi;
                run_of[i] = (uint32_t)r;
                continue;
            }
        }
        if (runs == PS_MAX_RUNS) {
            return 0;
        }
        lo[runs] = hi[runs] = a;
        run_of[i] = (uint32_t)runs++;
    }
    if (n < 4 || (uint32_t)runs * 4 > n) {
        return 0; /* scattered frames: one range each is better */
    }
    size_t frames_at = (size_t)n * size, total = 0, at[PS_MAX_RUNS];
    for (int r = 0; r < runs; r++) {
        at[r] = frames_at + total;
        total += (size_t)(hi[r] - lo[r]) + size;
    }
    if (ps_buffer_reserve(&u->walk.batch, frames_at + total) != PS_OK) {
        return 0;
    }
    ps_segment segs[PS_CHECKS + PS_MAX_RUNS];
    for (int c = 0; c < check_count; c++) {
        segs[c] = checks[c];
    }
    for (int r = 0; r < runs; r++) {
        segs[check_count + r] =
            (ps_segment){lo[r], u->walk.batch.p + at[r], (size_t)(hi[r] - lo[r]) + size};
    }
    if (read_segments(u, segs, check_count + runs, checks != NULL) != check_count + runs) {
        return 0;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint32_t r = run_of[i];
        unsigned char *batch = u->walk.batch.p;
        memcpy(batch + (size_t)i * size, batch + at[r] + (addrs[i] - lo[r]), size);
    }
    return 1;
}

/* How much of each frame the walk reads: a whole _PyInterpreterFrame
 * (3.11+), or the head of a frame object up to the fields it needs (3.8-3.10
 * frame objects end in a block stack of some 240 bytes never looked at). */
static size_t frame_read_size(const ps_unwinder *u)
{
    const ps_layout *L = &u->layout;
    if (L->frame_lasti == PS_ABSENT) {
        return (size_t)L->frame_size;
    }
    int32_t end = L->frame_previous > L->frame_code ? L->frame_previous : L->frame_code;
    end = (L->frame_lasti > end ? L->frame_lasti : end) + 8;
    return end < L->frame_size ? (size_t)end : (size_t)L->frame_size;
}

/* read_frames when the frames are too scattered for runs: one range each. */
static uint32_t read_one_by_one(ps_unwinder *u, const uint64_t *addrs, uint32_t n, size_t size,
                                const ps_segment *checks, int check_count)
{
    if (ps_buffer_reserve(&u->walk.batch, (size_t)n * size) != PS_OK) {
        return 0;
    }
    ps_segment segs[PS_CHECKS + PS_BATCH_FRAMES];
    for (int c = 0; c < check_count; c++) {
        segs[c] = checks[c];
    }
    for (uint32_t i = 0; i < n; i++) {
        segs[check_count + (int)i] =
            (ps_segment){addrs[i], u->walk.batch.p + (size_t)i * size, size};
    }
    int got = read_segments(u, segs, check_count + (int)n, checks != NULL) - check_count;
    if (checks && got != (int)n) {
        return 0;
    }
    return got > 0 ? (uint32_t)got : 0;
}

/* Read the frames at addrs[0..n), at most PS_BATCH_FRAMES, into the batch
 * buffer (frame i at u->walk.batch.p + i * frame_read_size); returns how
 * many, from the first, were read whole.  With checks (at most PS_CHECKS
 * segments), those are read first in the same call, and everything from
 * the target, never a prefetch; then all or nothing counts. */
static uint32_t read_frames(ps_unwinder *u, const uint64_t *addrs, uint32_t n,
                            const ps_segment *checks, int check_count)
{
    if (n > PS_BATCH_FRAMES) {
        n = PS_BATCH_FRAMES;
    }
    size_t size = frame_read_size(u);
    return read_runs(u, addrs, n, size, checks, check_count)
               ? n
               : read_one_by_one(u, addrs, n, size, checks, check_count);
}

/* The frame at addr, from memory read around it in one go.  3.11+ push a
 * thread's frames one above the other on its data stack, so the callers of
 * a frame no earlier sample predicted lie just below it; 3.8-3.10's frame
 * objects mostly share a few allocator pools, so they lie around it
 * (`around`).  Reading them with it, in one call, is both far faster than
 * one read per frame and close to a snapshot of a stack that keeps
 * changing: a chain read frame by frame takes long enough for the thread
 * to pop what is still to be read.  The pages are read nearest first, so
 * the window ends where mapped memory does (the kernel stops at the first
 * page it cannot read).  Below-only windows stop at floor's page (when
 * nonzero): the last chain's frames from there down were prefetched.  A
 * few windows are kept: a chain can hop between pools and back. */
static const unsigned char *window_frame(ps_unwinder *u, uint64_t addr, size_t size, int around,
                                         uint64_t floor)
{
    ps_window *w = &u->walk.windows[0];
    for (int i = 0; i < PS_WINDOWS; i++) {
        ps_window *x = &u->walk.windows[i];
        if (addr >= x->lo && addr + size <= x->hi) {
            x->used = ++u->walk.window_clock;
            return x->data.p + (addr - x->base);
        }
        if (x->used < w->used) {
            w = x;
        }
    }
    w->lo = w->hi = 0;
    w->used = ++u->walk.window_clock;
    if (ps_buffer_reserve(&w->data, PS_WINDOW_PAGES * PS_PAGE) != PS_OK) {
        return NULL;
    }
    uint64_t first = addr & ~(uint64_t)(PS_PAGE - 1);
    uint64_t last = (addr + size - 1) & ~(uint64_t)(PS_PAGE - 1);
    int64_t low = around ? (int64_t)(PS_WINDOW_PAGES / 2) : (int64_t)(PS_WINDOW_PAGES - 1) -
                                                                (int64_t)((last - first) / PS_PAGE);
    if ((int64_t)(first / PS_PAGE) - low < 1) {
        low = (int64_t)(first / PS_PAGE) - 1; /* never below the first page */
    }
    uint64_t floor_page = floor & ~(uint64_t)(PS_PAGE - 1);
    if (!around && floor && floor < addr && (int64_t)((first - floor_page) / PS_PAGE) < low) {
        low = (int64_t)((first - floor_page) / PS_PAGE); /* below floor, the prefetch has it */
    }
    w->base = first - (uint64_t)low * PS_PAGE;
    int start = (int)low, top = (int)((last - w->base) / PS_PAGE);
    /* Page indices nearest first: below-only descends from the frame's last
     * page; around alternates above and below its first page. */
    int order[PS_WINDOW_PAGES], n = 0;
    if (!around) {
        for (int i = top; i >= 0; i--) {
            order[n++] = i;
        }
    } else {
        for (int step = 0; n < PS_WINDOW_PAGES && step < PS_WINDOW_PAGES; step++) {
            if (start + step < PS_WINDOW_PAGES) {
                order[n++] = start + step;
            }
            if (step > 0 && start - step >= 0 && n < PS_WINDOW_PAGES) {
                order[n++] = start - step;
            }
        }
    }
    ps_segment segs[PS_WINDOW_PAGES];
    for (int i = 0; i < n; i++) {
        segs[i] = (ps_segment){w->base + (uint64_t)order[i] * PS_PAGE,
                               w->data.p + (size_t)order[i] * PS_PAGE, PS_PAGE};
    }
    /* Memory around a frame, not wanted whole again: the frames found in it
     * are logged for the next prefetch one by one. */
    int got = ps_read_many_fresh(&u->reader, segs, n);
    int lo = PS_WINDOW_PAGES, hi = -1;
    for (int i = 0; i < got; i++) {
        lo = order[i] < lo ? order[i] : lo;
        hi = order[i] > hi ? order[i] : hi;
    }
    /* Both the frame's pages must be in (nearest first: they come first). */
    if (got <= 0 || lo > start || hi < top) {
        return NULL;
    }
    w->lo = w->base + (uint64_t)lo * PS_PAGE;
    w->hi = w->base + (uint64_t)(hi + 1) * PS_PAGE;
    u->walk.windows_filled = 1;
    w->generation = ps_read_generation(&u->reader);
    return w->data.p + (addr - w->base);
}

/* The frame at addr from a window this walk read (the freshest memory it
 * has), or NULL. */
static const unsigned char *windowed_frame(ps_unwinder *u, uint64_t addr, size_t size,
                                           uint64_t *generation)
{
    for (int i = 0; i < PS_WINDOWS && u->walk.windows_filled; i++) {
        ps_window *x = &u->walk.windows[i];
        if (addr >= x->lo && addr + size <= x->hi) {
            x->used = ++u->walk.window_clock;
            *generation = x->generation;
            return x->data.p + (addr - x->base);
        }
    }
    return NULL;
}

/* Where a frame read at data is in its code: 3.11+ its instruction pointer
 * relative to the code's first instruction, 3.8-3.10 f_lasti. */
static int64_t frame_position(const ps_unwinder *u, const unsigned char *data, uint64_t code)
{
    const ps_layout *L = &u->layout;
    if (L->frame_lasti != PS_ABSENT) {
        return field_i32(data, L->frame_lasti);
    }
    return (int64_t)(field_u64(data, L->frame_instr) - (code + (uint64_t)L->code_adaptive));
}

/* Whether the chain just walked ends where a thread's chain starts: an
 * entry frame that C code called (3.11 flags it; 3.12+ begin with a frame
 * of no Python code of their own).  A chain read while the thread changed
 * it can end early, at a stale frame whose caller field was cleared. */
static int chain_rooted(const ps_unwinder *u, uint64_t leaf)
{
    const ps_layout *L = &u->layout;
    if (u->walk.link_count == 0) {
        return leaf == 0; /* a thread with no frame at all, or only cleared ones */
    }
    const ps_chain_link *root = &u->walk.links[u->walk.link_count - 1];
    if (root->generator) {
        return 0; /* a generator's frame, read after it yielded and left the chain */
    }
    if (L->owner_cstack != PS_ABSENT) {
        return root->shim;
    }
    if (L->frame_is_entry != PS_ABSENT) {
        return root->called_from_c;
    }
    return 1;
}

/* Whether every frame of the chain just walked still holds what the walk
 * read (the same caller and code, callers where they called from; 3.8-3.10's
 * frame objects also still alive), read again from the target in one go,
 * its first n links (the rest are below the mark).  When the thread has
 * returned into the chain meanwhile, the frames it left are dropped and
 * the rest checked: a stack it had, a moment later.  A chain read while the
 * thread changes it can be stitched from two stacks that each existed, and
 * pass every other check: 3.8-3.10's frames are heap objects, reused from
 * free lists elsewhere in the stack by a thread that returned and called
 * again; 3.11+'s data stack slots are reused by the next call. */
static int chain_unchanged(ps_unwinder *u, const ps_frame_anchor *anchor, uint64_t leaf,
                           uint32_t n)
{
    const ps_layout *L = &u->layout;
    size_t size = frame_read_size(u);
    int heap = L->frame_lasti != PS_ABSENT;
    const ps_chain_link *links = u->walk.links;
    uint32_t total = u->walk.link_count;
    uint64_t addrs[PS_BATCH_FRAMES];
    uint64_t current = 0, cframe = anchor->cframe;
    uint32_t left = 0; /* frames the thread has returned from */
    ps_segment checks[PS_CHECKS] = {{anchor->frame_at, &current, 8}, {anchor->cframe_at, &cframe, 8}};
    for (uint32_t from = 0; from < n || from == 0; from += PS_BATCH_FRAMES) {
        uint32_t count = n - from < PS_BATCH_FRAMES ? n - from : PS_BATCH_FRAMES;
        for (uint32_t k = 0; k < count; k++) {
            addrs[k] = links[from + k].frame;
        }
        /* With the first frames, where the thread's current frame is: a
         * chain walked from a current frame the thread has since left is
         * stale memory above its stack, held still for nobody. */
        int check_count = from > 0 ? 0 : anchor->cframe_at ? 2 : 1;
        if (read_frames(u, addrs, count, from > 0 ? NULL : checks, check_count) != count ||
            (from == 0 && cframe != anchor->cframe)) {
            return 0;
        }
        if (from == 0 && current != leaf) {
            /* The thread has returned since, into a frame of this chain:
             * from that frame down, the chain is still its stack. */
            while (left < n && (links[left].frame != current || links[left].shim)) {
                left++;
            }
            if (left == 0 || left == n) {
                return 0;
            }
        }
        for (uint32_t k = 0; k < count; k++) {
            if (from + k < left) {
                continue; /* returned from: dropped */
            }
            const unsigned char *data = u->walk.batch.p + (size_t)k * size;
            const ps_chain_link *link = &links[from + k];
            uint64_t caller = from + k + 1 < total ? link[1].frame : 0;
            uint64_t code = field_u64(data, L->frame_code) & (heap ? ~0ULL : ~u->executable_tag_bits);
            /* A caller stays where it called from while its callee runs;
             * the frame the thread returned to runs on from where it was. */
            int moved = from + k > left && !link->shim &&
                        frame_position(u, data, link->code) != link->instr_delta;
            if ((heap && (int64_t)field_u64(data, 0) <= 0) ||
                field_u64(data, L->frame_previous) != caller ||
                (!link->shim && code != link->code) || moved) {
                return 0;
            }
        }
    }
    if (left > 0) {
        memmove(u->walk.links, u->walk.links + left, (total - left) * sizeof *u->walk.links);
        u->walk.link_count = total - left;
    }
    return 1;
}

/* Whether the chain just walked is, frame for frame and code for code, the
 * one remembered for the thread, which was checked whole when first seen:
 * a stack the thread has had, however its reads were timed. */
static int same_as_checked(const ps_unwinder *u, const ps_thread_frames *c)
{
    if (!c->checked || c->count != u->walk.link_count) {
        return 0;
    }
    for (uint32_t i = 0; i < c->count; i++) {
        const ps_chain_link *was = &c->links[i], *now = &u->walk.links[i];
        if (was->frame != now->frame || was->code != now->code ||
            (i > 0 && !now->shim && was->instr_delta != now->instr_delta)) {
            return 0;
        }
    }
    return 1;
}

/* The frames of the chain just walked, and how many the prefetch held. */
static void count_frames(ps_unwinder *u)
{
    for (uint32_t i = 0; i < u->walk.link_count; i++) {
        const ps_chain_link *link = &u->walk.links[i];
        if (!link->shim) {
            u->counters.frames++;
            u->counters.frames_cached += link->below_mark ||
                                         (link->generation == u->prefetch.prefetch_read &&
                                          u->prefetch.prefetch_read != 0);
        }
    }
}

/* 3.11+ push a call's frame just above its caller's on the data stack: the
 * next snapshot may find the thread a few calls deeper, so what lies above
 * the leaf is prefetched too: 1 KiB (in two parts at a page boundary: the
 * page above may not be mapped), and up to the highest leaf of the
 * thread's recent samples (a stack that grows and shrinks is found in
 * memory read ahead wherever it has reached).  The high-water mark is
 * forgotten now and then, as stacks move on. */
#define PS_ABOVE_LEAF 1024
#define PS_ABOVE_MOST (32 * 1024)
#define PS_HIGH_WATER_SNAPSHOTS 1024
#define PS_STILL_SNAPSHOTS 64
static void hint_above_leaf(ps_unwinder *u, ps_thread_frames *c)
{
    if (u->layout.frame_lasti != PS_ABSENT || u->walk.link_count == 0) {
        return;
    }
    /* A leaf that has held still for a while is not read around: the
     * first snapshot after it moves reads what it needs, and hints resume. */
    if (c->count == 0 || c->links[0].frame != u->walk.links[0].frame) {
        c->leaf_moved = u->serial;
    }
    if (u->serial - c->leaf_moved > PS_STILL_SNAPSHOTS) {
        return;
    }
    uint64_t start = u->walk.links[0].frame + frame_read_size(u);
    uint64_t end = start + PS_ABOVE_LEAF, page_end = (start | (PS_PAGE - 1)) + 1;
    if (end <= page_end) {
        ps_prefetch_hint(&u->reader, start, PS_ABOVE_LEAF);
    } else {
        ps_prefetch_hint(&u->reader, start, (size_t)(page_end - start));
        ps_prefetch_hint(&u->reader, page_end, (size_t)(end - page_end));
    }
    if (u->serial - c->high_since >= PS_HIGH_WATER_SNAPSHOTS || c->high < start ||
        c->high - start > PS_ABOVE_MOST) {
        c->high = start;
        c->high_since = u->serial;
    }
    if (c->high + PS_ABOVE_LEAF > end) {
        ps_prefetch_hint(&u->reader, end, (size_t)(c->high + PS_ABOVE_LEAF - end));
    }
}

/* ---- CPython 3.15's profiler mark ---------------------------------------
 *
 * A 3.15 thread state holds last_profiled_frame, a frame pointer a profiler
 * sets; when that frame returns (or yields) the interpreter moves it to the
 * caller and counts the move in last_profiled_frame_seq.  So, read at two
 * moments T0 < T1, a mark with the same seq both times was on frames that
 * did not return in between: the frame it is on at T1, and everything below
 * it, are the frames a chain read after T0 found there.  With a greater seq
 * it moved down, one caller per count; if it was on a live frame at T0, it
 * is on a caller of that frame, alive throughout, and again the chain read
 * after T0 has it and what lies below.  (A mark pysampler writes can land on
 * a frame that returned just before the write, where it tracks nothing: a
 * seq greater than the first reading after the write shows it has moved to
 * a live caller since.)
 *
 * The basis of a chain is the mark read at the snapshot before the chain's
 * frames were read, nothing written since; what the walk then reuses ends
 * at the mark's frame, which is read again (for its instruction) and must
 * still have the cached caller and code.  A shim frame is never trusted: an
 * entry frame leaves without moving the mark. */
#define PS_NO_REUSE UINT32_MAX

/* The mark's frame in the thread's remembered chain, when the mark read now
 * proves it and every frame below it unchanged; else PS_NO_REUSE. */
static uint32_t reuse_at(const ps_thread_frames *c, const ps_profiled_mark *now)
{
    const ps_mark_reading *b = &c->basis;
    if (!now || !now->frame || !c->checked || !c->resolved || !b->usable) {
        return PS_NO_REUSE;
    }
    if (now->seq == b->mark.seq ? now->frame != b->mark.frame
                                : now->seq < b->mark.seq || !b->live) {
        return PS_NO_REUSE;
    }
    for (uint32_t t = 0; t < c->count; t++) {
        if (c->links[t].frame == now->frame) {
            return c->links[t].shim ? PS_NO_REUSE : t;
        }
    }
    return PS_NO_REUSE;
}

/* The mark's frame was just read and pushed, with its caller at previous:
 * when it is still the cached one, append the cached frames below it. */
static int splice_below_mark(ps_unwinder *u, const ps_thread_frames *c, uint32_t t,
                             uint64_t previous)
{
    ps_chain_link *top = &u->walk.links[u->walk.link_count - 1];
    uint64_t caller = t + 1 < c->count ? c->links[t + 1].frame : 0;
    if (top->shim || top->code != c->links[t].code || previous != caller) {
        return 0;
    }
    top->entry = c->links[t].entry;
    top->below_mark = 1;
    for (uint32_t i = t + 1; i < c->count; i++) {
        ps_chain_link link = c->links[i];
        link.below_mark = 1;
        if (push_link(&u->walk, &link) != PS_OK) {
            return 0;
        }
    }
    return 1;
}

/* How far below the leaf the mark may sit before pysampler moves it up:
 * frames above it are read every snapshot, a move costs a write. */
#define PS_MARK_SLACK 8

void ps_walk_keep_mark(ps_unwinder *u, uint64_t tstate, const ps_profiled_mark *now, int walked)
{
    ps_thread_frames *c = chain_cache(u, tstate);
    if (c->just_written) {
        c->live_after = now->seq;
        c->live_known = 1;
        c->just_written = 0;
    }
    c->previous = (ps_mark_reading){*now, 1, c->live_known && now->seq > c->live_after};
    if (!walked || !c->checked || c->count == 0 || u->walk.mark_unwritable) {
        return;
    }
    uint64_t leaf = 0;
    for (uint32_t i = 0; i < c->count && i <= PS_MARK_SLACK; i++) {
        const ps_chain_link *link = &c->links[i];
        if (link->frame == now->frame && !link->shim) {
            return; /* near enough */
        }
        if (!leaf && !link->shim) {
            leaf = link->frame;
        }
    }
    if (!leaf) {
        return;
    }
    int rc = ps_write_ptr(&u->reader, now->at, leaf);
    if (rc == PS_OK) {
        /* The mark moved without a count: readings from before are void. */
        c->previous.usable = c->basis.usable = 0;
        c->just_written = 1;
        c->live_known = 0;
    } else if (rc == PS_EPERM) {
        u->walk.mark_unwritable = 1; /* a reader over a memory image */
    }
}

/* How far down a window around an unpredicted 3.11+ frame at addr need
 * go: to the mark's frame, below which nothing is read; or to the nearest
 * frame below it of the thread's last chain, when the prefetch holds that
 * chain (from there down it has the frames); else 0, no limit (a retry
 * reads afresh, and one window is closest to a snapshot). */
static uint64_t window_floor(const ps_unwinder *u, const ps_thread_frames *c, uint32_t mark_at,
                             uint64_t addr)
{
    if (mark_at != PS_NO_REUSE && c->links[mark_at].frame <= addr) {
        return c->links[mark_at].frame;
    }
    for (uint32_t i = 0; i < c->count && u->prefetch.serving; i++) {
        if (c->links[i].frame < addr && !c->links[i].shim) {
            return c->links[i].frame;
        }
    }
    return 0;
}

/* Pass 1: follow the chain, keeping (code, offset) per frame. */
static int collect_chain(ps_unwinder *u, ps_thread_frames *cache, const ps_frame_anchor *anchor,
                         const ps_profiled_mark *mark, uint64_t frame, uint32_t options)
{
    const ps_layout *L = &u->layout;
    if (options & PS_SNAP_UNCACHED) {
        cache->count = 0; /* nothing predicted: every frame read afresh */
    }
    uint32_t mark_at = reuse_at(cache, mark), read_links = 0;
    uint32_t batch_from = 0, batch_count = 0, next = 0; /* predicted[next] is in the batch */
    uint64_t batch_generation = 0;
    u->walk.link_count = 0;
    for (int i = 0; i < PS_WINDOWS && u->walk.windows_filled; i++) {
        /* what they held is from another moment */
        u->walk.windows[i].lo = u->walk.windows[i].hi = 0;
    }
    u->walk.windows_filled = 0;
    uint64_t leaf = frame;
    int interpreter_frames = L->frame_lasti == PS_ABSENT;
    uint32_t python_links = 0;
    for (int depth = 0; frame; depth++) {
        if (depth >= PS_MAX_DEPTH || !ps_plausible_pointer(frame)) {
            return PS_ECORRUPT;
        }
        size_t size = frame_read_size(u);
        uint64_t generation = 0;
        const unsigned char *data = windowed_frame(u, frame, size, &generation);
        if (data) {
            /* read this walk, later than any prefetch or batch */
            ps_prefetch_log(&u->reader, &(ps_segment){frame, NULL, size}, 1);
        } else if (next < batch_from + batch_count && cache->addrs[next] == frame) {
            data = u->walk.batch.p + (size_t)(next - batch_from) * size;
            generation = batch_generation;
            next++;
        } else {
            uint32_t k = 0;
            while (k < cache->count && cache->addrs[k] != frame) {
                k++;
            }
            /* Below the mark's frame, nothing needs reading. */
            uint32_t end = mark_at != PS_NO_REUSE && k <= mark_at ? mark_at + 1 : cache->count;
            if (k < cache->count &&
                (batch_count = read_frames(u, cache->addrs + k, end - k, NULL, 0)) > 0) {
                batch_from = k;
                batch_generation = generation = ps_read_generation(&u->reader);
                data = u->walk.batch.p;
                next = k + 1;
            } else if ((data = ps_prefetched(&u->reader, frame, size)) != NULL) {
                batch_count = 0; /* a frame above the last leaf */
                generation = u->prefetch.prefetch_read;
            } else if ((data = window_frame(u, frame, size, !interpreter_frames,
                                            window_floor(u, cache, mark_at, frame))) != NULL) {
                batch_count = 0;
                generation = ps_read_generation(&u->reader);
                ps_prefetch_log(&u->reader, &(ps_segment){frame, NULL, size}, 1);
            } else {
                batch_count = 0;
                int rc = ps_buffer_reserve(&u->scratch, size);
                if (rc == PS_OK) {
                    rc = ps_read(&u->reader, frame, u->scratch.p, size);
                }
                if (rc != PS_OK) {
                    return rc;
                }
                data = u->scratch.p;
                generation = ps_read_generation(&u->reader);
            }
        }
        ps_chain_link link = {frame, 0, -1, 0, 0, 0, 0, PS_NO_CODE_ENTRY, generation, 0};
        uint64_t previous = field_u64(data, L->frame_previous);
        if (interpreter_frames) {
            /* 3.14+: f_executable is a _PyStackRef, tagged in its low bits. */
            link.code = field_u64(data, L->frame_code) & ~u->executable_tag_bits;
            uint64_t instr = field_u64(data, L->frame_instr);
            unsigned char owner = data[L->frame_owner];
            /* owner_cstack is the first owner value of a frame with no Python
             * code of its own: 3.12-3.13 CSTACK (3, the last); 3.14
             * INTERPRETER (3) and CSTACK (4); 3.15 INTERPRETER (3) and
             * THREAD_STATE (4). */
            link.shim = L->owner_cstack != PS_ABSENT && owner >= L->owner_cstack;
            link.called_from_c = L->frame_is_entry != PS_ABSENT && data[L->frame_is_entry] != 0;
            link.generator = owner == L->owner_generator;
            uint64_t first = link.code + (uint64_t)L->code_adaptive;
            link.instr_delta = (int64_t)(instr - first);
            if (link.instr_delta >= 0 && link.instr_delta < (1 << 30)) {
                link.offset = (int32_t)link.instr_delta;
            }
            if (!link.shim && link.code == 0) {
                /* 3.14+ clear f_executable as they pop a frame: at the leaf
                 * that frame is leaving and its caller is the thread's
                 * frame.  Anywhere else (or before 3.14, where a stale
                 * frame pointer can land in a fresh zeroed chunk) the chain
                 * was read while it changed. */
                if (python_links > 0 || L->minor < 14) {
                    return PS_ECORRUPT;
                }
                frame = previous;
                continue;
            }
        } else {
            /* A frame object that has returned waits, with no reference, for
             * reuse in a free list whose links are its f_back: read stale,
             * it would end the chain early.  (ob_refcnt leads the object in
             * every build pysampler reads.) */
            if ((int64_t)field_u64(data, 0) <= 0) {
                return PS_ECORRUPT;
            }
            link.code = field_u64(data, L->frame_code);
            link.generator = field_u64(data, L->frame_gen) != 0;
            int32_t lasti = field_i32(data, L->frame_lasti);
            /* 3.10 counts f_lasti in 2-byte code units, 3.8-3.9 in bytes. */
            link.offset = lasti < 0 ? -1 : (L->minor >= 10 ? lasti * 2 : lasti);
            link.instr_delta = lasti;
        }
        /* A frame torn by the running thread, or garbage: stop at once rather
         * than follow it (a loop would cost PS_MAX_DEPTH reads). */
        if (!link.shim && !ps_plausible_pointer(link.code)) {
            return PS_ECORRUPT;
        }
        /* A short loop is caught here; a longer one ends at PS_MAX_DEPTH,
         * mostly from memory already read. */
        uint32_t walked = u->walk.link_count;
        if (previous == frame || (walked > 0 && u->walk.links[walked - 1].frame == previous) ||
            (walked > 1 && u->walk.links[walked - 2].frame == previous)) {
            return PS_ECORRUPT;
        }
        int rc = push_link(&u->walk, &link);
        if (rc != PS_OK) {
            return rc;
        }
        python_links += !link.shim;
        if (mark_at != PS_NO_REUSE && frame == cache->links[mark_at].frame) {
            read_links = u->walk.link_count;
            if (splice_below_mark(u, cache, mark_at, previous)) {
                break;
            }
            u->walk.link_count = read_links;
            read_links = 0;
            mark_at = PS_NO_REUSE; /* not the frame it was: walk on */
        }
        frame = previous;
    }
    if (!chain_rooted(u, leaf)) {
        return PS_ECORRUPT;
    }
    /* A chain is read whole again unless it is one checked before: even
     * one vectored read is no snapshot (the kernel copies range by range
     * while the thread runs on, and a thread that returned and called again
     * meanwhile fills the same addresses with other frames).  Below the
     * mark, nothing can have changed. */
    int checked = u->walk.link_count == 0 || same_as_checked(u, cache) ||
                  chain_unchanged(u, anchor, leaf, read_links ? read_links : u->walk.link_count);
    if (!checked) {
        /* Torn above the mark, if a mark proved the cached chain: keep it for
         * the retry, which reads only what lies above the mark again. */
        if (mark_at == PS_NO_REUSE) {
            cache->count = 0;
        }
        return PS_ECORRUPT;
    }
    count_frames(u);
    hint_above_leaf(u, cache);
    return remember_chain(cache, u->walk.links, u->walk.link_count);
}

/* The fields that identify a code object, read from a window starting at
 * window_at; compared with the cache entry. */
static int entry_still_valid(const ps_unwinder *u, const ps_code_entry *e, const unsigned char *w)
{
    const ps_layout *L = &u->layout;
    int32_t at = u->walk.code_window_at;
    int32_t qualname = L->code_qualname != PS_ABSENT ? L->code_qualname : L->code_name;
    if (u->code_type && field_u64(w, L->object_type - at) != u->code_type) {
        return 0;
    }
    return field_u64(w, L->code_filename - at) == e->filename_ptr &&
           field_u64(w, qualname - at) == e->qualname_ptr &&
           field_u64(w, L->code_linetable - at) == e->linetable_ptr &&
           field_i32(w, L->code_firstlineno - at) == e->firstlineno;
}

/* The smallest window of a code object holding the identifying fields. */
static void code_window(ps_unwinder *u)
{
    const ps_layout *L = &u->layout;
    int32_t qualname = L->code_qualname != PS_ABSENT ? L->code_qualname : L->code_name;
    int32_t offsets[] = {L->object_type, L->code_filename, qualname, L->code_linetable,
                         L->code_firstlineno};
    int32_t lo = offsets[0], hi = offsets[0] + 8;
    for (size_t i = 1; i < sizeof offsets / sizeof offsets[0]; i++) {
        lo = offsets[i] < lo ? offsets[i] : lo;
        hi = offsets[i] + 8 > hi ? offsets[i] + 8 : hi;
    }
    u->walk.code_window_at = lo;
    u->walk.code_window_size = hi - lo;
}

/* Pass 2: find each link's code entry, checking cached ones in batches. */
static int resolve_codes(ps_unwinder *u)
{
    const ps_layout *L = &u->layout;
    ps_code_cache *codes = &u->codes;
    if (u->walk.code_window_size == 0) {
        code_window(u);
    }
    size_t wsize = (size_t)u->walk.code_window_size;
    ps_segment segs[PS_BATCH_FRAMES];
    uint32_t pending[PS_BATCH_FRAMES];
    int n = 0;
    uint64_t last_code = 0;
    uint32_t last_entry = PS_NO_CODE_ENTRY;
    for (uint32_t i = 0; i <= u->walk.link_count; i++) {
        ps_chain_link *link = i < u->walk.link_count ? &u->walk.links[i] : NULL;
        if (link && link->below_mark) {
            if (!link->shim) { /* alive since it was last found valid: so is its code */
                ps_code_cache_entry(codes, link->entry)->checked = u->serial;
            }
        } else if (link && !link->shim && link->code == last_code) {
            link->entry = last_entry; /* a recursion: its code was just looked up */
        } else if (link && !link->shim) {
            link->entry = ps_code_cache_find(codes, link->code);
            last_code = link->code;
            last_entry = link->entry;
            ps_code_entry *e =
                link->entry != PS_NO_CODE_ENTRY ? ps_code_cache_entry(codes, link->entry) : NULL;
            /* Checked every snapshot: a code object freed and another
             * allocated at its address within milliseconds is common at
             * start-up (module code runs once, then goes). */
            if (e && e->checked != u->serial) {
                if (ps_buffer_reserve(&u->walk.batch, (size_t)(n + 1) * wsize) != PS_OK) {
                    return PS_ENOMEM;
                }
                e->checked = u->serial;
                segs[n].addr = link->code + (uint64_t)u->walk.code_window_at;
                segs[n].len = wsize;
                pending[n++] = link->entry;
            }
        }
        if (n == PS_BATCH_FRAMES || (!link && n > 0)) {
            for (int k = 0; k < n; k++) {
                segs[k].buf = u->walk.batch.p + (size_t)k * wsize;
            }
            int got = ps_read_many(&u->reader, segs, n);
            for (int k = 0; k < n; k++) {
                ps_code_entry *e = ps_code_cache_entry(codes, pending[k]);
                if (k >= got || !entry_still_valid(u, e, segs[k].buf)) {
                    e->checked = 0; /* read in full below */
                }
            }
            n = 0;
        }
    }
    int failed = PS_OK;
    uint32_t usable = u->walk.link_count;
    for (uint32_t i = 0; i < u->walk.link_count; i++) {
        ps_chain_link *link = &u->walk.links[i];
        if (link->shim) {
            continue;
        }
        if (link->entry == PS_NO_CODE_ENTRY) {
            link->entry = ps_code_cache_find(codes, link->code); /* read for a link before? */
        }
        if (link->entry == PS_NO_CODE_ENTRY ||
            ps_code_cache_entry(codes, link->entry)->checked != u->serial) {
            int rc = ps_code_entry_read(u, link->code, &link->entry);
            if (rc != PS_OK) {
                failed = rc;
                usable = i;
                break;
            }
            ps_code_cache_entry(codes, link->entry)->checked = u->serial;
        }
        /* 3.11-3.12 start a frame one code unit before its first instruction. */
        uint32_t code_units = ps_code_cache_entry(codes, link->entry)->code_units;
        if (L->code_adaptive != PS_ABSENT &&
            (link->instr_delta < -2 || link->instr_delta > (int64_t)code_units * 2)) {
            u->walk.link_count = i;
            return PS_ECORRUPT; /* the frame changed code while it was read */
        }
    }
    u->walk.link_count = usable;
    return failed;
}

/* The instruction a frame is at: its start, opcode and base opcode, read
 * from the live bytecode (specialization rewrites it as the code runs). */
static void read_instruction(ps_unwinder *u, uint64_t code, const ps_code_entry *e, ps_frame_rec *f)
{
    const ps_layout *L = &u->layout;
    uint64_t at;
    size_t len;
    if (L->code_adaptive != PS_ABSENT) {
        at = code + (uint64_t)L->code_adaptive;
        len = (size_t)e->code_units * 2;
    } else {
        uint64_t size;
        if (!ps_plausible_pointer(e->code_bytes) ||
            ps_read_ptr(&u->reader, e->code_bytes + (uint64_t)L->varobject_size, &size) != PS_OK ||
            size > PS_MAX_LINETABLE) {
            return;
        }
        at = e->code_bytes + (uint64_t)L->bytes_sval;
        len = (size_t)size;
    }
    if ((size_t)f->instr_offset >= len || ps_buffer_reserve(&u->scratch, len) != PS_OK ||
        ps_read(&u->reader, at, u->scratch.p, len) != PS_OK) {
        return;
    }
    int32_t start, opcode, base;
    if (ps_instruction_at(L->major, L->minor, u->scratch.p, len, f->instr_offset, &start,
                          &opcode, &base) == PS_OK) {
        f->instr_offset = start;
        f->opcode = opcode;
        f->base_opcode = base;
    }
}

static int push_marker(ps_unwinder *u, uint32_t kind)
{
    ps_frame_rec marker = {UINT32_MAX, kind, -1, -1, -1, -1, -1, -1, -1};
    return ps_push_frame(u, &marker);
}

/* Whether a Python frame follows link i towards the root. */
static int python_frame_after(const ps_unwinder *u, uint32_t i)
{
    for (uint32_t k = i + 1; k < u->walk.link_count; k++) {
        if (!u->walk.links[k].shim) {
            return 1;
        }
    }
    return 0;
}

/* Pass 3: frame records, leaf first; with PS_SNAP_NATIVE a marker where C
 * code sits between two Python frames (3.12+ leave a shim frame there, 3.11
 * flags the frame C called). */
static int emit_frames(ps_unwinder *u, uint32_t options)
{
    const ps_layout *L = &u->layout;
    int native = (options & PS_SNAP_NATIVE) != 0;
    for (uint32_t i = 0; i < u->walk.link_count; i++) {
        const ps_chain_link *link = &u->walk.links[i];
        int rc = PS_OK;
        if (link->shim) {
            if (native && i > 0 && python_frame_after(u, i)) {
                rc = push_marker(u, PS_FRAME_NATIVE);
            }
            if (rc != PS_OK) {
                return rc;
            }
            continue;
        }
        ps_code_entry *e = ps_code_cache_entry(&u->codes, link->entry);
        ps_frame_rec f = {e->code_id, PS_FRAME_PYTHON, -1, -1, -1, -1, link->offset, -1, -1};
        /* Callers sit at the same call site sample after sample: remember
         * the last two lookups of each code object. */
        uint32_t slot = e->memo_offset[0] == link->offset ? 0
                        : e->memo_offset[1] == link->offset ? 1
                                                            : 2;
        if (slot == 2) {
            slot = e->memo_older;
            e->memo_older ^= 1;
            e->memo_offset[slot] = link->offset;
            ps_linetable_lookup(L->major, L->minor, e->linetable, e->linetable_len,
                                e->firstlineno, link->offset, &e->memo[slot]);
        }
        const ps_location *loc = &e->memo[slot];
        f.lineno = loc->lineno;
        f.end_lineno = loc->end_lineno;
        f.col = loc->col;
        f.end_col = loc->end_col;
        if ((options & PS_SNAP_OPCODES) && link->offset >= 0) {
            read_instruction(u, link->code, e, &f);
        }
        rc = ps_push_frame(u, &f);
        if (rc == PS_OK && native && link->called_from_c && python_frame_after(u, i)) {
            rc = push_marker(u, PS_FRAME_NATIVE);
        }
        if (rc != PS_OK) {
            return rc;
        }
    }
    return PS_OK;
}

int ps_walk_frames(ps_unwinder *u, uint64_t tstate, const ps_frame_anchor *anchor,
                   const ps_profiled_mark *mark, uint64_t frame, uint32_t options)
{
    ps_thread_frames *cache = chain_cache(u, tstate);
    /* Whatever part of the chain could be read is still recorded. */
    int walked = collect_chain(u, cache, anchor, mark, frame, options);
    int resolved = resolve_codes(u);
    if (walked == PS_OK && resolved == PS_OK) {
        remember_entries(cache, u->walk.links, u->walk.link_count);
    }
    int emitted = emit_frames(u, options);
    return walked != PS_OK ? walked : resolved != PS_OK ? resolved : emitted;
}
