/* An unwinder over an in-memory image: segments of bytes at addresses, as
 * a target process would hold them.  The unwinder reads the image through
 * the same ps_reader interface it reads a live process with, so everything
 * after the reader (debug offsets, layout, walking) is the code a live
 * target goes through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define PS_MAX_IMAGE_SEGMENTS 65536
#define PS_MAX_IMAGE_BYTES (1ULL << 32)

typedef struct image_segment {
    uint64_t start, end; /* [start, end) */
    unsigned char *bytes;
} image_segment;

typedef struct image {
    image_segment *segments; /* sorted by start, not overlapping */
    uint32_t count;
} image;

static void image_free(void *ctx)
{
    image *im = ctx;
    if (!im) {
        return;
    }
    for (uint32_t i = 0; i < im->count; i++) {
        free(im->segments[i].bytes);
    }
    free(im->segments);
    free(im);
}

/* Reads succeed only inside one segment, like a read that would cross into
 * an unmapped page of a process fails. */
static int image_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    const image *im = ctx;
    uint32_t lo = 0, hi = im->count;
    while (lo < hi) { /* the first segment starting after addr */
        uint32_t mid = lo + (hi - lo) / 2;
        if (im->segments[mid].start <= addr) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo == 0) {
        return PS_EMEMORY;
    }
    const image_segment *s = &im->segments[lo - 1];
    if (addr >= s->end || len > s->end - addr) {
        return PS_EMEMORY;
    }
    memcpy(buf, s->bytes + (addr - s->start), len);
    return PS_OK;
}

static int by_start(const void *a, const void *b)
{
    const image_segment *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

int ps_reader_for_image(ps_reader *r, const ps_image_segment *segments, uint32_t count)
{
    if ((count && !segments) || count > PS_MAX_IMAGE_SEGMENTS) {
        return PS_EINVAL;
    }
    image *im = calloc(1, sizeof *im);
    if (!im) {
        return PS_ENOMEM;
    }
    im->segments = calloc(count ? count : 1, sizeof *im->segments);
    if (!im->segments) {
        free(im);
        return PS_ENOMEM;
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < count; i++) {
        const ps_image_segment *in = &segments[i];
        total += in->size;
        if ((in->size && !in->data) || in->size > PS_MAX_IMAGE_BYTES ||
            total > PS_MAX_IMAGE_BYTES || in->address > UINT64_MAX - in->size) {
            image_free(im);
            return PS_EINVAL;
        }
        image_segment *s = &im->segments[im->count];
        s->start = in->address;
        s->end = in->address + in->size;
        s->bytes = malloc(in->size ? in->size : 1);
        if (!s->bytes) {
            image_free(im);
            return PS_ENOMEM;
        }
        if (in->size) {
            memcpy(s->bytes, in->data, in->size);
        }
        im->count++;
    }
    qsort(im->segments, im->count, sizeof *im->segments, by_start);
    for (uint32_t i = 1; i < im->count; i++) {
        if (im->segments[i].start < im->segments[i - 1].end) {
            image_free(im);
            return PS_EINVAL; /* overlapping segments */
        }
    }
    r->read = image_read;
    r->ctx = im;
    r->pid = 0;
    r->release = image_free;
    return PS_OK;
}

int ps_unwinder_from_image(const ps_image_segment *segments, uint32_t count,
                           uint64_t runtime_address, int32_t py_version_hex, ps_unwinder **out,
                           char *errbuf, size_t errlen)
{
    *out = NULL;
    ps_unwinder *u = ps_unwinder_alloc();
    if (!u) {
        snprintf(errbuf, errlen, "out of memory");
        return PS_ENOMEM;
    }
    int rc = ps_reader_for_image(&u->reader, segments, count);
    if (rc != PS_OK) {
        snprintf(errbuf, errlen, "%s",
                 rc == PS_ENOMEM ? "out of memory"
                                 : "bad memory image (overlapping, empty or oversized segments)");
        ps_unwinder_free(u);
        return rc;
    }
    ps_target_info *t = &u->target;
    t->pid = 0;
    ps_set_version(t, (uint32_t)py_version_hex);
    t->runtime_address = u->runtime = runtime_address;
    snprintf(t->binary, sizeof t->binary, "<memory image>");
    rc = ps_setup_layout(u);
    if (rc != PS_OK) {
        snprintf(errbuf, errlen, "%s", u->error);
        ps_unwinder_free(u);
        return rc;
    }
    *out = u;
    return PS_OK;
}
