/* What /proc says about a target process, and stopping it around a sample. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

char ps_proc_state(int32_t pid, uint64_t tid)
{
    char path[96], buf[512];
    if (tid) {
        snprintf(path, sizeof path, "/proc/%d/task/%llu/stat", pid, (unsigned long long)tid);
    } else {
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    /* The command name in parentheses may hold anything: the state follows
     * the last ')'. */
    char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' ? paren[2] : 0;
}

size_t ps_thread_comm(int32_t pid, uint64_t tid, char *buf, size_t len)
{
    if (pid <= 0 || !tid || len == 0) {
        return 0;
    }
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/task/%llu/comm", pid, (unsigned long long)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    ssize_t n = read(fd, buf, len);
    close(fd);
    size_t start = 0, end = n > 0 ? (size_t)n : 0;
    while (end > start && isspace((unsigned char)buf[end - 1])) {
        end--;
    }
    while (start < end && isspace((unsigned char)buf[start])) {
        start++;
    }
    memmove(buf, buf + start, end - start);
    return end - start;
}

/* Arguments longer than this are cut. */
#define PS_MAX_CMDLINE (4 << 20)

int ps_read_cmdline(int32_t pid, ps_buffer *b, size_t *length)
{
    *length = 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
    int fd = pid > 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        return PS_OK;
    }
    int rc = PS_OK;
    while (*length < PS_MAX_CMDLINE) {
        rc = ps_buffer_reserve(b, *length + 4096);
        ssize_t n = rc == PS_OK ? read(fd, b->p + *length, b->size - *length) : 0;
        if (n <= 0) {
            break;
        }
        *length += (size_t)n;
    }
    close(fd);
    if (rc != PS_OK) {
        *length = 0;
    }
    return rc;
}

int ps_target_gone(const ps_unwinder *u)
{
    int32_t pid = u->target.pid;
    if (pid <= 0) {
        return 0; /* a memory image (image.c): nothing can exit */
    }
    if (kill(pid, 0) != 0) {
        return 1;
    }
    char state = ps_proc_state(pid, 0);
    return !state || state == 'Z' || state == 'X';
}

int ps_freeze(int32_t pid)
{
    if (kill(pid, SIGSTOP) != 0) {
        return -1;
    }
    for (int tries = 0; tries < 10000; tries++) {
        char state = ps_proc_state(pid, 0);
        if (!state) {
            return -1;
        }
        if (state == 'T' || state == 't') {
            return 0;
        }
        struct timespec pause = {0, 10000};
        nanosleep(&pause, NULL);
    }
    return -1;
}

void ps_thaw(int32_t pid)
{
    kill(pid, SIGCONT);
}
