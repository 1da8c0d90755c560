/* Internal declarations shared by the C core's modules. */
#ifndef PYSAMPLER_CORE_H
#define PYSAMPLER_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "pysampler.h"

#define PS_MAX_INTERPRETERS 256
#define PS_MAX_THREADS 4096
#define PS_MAX_DEPTH 4096
#define PS_MAX_STRING 65536
#define PS_MAX_LINETABLE (1 << 20)
#define PS_MAX_EXC_CHAIN 256
#define PS_ERRLEN 512

/* The first CPython with _Py_DebugOffsets in _PyRuntime. */
#define PS_DEBUG_OFFSETS_MINOR 13

/* ---- memory reader (mem.c) ------------------------------------------- */

/* Reads len bytes at addr of the target into buf; 0 or a PS_E* code. */
typedef int (*ps_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

typedef struct ps_prefetch ps_prefetch;

typedef struct ps_reader {
    ps_read_fn read;
    void *ctx;
    int32_t pid;
    void (*release)(void *ctx); /* frees ctx with the unwinder; NULL for none */
    ps_read_counters *counters; /* counts reads and bytes; NULL for none */
    ps_prefetch *prefetch;      /* serves reads it predicted; NULL for none */
} ps_reader;

void ps_reader_for_pid(ps_reader *r, int32_t pid);
/* A reader over an in-memory image (image.c): copies the segments. */
int ps_reader_for_image(ps_reader *r, const ps_image_segment *segments, uint32_t count);
int ps_read(const ps_reader *r, uint64_t addr, void *buf, size_t len);
int ps_read_ptr(const ps_reader *r, uint64_t addr, uint64_t *out);
/* Write one pointer into the target (only a process's reader can). */
int ps_write_ptr(const ps_reader *r, uint64_t addr, uint64_t value);

/* One range of a vectored read. */
typedef struct ps_segment {
    uint64_t addr;
    void *buf;
    size_t len;
} ps_segment;

/* Read several ranges, in one system call where the reader can: returns
 * how many ranges, counted from the first, were read whole. */
int ps_read_many(const ps_reader *r, const ps_segment *segs, int n);

/* The same, always from the target (never served from a prefetch, never
 * logged for one): for reading again what was read to see it held still. */
int ps_read_many_fresh(const ps_reader *r, const ps_segment *segs, int n);

/* Which read the latest ps_read/ps_read_many data came from: reads served
 * from the same prefetch share one; each read of the target has its own,
 * greater than any before.  0 with no prefetch state. */
uint64_t ps_read_generation(const ps_reader *r);

/* True for an address a user-space object could live at, 8-byte aligned. */
int ps_plausible_pointer(uint64_t addr);

/* ---- ELF symbols (elf.c) ---------------------------------------------- */

typedef struct ps_elf {
    const unsigned char *data;
    size_t size;
    uint64_t first_load_vaddr; /* vaddr of the first PT_LOAD, page aligned */
} ps_elf;

/* 0, PS_EPERM when the file may not be opened, else PS_ENOTPYTHON. */
int ps_elf_open(const char *path, ps_elf *elf);
void ps_elf_close(ps_elf *elf);
/* Value of a defined symbol from .symtab or .dynsym; 0 when absent. */
uint64_t ps_elf_symbol(const ps_elf *elf, const char *name);
/* Address of a named section, 0 when absent. */
uint64_t ps_elf_section(const ps_elf *elf, const char *name, uint64_t *size);
/* 1 and the build-id's address (unrelocated), bytes and length; 0 if none. */
int ps_elf_build_id(const ps_elf *elf, uint64_t *vaddr, const unsigned char **bytes, size_t *len);

/* ---- the files a target maps (maps.c) ---------------------------------- */

typedef struct ps_mapped_file {
    uint64_t start, end; /* the file's lowest mapping of offset 0 */
    int32_t rank;        /* 0 libpython*.so*, 1 the executable, 2 "python" in
                            the name, 3 any other: the order to try them in */
    int32_t deleted;     /* maps says " (deleted)", stripped from path */
    int32_t executable;  /* some mapping of it is executable */
    uint32_t order;      /* first seen, for a stable order within a rank */
    char *path;          /* as /proc/PID/maps names it */
} ps_mapped_file;

typedef struct ps_mapped_files {
    int32_t pid;
    ps_mapped_file *files; /* with code and a first page mapped, by rank */
    uint32_t count, capacity;
    char root[4096];       /* the target's root as maps names it; "" for "/" */
} ps_mapped_files;

const char *ps_base_name(const char *path);
int ps_is_libpython(const char *path);
/* Read /proc/PID/maps; on failure (no process, no permission, exited, no
 * file at all) the error is set and nothing is left to free. */
int ps_mapped_files_read(ps_unwinder *u, int32_t pid, ps_mapped_files *m);
void ps_mapped_files_free(ps_mapped_files *m);
/* Open f's ELF file as the target sees it, and only if its build-id is the
 * one in the target's memory: PS_OK, else PS_EEXITED, PS_EPERM or
 * PS_ENOTPYTHON. */
int ps_mapped_file_open(ps_unwinder *u, const ps_mapped_files *m, const ps_mapped_file *f,
                        ps_elf *elf);

/* ---- growable storage and interning (intern.c) -------------------------- */

/* `items` (count used, *capacity allocated, of item_size bytes each) with
 * room for one more: the same or a grown block, or NULL when out of memory
 * (the old block is then untouched).  The first block holds `first`. */
void *ps_grow(void *items, uint32_t count, uint32_t *capacity, size_t item_size, uint32_t first);

/* Bytes that grow on demand and are reused, for reads of the target. */
typedef struct ps_buffer {
    unsigned char *p;
    size_t size;
} ps_buffer;

/* Room for at least size bytes at b->p, keeping what it held: 0, or
 * PS_ENOMEM with b untouched.  It grows at least twofold, so a buffer sized
 * up read by read settles after a few. */
int ps_buffer_reserve(ps_buffer *b, size_t size);
void ps_buffer_free(ps_buffer *b);

/* A growable array of items of one size; pushing may move them. */
typedef struct ps_vec {
    void *items;
    uint32_t count, capacity;
    size_t item_size;
} ps_vec;

void ps_vec_init(ps_vec *v, size_t item_size);
int ps_vec_push(ps_vec *v, const void *item);
void ps_vec_free(ps_vec *v);

static inline void *ps_vec_at(const ps_vec *v, uint32_t i)
{
    return (char *)v->items + (size_t)i * v->item_size;
}

/* ---- prefetching a snapshot's reads (prefetch.c) ----------------------- */

/* Ranges of the target this close are read as one: copying the gap costs
 * about what the kernel's work for one more range does. */
#define PS_JOIN_GAP 4096

typedef struct ps_range {
    uint64_t addr;
    size_t len;
    size_t at;                /* where its bytes are in ps_prefetch.data */
} ps_range;

/* The reads one snapshot asked for, read at the start of the next in one
 * vectored read and served from there (see prefetch.c). */
struct ps_prefetch {
    ps_vec log;               /* ps_range: what this snapshot asked for */
    ps_vec hints;             /* ps_range: what it may ask for next time */
    ps_range *ranges;         /* prefetched: [0, sorted) by address, then hints */
    ps_segment *segments;
    uint32_t count, sorted, capacity;
    ps_buffer data;
    int serving, logging;     /* only inside a snapshot */
    uint64_t reads;           /* reads of the target so far: the generations */
    uint64_t last;            /* the generation of the latest read's data */
    uint64_t prefetch_read;   /* the generation of the prefetch */
};

void ps_prefetch_init(ps_prefetch *p);
void ps_prefetch_free(ps_prefetch *p);
/* Read what the last snapshot asked for, and start logging and serving. */
void ps_prefetch_begin(const ps_reader *r);
/* Stop: reads between snapshots (thread names) are neither served nor logged. */
void ps_prefetch_end(const ps_reader *r);
/* Serve nothing more this snapshot (still logging): what was read at its
 * start proved torn, and reading it again must reach the target. */
void ps_prefetch_distrust(const ps_reader *r);
/* A range the next snapshot may want (read last, where its failure costs nothing else). */
void ps_prefetch_hint(const ps_reader *r, uint64_t addr, size_t len);
/* Copy every segment from the prefetch and return 1, or 0 when any is not
 * in it (not logged: the reader logs what it serves or reads). */
int ps_prefetch_serve(const ps_reader *r, const ps_segment *segs, int n);
/* The segments read whole from the target, for the next prefetch. */
void ps_prefetch_log(const ps_reader *r, const ps_segment *segs, int n);
/* [addr, addr + len) as prefetched, without reading the target; NULL if not. */
const unsigned char *ps_prefetched(const ps_reader *r, uint64_t addr, size_t len);

typedef uint64_t (*ps_hash_fn)(const void *item);
typedef int (*ps_same_fn)(const void *a, const void *b);

/* Distinct items, each with an id that stays its index in `items`: an
 * open-addressing index over a vec, by the hash and equality given. */
typedef struct ps_interner {
    ps_vec items;
    uint32_t *slots;          /* id + 1, 0 empty */
    uint32_t slot_count;
    ps_hash_fn hash;
    ps_same_fn same;
} ps_interner;

void ps_interner_init(ps_interner *t, size_t item_size, ps_hash_fn hash, ps_same_fn same);
/* The id of item, which is copied in when new: 0 or PS_ENOMEM. */
int ps_intern(ps_interner *t, const void *item, uint32_t *id);
/* 1, with *id, when an item equal to item is in t; else 0.  Never adds. */
int ps_interner_find(const ps_interner *t, const void *item, uint32_t *id);
void ps_interner_free(ps_interner *t);

/* An interned string: a NUL-terminated copy and its length. */
typedef struct ps_string {
    char *text;
    size_t length;
} ps_string;

/* Strings by content. */
typedef struct ps_strings {
    ps_interner table;        /* of ps_string */
} ps_strings;

void ps_strings_init(ps_strings *s);
int ps_strings_intern(ps_strings *s, const char *text, size_t len, uint32_t *id);
void ps_strings_free(ps_strings *s);

static inline uint32_t ps_strings_count(const ps_strings *s)
{
    return s->table.items.count;
}

static inline const ps_string *ps_strings_at(const ps_strings *s, uint32_t id)
{
    return ps_vec_at(&s->table.items, id);
}

/* A code object as last read, keyed by its address in the target. */
/* Where an instruction is in the source (linetable.c). */
typedef struct ps_location {
    int32_t lineno, end_lineno, col, end_col;
} ps_location;

typedef struct ps_code_entry {
    uint64_t address;         /* first: the cache looks entries up by it */
    uint64_t filename_ptr, qualname_ptr, linetable_ptr;
    int32_t firstlineno;
    uint32_t code_id;         /* UINT32_MAX until read in full */
    uint64_t code_bytes;      /* 3.8-3.10: the co_code bytes object */
    uint32_t code_units;      /* 3.11+: length of co_code_adaptive in code units */
    unsigned char *linetable;
    size_t linetable_len;
    uint64_t checked;         /* the snapshot serial it was last found valid in */
    /* The last two offsets looked up in the line table (-2 none), and where
     * they are: a recursion's frames sit at two call sites. */
    int32_t memo_offset[2];
    ps_location memo[2];
    uint32_t memo_older;      /* the slot to replace next */
} ps_code_entry;

typedef struct ps_code_cache {
    ps_interner entries;      /* of ps_code_entry, by address; adding one may move the others */
    ps_vec records;           /* of ps_code_rec, by code_id */
} ps_code_cache;

/* Entries are known by index, which stays theirs: adding one may move them. */
#define PS_NO_CODE_ENTRY UINT32_MAX

void ps_code_cache_init(ps_code_cache *c);
/* The index of the entry for address, added (not yet read) when new: 0 or
 * PS_ENOMEM. */
int ps_code_cache_slot(ps_code_cache *c, uint64_t address, uint32_t *index);
/* The index of the entry for address once read in full, or
 * PS_NO_CODE_ENTRY; never adds one. */
uint32_t ps_code_cache_find(const ps_code_cache *c, uint64_t address);
int ps_code_cache_add_record(ps_code_cache *c, const ps_code_rec *rec, uint32_t *id);
void ps_code_cache_free(ps_code_cache *c);

static inline ps_code_entry *ps_code_cache_entry(const ps_code_cache *c, uint32_t index)
{
    return ps_vec_at(&c->entries.items, index);
}

/* ---- line tables (linetable.c) ---------------------------------------- */

/* addr is in bytes from the start of the bytecode. */
void ps_linetable_lookup(int major, int minor, const unsigned char *table, size_t len,
                         int32_t firstlineno, int32_t addr, ps_location *out);

/* ---- instructions (opcodes.c) ------------------------------------------ */

/* The instruction covering byte offset `offset` of the bytecode `code`
 * (len bytes, a copy of co_code / co_code_adaptive).  On success sets
 * *start to the byte offset where that instruction begins (EXTENDED_ARG
 * prefixes excluded: the instruction itself), *opcode to the opcode byte
 * found there (possibly specialized) and *base_opcode to its base opcode.
 * Returns 0, or PS_ECORRUPT when the offset is out of range (or the code
 * ends in EXTENDED_ARG), PS_EVERSION for a version without tables. */
int ps_instruction_at(int major, int minor, const unsigned char *code, size_t len,
                      int32_t offset, int32_t *start, int32_t *opcode, int32_t *base_opcode);

/* ---- objects in the target (objects.c) -------------------------------------- */

/* A str object's text as UTF-8, interned; 0 or a PS_E* code. */
int ps_read_string(ps_unwinder *u, uint64_t addr, uint32_t *id);
/* A bytes object's contents (PS_MAX_LINETABLE bytes at most), malloc'd. */
int ps_read_bytes(ps_unwinder *u, uint64_t addr, unsigned char **out, size_t *len);
/* The cache index of the code object at addr, read (again) in full. */
int ps_code_entry_read(ps_unwinder *u, uint64_t addr, uint32_t *index);

/* What one round of reads knows of the types it met.  A type's memory may
 * be another type's later, so nothing is kept from one round to the next. */
#define PS_TYPE_CACHE 16
typedef struct ps_type_info {
    uint64_t address;
    uint64_t flags;
    int64_t basicsize;
    int64_t dictoffset;
} ps_type_info;

typedef struct ps_objects {
    ps_unwinder *u;
    ps_type_info types[PS_TYPE_CACHE];
    uint32_t type_count;
} ps_objects;

/* A str key found in a dict before: tried first, its text compared once a
 * round (`checked`), since its object may have been freed and reused. */
typedef struct ps_key_hint {
    uint64_t key;             /* the key object's address, 0 unknown */
    int checked;
} ps_key_hint;

/* The entries of a dict keys object, with the values of a split table. */
typedef struct ps_dict_view {
    unsigned char *entries;
    uint64_t *values;         /* split tables; NULL for combined ones */
    uint32_t count;
    uint32_t entry_size, key_at, value_at;
} ps_dict_view;

/* Start a round of reads of u's target. */
void ps_objects_begin(ps_objects *o, ps_unwinder *u);
/* Whether the layout has every field the readers below use (a layout built
 * from _Py_DebugOffsets alone may lack some), each inside what is read. */
int ps_objects_readable(const ps_layout *L);
/* Whether obj's type has the given Py_TPFLAGS_* bit. */
int ps_has_type_flag(ps_objects *o, uint64_t obj, int32_t flag);
/* An int's value, when it fits in 64 unsigned bits (a thread ident). */
int ps_read_int(ps_objects *o, uint64_t addr, uint64_t *out);
/* The entries of the dict object at dict; ps_dict_view_free them. */
int ps_dict_view_of(ps_objects *o, uint64_t dict, ps_dict_view *v);
uint64_t ps_dict_key(const ps_dict_view *v, uint32_t i);
uint64_t ps_dict_value(const ps_dict_view *v, uint32_t i);
void ps_dict_view_free(ps_dict_view *v);
/* The value of the str key `name` in the dict object at dict, 0 absent. */
int ps_dict_get(ps_objects *o, uint64_t dict, const char *name, ps_key_hint *hint,
                uint64_t *value);
/* An instance attribute of obj, looked up only in its own attributes. */
int ps_instance_attr(ps_objects *o, uint64_t obj, const char *name, ps_key_hint *hint,
                     uint64_t *value);

/* ---- the target's process (proc.c) ----------------------------------------- */

/* The scheduler state letter of a process (tid 0) or one of its threads
 * from /proc (R running, S sleeping, T stopped, Z zombie...); 0 unreadable. */
char ps_proc_state(int32_t pid, uint64_t tid);
/* The kernel's name of a thread (/proc/PID/task/TID/comm, at most 15
 * bytes), trimmed, in buf; its length, 0 when unknown.  Not NUL-terminated. */
size_t ps_thread_comm(int32_t pid, uint64_t tid, char *buf, size_t len);
/* The process's command line, /proc/PID/cmdline: each argument ended by a
 * NUL, *length bytes in b.  Unreadable, it is empty; 0 or PS_ENOMEM. */
int ps_read_cmdline(int32_t pid, ps_buffer *b, size_t *length);
/* Whether u's process is gone, or a zombie: its memory is gone either way.
 * Never for a memory image. */
int ps_target_gone(const ps_unwinder *u);
/* Stop every thread of the process (SIGSTOP) and wait until the kernel
 * reports its main thread stopped; 0 when it did.  ps_thaw lets it run. */
int ps_freeze(int32_t pid);
void ps_thaw(int32_t pid);

/* ---- errors (errors.c) --------------------------------------------------- */

/* Record a formatted message in u and return code. */
int ps_fail(ps_unwinder *u, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "process 123", or "the memory image" for an unwinder over one: what a
 * message calls the target.  Written to buf, which is returned. */
const char *ps_target_name(const ps_unwinder *u, char *buf, size_t len);
/* "3.14.1", "3.15.0a2": the target's version as Python spells it. */
const char *ps_version_text(const ps_target_info *t, char *buf, size_t len);

/* ---- the unwinder (unwind.c, locate.c) ---------------------------------- */

static inline uint64_t field_u64(const unsigned char *buf, int32_t off)
{
    uint64_t v;
    __builtin_memcpy(&v, buf + off, sizeof v);
    return v;
}

static inline int32_t field_i32(const unsigned char *buf, int32_t off)
{
    int32_t v;
    __builtin_memcpy(&v, buf + off, sizeof v);
    return v;
}

/* threading.Thread.name of a thread, as read by ps_unwinder_thread_names. */
typedef struct ps_thread_name {
    uint64_t thread_id;
    uint32_t string_id;
} ps_thread_name;

/* One frame of a chain being walked. */
typedef struct ps_chain_link {
    uint64_t frame;
    uint64_t code;
    int32_t offset;          /* bytes into the bytecode, -1 unknown */
    int64_t instr_delta;     /* where the frame is: 3.11+ its instruction pointer minus
                                the code's first instruction, in bytes (checked once the
                                code is known); 3.8-3.10 its f_lasti */
    int32_t shim;            /* a frame with no Python code of its own */
    int32_t called_from_c;   /* 3.11: the frame is an entry frame, called by C code */
    int32_t generator;       /* a generator's (or coroutine's) frame */
    uint32_t entry;          /* its code's ps_code_cache index, PS_NO_CODE_ENTRY none */
    uint64_t generation;     /* which read its data came from (ps_read_generation) */
    int32_t below_mark;      /* 3.15: at or below the profiler's mark, so alive since the
                                thread's last sample, code and all (from its cache but the
                                mark's own frame, read for its instruction) */
} ps_chain_link;

/* Pages of the target read in one go around a frame no prediction held:
 * data[0] stands for address base; [lo, hi) were read (empty: lo == hi). */
#define PS_WINDOWS 4
typedef struct ps_window {
    ps_buffer data;
    uint64_t base, lo, hi;
    uint64_t used;           /* u->walk.window_clock when last used */
    uint64_t generation;     /* of the read that filled it */
} ps_window;

/* CPython 3.15's profiler mark, as one read of a thread state found it:
 * last_profiled_frame (which a profiler sets, and the interpreter moves to
 * the caller when that frame returns) and last_profiled_frame_seq (counts
 * those moves). */
typedef struct ps_profiled_mark {
    uint64_t frame, seq;
    uint64_t at;             /* where the thread state holds the frame pointer */
} ps_profiled_mark;

/* A mark reading kept to judge a later one by (frames.c): usable when
 * nothing was written to the mark since, live when the mark was on a live
 * frame then. */
typedef struct ps_mark_reading {
    ps_profiled_mark mark;
    int usable, live;
} ps_mark_reading;

/* The frames a thread had at its last sample. */
#define PS_CHAIN_CACHE 64
typedef struct ps_thread_frames {
    uint64_t tstate;
    uint64_t used;           /* snapshot serial */
    uint64_t *addrs;         /* links[i].frame, for vectored reads */
    ps_chain_link *links;
    uint32_t count, capacity;
    int checked;             /* the chain was read whole again and held */
    int resolved;            /* and every link has its code entry */
    uint64_t high;           /* 3.11+: the highest leaf frame end of recent samples */
    uint64_t high_since;     /* the snapshot serial it was last reset at */
    uint64_t leaf_moved;     /* the snapshot serial the leaf frame last moved at */
    /* 3.15's mark: read at the previous snapshot, and read before this
     * chain's frames were; from the first reading after pysampler set the
     * mark, a greater seq means the mark has moved to a live caller. */
    ps_mark_reading previous, basis;
    uint64_t live_after;
    int live_known, just_written;
} ps_thread_frames;

/* The frame walk's memory of earlier snapshots and its buffers (frames.c). */
typedef struct ps_walk_cache {
    ps_thread_frames chains[PS_CHAIN_CACHE];
    ps_chain_link *links;         /* the chain being walked */
    uint32_t link_count, link_capacity;
    ps_buffer batch;              /* vectored reads land here */
    ps_window windows[PS_WINDOWS]; /* memory around unpredicted frames */
    uint64_t window_clock;
    int windows_filled;           /* a window was read in this walk */
    int32_t code_window_at, code_window_size; /* what of a cached code object is checked */
    int mark_unwritable;          /* 3.15's mark cannot be written through this reader */
} ps_walk_cache;

/* What stays put between snapshots, re-read now and then (unwind.c). */
typedef struct ps_runtime_cache {
    uint64_t interp, main_ident;  /* the runtime's interpreter list and main thread */
    int64_t read_ns;              /* when those were read; 0 never */
    uint64_t gil;                 /* the interpreter's GIL address last time */
    uint64_t main_tstate;         /* and its main thread state */
} ps_runtime_cache;

/* Python thread names as last read (threadnames.c). */
typedef struct ps_name_table {
    ps_thread_name *entries;      /* sorted by thread_id */
    uint32_t count, capacity;
    ps_key_hint hints[3];         /* str keys found last time: "threading", "_active", "_name" */
} ps_name_table;

struct ps_unwinder {
    /* The target and its interpreter, as located (locate.c, image.c). */
    ps_reader reader;
    ps_target_info target;
    ps_buffer cmdline;       /* the target's command line, read when attaching */
    size_t cmdline_length;
    ps_layout layout;
    const char *const *opnames;
    uint64_t runtime;        /* address of _PyRuntime */
    uint64_t none_address;   /* &_Py_NoneStruct, 0 unknown */
    uint64_t code_type;      /* &PyCode_Type, 0 unknown */
    uint64_t executable_tag_bits; /* 3.14+: tag bits of a frame's f_executable,
                                     a _PyStackRef; cleared to get the code */
    int32_t pthread_tid_at;  /* offset of the TID in glibc's struct pthread;
                                -1 not yet looked for, -2 not found */

    /* Interned for the unwinder's life (intern.c, objects.c). */
    ps_strings strings;
    ps_code_cache codes;

    /* The last snapshot, as the accessors give it (unwind.c). */
    uint64_t serial;         /* snapshots taken */
    ps_thread_rec *threads;
    uint32_t thread_count, thread_capacity;
    ps_frame_rec *frames;
    uint32_t frame_count, frame_capacity;
    ps_buffer scratch;       /* one struct read at a time */
    char error[PS_ERRLEN];

    ps_walk_cache walk;
    ps_runtime_cache runtime_cache;
    ps_name_table names;
    ps_read_counters counters;
    ps_prefetch prefetch;
};

/* A new unwinder with nothing located yet; NULL when out of memory. */
ps_unwinder *ps_unwinder_alloc(void);

/* How a thread got its display name (threadnames.c). */
enum { PS_NAMED_NOT = 0, PS_NAMED_BY_THREADING, PS_NAMED_MAIN, PS_NAMED_BY_KERNEL };

/* The one rule for the name a thread is shown by, for snapshots and
 * sampling alike: its threading.Thread.name as ps_unwinder_thread_names
 * last read it, else "MainThread" for an interpreter's main thread, else
 * the kernel's name (read now).  The name as a string id in *string_id;
 * returns how it was named. */
int ps_thread_display_name(ps_unwinder *u, uint64_t thread_id, uint64_t native_id, int is_main,
                           uint32_t *string_id);

/* Set t's version from a Py_Version (PY_VERSION_HEX) value. */
void ps_set_version(ps_target_info *t, uint32_t hex);

/* Fill target, layout and addresses for pid. */
int ps_locate(ps_unwinder *u, int32_t pid);

/* With u->reader, u->runtime and the target's version set: the layout for
 * that version (generated table, _Py_DebugOffsets or both), as ps_locate
 * does once it has found _PyRuntime. */
int ps_setup_layout(ps_unwinder *u);



int ps_push_frame(ps_unwinder *u, const ps_frame_rec *f);
/* Where a thread's current frame pointer is: at frame_at (the thread state,
 * or 3.11-3.12's _PyCFrame, whose address the thread state holds at
 * cframe_at; 0 without one). */
typedef struct ps_frame_anchor {
    uint64_t frame_at;
    uint64_t cframe_at, cframe;
} ps_frame_anchor;

/* Walk a thread's frames from its current one (read from anchor),
 * appending frame records. */
int ps_walk_frames(ps_unwinder *u, uint64_t tstate, const ps_frame_anchor *anchor,
                   const ps_profiled_mark *mark, uint64_t frame, uint32_t options);

/* After a thread's walk at one snapshot (3.15, PS_SNAP_MARK): keep the mark
 * as read, and move it to the leaf when it lies too far below. */
void ps_walk_keep_mark(ps_unwinder *u, uint64_t tstate, const ps_profiled_mark *mark,
                       int walked);

/* Apply the _Py_DebugOffsets found at the start of _PyRuntime (3.13+). */
int ps_apply_debug_offsets(ps_unwinder *u);

#endif
