/* Reading _Py_DebugOffsets, the table of struct offsets that CPython 3.13
 * and newer keep at the start of _PyRuntime for out-of-process tools.
 *
 * The table's own shape changes between minor versions (and, for a version
 * in development, between its pre-releases), so each shape we understand is
 * mirrored here field for field; the cookie, the version, the build flags,
 * a few fields whose values the headers fix, and every offset we take are
 * checked before anything is used.  Whatever does not match is refused with
 * a message saying what was found, never guessed at.
 *
 * The table is applied over the layout generated from that version's
 * headers (layouts/v3_X.h): what the target's table gives wins, and the
 * rest (thread names' module, type, dict and int fields; 3.14's exception
 * state) comes from the headers, checked to lie inside the structs whose
 * sizes the target's table gives.
 *
 * Where the facts come from (CPython's headers; read, not copied):
 *
 *   3.13  Include/internal/pycore_runtime.h of v3.13.0.
 *
 *   3.14  internal/pycore_debug_offsets.h of Debian unstable's
 *         libpython3.14-dev 3.14.10: a 760-byte table.  The _PyStackRef
 *         tag bits from internal/pycore_stackref.h there: with the GIL,
 *         Py_TAG_BITS is 3 (Py_TAG_REFCNT 1, Py_INT_TAG 3).
 *
 *   3.15  internal/pycore_debug_offsets.h of Debian unstable's
 *         libpython3.15-dev 3.15.2: an 888-byte table, the 3.14 one with
 *         fields added (thread state, err_stackitem, type and heap type,
 *         compact unicode size, gc).  In cpython/pystate.h there,
 *         PyThreadState.exc_info immediately follows current_exception and
 *         _PyErr_StackItem.previous_item immediately follows exc_value,
 *         which is how the exception state is reached from the table.  Tag
 *         bits as for 3.14 (Py_TAG_BITS 3).
 *
 * Frame owners (internal/pycore_interpframe_structs.h) are the generated
 * layout's: 3.14.10 has THREAD 0, GENERATOR 1, FRAME_OBJECT 2,
 * INTERPRETER 3, CSTACK 4; 3.15.2 ends at INTERPRETER 3.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"

#define PS_DEBUG_COOKIE "xdebugpy"

/* Largest struct size taken from a table; PyInterpreterState is the
 * biggest by far (about 190 KiB in 3.13). */
#define PS_MAX_STRUCT (1u << 24)

/* Py_MAX_SCRIPT_PATH_SIZE, the last value of the 3.14 and 3.15 tables: a
 * sentinel that the whole table lines up with our mirror. */
#define PS_SCRIPT_PATH_SIZE 512

/* _PyStackRef tag bits of the default (GIL) build, 3.14 and 3.15. */
#define PS_STACKREF_TAG_BITS 3

/* The table as CPython 3.13 lays it out (Include/internal/pycore_runtime.h). */
typedef struct debug_offsets_313 {
    char cookie[8];
    uint64_t version;
    uint64_t free_threaded;
    struct {
        uint64_t size, finalizing, interpreters_head;
    } runtime_state;
    struct {
        uint64_t size, id, next, threads_head, gc, imports_modules, sysdict, builtins,
            ceval_gil, gil_runtime_state, gil_runtime_state_enabled, gil_runtime_state_locked,
            gil_runtime_state_holder;
    } interpreter_state;
    struct {
        uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
            datastack_chunk, status;
    } thread_state;
    struct {
        uint64_t size, previous, executable, instr_ptr, localsplus, owner;
    } interpreter_frame;
    struct {
        uint64_t size, filename, name, qualname, linetable, firstlineno, argcount,
            localsplusnames, localspluskinds, co_code_adaptive;
    } code_object;
    struct {
        uint64_t size, ob_type;
    } pyobject;
    struct {
        uint64_t size, tp_name, tp_repr, tp_flags;
    } type_object;
    struct {
        uint64_t size, ob_item, ob_size;
    } tuple_object, list_object;
    struct {
        uint64_t size, ma_keys, ma_values;
    } dict_object;
    struct {
        uint64_t size, ob_fval;
    } float_object;
    struct {
        uint64_t size, lv_tag, ob_digit;
    } long_object;
    struct {
        uint64_t size, ob_size, ob_sval;
    } bytes_object;
    struct {
        uint64_t size, state, length, asciiobject_size;
    } unicode_object;
    struct {
        uint64_t size, collecting;
    } gc;
} debug_offsets_313;

/* Sections the 3.14 and 3.15 tables share unchanged. */
typedef struct {
    uint64_t size, finalizing, interpreters_head;
} do_runtime_state;

typedef struct {
    uint64_t size, id, next, threads_head, threads_main, gc, imports_modules, sysdict, builtins,
        ceval_gil, gil_runtime_state, gil_runtime_state_enabled, gil_runtime_state_locked,
        gil_runtime_state_holder, code_object_generation, tlbc_generation;
} do_interpreter_state;

typedef struct {
    uint64_t size, previous, executable, instr_ptr, localsplus, owner, stackpointer, tlbc_index;
} do_interpreter_frame;

typedef struct {
    uint64_t size, filename, name, qualname, linetable, firstlineno, argcount, localsplusnames,
        localspluskinds, co_code_adaptive, co_tlbc;
} do_code_object;

typedef struct {
    uint64_t size, ob_item, ob_size;
} do_sequence;

typedef struct {
    uint64_t size, used, table, mask;
} do_set_object;

typedef struct {
    uint64_t size, ma_keys, ma_values;
} do_dict_object;

typedef struct {
    uint64_t size, ob_fval;
} do_float_object;

typedef struct {
    uint64_t size, lv_tag, ob_digit;
} do_long_object;

typedef struct {
    uint64_t size, ob_size, ob_sval;
} do_bytes_object;

typedef struct {
    uint64_t size, gi_name, gi_iframe, gi_frame_state;
} do_gen_object;

typedef struct {
    uint64_t next, prev;
} do_llist_node;

typedef struct {
    uint64_t eval_breaker, remote_debugger_support, remote_debugging_enabled,
        debugger_pending_call, debugger_script_path, debugger_script_path_size;
} do_debugger_support;

/* CPython 3.14 (see the top of this file). */
typedef struct debug_offsets_314 {
    char cookie[8];
    uint64_t version;
    uint64_t free_threaded;
    do_runtime_state runtime_state;
    do_interpreter_state interpreter_state;
    struct {
        uint64_t size, prev, next, interp, current_frame, thread_id, native_thread_id,
            datastack_chunk, status;
    } thread_state;
    do_interpreter_frame interpreter_frame;
    do_code_object code_object;
    struct {
        uint64_t size, ob_type;
    } pyobject;
    struct {
        uint64_t size, tp_name, tp_repr, tp_flags;
    } type_object;
    do_sequence tuple_object, list_object;
    do_set_object set_object;
    do_dict_object dict_object;
    do_float_object float_object;
    do_long_object long_object;
    do_bytes_object bytes_object;
    struct {
        uint64_t size, state, length, asciiobject_size;
    } unicode_object;
    struct {
        uint64_t size, collecting;
    } gc;
    do_gen_object gen_object;
    do_llist_node llist_node;
    do_debugger_support debugger_support;
} debug_offsets_314;

/* CPython 3.15 (see the top of this file). */
typedef struct debug_offsets_315 {
    char cookie[8];
    uint64_t version;
    uint64_t free_threaded;
    do_runtime_state runtime_state;
    do_interpreter_state interpreter_state;
    struct {
        uint64_t size, prev, next, interp, current_frame, base_frame, last_profiled_frame,
            last_profiled_frame_seq, thread_id, native_thread_id, datastack_chunk, status,
            holds_gil, gil_requested, current_exception, exc_state;
    } thread_state;
    struct {
        uint64_t exc_value;
    } err_stackitem;
    do_interpreter_frame interpreter_frame;
    do_code_object code_object;
    struct {
        uint64_t size, ob_type;
    } pyobject;
    struct {
        uint64_t size, tp_name, tp_repr, tp_flags, tp_basicsize, tp_dictoffset;
    } type_object;
    struct {
        uint64_t size, ht_cached_keys;
    } heap_type_object;
    do_sequence tuple_object, list_object;
    do_set_object set_object;
    do_dict_object dict_object;
    do_float_object float_object;
    do_long_object long_object;
    do_bytes_object bytes_object;
    struct {
        uint64_t size, state, length, asciiobject_size, compactunicodeobject_size;
    } unicode_object;
    struct {
        uint64_t size, collecting, frame, generation_stats_size, generation_stats;
    } gc;
    do_gen_object gen_object;
    do_llist_node llist_node;
    do_debugger_support debugger_support;
} debug_offsets_315;

_Static_assert(sizeof(debug_offsets_313) == 584, "the 3.13 table is 584 bytes");
_Static_assert(sizeof(debug_offsets_314) == 760, "the 3.14 table is 760 bytes");
_Static_assert(sizeof(debug_offsets_315) == 888, "the 3.15 table is 888 bytes");

/* An offset from the target: must fit inside a struct of the given size. */
static int fits(uint64_t offset, uint64_t struct_size, uint64_t field_size)
{
    return struct_size <= PS_MAX_STRUCT && offset <= struct_size &&
           field_size <= struct_size - offset;
}

#define TAKE(dst, off, size, field_size)                                                      \
    do {                                                                                      \
        if (!fits((off), (size), (field_size))) {                                             \
            char who_[64];                                                                    \
            return ps_fail(u, PS_EVERSION,                                                    \
                           "%s: _Py_DebugOffsets field " #dst " (%llu) lies outside its "     \
                           "struct (%llu bytes); refusing to guess",                          \
                           ps_target_name(u, who_, sizeof who_), (unsigned long long)(off),   \
                           (unsigned long long)(size));                                       \
        }                                                                                     \
        L->dst = (int32_t)(off);                                                              \
    } while (0)

/* A struct size: nonzero and not absurd. */
#define TAKE_SIZE(dst, size) TAKE(dst, size, PS_MAX_STRUCT, 0)

static int apply_313(ps_unwinder *u, const debug_offsets_313 *d)
{
    ps_layout *L = &u->layout;
    if (L->major != 3 || L->minor != 13) {
        return ps_fail(u, PS_EVERSION, "no 3.13 base layout is built in");
    }
    TAKE(runtime_interpreters_head, d->runtime_state.interpreters_head, d->runtime_state.size, 8);
    uint64_t isize = d->interpreter_state.size;
    TAKE(interp_id, d->interpreter_state.id, isize, 8);
    TAKE(interp_next, d->interpreter_state.next, isize, 8);
    TAKE(interp_threads_head, d->interpreter_state.threads_head, isize, 8);
    TAKE(interp_gil, d->interpreter_state.ceval_gil, isize, 8);
    uint64_t gil = d->interpreter_state.gil_runtime_state;
    if (d->interpreter_state.gil_runtime_state_locked < gil ||
        d->interpreter_state.gil_runtime_state_holder < gil) {
        char who[64];
        return ps_fail(u, PS_EVERSION, "%s: inconsistent GIL offsets",
                       ps_target_name(u, who, sizeof who));
    }
    TAKE(gil_locked, d->interpreter_state.gil_runtime_state_locked - gil, isize, 4);
    TAKE(gil_last_holder, d->interpreter_state.gil_runtime_state_holder - gil, isize, 8);
    TAKE_SIZE(interp_size, isize);

    uint64_t tsize = d->thread_state.size;
    TAKE(tstate_next, d->thread_state.next, tsize, 8);
    TAKE(tstate_interp, d->thread_state.interp, tsize, 8);
    TAKE(tstate_frame, d->thread_state.current_frame, tsize, 8);
    TAKE(tstate_thread_id, d->thread_state.thread_id, tsize, 8);
    TAKE(tstate_native_thread_id, d->thread_state.native_thread_id, tsize, 8);
    TAKE_SIZE(tstate_size, tsize);

    uint64_t fsize = d->interpreter_frame.size;
    TAKE(frame_previous, d->interpreter_frame.previous, fsize, 8);
    TAKE(frame_code, d->interpreter_frame.executable, fsize, 8);
    TAKE(frame_instr, d->interpreter_frame.instr_ptr, fsize, 8);
    TAKE(frame_owner, d->interpreter_frame.owner, fsize, 1);
    TAKE_SIZE(frame_size, fsize);

    uint64_t csize = d->code_object.size;
    TAKE(code_filename, d->code_object.filename, csize, 8);
    TAKE(code_name, d->code_object.name, csize, 8);
    TAKE(code_qualname, d->code_object.qualname, csize, 8);
    TAKE(code_linetable, d->code_object.linetable, csize, 8);
    TAKE(code_firstlineno, d->code_object.firstlineno, csize, 4);
    TAKE(code_adaptive, d->code_object.co_code_adaptive, csize, 0);
    TAKE_SIZE(code_size, csize);

    TAKE(object_type, d->pyobject.ob_type, d->pyobject.size, 8);
    TAKE(varobject_size, d->bytes_object.ob_size, d->bytes_object.size, 8);
    TAKE(bytes_sval, d->bytes_object.ob_sval, d->bytes_object.size, 1);
    TAKE(unicode_length, d->unicode_object.length, d->unicode_object.size, 8);
    TAKE(unicode_state, d->unicode_object.state, d->unicode_object.size, 4);
    TAKE(unicode_ascii_size, d->unicode_object.asciiobject_size, d->unicode_object.size, 0);
    return PS_OK;
}

/* ---- 3.14 and 3.15 ------------------------------------------------------- */

/* The fields both tables share, in a form the checks below can take
 * whichever table was read. */
typedef struct common_1415 {
    const do_runtime_state *runtime;
    const do_interpreter_state *interp;
    const do_interpreter_frame *frame;
    const do_code_object *code;
    uint64_t pyobject_size, ob_type;
    uint64_t type_size, tp_flags;
    const do_dict_object *dict;
    const do_long_object *long_;
    const do_bytes_object *bytes;
    uint64_t unicode_size, unicode_state, unicode_length, ascii_size;
    const do_llist_node *llist;
    const do_debugger_support *debugger;
    uint64_t tstate_size, tstate_next, tstate_interp, tstate_current_frame, tstate_thread_id,
        tstate_native_thread_id;
    uint64_t gc_collecting;   /* in PyInterpreterState: its gc state, then collecting */
} common_1415;

/* Values the headers fix for a default (GIL, non-trace-refs) build: if the
 * table read disagrees, it is not the table we mirror, or not a build we
 * can read.  Returns 0 or fails with a message naming what differs. */
static int check_shape(ps_unwinder *u, const common_1415 *c, int minor)
{
    char who[64], version[32];
    ps_target_name(u, who, sizeof who);
    ps_version_text(&u->target, version, sizeof version);
    if (c->llist->next != 0 || c->llist->prev != 8 ||
        c->debugger->debugger_script_path_size != PS_SCRIPT_PATH_SIZE) {
        return ps_fail(u, PS_EVERSION,
                       "%s runs Python %s, whose _Py_DebugOffsets table does not have the "
                       "shape pysampler knows for 3.%d; refusing to guess",
                       who, version, minor);
    }
    if (c->pyobject_size != 16 || c->ob_type != 8) {
        return ps_fail(u, PS_EVERSION,
                       "%s runs Python %s with a %llu-byte object header (ob_type at %llu): "
                       "a Py_TRACE_REFS or otherwise non-standard build, which pysampler "
                       "cannot read",
                       who, version, (unsigned long long)c->pyobject_size,
                       (unsigned long long)c->ob_type);
    }
    if (c->interp->tlbc_generation != 0 || c->frame->tlbc_index != 0 || c->code->co_tlbc != 0) {
        return ps_fail(u, PS_EVERSION,
                       "%s runs Python %s with thread-local bytecode, as only a free-threaded "
                       "(\"t\") build has, which pysampler cannot read",
                       who, version);
    }
    return PS_OK;
}

static int apply_common_1415(ps_unwinder *u, const common_1415 *c, int minor)
{
    ps_layout *L = &u->layout;
    if (L->major != 3 || L->minor != minor) {
        return ps_fail(u, PS_EVERSION, "no 3.%d base layout is built in", minor);
    }
    int rc = check_shape(u, c, minor);
    if (rc != PS_OK) {
        return rc;
    }

    TAKE(runtime_interpreters_head, c->runtime->interpreters_head, c->runtime->size, 8);
    /* From the headers only: still inside the runtime the target describes. */
    TAKE(runtime_interpreters_main, L->runtime_interpreters_main, c->runtime->size, 8);
    TAKE(runtime_main_thread, L->runtime_main_thread, c->runtime->size, 8);

    const do_interpreter_state *is = c->interp;
    TAKE(interp_id, is->id, is->size, 8);
    TAKE(interp_next, is->next, is->size, 8);
    TAKE(interp_threads_head, is->threads_head, is->size, 8);
    TAKE(interp_threads_main, is->threads_main, is->size, 8);
    TAKE(interp_gil, is->ceval_gil, is->size, 8);
    TAKE(interp_modules, is->imports_modules, is->size, 8);
    /* ceval.gil points at a _gil_runtime_state; the interpreter's own one is
     * embedded at gil_runtime_state, and the table gives absolute offsets
     * of its fields, so the differences are offsets inside the struct. */
    uint64_t gil = is->gil_runtime_state;
    if (is->gil_runtime_state_locked < gil || is->gil_runtime_state_holder < gil ||
        !fits(gil, is->size, 0)) {
        char who[64];
        return ps_fail(u, PS_EVERSION, "%s: inconsistent GIL offsets in _Py_DebugOffsets",
                       ps_target_name(u, who, sizeof who));
    }
    TAKE(gil_locked, is->gil_runtime_state_locked - gil, is->size - gil, 4);
    TAKE(gil_last_holder, is->gil_runtime_state_holder - gil, is->size - gil, 8);
    TAKE_SIZE(interp_size, is->size);
    TAKE(interp_gc_collecting, c->gc_collecting, is->size, 4);

    TAKE(tstate_next, c->tstate_next, c->tstate_size, 8);
    TAKE(tstate_interp, c->tstate_interp, c->tstate_size, 8);
    TAKE(tstate_frame, c->tstate_current_frame, c->tstate_size, 8);
    TAKE(tstate_thread_id, c->tstate_thread_id, c->tstate_size, 8);
    TAKE(tstate_native_thread_id, c->tstate_native_thread_id, c->tstate_size, 8);
    TAKE_SIZE(tstate_size, c->tstate_size);

    const do_interpreter_frame *fr = c->frame;
    TAKE(frame_previous, fr->previous, fr->size, 8);
    TAKE(frame_code, fr->executable, fr->size, 8);
    TAKE(frame_instr, fr->instr_ptr, fr->size, 8);
    TAKE(frame_owner, fr->owner, fr->size, 1);
    TAKE_SIZE(frame_size, fr->size);
    u->executable_tag_bits = PS_STACKREF_TAG_BITS;

    const do_code_object *co = c->code;
    TAKE(code_filename, co->filename, co->size, 8);
    TAKE(code_name, co->name, co->size, 8);
    TAKE(code_qualname, co->qualname, co->size, 8);
    TAKE(code_linetable, co->linetable, co->size, 8);
    TAKE(code_firstlineno, co->firstlineno, co->size, 4);
    TAKE(code_adaptive, co->co_code_adaptive, co->size, 0);
    TAKE_SIZE(code_size, co->size);

    TAKE(object_type, c->ob_type, c->pyobject_size, 8);
    TAKE(type_flags, c->tp_flags, c->type_size, 8);
    TAKE(dict_keys, c->dict->ma_keys, c->dict->size, 8);
    TAKE(dict_values, c->dict->ma_values, c->dict->size, 8);
    TAKE(long_tag, c->long_->lv_tag, c->long_->size, 8);
    TAKE(long_digits, c->long_->ob_digit, c->long_->size, 0);
    TAKE(varobject_size, c->bytes->ob_size, c->bytes->size, 8);
    TAKE(bytes_sval, c->bytes->ob_sval, c->bytes->size, 1);
    /* The code object is a PyVarObject too: its ob_size (the number of
     * code units) sits where the bytes object's does. */
    TAKE(varobject_size, c->bytes->ob_size, co->size, 8);
    TAKE(unicode_length, c->unicode_length, c->unicode_size, 8);
    TAKE(unicode_state, c->unicode_state, c->unicode_size, 4);
    TAKE(unicode_ascii_size, c->ascii_size, c->unicode_size, 0);
    return PS_OK;
}

#define COMMON_1415(d)                                                                      \
    {                                                                                       \
        .runtime = &(d)->runtime_state,                                                     \
        .interp = &(d)->interpreter_state,                                                  \
        .frame = &(d)->interpreter_frame,                                                   \
        .code = &(d)->code_object,                                                          \
        .pyobject_size = (d)->pyobject.size,                                                \
        .ob_type = (d)->pyobject.ob_type,                                                   \
        .type_size = (d)->type_object.size,                                                 \
        .tp_flags = (d)->type_object.tp_flags,                                              \
        .dict = &(d)->dict_object,                                                          \
        .long_ = &(d)->long_object,                                                         \
        .bytes = &(d)->bytes_object,                                                        \
        .unicode_size = (d)->unicode_object.size,                                           \
        .unicode_state = (d)->unicode_object.state,                                         \
        .unicode_length = (d)->unicode_object.length,                                       \
        .ascii_size = (d)->unicode_object.asciiobject_size,                                 \
        .llist = &(d)->llist_node,                                                          \
        .debugger = &(d)->debugger_support,                                                 \
        .tstate_size = (d)->thread_state.size,                                              \
        .tstate_next = (d)->thread_state.next,                                              \
        .tstate_interp = (d)->thread_state.interp,                                          \
        .tstate_current_frame = (d)->thread_state.current_frame,                            \
        .tstate_thread_id = (d)->thread_state.thread_id,                                    \
        .tstate_native_thread_id = (d)->thread_state.native_thread_id,                      \
        .gc_collecting = (d)->interpreter_state.gc + (d)->gc.collecting,                    \
    }

static int apply_314(ps_unwinder *u, const debug_offsets_314 *d)
{
    common_1415 c = COMMON_1415(d);
    int rc = apply_common_1415(u, &c, 14);
    if (rc != PS_OK) {
        return rc;
    }
    ps_layout *L = &u->layout;
    /* The table locates neither PyCompactUnicodeObject's end nor the
     * exception state: both come from the headers, inside the structs the
     * table sizes. */
    TAKE(unicode_compact_size, L->unicode_compact_size, d->unicode_object.size, 0);
    TAKE(tstate_exc_info, L->tstate_exc_info, d->thread_state.size, 8);
    return PS_OK;
}

static int apply_315(ps_unwinder *u, const debug_offsets_315 *d)
{
    common_1415 c = COMMON_1415(d);
    int rc = apply_common_1415(u, &c, 15);
    if (rc != PS_OK) {
        return rc;
    }
    ps_layout *L = &u->layout;
    uint64_t ascii = d->unicode_object.asciiobject_size;
    uint64_t compact = d->unicode_object.compactunicodeobject_size;
    if (compact != ascii + 16) {
        char who[64];
        return ps_fail(u, PS_EVERSION,
                       "%s: _Py_DebugOffsets gives PyCompactUnicodeObject %llu bytes and "
                       "PyASCIIObject %llu, not the layout pysampler knows for 3.15",
                       ps_target_name(u, who, sizeof who), (unsigned long long)compact,
                       (unsigned long long)ascii);
    }
    TAKE(unicode_compact_size, compact, d->unicode_object.size, 0);
    uint64_t type_size = d->type_object.size;
    TAKE(type_basicsize, d->type_object.tp_basicsize, type_size, 8);
    TAKE(type_dictoffset, d->type_object.tp_dictoffset, type_size, 8);
    TAKE(heaptype_cached_keys, d->heap_type_object.ht_cached_keys, d->heap_type_object.size, 8);
    /* exc_info follows current_exception, previous_item follows exc_value
     * (see the top of this file); the headers' values are not used. */
    uint64_t tsize = d->thread_state.size;
    TAKE(tstate_exc_info, d->thread_state.current_exception + 8, tsize, 8);
    TAKE(tstate_profiled_frame, d->thread_state.last_profiled_frame, tsize, 8);
    TAKE(tstate_profiled_seq, d->thread_state.last_profiled_frame_seq, tsize, 8);
    if (d->err_stackitem.exc_value > 64) {
        char who[64];
        return ps_fail(u, PS_EVERSION, "%s: _Py_DebugOffsets err_stackitem.exc_value (%llu) "
                       "is not inside a _PyErr_StackItem; refusing to guess",
                       ps_target_name(u, who, sizeof who),
                       (unsigned long long)d->err_stackitem.exc_value);
    }
    L->err_stackitem_value = (int32_t)d->err_stackitem.exc_value;
    L->err_stackitem_previous = (int32_t)d->err_stackitem.exc_value + 8;
    return PS_OK;
}

/* Read the table, the size of T, at the start of _PyRuntime. */
#define READ_TABLE(T, var)                                                                  \
    T var;                                                                                  \
    do {                                                                                    \
        rc = ps_read(&u->reader, u->runtime, &var, sizeof var);                             \
        if (rc != PS_OK) {                                                                  \
            return ps_fail(u, rc, "%s: cannot read its _Py_DebugOffsets (%zu bytes)", who, \
                           sizeof var);                                                     \
        }                                                                                   \
    } while (0)

int ps_apply_debug_offsets(ps_unwinder *u)
{
    const ps_target_info *t = &u->target;
    char who[64], version[32];
    ps_target_name(u, who, sizeof who);
    ps_version_text(t, version, sizeof version);
    struct {
        char cookie[8];
        uint64_t version;
        uint64_t free_threaded;
    } head;
    int rc = ps_read(&u->reader, u->runtime, &head, sizeof head);
    if (rc != PS_OK) {
        return ps_fail(u, rc, "%s: cannot read _PyRuntime", who);
    }
    if (memcmp(head.cookie, PS_DEBUG_COOKIE, 8) != 0) {
        return ps_fail(u, PS_EVERSION,
                       "%s runs Python %s but its _PyRuntime carries no "
                       "_Py_DebugOffsets cookie",
                       who, version);
    }
    int major = (int)(head.version >> 24), minor = (int)((head.version >> 16) & 0xff);
    if (major != t->major || minor != t->minor) {
        return ps_fail(u, PS_EVERSION,
                       "%s: _Py_DebugOffsets says Python %d.%d, Py_Version says %d.%d",
                       who, major, minor, t->major, t->minor);
    }
    if (head.free_threaded) {
        return ps_fail(u, PS_EVERSION,
                       "%s runs Python %s as a free-threaded (\"t\") build, "
                       "which pysampler cannot read",
                       who, version);
    }
    if (major == 3 && minor == 13) {
        READ_TABLE(debug_offsets_313, d);
        return apply_313(u, &d);
    }
    if (major == 3 && minor == 14) {
        READ_TABLE(debug_offsets_314, d);
        return apply_314(u, &d);
    }
    if (major == 3 && minor == 15) {
        READ_TABLE(debug_offsets_315, d);
        return apply_315(u, &d);
    }
    return ps_fail(u, PS_EVERSION,
                   "%s runs Python %s, whose _Py_DebugOffsets version "
                   "pysampler does not understand (it reads CPython 3.%d to 3.%d)",
                   who, version, PS_MIN_MINOR, PS_MAX_MINOR);
}
