/* One read per snapshot in the steady state: what a snapshot asked the
 * target for is, mostly, what the next one asks for (the same interpreter
 * fields and thread state, the same frames when the stack held still, the
 * same code objects).  So each snapshot's requests are logged, and at the
 * start of the next one they are all read in one vectored read; reads
 * asked for inside those ranges are then copied from it.  A prediction
 * only decides what is read: every value still comes from the target, read
 * at the start of this snapshot, and every check the walk makes applies
 * to it as to a fresh read.  A request not wholly predicted is read from
 * the target as it would be without prefetching. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* What one prefetch reads at most: beyond that, the rest is read as asked. */
#define PS_PREFETCH_RANGES 1024
#define PS_PREFETCH_BYTES (256 * 1024)

void ps_prefetch_init(ps_prefetch *p)
{
    memset(p, 0, sizeof *p);
    ps_vec_init(&p->log, sizeof(ps_range));
    ps_vec_init(&p->hints, sizeof(ps_range));
}

void ps_prefetch_free(ps_prefetch *p)
{
    ps_vec_free(&p->log);
    ps_vec_free(&p->hints);
    free(p->ranges);
    free(p->segments);
    ps_buffer_free(&p->data);
}

static int by_address(const void *a, const void *b)
{
    const ps_range *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The log by address: a short log (one busy thread's) by insertion, far
 * cheaper than qsort for a few ranges mostly in order already. */
#define PS_SHORT_LOG 32
static void sort_by_address(ps_range *log, uint32_t n)
{
    if (n > PS_SHORT_LOG) {
        qsort(log, n, sizeof *log, by_address);
        return;
    }
    for (uint32_t i = 1; i < n; i++) {
        ps_range item = log[i];
        uint32_t j = i;
        while (j > 0 && log[j - 1].addr > item.addr) {
            log[j] = log[j - 1];
            j--;
        }
        log[j] = item;
    }
}

/* The log's ranges sorted and merged into p->ranges[0..count), then the
 * hints (speculative: last, where a range that fails to read costs no
 * other, the kernel stopping at the first it cannot read). */
static uint32_t plan(ps_prefetch *p)
{
    uint32_t logged = p->log.count, hinted = p->hints.count, total = logged + hinted;
    if (total > p->capacity) {
        ps_range *ranges = realloc(p->ranges, total * sizeof *ranges);
        ps_segment *segments = ranges ? realloc(p->segments, total * sizeof *segments) : NULL;
        if (ranges) {
            p->ranges = ranges;
        }
        if (!segments) {
            return 0;
        }
        p->segments = segments;
        p->capacity = total;
    }
    ps_range *log = p->log.items;
    sort_by_address(log, logged);
    uint32_t n = 0;
    size_t bytes = 0;
    for (uint32_t i = 0; i < logged; i++) {
        uint64_t end = log[i].addr + log[i].len;
        if (n > 0 && log[i].addr <= p->ranges[n - 1].addr + p->ranges[n - 1].len + PS_JOIN_GAP) {
            ps_range *last = &p->ranges[n - 1];
            if (end > last->addr + last->len) {
                bytes += end - (last->addr + last->len);
                last->len = (size_t)(end - last->addr);
            }
            continue;
        }
        if (n == PS_PREFETCH_RANGES || bytes + log[i].len > PS_PREFETCH_BYTES) {
            break;
        }
        p->ranges[n++] = log[i];
        bytes += log[i].len;
    }
    p->sorted = n;
    const ps_range *hints = p->hints.items;
    for (uint32_t i = 0; i < hinted && n < PS_PREFETCH_RANGES; i++) {
        if (bytes + hints[i].len <= PS_PREFETCH_BYTES) {
            p->ranges[n++] = hints[i];
            bytes += hints[i].len;
        }
    }
    return n;
}

void ps_prefetch_begin(const ps_reader *r)
{
    ps_prefetch *p = r->prefetch;
    if (!p) {
        return;
    }
    p->count = p->sorted = 0;
    p->serving = p->logging = 0; /* the prefetch itself goes to the target, unlogged */
    uint32_t n = plan(p);
    p->log.count = p->hints.count = 0;
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        total += p->ranges[i].len;
    }
    if (n == 0 || ps_buffer_reserve(&p->data, total) != PS_OK) {
        p->logging = 1;
        return;
    }
    size_t at = 0;
    for (uint32_t i = 0; i < n; i++) {
        p->ranges[i].at = at;
        p->segments[i] = (ps_segment){p->ranges[i].addr, p->data.p + at, p->ranges[i].len};
        at += p->ranges[i].len;
    }
    int got = ps_read_many(r, p->segments, (int)n);
    p->count = got > 0 ? (uint32_t)got : 0;
    if (p->sorted > p->count) {
        p->sorted = p->count;
    }
    p->prefetch_read = p->last;
    p->serving = p->logging = 1;
}

void ps_prefetch_end(const ps_reader *r)
{
    if (r->prefetch) {
        r->prefetch->serving = r->prefetch->logging = 0;
    }
}

void ps_prefetch_distrust(const ps_reader *r)
{
    if (r->prefetch) {
        r->prefetch->serving = 0;
    }
}

void ps_prefetch_hint(const ps_reader *r, uint64_t addr, size_t len)
{
    ps_prefetch *p = r->prefetch;
    if (p && p->logging && len) {
        ps_range range = {addr, len, 0};
        ps_vec_push(&p->hints, &range); /* a hint lost to memory pressure costs a read */
    }
}

/* Where [addr, addr + len) is in the prefetched data, or NULL. */
static const unsigned char *find(const ps_prefetch *p, uint64_t addr, size_t len)
{
    uint32_t lo = 0, hi = p->sorted;
    while (lo < hi) { /* the first sorted range starting after addr */
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->ranges[mid].addr <= addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo > 0) {
        const ps_range *x = &p->ranges[lo - 1];
        if (addr - x->addr <= x->len && len <= x->len - (addr - x->addr)) {
            return p->data.p + x->at + (addr - x->addr);
        }
    }
    for (uint32_t i = p->sorted; i < p->count; i++) { /* the hints, few */
        const ps_range *x = &p->ranges[i];
        if (addr >= x->addr && addr - x->addr <= x->len && len <= x->len - (addr - x->addr)) {
            return p->data.p + x->at + (addr - x->addr);
        }
    }
    return NULL;
}

int ps_prefetch_serve(const ps_reader *r, const ps_segment *segs, int n)
{
    ps_prefetch *p = r->prefetch;
    if (!p || !p->serving || n <= 0) {
        return 0;
    }
    for (int i = 0; i < n; i++) {
        if (!find(p, segs[i].addr, segs[i].len)) {
            return 0;
        }
    }
    for (int i = 0; i < n; i++) {
        memcpy(segs[i].buf, find(p, segs[i].addr, segs[i].len), segs[i].len);
    }
    p->last = p->prefetch_read;
    return 1;
}

const unsigned char *ps_prefetched(const ps_reader *r, uint64_t addr, size_t len)
{
    const ps_prefetch *p = r->prefetch;
    const unsigned char *data = p && p->serving ? find(p, addr, len) : NULL;
    if (data) {
        ps_segment seg = {addr, NULL, len};
        ps_prefetch_log(r, &seg, 1); /* wanted again next time */
        r->prefetch->last = p->prefetch_read;
    }
    return data;
}

void ps_prefetch_log(const ps_reader *r, const ps_segment *segs, int n)
{
    ps_prefetch *p = r->prefetch;
    if (!p || !p->logging) {
        return;
    }
    for (int i = 0; i < n; i++) {
        ps_range range = {segs[i].addr, segs[i].len, 0};
        /* A walk asks for neighbours one after the other (frames down a
         * data stack): joined here, the log stays short. */
        ps_range *last = p->log.count ? ps_vec_at(&p->log, p->log.count - 1) : NULL;
        uint64_t lo = last ? (last->addr < range.addr ? last->addr : range.addr) : 0;
        uint64_t hi = last ? (last->addr + last->len > range.addr + range.len
                                  ? last->addr + last->len
                                  : range.addr + range.len)
                           : 0;
        if (last && hi - lo <= last->len + range.len + PS_JOIN_GAP) {
            last->addr = lo;
            last->len = (size_t)(hi - lo);
        } else if (ps_vec_push(&p->log, &range) != PS_OK) {
            return; /* not predicted next time: read then as asked */
        }
    }
}
