/* Reading _Py_DebugOffsets, the table of struct offsets that CPython 3.13
 * and newer keep at the start of _PyRuntime for out-of-process tools.
 *
 * The table's own shape changes between minor versions, so each version we
 * understand has its own mirror of it here; anything else is refused. */
#include <string.h>

#include "core.h"

#define PS_DEBUG_COOKIE "xdebugpy"

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

/* An offset from the target: must fit inside a struct of the given size. */
static int fits(uint64_t offset, uint64_t struct_size, uint64_t field_size)
{
    return struct_size <= (1u << 20) && offset + field_size <= struct_size;
}

#define TAKE(dst, off, size, field_size)                                                    \
    do {                                                                                    \
        if (!fits((off), (size), (field_size))) {                                           \
            return ps_fail(u, PS_EVERSION, "process %d: _Py_DebugOffsets field " #dst       \
                           " (%llu) lies outside its struct (%llu bytes); refusing to guess", \
                           u->target.pid, (unsigned long long)(off), (unsigned long long)(size)); \
        }                                                                                   \
        L->dst = (int32_t)(off);                                                            \
    } while (0)

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
        return ps_fail(u, PS_EVERSION, "process %d: inconsistent GIL offsets", u->target.pid);
    }
    TAKE(gil_locked, d->interpreter_state.gil_runtime_state_locked - gil, isize, 4);
    TAKE(gil_last_holder, d->interpreter_state.gil_runtime_state_holder - gil, isize, 8);
    TAKE(interp_size, isize, (uint64_t)1 << 20, 0);

    uint64_t tsize = d->thread_state.size;
    TAKE(tstate_next, d->thread_state.next, tsize, 8);
    TAKE(tstate_interp, d->thread_state.interp, tsize, 8);
    TAKE(tstate_frame, d->thread_state.current_frame, tsize, 8);
    TAKE(tstate_thread_id, d->thread_state.thread_id, tsize, 8);
    TAKE(tstate_native_thread_id, d->thread_state.native_thread_id, tsize, 8);
    TAKE(tstate_size, tsize, (uint64_t)1 << 20, 0);

    uint64_t fsize = d->interpreter_frame.size;
    TAKE(frame_previous, d->interpreter_frame.previous, fsize, 8);
    TAKE(frame_code, d->interpreter_frame.executable, fsize, 8);
    TAKE(frame_instr, d->interpreter_frame.instr_ptr, fsize, 8);
    TAKE(frame_owner, d->interpreter_frame.owner, fsize, 1);
    TAKE(frame_size, fsize, (uint64_t)1 << 20, 0);

    uint64_t csize = d->code_object.size;
    TAKE(code_filename, d->code_object.filename, csize, 8);
    TAKE(code_name, d->code_object.name, csize, 8);
    TAKE(code_qualname, d->code_object.qualname, csize, 8);
    TAKE(code_linetable, d->code_object.linetable, csize, 8);
    TAKE(code_firstlineno, d->code_object.firstlineno, csize, 4);
    TAKE(code_adaptive, d->code_object.co_code_adaptive, csize, 0);
    TAKE(code_size, csize, (uint64_t)1 << 20, 0);

    TAKE(object_type, d->pyobject.ob_type, d->pyobject.size, 8);
    TAKE(varobject_size, d->bytes_object.ob_size, d->bytes_object.size, 8);
    TAKE(bytes_sval, d->bytes_object.ob_sval, d->bytes_object.size, 1);
    TAKE(unicode_length, d->unicode_object.length, d->unicode_object.size, 8);
    TAKE(unicode_state, d->unicode_object.state, d->unicode_object.size, 4);
    TAKE(unicode_ascii_size, d->unicode_object.asciiobject_size, d->unicode_object.size, 0);
    return PS_OK;
}

int ps_apply_debug_offsets(ps_unwinder *u)
{
    const ps_target_info *t = &u->target;
    struct {
        char cookie[8];
        uint64_t version;
        uint64_t free_threaded;
    } head;
    int rc = ps_read(&u->reader, u->runtime, &head, sizeof head);
    if (rc != PS_OK) {
        return ps_fail(u, rc, "process %d: cannot read _PyRuntime", t->pid);
    }
    if (memcmp(head.cookie, PS_DEBUG_COOKIE, 8) != 0) {
        return ps_fail(u, PS_EVERSION,
                       "process %d runs Python %d.%d.%d but its _PyRuntime carries no "
                       "_Py_DebugOffsets cookie",
                       t->pid, t->major, t->minor, t->micro);
    }
    int major = (int)(head.version >> 24), minor = (int)((head.version >> 16) & 0xff);
    if (major != t->major || minor != t->minor) {
        return ps_fail(u, PS_EVERSION,
                       "process %d: _Py_DebugOffsets says Python %d.%d, Py_Version says %d.%d",
                       t->pid, major, minor, t->major, t->minor);
    }
    if (head.free_threaded) {
        return ps_fail(u, PS_EVERSION,
                       "process %d runs Python %d.%d.%d as a free-threaded (\"t\") build, "
                       "which pysampler cannot read",
                       t->pid, t->major, t->minor, t->micro);
    }
    if (minor == 13) {
        debug_offsets_313 d;
        rc = ps_read(&u->reader, u->runtime, &d, sizeof d);
        if (rc != PS_OK) {
            return ps_fail(u, rc, "process %d: cannot read _Py_DebugOffsets", t->pid);
        }
        return apply_313(u, &d);
    }
    return ps_fail(u, PS_EVERSION,
                   "process %d runs Python %d.%d.%d, whose _Py_DebugOffsets version "
                   "pysampler does not understand (it reads CPython 3.8 to 3.13)",
                   t->pid, t->major, t->minor, t->micro);
}
