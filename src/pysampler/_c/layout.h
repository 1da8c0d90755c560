/* Per-version structure layouts of a CPython target.
 *
 * One ps_layout describes where the fields the unwinder needs sit inside
 * CPython's runtime, interpreter, thread, frame, code and object structs.
 * For 3.8-3.15 a table generated from each version's installed headers
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
    int32_t tstate_profiled_frame; /* 3.15+: last_profiled_frame, the profiler's mark */
    int32_t tstate_profiled_seq;   /* 3.15+: last_profiled_frame_seq, bumped as it moves */
    int32_t err_stackitem_value;   /* _PyErr_StackItem.exc_value */
    int32_t err_stackitem_previous; /* _PyErr_StackItem.previous_item */

    /* Frames: PyFrameObject for 3.8-3.10, _PyInterpreterFrame for 3.11+ */
    int32_t frame_size;
    int32_t frame_previous;   /* f_back / previous */
    int32_t frame_code;       /* f_code / f_executable */
    int32_t frame_lasti;      /* 3.8-3.10: int f_lasti */
    int32_t frame_instr;      /* 3.11-3.12 prev_instr, 3.13+ instr_ptr */
    int32_t frame_owner;      /* 3.11+: char owner */
    int32_t frame_gen;        /* 3.8-3.10: f_gen, the generator a frame belongs to */
    int32_t owner_generator;  /* 3.11+: FRAME_OWNED_BY_GENERATOR */
    int32_t owner_cstack;     /* first owner with no Python code: 3.12-3.13
                                 FRAME_OWNED_BY_CSTACK, 3.14+ _INTERPRETER */

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

    /* Thread names (threadnames.c): the main interpreter's sys.modules ->
     * the threading module -> its _active dict -> each Thread's _name. */
    int32_t runtime_interpreters_main; /* interpreters.main */
    int32_t interp_modules;       /* modules (3.8-3.11), imports.modules (3.12+) */
    int32_t module_dict;          /* PyModuleObject.md_dict */
    int32_t type_basicsize;       /* PyTypeObject.tp_basicsize */
    int32_t type_flags;           /* PyTypeObject.tp_flags */
    int32_t type_dictoffset;      /* PyTypeObject.tp_dictoffset */
    int32_t heaptype_cached_keys; /* PyHeapTypeObject.ht_cached_keys */
    int32_t tpflags_heaptype;     /* Py_TPFLAGS_HEAPTYPE */
    int32_t tpflags_long_subclass;    /* Py_TPFLAGS_LONG_SUBCLASS */
    int32_t tpflags_unicode_subclass; /* Py_TPFLAGS_UNICODE_SUBCLASS */
    int32_t tpflags_dict_subclass;    /* Py_TPFLAGS_DICT_SUBCLASS */
    int32_t tpflags_managed_dict;     /* 3.11+: Py_TPFLAGS_MANAGED_DICT */
    int32_t tpflags_inline_values;    /* 3.13+: Py_TPFLAGS_INLINE_VALUES; the
                                         values follow the object's basicsize */
    int32_t managed_dict_before;   /* 3.11+: bytes before a managed-dict object
                                      where its dict pointer sits */
    int32_t managed_values_before; /* 3.11: where its PyDictValues pointer sits */
    int32_t managed_dict_tagged;   /* 3.12: 1, the dict word is a PyDictOrValues
                                      (low bit set: values pointer minus one) */
    int32_t dict_keys;             /* PyDictObject.ma_keys */
    int32_t dict_values;           /* PyDictObject.ma_values */
    int32_t dictvalues_values;     /* PyDictValues.values; 0 before 3.11 (an array) */
    int32_t dictvalues_valid;      /* 3.13+: PyDictValues.valid, a byte */
    int32_t dictkeys_size;         /* 3.8-3.10: dk_size, a Py_ssize_t */
    int32_t dictkeys_log2_size;    /* 3.11+: dk_log2_size, a byte */
    int32_t dictkeys_log2_index_bytes; /* 3.11+: dk_log2_index_bytes, a byte */
    int32_t dictkeys_kind;         /* 3.11+: dk_kind, a byte */
    int32_t dictkeys_nentries;     /* dk_nentries */
    int32_t dictkeys_indices;      /* dk_indices; the entries follow them */
    int32_t dict_kind_general;     /* 3.11+: DICT_KEYS_GENERAL */
    int32_t dictentry_size;        /* sizeof(PyDictKeyEntry) */
    int32_t dictentry_key;         /* PyDictKeyEntry.me_key */
    int32_t dictentry_value;       /* PyDictKeyEntry.me_value */
    int32_t dictunicodeentry_size;  /* 3.11+: sizeof(PyDictUnicodeEntry) */
    int32_t dictunicodeentry_key;   /* 3.11+: PyDictUnicodeEntry.me_key */
    int32_t dictunicodeentry_value; /* 3.11+: PyDictUnicodeEntry.me_value */
    int32_t long_size;             /* 3.8-3.11: ob_size, the signed digit count */
    int32_t long_tag;              /* 3.12+: long_value.lv_tag */
    int32_t long_tag_shift;        /* 3.12+: _PyLong_NON_SIZE_BITS */
    int32_t long_digits;           /* ob_digit */
    int32_t long_digit_size;       /* sizeof(digit) */
    int32_t long_digit_bits;       /* PyLong_SHIFT */

    /* Markers: <GC> while the collector runs, <native> at C entry frames */
    int32_t runtime_gc_collecting; /* 3.8: _PyRuntime.gc.collecting (an int) */
    int32_t interp_gc_collecting;  /* 3.9+: PyInterpreterState.gc.collecting */
    int32_t frame_is_entry;        /* 3.11: _PyInterpreterFrame.is_entry (a bool) */
} ps_layout;

/* Generated tables, one per minor version; NULL when not built in. */
const ps_layout *ps_layout_for(int major, int minor);

/* Opcode names of a minor version (256 entries, NULL for unused numbers). */
const char *const *ps_opnames_for(int major, int minor);

/* Inline cache sizes and base opcodes (3.11+); NULL for older versions. */
const uint8_t *ps_cache_entries_for(int major, int minor);
const uint8_t *ps_deopt_for(int major, int minor);

#endif
