/* pysampler C core: the API the Python layer binds through cffi.
 *
 * Everything here is declared again, without preprocessor lines, in cdef.h;
 * keep the two in step (tests/native/test_abi.py checks the binding).
 */
#ifndef PYSAMPLER_H
#define PYSAMPLER_H

#include <stddef.h>
#include <stdint.h>

/* Error codes: every C entry point returns 0 or one of these. */
enum {
    PS_OK = 0,
    PS_ENOPROC = -1,      /* no process with that pid */
    PS_EPERM = -2,        /* not allowed to read its memory */
    PS_ENOTPYTHON = -3,   /* no CPython interpreter found in it */
    PS_EVERSION = -4,     /* a CPython version or build we cannot read */
    PS_EEXITED = -5,      /* the process went away while being read */
    PS_EMEMORY = -6,      /* an address in the target could not be read */
    PS_ECORRUPT = -7,     /* a value read from the target makes no sense */
    PS_ENOMEM = -8,       /* out of memory here */
    PS_EINVAL = -9        /* bad argument */
};

/* Thread status bits (the same values as CPython's _remote_debugging). */
enum {
    PS_THREAD_HAS_GIL = 1,
    PS_THREAD_ON_CPU = 2,
    PS_THREAD_UNKNOWN = 4,
    PS_THREAD_GIL_REQUESTED = 8,
    PS_THREAD_HAS_EXCEPTION = 16,
    PS_THREAD_MAIN = 32
};

/* Snapshot options. */
enum {
    PS_SNAP_OPCODES = 1,   /* read the opcode at each frame's instruction */
    PS_SNAP_CPU_STATE = 2  /* read each thread's scheduler state from /proc */
};

/* Frame kinds. */
enum { PS_FRAME_PYTHON = 0, PS_FRAME_NATIVE = 1, PS_FRAME_GC = 2 };

typedef struct ps_unwinder ps_unwinder;

typedef struct ps_target_info {
    int32_t pid;
    int32_t major;
    int32_t minor;
    int32_t micro;
    int32_t release_level; /* 0xA alpha, 0xB beta, 0xC candidate, 0xF final */
    int32_t serial;
    int32_t debug_offsets;  /* 1 when the layout came from _Py_DebugOffsets */
    uint64_t runtime_address;
    char binary[4096];      /* the ELF file holding _PyRuntime */
} ps_target_info;

typedef struct ps_thread_rec {
    int64_t interpreter_id;
    uint64_t thread_id;     /* threading.get_ident() */
    uint64_t native_id;     /* the kernel's TID, 0 when unknown */
    uint64_t tstate;        /* address of the PyThreadState */
    uint32_t status;        /* PS_THREAD_* bits */
    uint32_t frame_start;   /* index of the leaf frame in the frame array */
    uint32_t frame_count;
    int32_t error;          /* 0, or why the stack is incomplete */
} ps_thread_rec;

typedef struct ps_frame_rec {
    uint32_t code_id;       /* ps_code_rec index; unused for markers */
    uint32_t kind;          /* PS_FRAME_* */
    int32_t lineno;         /* -1 where unknown */
    int32_t end_lineno;
    int32_t col;
    int32_t end_col;
    int32_t instr_offset;   /* bytes from the start of the bytecode, -1 unknown;
                               with PS_SNAP_OPCODES, where the instruction starts */
    int32_t opcode;         /* -1 unless asked for and readable */
    int32_t base_opcode;    /* the opcode it specializes, -1 likewise */
} ps_frame_rec;

typedef struct ps_code_rec {
    uint32_t filename_id;   /* ps_unwinder_string ids */
    uint32_t qualname_id;
    int32_t firstlineno;
} ps_code_rec;

/* Attach to pid: locate the interpreter and its layout; nothing is run in
 * the target and it is not stopped.  On failure *out is NULL and errbuf
 * holds one line saying why. */
int ps_unwinder_new(int32_t pid, ps_unwinder **out, char *errbuf, size_t errlen);
void ps_unwinder_free(ps_unwinder *u);
const ps_target_info *ps_unwinder_target(const ps_unwinder *u);

/* Read every interpreter, thread and frame now.  The arrays below stay
 * valid until the next snapshot.  On failure ps_unwinder_error() says why. */
int ps_unwinder_snapshot(ps_unwinder *u, uint32_t options);
uint32_t ps_unwinder_thread_count(const ps_unwinder *u);
const ps_thread_rec *ps_unwinder_threads(const ps_unwinder *u);
const ps_frame_rec *ps_unwinder_frames(const ps_unwinder *u);

/* Interned code objects and strings; ids are stable for the unwinder's life. */
uint32_t ps_unwinder_code_count(const ps_unwinder *u);
const ps_code_rec *ps_unwinder_code(const ps_unwinder *u, uint32_t code_id);
const char *ps_unwinder_string(const ps_unwinder *u, uint32_t string_id, size_t *length);
const char *ps_unwinder_opname(const ps_unwinder *u, int32_t opcode);

const char *ps_unwinder_error(const ps_unwinder *u);
const char *ps_error_name(int code);
const char *ps_core_version(void);

#endif
