/* Per-version structure layouts of a CPython target.
 *
 * One ps_layout describes where the fields the unwinder needs sit inside
 * CPython's runtime, interpreter, thread, frame, code and object structs.
 * For 3.8-3.13 a table generated from each version's installed headers
 * (tools/gen_layouts.py -> layouts/v3_*.h) provides it; for 3.13 and newer
 * the values carried by _Py_DebugOffsets in the target override it at
 * attach time.  A field a version does not have is PS_ABSENT.
 */
#ifndef PYSAMPLER_LAYOUT_H
#define PYSAMPLER_LAYOUT_H

#include <stdint.h>

#define PS_ABSENT (-1)

typedef struct ps_layout {
    int32_t major;
    int32_t minor;

    /* _PyRuntimeState */
    int32_t runtime_interpreters_head; /* interpreters.head */
    int32_t runtime_main_thread;       /* main_thread: unsigned long ident */
    int32_t runtime_gil_locked;        /* 3.8-3.11: ceval.gil.locked */
    int32_t runtime_gil_last_holder;   /* 3.8-3.11: ceval.gil.last_holder */

    /* PyInterpreterState */
    int32_t interp_size;
    int32_t interp_id;
    int32_t interp_next;
    int32_t interp_threads_head;
    int32_t interp_threads_main; /* 3.11+: threads.main */
    int32_t interp_gil;          /* 3.12+: ceval.gil, a pointer */
    int32_t gil_locked;          /* in struct _gil_runtime_state */
    int32_t gil_last_holder;     /* in struct _gil_runtime_state */

    /* PyThreadState */
    int32_t tstate_size;
    int32_t tstate_next;
    int32_t tstate_interp;
    int32_t tstate_frame;          /* 3.8-3.10 frame, 3.13+ current_frame */
    int32_t tstate_cframe;         /* 3.11-3.12: cframe, a pointer */
    int32_t cframe_current_frame;  /* 3.11-3.12: _PyCFrame.current_frame */
    int32_t tstate_thread_id;
    int32_t tstate_native_thread_id; /* 3.11+ */
    int32_t tstate_exc_info;       /* pointer to the topmost _PyErr_StackItem */
    int32_t err_stackitem_value;   /* _PyErr_StackItem.exc_value */
    int32_t err_stackitem_previous; /* _PyErr_StackItem.previous_item */

    /* Frames: PyFrameObject for 3.8-3.10, _PyInterpreterFrame for 3.11+ */
    int32_t frame_size;
    int32_t frame_previous;   /* f_back / previous */
    int32_t frame_code;       /* f_code / f_executable */
    int32_t frame_lasti;      /* 3.8-3.10: int f_lasti */
    int32_t frame_instr;      /* 3.11-3.12 prev_instr, 3.13+ instr_ptr */
    int32_t frame_owner;      /* 3.11+: char owner */
    int32_t owner_cstack;     /* value of FRAME_OWNED_BY_CSTACK (3.12+) */

    /* PyCodeObject */
    int32_t code_size;
    int32_t code_filename;
    int32_t code_name;
    int32_t code_qualname;    /* 3.11+ */
    int32_t code_firstlineno;
    int32_t code_linetable;   /* co_lnotab (3.8-3.9), co_linetable (3.10+) */
    int32_t code_code;        /* 3.8-3.10: co_code, a bytes object */
    int32_t code_adaptive;    /* 3.11+: co_code_adaptive, inline bytes */

    /* Objects */
    int32_t object_type;        /* ob_type */
    int32_t varobject_size;     /* ob_size */
    int32_t bytes_sval;         /* PyBytesObject.ob_sval */
    int32_t unicode_length;     /* PyASCIIObject.length */
    int32_t unicode_state;      /* PyASCIIObject.state, a 32-bit word */
    int32_t unicode_ascii_size;   /* sizeof(PyASCIIObject) */
    int32_t unicode_compact_size; /* sizeof(PyCompactUnicodeObject) */
    int32_t unicode_kind_shift;   /* bit position of state.kind (3 bits) */
    int32_t unicode_compact_shift;
    int32_t unicode_ascii_shift;
} ps_layout;

/* Generated tables, one per minor version; NULL when not built in. */
const ps_layout *ps_layout_for(int major, int minor);

/* Opcode names of a minor version (256 entries, NULL for unused numbers). */
const char *const *ps_opnames_for(int major, int minor);

/* Inline cache sizes and base opcodes (3.11+); NULL for older versions. */
const uint8_t *ps_cache_entries_for(int major, int minor);
const uint8_t *ps_deopt_for(int major, int minor);

#endif
