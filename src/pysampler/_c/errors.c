/* Errors as values: the names of the PS_E* codes, the one-line message an
 * unwinder keeps, and the words messages name a target and its version in. */
#include <stdio.h>

#include "core.h"

int ps_fail(ps_unwinder *u, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->error, sizeof u->error, fmt, ap);
    va_end(ap);
    return code;
}

const char *ps_error_name(int code)
{
    switch (code) {
    case PS_OK: return "ok";
    case PS_ENOPROC: return "no such process";
    case PS_EPERM: return "permission denied";
    case PS_ENOTPYTHON: return "not a Python process";
    case PS_EVERSION: return "unsupported Python version";
    case PS_EEXITED: return "the process exited";
    case PS_EMEMORY: return "unreadable memory";
    case PS_ECORRUPT: return "inconsistent data";
    case PS_ENOMEM: return "out of memory";
    case PS_EINVAL: return "invalid argument";
    default: return "unknown error";
    }
}

const char *ps_target_name(const ps_unwinder *u, char *buf, size_t len)
{
    if (u->target.pid > 0) {
        snprintf(buf, len, "process %d", u->target.pid);
    } else {
        snprintf(buf, len, "the memory image");
    }
    return buf;
}

const char *ps_version_text(const ps_target_info *t, char *buf, size_t len)
{
    const char *level = t->release_level == 0xA   ? "a"
                        : t->release_level == 0xB ? "b"
                        : t->release_level == 0xC ? "rc"
                                                  : "";
    if (*level) {
        snprintf(buf, len, "%d.%d.%d%s%d", t->major, t->minor, t->micro, level, t->serial);
    } else {
        snprintf(buf, len, "%d.%d.%d", t->major, t->minor, t->micro);
    }
    return buf;
}
