/* The files a target maps (/proc/PID/maps), in the order they are worth
 * trying as the interpreter, and opening one as the target sees it. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"

static const char DELETED[] = " (deleted)";

const char *ps_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int ps_is_libpython(const char *path)
{
    const char *name = ps_base_name(path);
    return strncmp(name, "libpython", 9) == 0 && strstr(name, ".so") != NULL;
}

/* Cheapest guesses first: libpython*.so*, the executable, a file with
 * "python" in its name, then any other. */
static int rank_of(const char *path, int is_exe)
{
    if (ps_is_libpython(path)) {
        return 0;
    }
    if (is_exe) {
        return 1;
    }
    return strstr(ps_base_name(path), "python") ? 2 : 3;
}

static int by_rank(const void *a, const void *b)
{
    const ps_mapped_file *x = a, *y = b;
    if (x->rank != y->rank) {
        return x->rank - y->rank;
    }
    return x->order < y->order ? -1 : x->order > y->order;
}

/* The entry for path, added if new; NULL when out of memory. */
static ps_mapped_file *entry_for(ps_mapped_files *m, const char *path, int deleted)
{
    for (uint32_t i = m->count; i-- > 0;) {
        if (m->files[i].deleted == deleted && strcmp(m->files[i].path, path) == 0) {
            return &m->files[i];
        }
    }
    ps_mapped_file *files = ps_grow(m->files, m->count, &m->capacity, sizeof *files, 64);
    if (!files) {
        return NULL;
    }
    m->files = files;
    ps_mapped_file *f = &files[m->count];
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    if (!f->path) {
        return NULL;
    }
    f->deleted = deleted;
    f->order = m->count++;
    return f;
}

/* Read one line of maps into m: a file mapping adds to its file's entry. */
static int add_mapping(ps_mapped_files *m, char *line, const char *exe)
{
    unsigned long long start, end, offset;
    char perms[8];
    int name_at = 0;
    if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &offset, &name_at) < 4 ||
        name_at <= 0 || line[name_at] != '/') {
        return PS_OK; /* anonymous, [heap], [vdso], memfd:... */
    }
    char *name = line + name_at;
    name[strcspn(name, "\n")] = '\0';
    int is_exe = strcmp(name, exe) == 0; /* both end in " (deleted)" if it is */
    size_t len = strlen(name), suffix = sizeof DELETED - 1;
    int deleted = len > suffix && strcmp(name + len - suffix, DELETED) == 0;
    if (deleted) {
        name[len - suffix] = '\0';
    }
    ps_mapped_file *f = entry_for(m, name, deleted);
    if (!f) {
        return PS_ENOMEM;
    }
    f->rank = rank_of(name, is_exe);
    f->executable |= strchr(perms, 'x') != NULL;
    if (offset == 0 && (!f->end || start < f->start)) {
        f->start = start;
        f->end = end;
    }
    return PS_OK;
}

int ps_mapped_files_read(ps_unwinder *u, int32_t pid, ps_mapped_files *m)
{
    memset(m, 0, sizeof *m);
    m->pid = pid;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *maps = fopen(path, "re");
    if (!maps) {
        if (errno == EACCES || errno == EPERM) {
            return ps_fail(u, PS_EPERM, "permission denied reading /proc/%d/maps", pid);
        }
        return ps_fail(u, PS_ENOPROC, "no process with pid %d", pid);
    }
    /* The exe and root links name their files the way maps does: as seen
     * from our root, or from the target's mount namespace's root when
     * ours cannot reach them. */
    char exe[PATH_MAX] = "";
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    ssize_t n = readlink(path, exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    snprintf(path, sizeof path, "/proc/%d/root", pid);
    n = readlink(path, m->root, sizeof m->root - 1);
    m->root[n > 0 ? n : 0] = '\0';
    if (strcmp(m->root, "/") == 0) {
        m->root[0] = '\0';
    }

    char *line = NULL;
    size_t size = 0;
    int rc = PS_OK;
    while (rc == PS_OK && getline(&line, &size, maps) >= 0) {
        rc = add_mapping(m, line, exe);
    }
    free(line);
    fclose(maps);
    if (rc != PS_OK) {
        ps_mapped_files_free(m);
        return ps_fail(u, rc, "out of memory reading /proc/%d/maps", pid);
    }

    /* Only files with code and a first page mapped can hold an interpreter. */
    uint32_t kept = 0;
    for (uint32_t i = 0; i < m->count; i++) {
        if (m->files[i].executable && m->files[i].end) {
            m->files[kept++] = m->files[i];
        } else {
            free(m->files[i].path);
        }
    }
    m->count = kept;
    qsort(m->files, m->count, sizeof *m->files, by_rank);
    if (m->count == 0) {
        int gone = kill(pid, 0) != 0 || exe[0] == '\0';
        ps_mapped_files_free(m);
        if (gone) {
            return ps_fail(u, PS_EEXITED, "process %d exited", pid);
        }
        return ps_fail(u, PS_ENOTPYTHON, "process %d maps no executable file", pid);
    }
    return PS_OK;
}

void ps_mapped_files_free(ps_mapped_files *m)
{
    for (uint32_t i = 0; i < m->count; i++) {
        free(m->files[i].path);
    }
    free(m->files);
    m->files = NULL;
    m->count = m->capacity = 0;
}

/* Whether the target's memory holds the build-id of the file opened as f:
 * PS_OK (or no build-id to compare), PS_ENOTPYTHON for another file. */
static int is_mapped_file(ps_unwinder *u, const ps_mapped_file *f, const ps_elf *elf)
{
    uint64_t vaddr;
    const unsigned char *want;
    size_t len;
    unsigned char got[64];
    if (!ps_elf_build_id(elf, &vaddr, &want, &len) || len > sizeof got) {
        return PS_OK;
    }
    int rc = ps_read(&u->reader, f->start - elf->first_load_vaddr + vaddr, got, len);
    if (rc == PS_EEXITED) {
        return rc;
    }
    if (rc == PS_EPERM) {
        return PS_OK; /* nothing can be compared; reading _PyRuntime will say why */
    }
    return rc == PS_OK && memcmp(got, want, len) == 0 ? PS_OK : PS_ENOTPYTHON;
}

static int open_checked(ps_unwinder *u, const char *path, const ps_mapped_file *f, ps_elf *elf)
{
    int rc = ps_elf_open(path, elf);
    if (rc == PS_OK) {
        rc = is_mapped_file(u, f, elf);
        if (rc != PS_OK) {
            ps_elf_close(elf);
        }
    }
    return rc;
}

int ps_mapped_file_open(ps_unwinder *u, const ps_mapped_files *m, const ps_mapped_file *f,
                        ps_elf *elf)
{
    /* The file actually mapped, even when deleted or out of our reach;
     * the kernel lets only CAP_SYS_ADMIN open it. */
    char by_range[96];
    snprintf(by_range, sizeof by_range, "/proc/%d/map_files/%llx-%llx", m->pid,
             (unsigned long long)f->start, (unsigned long long)f->end);
    if (f->deleted && open_checked(u, by_range, f, elf) == PS_OK) {
        return PS_OK;
    }
    /* The path as the target resolves it: through its root, which maps
     * names from outside when it is a chroot in our mount namespace. */
    const char *inner = f->path;
    size_t root_len = strlen(m->root);
    if (root_len && strncmp(inner, m->root, root_len) == 0 && inner[root_len] == '/') {
        inner += root_len;
    }
    char through_root[PATH_MAX + 64];
    snprintf(through_root, sizeof through_root, "/proc/%d/root%s", m->pid, inner);
    int rc = open_checked(u, through_root, f, elf);
    if (rc == PS_OK || rc == PS_EEXITED) {
        return rc;
    }
    if (!f->deleted && open_checked(u, by_range, f, elf) == PS_OK) {
        return PS_OK;
    }
    /* /proc/PID/root needs the same ptrace access as reading memory, yet
     * a kernel or LSM may refuse it alone: then our own namespace's view
     * of the path is the best guess left (the build-id check stays). */
    if (rc == PS_EPERM) {
        return open_checked(u, f->path, f, elf);
    }
    return rc;
}
