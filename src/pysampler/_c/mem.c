/* Reading the target's memory with process_vm_readv: exact-size reads. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "core.h"

static void count_read(const ps_reader *r, ssize_t got)
{
    if (r->counters) {
        r->counters->reads++;
        r->counters->bytes += got > 0 ? (uint64_t)got : 0;
    }
}

static int read_pid(void *ctx, uint64_t addr, void *buf, size_t len)
{
    const ps_reader *r = ctx;
    struct iovec local = {buf, len};
    struct iovec remote = {(void *)(uintptr_t)addr, len};
    ssize_t got = process_vm_readv(r->pid, &local, 1, &remote, 1, 0);
    count_read(r, got);
    if (got == (ssize_t)len) {
        return PS_OK;
    }
    if (got >= 0) {
        return PS_EMEMORY; /* a partial read: the range crosses an unmapped page */
    }
    switch (errno) {
    case ESRCH:
        return PS_EEXITED;
    case EPERM:
    case EACCES:
        return PS_EPERM;
    case ENOMEM:
        return PS_ENOMEM;
    default:
        return PS_EMEMORY;
    }
}

void ps_reader_for_pid(ps_reader *r, int32_t pid)
{
    r->read = read_pid;
    r->ctx = r;
    r->pid = pid;
    r->release = NULL;
}

static void new_generation(const ps_reader *r)
{
    if (r->prefetch) {
        r->prefetch->last = ++r->prefetch->reads;
    }
}

uint64_t ps_read_generation(const ps_reader *r)
{
    return r->prefetch ? r->prefetch->last : 0;
}

/* Whether [addr, addr + len) lies where user space can be. */
static int range_ok(uint64_t addr, size_t len)
{
    return addr >= 4096 && addr < 0x800000000000ULL && len <= 0x800000000000ULL - addr;
}

int ps_plausible_pointer(uint64_t addr)
{
    return addr >= 4096 && addr < 0x800000000000ULL && (addr & 7) == 0;
}

int ps_read(const ps_reader *r, uint64_t addr, void *buf, size_t len)
{
    if (len == 0) {
        return PS_OK;
    }
    if (!range_ok(addr, len)) {
        return PS_EMEMORY;
    }
    ps_segment seg = {addr, buf, len};
    if (ps_prefetch_serve(r, &seg, 1)) {
        ps_prefetch_log(r, &seg, 1);
        return PS_OK;
    }
    int rc;
    if (r->read == read_pid) {
        rc = read_pid(r->ctx, addr, buf, len);
    } else {
        rc = r->read(r->ctx, addr, buf, len);
        count_read(r, rc == PS_OK ? (ssize_t)len : -1);
    }
    new_generation(r);
    if (rc == PS_OK) {
        ps_prefetch_log(r, &seg, 1);
    }
    return rc;
}

int ps_read_ptr(const ps_reader *r, uint64_t addr, uint64_t *out)
{
    return ps_read(r, addr, out, sizeof *out);
}

int ps_write_ptr(const ps_reader *r, uint64_t addr, uint64_t value)
{
    if (r->read != read_pid || !range_ok(addr, sizeof value)) {
        return PS_EPERM;
    }
    struct iovec local = {&value, sizeof value};
    struct iovec remote = {(void *)(uintptr_t)addr, sizeof value};
    ssize_t done = process_vm_writev(r->pid, &local, 1, &remote, 1, 0);
    if (r->counters) {
        r->counters->writes++;
    }
    return done == (ssize_t)sizeof value ? PS_OK : PS_EMEMORY;
}

/* Largest number of ranges one process_vm_readv takes (IOV_MAX). */
#define PS_IOV_MAX 1024

static int read_many_now(const ps_reader *r, const ps_segment *segs, int n)
{
    if (r->read != read_pid) {
        /* One "read" as a process's would be, copying what it can. */
        int done = 0;
        size_t copied = 0;
        while (done < n && range_ok(segs[done].addr, segs[done].len) &&
               r->read(r->ctx, segs[done].addr, segs[done].buf, segs[done].len) == PS_OK) {
            copied += segs[done++].len;
        }
        if (n > 0) {
            count_read(r, (ssize_t)copied);
        }
        return done;
    }
    struct iovec local[PS_IOV_MAX], remote[PS_IOV_MAX];
    int done = 0;
    while (done < n) {
        int count = n - done < PS_IOV_MAX ? n - done : PS_IOV_MAX;
        size_t wanted = 0;
        for (int i = 0; i < count; i++) {
            const ps_segment *s = &segs[done + i];
            if (s->addr < 4096 || s->addr >= 0x800000000000ULL) {
                count = i; /* read up to the first impossible range */
                break;
            }
            local[i].iov_base = s->buf;
            local[i].iov_len = s->len;
            remote[i].iov_base = (void *)(uintptr_t)s->addr;
            remote[i].iov_len = s->len;
            wanted += s->len;
        }
        if (count == 0) {
            return done;
        }
        ssize_t got = process_vm_readv(r->pid, local, (unsigned long)count, remote,
                                       (unsigned long)count, 0);
        count_read(r, got);
        if (got < 0) {
            return done;
        }
        /* The kernel stops at the first range it cannot read in full. */
        size_t left = (size_t)got;
        int whole = 0;
        while (whole < count && left >= segs[done + whole].len) {
            left -= segs[done + whole].len;
            whole++;
        }
        done += whole;
        if ((size_t)got < wanted) {
            return done;
        }
    }
    return done;
}

static int serve_or_read(const ps_reader *r, const ps_segment *segs, int n)
{
    if (ps_prefetch_serve(r, segs, n)) {
        return n;
    }
    int got = read_many_now(r, segs, n);
    new_generation(r);
    return got;
}

int ps_read_many(const ps_reader *r, const ps_segment *segs, int n)
{
    int got = serve_or_read(r, segs, n);
    ps_prefetch_log(r, segs, got);
    return got;
}

int ps_read_many_fresh(const ps_reader *r, const ps_segment *segs, int n)
{
    int got = read_many_now(r, segs, n);
    new_generation(r);
    return got;
}
