/* Reading the target's memory with process_vm_readv: exact-size reads. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include "core.h"

static int read_pid(void *ctx, uint64_t addr, void *buf, size_t len)
{
    const ps_reader *r = ctx;
    struct iovec local = {buf, len};
    struct iovec remote = {(void *)(uintptr_t)addr, len};
    ssize_t got = process_vm_readv(r->pid, &local, 1, &remote, 1, 0);
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

int ps_plausible_pointer(uint64_t addr)
{
    return addr >= 4096 && addr < 0x800000000000ULL && (addr & 7) == 0;
}

int ps_read(const ps_reader *r, uint64_t addr, void *buf, size_t len)
{
    if (len == 0) {
        return PS_OK;
    }
    if (addr < 4096 || addr >= 0x800000000000ULL || len > 0x800000000000ULL - addr) {
        return PS_EMEMORY;
    }
    return r->read(r->ctx, addr, buf, len);
}

int ps_read_ptr(const ps_reader *r, uint64_t addr, uint64_t *out)
{
    return ps_read(r, addr, out, sizeof *out);
}
