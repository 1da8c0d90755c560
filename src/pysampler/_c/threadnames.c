/* Python thread names: threading.Thread.name of each thread, read from the
 * target's memory.
 *
 * The path is the main interpreter's sys.modules -> the "threading" module
 * -> its md_dict -> "_active" (a dict: ident int -> Thread) -> each
 * Thread's instance attribute "_name" (a str), through the readers of
 * objects.c.  A thread whose name cannot be read simply has none. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

enum { HINT_THREADING = 0, HINT_ACTIVE = 1, HINT_NAME = 2 };

/* ---- the names ------------------------------------------------------------- */

static int add_name(ps_name_table *t, uint64_t thread_id, uint32_t string_id)
{
    ps_thread_name *entries = ps_grow(t->entries, t->count, &t->capacity, sizeof *entries, 16);
    if (!entries) {
        return PS_ENOMEM;
    }
    t->entries = entries;
    t->entries[t->count++] = (ps_thread_name){thread_id, string_id};
    return PS_OK;
}

static int by_thread_id(const void *a, const void *b)
{
    uint64_t x = ((const ps_thread_name *)a)->thread_id;
    uint64_t y = ((const ps_thread_name *)b)->thread_id;
    return x < y ? -1 : x > y;
}

/* Whether the layout has every field this file reads (a layout built from
 * _Py_DebugOffsets alone may lack some). */
static int layout_complete(const ps_layout *L)
{
    return L->runtime_interpreters_main >= 0 && L->interp_modules >= 0 && L->module_dict >= 0 &&
           ps_objects_readable(L);
}

/* threading._active of the main interpreter, 0 when not imported. */
static int active_dict(ps_objects *o, uint64_t *active)
{
    ps_unwinder *u = o->u;
    const ps_layout *L = &u->layout;
    uint64_t interp = 0, modules = 0, threading = 0, globals = 0;
    *active = 0;
    if (!layout_complete(L)) {
        return PS_EVERSION;
    }
    int rc = ps_read_ptr(&u->reader, u->runtime + (uint64_t)L->runtime_interpreters_main, &interp);
    if (rc == PS_OK && !ps_plausible_pointer(interp)) {
        rc = PS_ECORRUPT;
    }
    if (rc == PS_OK) {
        rc = ps_read_ptr(&u->reader, interp + (uint64_t)L->interp_modules, &modules);
    }
    if (rc != PS_OK || !modules) {
        return rc; /* no sys.modules yet: starting up */
    }
    rc = ps_dict_get(o, modules, "threading", &u->names.hints[HINT_THREADING], &threading);
    if (rc != PS_OK || !threading) {
        return rc;
    }
    if (!ps_plausible_pointer(threading)) {
        return PS_ECORRUPT;
    }
    rc = ps_read_ptr(&u->reader, threading + (uint64_t)L->module_dict, &globals);
    if (rc != PS_OK || !globals) {
        return rc;
    }
    return ps_dict_get(o, globals, "_active", &u->names.hints[HINT_ACTIVE], active);
}

static int names_failed(ps_unwinder *u, int rc)
{
    char who[64];
    return ps_fail(u, rc, "%s: %s while reading threading._active",
                   ps_target_name(u, who, sizeof who), ps_error_name(rc));
}

int ps_unwinder_thread_names(ps_unwinder *u, uint32_t *count)
{
    ps_objects o;
    ps_objects_begin(&o, u);
    for (int i = 0; i < 3; i++) {
        u->names.hints[i].checked = 0;
    }
    u->names.count = 0;
    *count = 0;
    uint64_t active;
    int rc = active_dict(&o, &active);
    if (rc != PS_OK) {
        return names_failed(u, rc);
    }
    if (!active) {
        return PS_OK;
    }
    ps_dict_view threads;
    rc = ps_dict_view_of(&o, active, &threads);
    if (rc != PS_OK) {
        return names_failed(u, rc);
    }
    for (uint32_t i = 0; i < threads.count && rc == PS_OK; i++) {
        uint64_t key = ps_dict_key(&threads, i), thread = ps_dict_value(&threads, i);
        uint64_t ident, name = 0;
        uint32_t string_id;
        if (!key || !thread || ps_read_int(&o, key, &ident) != PS_OK ||
            ps_instance_attr(&o, thread, "_name", &u->names.hints[HINT_NAME], &name) != PS_OK ||
            !name || !ps_has_type_flag(&o, name, u->layout.tpflags_unicode_subclass) ||
            ps_read_string(u, name, &string_id) != PS_OK) {
            continue; /* this thread stays nameless */
        }
        rc = add_name(&u->names, ident, string_id);
    }
    ps_dict_view_free(&threads);
    if (rc != PS_OK) {
        u->names.count = 0;
        return ps_fail(u, rc, "out of memory reading thread names");
    }
    qsort(u->names.entries, u->names.count, sizeof *u->names.entries, by_thread_id);
    *count = u->names.count;
    return PS_OK;
}

/* The threading name ps_unwinder_thread_names last found for thread_id. */
static int threading_name(const ps_unwinder *u, uint64_t thread_id, uint32_t *string_id)
{
    uint32_t lo = 0, hi = u->names.count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (u->names.entries[mid].thread_id < thread_id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < u->names.count && u->names.entries[lo].thread_id == thread_id) {
        *string_id = u->names.entries[lo].string_id;
        return 1;
    }
    return 0;
}

int ps_thread_display_name(ps_unwinder *u, uint64_t thread_id, uint64_t native_id, int is_main,
                           uint32_t *string_id)
{
    if (threading_name(u, thread_id, string_id)) {
        return PS_NAMED_BY_THREADING;
    }
    /* A program that never imported threading: its main thread is still the
     * one threading would call MainThread. */
    if (is_main) {
        return ps_strings_intern(&u->strings, "MainThread", 10, string_id) == PS_OK
                   ? PS_NAMED_MAIN
                   : PS_NAMED_NOT;
    }
    char comm[64];
    size_t len = ps_thread_comm(u->target.pid, native_id, comm, sizeof comm);
    if (len && ps_strings_intern(&u->strings, comm, len, string_id) == PS_OK) {
        return PS_NAMED_BY_KERNEL;
    }
    return PS_NAMED_NOT;
}

int ps_unwinder_thread_name(ps_unwinder *u, uint64_t thread_id, uint64_t native_id,
                            uint32_t status, uint32_t *string_id)
{
    int named = ps_thread_display_name(u, thread_id, native_id, (status & PS_THREAD_MAIN) != 0,
                                       string_id);
    return named != PS_NAMED_NOT ? PS_OK : PS_EINVAL;
}
