/* pysampler C core: the API the Python layer binds through cffi.
 *
 * This header is also the cdef: _ffi_build.py gives cffi these lines less
 * the preprocessor ones, so what Python needs must be a declaration or an
 * enum constant, never a #define (tests/native/test_build.py checks that
 * every function declared here is bound).
 */
#ifndef PYSAMPLER_H
#define PYSAMPLER_H

#include <stddef.h>
#include <stdint.h>

/* The CPython versions the core reads: 3.PS_MIN_MINOR to 3.PS_MAX_MINOR.
 * tests/pythons.py and tools/gen_layouts.py read the range from here. */
enum { PS_MIN_MINOR = 8, PS_MAX_MINOR = 15 };

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
    PS_SNAP_CPU_STATE = 2, /* read each thread's scheduler state from /proc */
    PS_SNAP_MAIN_ONLY = 4, /* only the main thread of each interpreter */
    PS_SNAP_GIL_ONLY = 8,  /* only the thread holding the GIL */
    PS_SNAP_NATIVE = 16,   /* a PS_FRAME_NATIVE marker where C code called into Python */
    PS_SNAP_GC = 32,       /* a PS_FRAME_GC leaf on the GIL holder while the collector runs */
    PS_SNAP_UNCACHED = 64, /* predict nothing from earlier snapshots: read every frame afresh */
    PS_SNAP_MARK = 128     /* 3.15+: keep each thread's last_profiled_frame on its leaf (a
                              write into the target) and reuse the frames below it */
};

/* Frame kinds. */
enum { PS_FRAME_PYTHON = 0, PS_FRAME_NATIVE = 1, PS_FRAME_GC = 2 };

typedef struct ps_unwinder ps_unwinder;

/* What reading the target has cost, summed over an unwinder's life. */
typedef struct ps_read_counters {
    uint64_t reads;           /* system calls that read the target's memory */
    uint64_t bytes;           /* bytes they copied */
    uint64_t frames;          /* Python frames walked */
    uint64_t frames_cached;   /* of them, read in the vectored read the thread's frame
                                 cache predicted (its last stack held them), or known
                                 unchanged from CPython 3.15's profiler mark */
    uint64_t writes;          /* system calls that wrote the target's memory (3.15's mark) */
} ps_read_counters;

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

/* A piece of a memory image: size bytes that the target would hold at
 * address.  For tests and tools that lay out an interpreter's memory
 * themselves. */
typedef struct ps_image_segment {
    uint64_t address;
    const uint8_t *data;
    uint64_t size;
} ps_image_segment;

/* An unwinder over a memory image instead of a process: _PyRuntime is at
 * runtime_address and py_version_hex is the Py_Version the image stands
 * for.  Set up as ps_unwinder_new does once it has found _PyRuntime
 * (version, then _Py_DebugOffsets, then layout); the segments are copied.
 * Only memory inside one segment can be read.  The target's pid is 0. */
int ps_unwinder_from_image(const ps_image_segment *segments, uint32_t count,
                           uint64_t runtime_address, int32_t py_version_hex, ps_unwinder **out,
                           char *errbuf, size_t errlen);
const ps_target_info *ps_unwinder_target(const ps_unwinder *u);
/* The target's command line as /proc/PID/cmdline gave it when attaching:
 * each argument ended by a NUL, *length bytes in all.  Empty for a memory
 * image, or when it could not be read. */
const char *ps_unwinder_cmdline(const ps_unwinder *u, size_t *length);

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

/* Python thread names (threading.Thread.name), read now from the main
 * interpreter's threading._active; *count says how many threads got one.
 * Returns 0 (with *count 0 when threading is not imported), or a PS_E*
 * code when the module could not be read: then no thread has a name.
 * A few dozen small reads: meant for once per snapshot, not per sample. */
int ps_unwinder_thread_names(ps_unwinder *u, uint32_t *count);
/* The name a thread is shown by, as a ps_unwinder_string id, by the rule
 * the sampler names threads with too: the threading name
 * ps_unwinder_thread_names last found for thread_id (the ident,
 * threading.get_ident()); else "MainThread" when status has
 * PS_THREAD_MAIN, as threading would call it; else the kernel's name for
 * native_id (/proc/PID/task/TID/comm, read now).  PS_EINVAL if none. */
int ps_unwinder_thread_name(ps_unwinder *u, uint64_t thread_id, uint64_t native_id,
                            uint32_t status, uint32_t *string_id);

const char *ps_unwinder_error(const ps_unwinder *u);
/* What the unwinder's snapshots have cost so far. */
const ps_read_counters *ps_unwinder_counters(const ps_unwinder *u);
const char *ps_error_name(int code);

/* How the core reads CPython major.minor: bit 1, a layout table generated
 * from that version's headers; bit 2, its _Py_DebugOffsets. 0: not at all. */
int32_t ps_version_support(int32_t major, int32_t minor);
const char *ps_core_version(void);

/* ---- sampling sessions (sampler.c) ------------------------------------------ */

/* Which threads a sample keeps (filtering happens in C). */
enum {
    PS_MODE_WALL = 0,      /* every thread, whatever it does */
    PS_MODE_CPU = 1,       /* threads the kernel has running */
    PS_MODE_GIL = 2,       /* the thread holding the GIL */
    PS_MODE_EXCEPTION = 3  /* threads handling an exception */
};

/* Sampler states, as ps_batch.state reports them. */
enum {
    PS_SAMPLER_RUNNING = 0,
    PS_SAMPLER_STOPPED = 1,   /* stopped by ps_sampler_stop or the duration */
    PS_SAMPLER_EXITED = 2,    /* the target exited */
    PS_SAMPLER_FAILED = 3     /* an error ended sampling; see ps_batch.error */
};

typedef struct ps_sampler ps_sampler;

typedef struct ps_sampler_config {
    int64_t interval_ns;      /* 0: as fast as possible */
    int64_t duration_ns;      /* 0: until stopped or the target exits */
    uint32_t mode;            /* PS_MODE_* */
    uint32_t all_threads;     /* 0: the main thread only */
    uint32_t opcodes;         /* record each frame's instruction */
    uint32_t native;          /* a PS_FRAME_NATIVE marker where C code sits between Python frames */
    uint32_t gc;              /* a PS_FRAME_GC marker while the collector runs */
    uint32_t blocking;        /* stop the target's threads around each sample */
    uint32_t uncached;        /* PS_SNAP_UNCACHED on every snapshot */
    uint64_t exclude_thread_id; /* a thread never sampled (the drainer, in-process); 0: none */
} ps_sampler_config;

/* One sample: a thread's stack at one moment. */
typedef struct ps_sample {
    int64_t time_ns;          /* CLOCK_MONOTONIC nanoseconds since the sampler started */
    uint32_t thread;          /* ps_thread_entry index */
    uint32_t stack;           /* ps_stack_node index of the leaf; 0 is the empty stack */
    uint32_t status;          /* PS_THREAD_* bits */
    uint32_t reserved;
} ps_sample;

/* Interned tables.  Ids are stable for the sampler's life and only grow;
 * each batch carries the entries added since the previous one. */
typedef struct ps_thread_entry {
    uint64_t thread_id;
    uint64_t native_id;
    int64_t interpreter_id;
    int64_t name_id;          /* display name (ps_unwinder_thread_name's rule) as a
                                 string id, -1 unknown */
} ps_thread_entry;

typedef struct ps_frame_entry {
    uint32_t code_id;         /* ps_code_rec index */
    uint32_t kind;            /* PS_FRAME_* */
    int32_t lineno, end_lineno, col, end_col;
    int32_t opcode;           /* -1 unless opcodes were asked for */
    int32_t base_opcode;
} ps_frame_entry;

typedef struct ps_stack_node {
    uint32_t parent;          /* 0 for a root frame */
    uint32_t frame;           /* ps_frame_entry index */
} ps_stack_node;

/* Everything new since the previous drain, owned by the caller. */
typedef struct ps_batch {
    int32_t state;            /* PS_SAMPLER_* */
    int32_t error;            /* PS_E* code when state is FAILED */
    char message[512];
    uint64_t taken;           /* samples attempted so far (all batches) */
    uint64_t failed;          /* failed samples: instants whose snapshot failed, plus
                                 each wanted thread whose stack could not be read, plus
                                 instants that gave no stack where one was wanted */
    uint64_t late;            /* deadlines missed because sampling fell behind */
    int64_t elapsed_ns;       /* since the sampler started */
    ps_read_counters counters; /* what its snapshots cost so far (all batches) */
    uint32_t sample_count;    /* samples, as columns */
    int64_t *sample_time_ns;
    uint32_t *sample_thread;
    uint32_t *sample_stack;
    uint32_t *sample_status;
    uint32_t thread_first, thread_count;
    ps_thread_entry *threads;
    uint32_t frame_first, frame_count;
    ps_frame_entry *frames;
    uint32_t node_first, node_count;  /* node 0 (the empty stack) is never sent */
    ps_stack_node *nodes;
    uint32_t code_first, code_count;
    ps_code_rec *codes;
    uint32_t string_first, string_count;
    uint32_t *string_ends;    /* end offset of each new string in string_data */
    char *string_data;
    uint32_t rename_count;    /* threads sent earlier whose name is now known */
    uint32_t *rename_thread;
    int64_t *rename_name;
} ps_batch;

/* Start sampling on a thread of its own (the GIL is never taken).  The
 * sampler borrows u, which must outlive it. */
int ps_sampler_start(ps_unwinder *u, const ps_sampler_config *config, ps_sampler **out);
/* Ask the sampling thread to stop and wait for it. */
void ps_sampler_stop(ps_sampler *s);
void ps_sampler_free(ps_sampler *s);
/* Move what was collected since the last drain into a new batch. */
int ps_sampler_drain(ps_sampler *s, ps_batch **out);
void ps_batch_free(ps_batch *b);
/* Wait up to timeout_ns for the sampler to leave PS_SAMPLER_RUNNING;
 * returns 1 when it has. */
int ps_sampler_wait(ps_sampler *s, int64_t timeout_ns);

#endif
