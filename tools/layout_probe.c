/* Layout probe for tools/gen_layouts.py.
 *
 * Compiled against one CPython version's headers (3.8-3.15) with
 * Py_BUILD_CORE so that the internal runtime, interpreter, thread and frame
 * structs are visible.  Prints one "name value" line per ps_layout field
 * (see src/pysampler/_c/layout.h), where value is a decimal number or
 * "absent", plus "version X.Y.Z" first.  For 3.11 and newer it then prints
 * "cache_entries OP N" and "deopt OP BASE" for every opcode number 0-255:
 * CPython's _PyOpcode_Caches and _PyOpcode_Deopt tables, which the headers
 * define when NEED_OPCODE_TABLES (3.11-3.12, internal/pycore_opcode.h) or
 * NEED_OPCODE_METADATA (3.13+, internal/pycore_opcode_metadata.h) is set.
 * Nothing is linked against libpython: only offsetof(), sizeof(), enum
 * constants and those constant tables are used.
 */
#define Py_BUILD_CORE 1
#define NEED_OPCODE_TABLES 1   /* 3.11-3.12 */
#define NEED_OPCODE_METADATA 1 /* 3.13+ */

#include <Python.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if PY_VERSION_HEX < 0x03080000 || PY_VERSION_HEX >= 0x03100000
#  error "layout_probe.c supports CPython 3.8 to 3.15"
#endif
#ifdef Py_GIL_DISABLED
#  error "free-threaded builds have different layouts; not supported"
#endif

#if PY_VERSION_HEX < 0x030B0000
#  include <frameobject.h> /* PyFrameObject */
#endif

#if PY_VERSION_HEX < 0x03090000
#  include "internal/pycore_pystate.h" /* _PyRuntimeState, struct _is */
#else
#  include "internal/pycore_runtime.h" /* _PyRuntimeState */
#  include "internal/pycore_interp.h"  /* struct _is */
#endif

#if PY_VERSION_HEX >= 0x030E0000
/* _PyInterpreterFrame and its owners (pycore_interpframe_structs.h) */
#  include "internal/pycore_interpframe.h"
#elif PY_VERSION_HEX >= 0x030B0000
#  include "internal/pycore_frame.h" /* _PyInterpreterFrame */
#endif

#if PY_VERSION_HEX >= 0x030A0000
#  include "internal/pycore_moduleobject.h" /* PyModuleObject */
#endif

#if PY_VERSION_HEX >= 0x030B0000
#  include "internal/pycore_dict.h"   /* PyDictKeysObject, PyDictValues */
#  include "internal/pycore_object.h" /* managed dicts */
#endif

#if PY_VERSION_HEX >= 0x030D0000
#  include "internal/pycore_opcode_metadata.h" /* _PyOpcode_Caches, _Deopt */
#elif PY_VERSION_HEX >= 0x030B0000
#  include "internal/pycore_opcode.h" /* _PyOpcode_Caches, _PyOpcode_Deopt */
#endif

#if PY_VERSION_HEX < 0x030A0000
/* 3.8-3.9 define PyModuleObject in Objects/moduleobject.c, not in a header;
 * md_dict is its first member after the object head. */
typedef struct {
    PyObject_HEAD
    PyObject *md_dict;
} probe_module_object;
#  define PROBE_MODULE_DICT offsetof(probe_module_object, md_dict)
#else
#  define PROBE_MODULE_DICT offsetof(PyModuleObject, md_dict)
#endif

#if PY_VERSION_HEX < 0x030B0000
/* 3.8-3.10 define the dict keys object in Objects/dict-common.h, not in
 * an installed header: a Py_ssize_t dk_size (a power of 2) after the
 * refcount, then the lookup function, dk_usable and dk_nentries; dk_indices
 * hold dk_size indices of 1, 2, 4 or 8 bytes each and PyDictKeyEntry
 * entries follow them. */
typedef struct {
    Py_hash_t me_hash;
    PyObject *me_key;
    PyObject *me_value;
} probe_dict_key_entry;

typedef struct {
    Py_ssize_t dk_refcnt;
    Py_ssize_t dk_size;
    void *dk_lookup;
    Py_ssize_t dk_usable;
    Py_ssize_t dk_nentries;
    char dk_indices[];
} probe_dict_keys_object;
#endif

#define FIELD(name, value) printf("%s %lld\n", #name, (long long)(value))
#define ABSENT(name) printf("%s absent\n", #name)

/* Bit position of the lowest bit set in the 32-bit state word of *obj;
 * exits when the set bits are not `width` contiguous ones. */
static int
state_shift(const PyASCIIObject *obj, const char *what, int width)
{
    uint32_t word;
    uint32_t ones = (width >= 32) ? 0xffffffffu : ((1u << width) - 1u);
    int shift;

    memcpy(&word, (const char *)obj + offsetof(PyASCIIObject, state),
           sizeof(word));
    for (shift = 0; shift < 32; shift++) {
        if (word & (1u << shift)) {
            break;
        }
    }
    if (shift == 32 || (word >> shift) != ones) {
        fprintf(stderr, "layout_probe: state.%s bits not found (word %#x)\n",
                what, (unsigned)word);
        exit(1);
    }
    return shift;
}

/* Fields for reading threading.Thread names: modules, types, instance
 * dicts and their values, dicts and ints. */
static void
thread_name_fields(void)
{
    FIELD(runtime_interpreters_main,
          offsetof(_PyRuntimeState, interpreters.main));
#if PY_VERSION_HEX >= 0x030C0000
    FIELD(interp_modules, offsetof(PyInterpreterState, imports.modules));
#else
    FIELD(interp_modules, offsetof(PyInterpreterState, modules));
#endif
    FIELD(module_dict, PROBE_MODULE_DICT);
    FIELD(type_basicsize, offsetof(PyTypeObject, tp_basicsize));
    FIELD(type_flags, offsetof(PyTypeObject, tp_flags));
    FIELD(type_dictoffset, offsetof(PyTypeObject, tp_dictoffset));
    FIELD(heaptype_cached_keys, offsetof(PyHeapTypeObject, ht_cached_keys));
    FIELD(tpflags_heaptype, Py_TPFLAGS_HEAPTYPE);
    FIELD(tpflags_long_subclass, Py_TPFLAGS_LONG_SUBCLASS);
    FIELD(tpflags_unicode_subclass, Py_TPFLAGS_UNICODE_SUBCLASS);
    FIELD(tpflags_dict_subclass, Py_TPFLAGS_DICT_SUBCLASS);

#if PY_VERSION_HEX >= 0x030B0000
    /* Where the managed dict (and values) pointers of an object sit,
     * learned from CPython's own accessors on a fake object. */
    static PyTypeObject fake_type;
    static PyObject *words[16];
    PyObject *obj = (PyObject *)&words[8];
    fake_type.tp_flags = Py_TPFLAGS_MANAGED_DICT;
    fake_type.tp_basicsize = sizeof(PyObject);
    Py_SET_TYPE(obj, &fake_type);
    FIELD(tpflags_managed_dict, Py_TPFLAGS_MANAGED_DICT);
#  if PY_VERSION_HEX >= 0x030D0000
    fake_type.tp_flags |= Py_TPFLAGS_INLINE_VALUES;
    FIELD(tpflags_inline_values, Py_TPFLAGS_INLINE_VALUES);
    if ((char *)_PyObject_InlineValues(obj) !=
        (char *)obj + fake_type.tp_basicsize) {
        fprintf(stderr, "layout_probe: inline values are not at basicsize\n");
        exit(1);
    }
    FIELD(managed_dict_before,
          (char *)obj - (char *)_PyObject_ManagedDictPointer(obj));
    ABSENT(managed_values_before);
    ABSENT(managed_dict_tagged);
#  elif PY_VERSION_HEX >= 0x030C0000
    ABSENT(tpflags_inline_values);
    PyDictOrValues *dorv = _PyObject_DictOrValuesPointer(obj);
    FIELD(managed_dict_before, (char *)obj - (char *)dorv);
    ABSENT(managed_values_before);
    {
        PyDictValues *values = (PyDictValues *)&words[2];
        _PyDictOrValues_SetValues(dorv, values);
        if (!_PyDictOrValues_IsValues(*dorv) ||
            (uintptr_t)dorv->values + 1 != (uintptr_t)values ||
            _PyDictOrValues_GetValues(*dorv) != values) {
            fprintf(stderr, "layout_probe: PyDictOrValues is not tagged "
                            "as expected\n");
            exit(1);
        }
    }
    FIELD(managed_dict_tagged, 1);
#  else
    ABSENT(tpflags_inline_values);
    FIELD(managed_dict_before,
          (char *)obj - (char *)_PyObject_ManagedDictPointer(obj));
    FIELD(managed_values_before,
          (char *)obj - (char *)_PyObject_ValuesPointer(obj));
    ABSENT(managed_dict_tagged);
#  endif
#else
    ABSENT(tpflags_managed_dict);
    ABSENT(tpflags_inline_values);
    ABSENT(managed_dict_before);
    ABSENT(managed_values_before);
    ABSENT(managed_dict_tagged);
#endif

    FIELD(dict_keys, offsetof(PyDictObject, ma_keys));
    FIELD(dict_values, offsetof(PyDictObject, ma_values));
#if PY_VERSION_HEX >= 0x030B0000
    FIELD(dictvalues_values, offsetof(PyDictValues, values));
#  if PY_VERSION_HEX >= 0x030D0000
    FIELD(dictvalues_valid, offsetof(PyDictValues, valid));
#  else
    ABSENT(dictvalues_valid);
#  endif
    ABSENT(dictkeys_size);
    FIELD(dictkeys_log2_size, offsetof(PyDictKeysObject, dk_log2_size));
    FIELD(dictkeys_log2_index_bytes,
          offsetof(PyDictKeysObject, dk_log2_index_bytes));
    FIELD(dictkeys_kind, offsetof(PyDictKeysObject, dk_kind));
    FIELD(dictkeys_nentries, offsetof(PyDictKeysObject, dk_nentries));
    FIELD(dictkeys_indices, offsetof(PyDictKeysObject, dk_indices));
    FIELD(dict_kind_general, DICT_KEYS_GENERAL);
    FIELD(dictentry_size, sizeof(PyDictKeyEntry));
    FIELD(dictentry_key, offsetof(PyDictKeyEntry, me_key));
    FIELD(dictentry_value, offsetof(PyDictKeyEntry, me_value));
    FIELD(dictunicodeentry_size, sizeof(PyDictUnicodeEntry));
    FIELD(dictunicodeentry_key, offsetof(PyDictUnicodeEntry, me_key));
    FIELD(dictunicodeentry_value, offsetof(PyDictUnicodeEntry, me_value));
#else
    FIELD(dictvalues_values, 0); /* ma_values is a PyObject *[] */
    ABSENT(dictvalues_valid);
    FIELD(dictkeys_size, offsetof(probe_dict_keys_object, dk_size));
    ABSENT(dictkeys_log2_size);
    ABSENT(dictkeys_log2_index_bytes);
    ABSENT(dictkeys_kind);
    FIELD(dictkeys_nentries, offsetof(probe_dict_keys_object, dk_nentries));
    FIELD(dictkeys_indices, offsetof(probe_dict_keys_object, dk_indices));
    ABSENT(dict_kind_general);
    FIELD(dictentry_size, sizeof(probe_dict_key_entry));
    FIELD(dictentry_key, offsetof(probe_dict_key_entry, me_key));
    FIELD(dictentry_value, offsetof(probe_dict_key_entry, me_value));
    ABSENT(dictunicodeentry_size);
    ABSENT(dictunicodeentry_key);
    ABSENT(dictunicodeentry_value);
#endif

#if PY_VERSION_HEX >= 0x030C0000
    ABSENT(long_size);
    FIELD(long_tag, offsetof(PyLongObject, long_value.lv_tag));
    FIELD(long_tag_shift, _PyLong_NON_SIZE_BITS);
    FIELD(long_digits, offsetof(PyLongObject, long_value.ob_digit));
#else
    FIELD(long_size, offsetof(PyLongObject, ob_base.ob_size));
    ABSENT(long_tag);
    ABSENT(long_tag_shift);
    FIELD(long_digits, offsetof(PyLongObject, ob_digit));
#endif
    FIELD(long_digit_size, sizeof(digit));
    FIELD(long_digit_bits, PyLong_SHIFT);
}

int
main(void)
{
    PyASCIIObject probe;

    /* The unwinder reads PyASCIIObject.state as one 32-bit word. */
    if (sizeof(probe.state) != sizeof(uint32_t)) {
        fprintf(stderr, "layout_probe: PyASCIIObject.state is %u bytes\n",
                (unsigned)sizeof(probe.state));
        return 1;
    }

    printf("version %s\n", PY_VERSION);

    /* _PyRuntimeState */
    FIELD(runtime_interpreters_head,
          offsetof(_PyRuntimeState, interpreters.head));
    FIELD(runtime_main_thread, offsetof(_PyRuntimeState, main_thread));
#if PY_VERSION_HEX < 0x030C0000
    FIELD(runtime_gil_locked, offsetof(_PyRuntimeState, ceval.gil.locked));
    FIELD(runtime_gil_last_holder,
          offsetof(_PyRuntimeState, ceval.gil.last_holder));
#else
    ABSENT(runtime_gil_locked);
    ABSENT(runtime_gil_last_holder);
#endif

    /* PyInterpreterState */
    FIELD(interp_size, sizeof(PyInterpreterState));
    FIELD(interp_id, offsetof(PyInterpreterState, id));
    FIELD(interp_next, offsetof(PyInterpreterState, next));
#if PY_VERSION_HEX < 0x030B0000
    FIELD(interp_threads_head, offsetof(PyInterpreterState, tstate_head));
#else
    FIELD(interp_threads_head, offsetof(PyInterpreterState, threads.head));
#endif
#if PY_VERSION_HEX >= 0x030D0000
    FIELD(interp_threads_main, offsetof(PyInterpreterState, threads.main));
#elif PY_VERSION_HEX >= 0x030C0000
    /* 3.12 keeps the same pointer outside struct pythreads. */
    FIELD(interp_threads_main, offsetof(PyInterpreterState, threads_main));
#else
    ABSENT(interp_threads_main);
#endif
#if PY_VERSION_HEX >= 0x030C0000
    FIELD(interp_gil, offsetof(PyInterpreterState, ceval.gil));
#else
    ABSENT(interp_gil);
#endif
    FIELD(gil_locked, offsetof(struct _gil_runtime_state, locked));
    FIELD(gil_last_holder, offsetof(struct _gil_runtime_state, last_holder));

    /* PyThreadState */
    FIELD(tstate_size, sizeof(PyThreadState));
    FIELD(tstate_next, offsetof(PyThreadState, next));
    FIELD(tstate_interp, offsetof(PyThreadState, interp));
#if PY_VERSION_HEX < 0x030B0000
    FIELD(tstate_frame, offsetof(PyThreadState, frame));
#elif PY_VERSION_HEX >= 0x030D0000
    FIELD(tstate_frame, offsetof(PyThreadState, current_frame));
#else
    ABSENT(tstate_frame);
#endif
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030D0000
    FIELD(tstate_cframe, offsetof(PyThreadState, cframe));
    FIELD(cframe_current_frame, offsetof(_PyCFrame, current_frame));
#else
    ABSENT(tstate_cframe);
    ABSENT(cframe_current_frame);
#endif
    FIELD(tstate_thread_id, offsetof(PyThreadState, thread_id));
#if PY_VERSION_HEX >= 0x030B0000
    FIELD(tstate_native_thread_id, offsetof(PyThreadState, native_thread_id));
#else
    ABSENT(tstate_native_thread_id);
#endif
    FIELD(tstate_exc_info, offsetof(PyThreadState, exc_info));
#if PY_VERSION_HEX >= 0x030F0000
    FIELD(tstate_profiled_frame, offsetof(PyThreadState, last_profiled_frame));
    FIELD(tstate_profiled_seq, offsetof(PyThreadState, last_profiled_frame_seq));
#else
    ABSENT(tstate_profiled_frame);
    ABSENT(tstate_profiled_seq);
#endif
    FIELD(err_stackitem_value, offsetof(_PyErr_StackItem, exc_value));
    FIELD(err_stackitem_previous, offsetof(_PyErr_StackItem, previous_item));

    /* Frames */
#if PY_VERSION_HEX < 0x030B0000
    FIELD(frame_size, sizeof(PyFrameObject));
    FIELD(frame_previous, offsetof(PyFrameObject, f_back));
    FIELD(frame_code, offsetof(PyFrameObject, f_code));
    FIELD(frame_lasti, offsetof(PyFrameObject, f_lasti));
    ABSENT(frame_instr);
    ABSENT(frame_owner);
    FIELD(frame_gen, offsetof(PyFrameObject, f_gen));
    ABSENT(owner_generator);
#else
    FIELD(frame_size, sizeof(_PyInterpreterFrame));
    FIELD(frame_previous, offsetof(_PyInterpreterFrame, previous));
#  if PY_VERSION_HEX >= 0x030E0000
    /* A _PyStackRef: the code object's address with tag bits in its low
     * bits, one word the unwinder reads and masks. */
    if (sizeof(((_PyInterpreterFrame *)0)->f_executable) != sizeof(uintptr_t)) {
        fprintf(stderr, "layout_probe: f_executable is not one word\n");
        return 1;
    }
    FIELD(frame_code, offsetof(_PyInterpreterFrame, f_executable));
#  elif PY_VERSION_HEX >= 0x030D0000
    FIELD(frame_code, offsetof(_PyInterpreterFrame, f_executable));
#  else
    FIELD(frame_code, offsetof(_PyInterpreterFrame, f_code));
#  endif
    ABSENT(frame_lasti);
#  if PY_VERSION_HEX >= 0x030D0000
    FIELD(frame_instr, offsetof(_PyInterpreterFrame, instr_ptr));
#  else
    FIELD(frame_instr, offsetof(_PyInterpreterFrame, prev_instr));
#  endif
    FIELD(frame_owner, offsetof(_PyInterpreterFrame, owner));
    ABSENT(frame_gen);
    FIELD(owner_generator, FRAME_OWNED_BY_GENERATOR);
#endif
#if PY_VERSION_HEX >= 0x030E0000
    /* 3.14 adds FRAME_OWNED_BY_CSTACK after INTERPRETER and 3.15 drops it:
     * INTERPRETER is the first owner of a frame with no Python code. */
    FIELD(owner_cstack, FRAME_OWNED_BY_INTERPRETER);
#elif PY_VERSION_HEX >= 0x030C0000
    FIELD(owner_cstack, FRAME_OWNED_BY_CSTACK);
#else
    ABSENT(owner_cstack);
#endif

    /* PyCodeObject */
    FIELD(code_size, sizeof(PyCodeObject));
    FIELD(code_filename, offsetof(PyCodeObject, co_filename));
    FIELD(code_name, offsetof(PyCodeObject, co_name));
#if PY_VERSION_HEX >= 0x030B0000
    FIELD(code_qualname, offsetof(PyCodeObject, co_qualname));
#else
    ABSENT(code_qualname);
#endif
    FIELD(code_firstlineno, offsetof(PyCodeObject, co_firstlineno));
#if PY_VERSION_HEX < 0x030A0000
    FIELD(code_linetable, offsetof(PyCodeObject, co_lnotab));
#else
    FIELD(code_linetable, offsetof(PyCodeObject, co_linetable));
#endif
#if PY_VERSION_HEX < 0x030B0000
    FIELD(code_code, offsetof(PyCodeObject, co_code));
    ABSENT(code_adaptive);
#else
    ABSENT(code_code);
    FIELD(code_adaptive, offsetof(PyCodeObject, co_code_adaptive));
#endif

    /* Objects */
    FIELD(object_type, offsetof(PyObject, ob_type));
    FIELD(varobject_size, offsetof(PyVarObject, ob_size));
    FIELD(bytes_sval, offsetof(PyBytesObject, ob_sval));
    FIELD(unicode_length, offsetof(PyASCIIObject, length));
    FIELD(unicode_state, offsetof(PyASCIIObject, state));
    FIELD(unicode_ascii_size, sizeof(PyASCIIObject));
    FIELD(unicode_compact_size, sizeof(PyCompactUnicodeObject));

    memset(&probe, 0, sizeof(probe));
    probe.state.kind = 7;
    FIELD(unicode_kind_shift, state_shift(&probe, "kind", 3));
    memset(&probe, 0, sizeof(probe));
    probe.state.compact = 1;
    FIELD(unicode_compact_shift, state_shift(&probe, "compact", 1));
    memset(&probe, 0, sizeof(probe));
    probe.state.ascii = 1;
    FIELD(unicode_ascii_shift, state_shift(&probe, "ascii", 1));

    thread_name_fields();

    /* Markers */
#if PY_VERSION_HEX < 0x03090000
    FIELD(runtime_gc_collecting, offsetof(_PyRuntimeState, gc.collecting));
    ABSENT(interp_gc_collecting);
#else
    ABSENT(runtime_gc_collecting);
    FIELD(interp_gc_collecting, offsetof(PyInterpreterState, gc.collecting));
#endif
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
    FIELD(frame_is_entry, offsetof(_PyInterpreterFrame, is_entry));
#else
    ABSENT(frame_is_entry);
#endif

#if PY_VERSION_HEX >= 0x030B0000
    /* Inline caches and specialization (3.11+). */
    for (int op = 0; op < 256; op++) {
        printf("cache_entries %d %d\n", op, (int)_PyOpcode_Caches[op]);
        printf("deopt %d %d\n", op, (int)_PyOpcode_Deopt[op]);
    }
#endif

    return 0;
}
