/* Finding the interpreter in a target: the mapped ELF file whose
 * _PyRuntime makes sense, the version, the build and the layout to use. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* Parse "3.X.Y" at the start of text. */
static int parse_version(const char *text, size_t len, int *minor, int *micro)
{
    char buf[32];
    size_t n = len < sizeof buf - 1 ? len : sizeof buf - 1;
    memcpy(buf, text, n);
    buf[n] = '\0';
    int major = 0, used = 0;
    if (sscanf(buf, "%d.%d.%d%n", &major, minor, micro, &used) != 3 || major != 3 || used < 5) {
        return 0;
    }
    return 1;
}

/* Py_GetVersion()'s static buffer ("3.9.18 (main, ...)"), which the
 * interpreter fills at start-up; named in .symtab where not stripped. */
static int version_from_buffer(ps_unwinder *u, const ps_elf *elf, uint64_t bias, int *minor,
                               int *micro)
{
    static const char *const names[] = {"version.0", "version.1", "version"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        uint64_t sym = ps_elf_symbol(elf, names[i]);
        char text[24];
        if (sym && ps_read(&u->reader, bias + sym, text, sizeof text) == PS_OK &&
            parse_version(text, sizeof text, minor, micro)) {
            return 1;
        }
    }
    return 0;
}

/* "3.X.Y" ending a string in the file, for versions without Py_Version.
 * The linker may have merged the PY_VERSION literal into the tail of a
 * longer string (".../Python-3.9.18"), so only the end is anchored. */
static int version_from_rodata(const ps_elf *elf, int minor, int *micro)
{
    char want[16];
    int len = snprintf(want, sizeof want, "3.%d.", minor);
    const unsigned char *p = elf->data, *end = elf->data + elf->size;
    while ((p = memmem(p, (size_t)(end - p), want, (size_t)len)) != NULL) {
        const unsigned char *q = p + len;
        int value = 0, digits = 0;
        while (q < end && *q >= '0' && *q <= '9' && digits < 3) {
            value = value * 10 + (*q++ - '0');
            digits++;
        }
        int boundary = p == elf->data || (p[-1] != '.' && (p[-1] < '0' || p[-1] > '9'));
        if (digits > 0 && boundary && q < end && *q == '\0') {
            *micro = value;
            return 1;
        }
        p++;
    }
    return 0;
}

static int minor_from_name(const char *path)
{
    const char *name = ps_base_name(path);
    const char *at = strstr(name, "python3.");
    if (!at) {
        return -1;
    }
    char *end;
    long minor = strtol(at + 8, &end, 10);
    return end == at + 8 || minor < 0 || minor > 99 ? -1 : (int)minor;
}

static int free_threaded_name(const char *path)
{
    const char *at = strstr(ps_base_name(path), "python3.");
    if (!at) {
        return 0;
    }
    at += 8;
    while (*at >= '0' && *at <= '9') {
        at++;
    }
    return *at == 't';
}

static int refuse_build(ps_unwinder *u, const ps_elf *elf, const char *path)
{
    const ps_target_info *t = &u->target;
    const char *kind = NULL;
    if (free_threaded_name(path) || ps_elf_symbol(elf, "_Py_MergeZeroLocalRefcount")) {
        kind = "a free-threaded (\"t\") build";
    } else if (ps_elf_symbol(elf, "_Py_PrintReferences")) {
        kind = "a Py_TRACE_REFS build (a different object header)";
    } else if (ps_elf_symbol(elf, "_Py_NegativeRefcount")) {
        kind = "a debug (Py_DEBUG) build";
    }
    if (kind) {
        char who[64], version[32];
        return ps_fail(u, PS_EVERSION, "%s runs Python %s as %s, which pysampler cannot read",
                       ps_target_name(u, who, sizeof who),
                       ps_version_text(t, version, sizeof version), kind);
    }
    return PS_OK;
}

void ps_set_version(ps_target_info *t, uint32_t hex)
{
    t->major = (int32_t)(hex >> 24);
    t->minor = (int32_t)((hex >> 16) & 0xff);
    t->micro = (int32_t)((hex >> 8) & 0xff);
    t->release_level = (int32_t)((hex >> 4) & 0xf);
    t->serial = (int32_t)(hex & 0xf);
}

static int detect_version(ps_unwinder *u, const ps_elf *elf, uint64_t bias, const char *path)
{
    ps_target_info *t = &u->target;
    uint64_t sym = ps_elf_symbol(elf, "Py_Version");
    if (sym) {
        uint32_t hex;
        int rc = ps_read(&u->reader, bias + sym, &hex, sizeof hex);
        if (rc != PS_OK) {
            return ps_fail(u, rc, "cannot read Py_Version in process %d", t->pid);
        }
        ps_set_version(t, hex);
        return PS_OK;
    }
    int minor = minor_from_name(path), micro = 0, found_minor = -1;
    if (version_from_buffer(u, elf, bias, &found_minor, &micro) &&
        (minor < 0 || found_minor == minor)) {
        minor = found_minor;
    } else if (minor < 0 || !version_from_rodata(elf, minor, &micro)) {
        if (minor < 0) {
            return ps_fail(u, PS_EVERSION, "cannot tell which Python version %s is", path);
        }
        micro = 0;
    }
    t->major = 3;
    t->minor = minor;
    t->micro = micro;
    t->release_level = 0xF;
    return PS_OK;
}

/* A name such as python2.7 or libpython3.6m.so: a version without _PyRuntime. */
static int old_python_name(const char *path)
{
    const char *name = strstr(ps_base_name(path), "python");
    int major, minor;
    return name && sscanf(name, "python%d.%d", &major, &minor) == 2 &&
           (major < 3 || (major == 3 && minor < 7));
}

/* No _PyRuntime: an interpreter older than 3.7, or not Python at all. */
static int refuse_old_python(ps_unwinder *u, const ps_elf *elf, uint64_t bias, const char *path)
{
    const char *name = strstr(ps_base_name(path), "python");
    int major = 0, minor = 0, micro = 0;
    if (name && sscanf(name, "python%d.%d", &major, &minor) == 2) {
        int found_minor = -1;
        if (!version_from_buffer(u, elf, bias, &found_minor, &micro) || found_minor != minor) {
            micro = 0;
            if (major == 3) {
                version_from_rodata(elf, minor, &micro);
            }
        }
        return ps_fail(u, PS_EVERSION,
                       "process %d runs Python %d.%d%s%.0d, which pysampler does not support "
                       "(it reads CPython 3.%d to 3.%d)",
                       u->target.pid, major, minor, micro ? "." : "", micro, PS_MIN_MINOR,
                       PS_MAX_MINOR);
    }
    return ps_fail(u, PS_ENOTPYTHON, "process %d is not a CPython 3 process (no _PyRuntime in %s)",
                   u->target.pid, path);
}

/* What trying one mapped file as the interpreter came to, in the order
 * one outcome wins over another. */
enum { NOT_PYTHON, IDLE, REFUSED, FOUND };

static void forget_candidate(ps_unwinder *u)
{
    int32_t pid = u->target.pid;
    memset(&u->target, 0, sizeof u->target);
    u->target.pid = pid;
    memset(&u->layout, 0, sizeof u->layout);
    u->opnames = NULL;
    u->runtime = u->none_address = u->code_type = u->executable_tag_bits = 0;
}

/* Take f as the interpreter if its _PyRuntime makes sense: FOUND when the
 * version, build and layout are accepted (3.13+: the _Py_DebugOffsets
 * cookie is there) and an interpreter is listed; IDLE when none is yet, as
 * in a libpython loaded but never started (a ctypes.CDLL of another one)
 * or a target still starting; REFUSED with the error set. */
static int try_file(ps_unwinder *u, const ps_mapped_files *m, const ps_mapped_file *f, int *rc)
{
    forget_candidate(u);
    ps_elf elf;
    *rc = ps_mapped_file_open(u, m, f, &elf);
    if (*rc != PS_OK) {
        return NOT_PYTHON;
    }
    uint64_t runtime = ps_elf_symbol(&elf, "_PyRuntime");
    if (!runtime) {
        runtime = ps_elf_section(&elf, ".PyRuntime", NULL);
    }
    if (!runtime) {
        ps_elf_close(&elf);
        *rc = PS_ENOTPYTHON;
        return NOT_PYTHON;
    }
    ps_target_info *t = &u->target;
    snprintf(t->binary, sizeof t->binary, "%s%s", f->path, f->deleted ? " (deleted)" : "");
    uint64_t bias = f->start - elf.first_load_vaddr;
    u->runtime = t->runtime_address = bias + runtime;
    uint64_t none = ps_elf_symbol(&elf, "_Py_NoneStruct");
    uint64_t code_type = ps_elf_symbol(&elf, "PyCode_Type");
    u->none_address = none ? bias + none : 0;
    u->code_type = code_type ? bias + code_type : 0;
    *rc = detect_version(u, &elf, bias, f->path);
    if (*rc == PS_OK) {
        *rc = refuse_build(u, &elf, f->path);
    }
    ps_elf_close(&elf);
    if (*rc == PS_OK) {
        *rc = ps_setup_layout(u);
    }
    if (*rc != PS_OK) {
        return REFUSED;
    }
    uint64_t head = 0;
    int read = ps_read_ptr(&u->reader, u->runtime + (uint64_t)u->layout.runtime_interpreters_head,
                           &head);
    if (read == PS_EEXITED) {
        *rc = read;
        return REFUSED;
    }
    return read == PS_OK && ps_plausible_pointer(head) ? FOUND : IDLE;
}

/* No file held a usable _PyRuntime: say why of f. */
static int not_python(ps_unwinder *u, const ps_mapped_files *m, const ps_mapped_file *f)
{
    ps_elf elf;
    int rc = ps_mapped_file_open(u, m, f, &elf);
    if (rc == PS_EEXITED || (rc != PS_OK && ps_target_gone(u))) {
        return ps_fail(u, PS_EEXITED, "process %d exited", m->pid);
    }
    if (rc != PS_OK) {
        return ps_fail(u, PS_ENOTPYTHON, "process %d: cannot read %s as an ELF file", m->pid,
                       f->path);
    }
    rc = refuse_old_python(u, &elf, f->start - elf.first_load_vaddr, f->path);
    ps_elf_close(&elf);
    return rc;
}

/* Try the mapped files in rank order; the first FOUND wins, else the first
 * refusal is reported, else a Python too old to have _PyRuntime (which may
 * have loaded a newer libpython it never starts), else the first IDLE one
 * is taken. */
static int locate_in(ps_unwinder *u, const ps_mapped_files *m)
{
    char refusal[PS_ERRLEN] = "";
    int refusal_rc = PS_OK;
    const ps_mapped_file *idle = NULL, *old = NULL;
    for (uint32_t i = 0; i < m->count; i++) {
        const ps_mapped_file *f = &m->files[i];
        int rc;
        int outcome = try_file(u, m, f, &rc);
        if (outcome == FOUND) {
            return PS_OK;
        }
        if (rc == PS_EEXITED) {
            return ps_fail(u, PS_EEXITED, "process %d exited", m->pid);
        }
        if (outcome == REFUSED && refusal_rc == PS_OK) {
            refusal_rc = rc;
            snprintf(refusal, sizeof refusal, "%s", u->error);
        } else if (outcome == IDLE && !idle) {
            idle = f;
        } else if (outcome == NOT_PYTHON && !old && old_python_name(f->path)) {
            old = f;
        }
    }
    forget_candidate(u);
    if (refusal_rc != PS_OK) {
        return ps_fail(u, refusal_rc, "%s", refusal);
    }
    if (old) {
        return not_python(u, m, old);
    }
    if (idle) {
        int rc;
        if (try_file(u, m, idle, &rc) >= IDLE && rc == PS_OK) {
            return PS_OK;
        }
        forget_candidate(u);
    }
    return not_python(u, m, &m->files[0]);
}

int ps_locate(ps_unwinder *u, int32_t pid)
{
    ps_target_info *t = &u->target;
    memset(t, 0, sizeof *t);
    t->pid = pid;
    ps_reader_for_pid(&u->reader, pid);
    if (pid <= 0) {
        return ps_fail(u, PS_ENOPROC, "no process with pid %d", pid);
    }
    if (kill(pid, 0) != 0 && errno == ESRCH) {
        return ps_fail(u, PS_ENOPROC, "no process with pid %d", pid);
    }
    ps_mapped_files m;
    int rc = ps_mapped_files_read(u, pid, &m);
    if (rc != PS_OK) {
        return rc;
    }
    rc = locate_in(u, &m);
    ps_mapped_files_free(&m);
    return rc;
}

int ps_setup_layout(ps_unwinder *u)
{
    ps_target_info *t = &u->target;
    const ps_layout *table = ps_layout_for(t->major, t->minor);
    if (table) {
        u->layout = *table;
    }
    if (t->major == 3 && t->minor >= PS_DEBUG_OFFSETS_MINOR) {
        int rc = ps_apply_debug_offsets(u);
        if (rc != PS_OK) {
            return rc;
        }
        t->debug_offsets = 1;
    } else if (!table) {
        char who[64], version[32];
        return ps_fail(u, PS_EVERSION,
                       "%s runs Python %s, which pysampler does not support "
                       "(it reads CPython 3.%d to 3.%d)",
                       ps_target_name(u, who, sizeof who),
                       ps_version_text(t, version, sizeof version), PS_MIN_MINOR, PS_MAX_MINOR);
    }
    u->opnames = ps_opnames_for(t->major, t->minor);
    return PS_OK;
}

int32_t ps_version_support(int32_t major, int32_t minor)
{
    int32_t how = ps_layout_for(major, minor) ? 1 : 0;
    if (major == 3 && minor >= PS_DEBUG_OFFSETS_MINOR && minor <= PS_MAX_MINOR) {
        how |= 2; /* debugoffsets.c mirrors the table of each of these */
    }
    return how;
}
