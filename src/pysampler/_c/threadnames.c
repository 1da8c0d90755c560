/* Python thread names: threading.Thread.name of each thread, read from the
 * target's memory.
 *
 * The path is the main interpreter's sys.modules -> the "threading" module
 * -> its md_dict -> "_active" (a dict: ident int -> Thread) -> each
 * Thread's instance attribute "_name" (a str).  Dicts are searched by
 * walking their entries and comparing str keys, never by hashing (str
 * hashes are randomized per process).  Instance attributes live in a
 * __dict__ at tp_dictoffset (3.8-3.10), or in a managed dict or values
 * array beside the object (3.11+): before it on 3.11-3.12, inline after it
 * on 3.13+.  Every read is bounds-checked and every walk bounded; a thread
 * whose name cannot be read simply has none. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define MAX_DICT_ENTRIES (1 << 16)
#define MAX_LONG_DIGITS 5 /* 64 bits in 15-bit digits */
#define TYPE_CACHE 16

enum { HINT_THREADING = 0, HINT_ACTIVE = 1, HINT_NAME = 2 };

/* What one call knows of the types it met. */
typedef struct type_info {
    uint64_t address;
    uint64_t flags;
    int64_t basicsize;
    int64_t dictoffset;
} type_info;

typedef struct names_ctx {
    ps_unwinder *u;
    type_info types[TYPE_CACHE];
    uint32_t type_count;
    int hint_checked[3]; /* the hint was compared once in this call */
} names_ctx;

/* The entries of a dict keys object, with the values of a split table. */
typedef struct dict_view {
    unsigned char *entries;
    uint64_t *values; /* split tables; NULL for combined ones */
    uint32_t count;
    uint32_t entry_size, key_at, value_at;
} dict_view;

static uint64_t get_u64(const unsigned char *buf, int32_t off)
{
    uint64_t v;
    memcpy(&v, buf + off, sizeof v);
    return v;
}

static void view_free(dict_view *v)
{
    free(v->entries);
    free(v->values);
    memset(v, 0, sizeof *v);
}

static uint64_t view_key(const dict_view *v, uint32_t i)
{
    return get_u64(v->entries, (int32_t)(i * v->entry_size + v->key_at));
}

static uint64_t view_value(const dict_view *v, uint32_t i)
{
    return v->values ? v->values[i] : get_u64(v->entries, (int32_t)(i * v->entry_size + v->value_at));
}

/* ---- objects ---------------------------------------------------------------- */

static int type_of(names_ctx *c, uint64_t obj, const type_info **out)
{
    const ps_layout *L = &c->u->layout;
    uint64_t type;
    if (!ps_plausible_pointer(obj)) {
        return PS_ECORRUPT;
    }
    int rc = ps_read_ptr(&c->u->reader, obj + (uint64_t)L->object_type, &type);
    if (rc != PS_OK) {
        return rc;
    }
    if (!ps_plausible_pointer(type)) {
        return PS_ECORRUPT;
    }
    for (uint32_t i = 0; i < c->type_count; i++) {
        if (c->types[i].address == type) {
            *out = &c->types[i];
            return PS_OK;
        }
    }
    int32_t end = L->type_flags;
    end = L->type_basicsize > end ? L->type_basicsize : end;
    end = L->type_dictoffset > end ? L->type_dictoffset : end;
    unsigned char buf[512];
    if (end < 0 || (size_t)end + 8 > sizeof buf) {
        return PS_EVERSION;
    }
    rc = ps_read(&c->u->reader, type, buf, (size_t)end + 8);
    if (rc != PS_OK) {
        return rc;
    }
    type_info *t = &c->types[c->type_count < TYPE_CACHE ? c->type_count++ : TYPE_CACHE - 1];
    t->address = type;
    t->flags = get_u64(buf, L->type_flags);
    t->basicsize = (int64_t)get_u64(buf, L->type_basicsize);
    t->dictoffset = (int64_t)get_u64(buf, L->type_dictoffset);
    *out = t;
    return PS_OK;
}

/* Whether obj's type has the given Py_TPFLAGS_* bit. */
static int has_type_flag(names_ctx *c, uint64_t obj, int32_t flag)
{
    const type_info *t;
    return flag != PS_ABSENT && type_of(c, obj, &t) == PS_OK && (t->flags & (uint64_t)flag);
}

/* Whether the str at addr is exactly the ASCII text[0:len]; one read. */
static int str_is(names_ctx *c, uint64_t addr, const char *text, size_t len)
{
    const ps_layout *L = &c->u->layout;
    unsigned char buf[128];
    size_t head = (size_t)L->unicode_ascii_size;
    if (!ps_plausible_pointer(addr) || head + len > sizeof buf ||
        ps_read(&c->u->reader, addr, buf, head + len) != PS_OK) {
        return 0;
    }
    uint32_t state;
    memcpy(&state, buf + L->unicode_state, sizeof state);
    return get_u64(buf, L->unicode_length) == len && (state >> L->unicode_compact_shift & 1) &&
           (state >> L->unicode_ascii_shift & 1) && memcmp(buf + head, text, len) == 0;
}

/* An int holding an unsigned 64-bit value (a thread ident). */
static int read_ident(names_ctx *c, uint64_t addr, uint64_t *out)
{
    const ps_layout *L = &c->u->layout;
    if (!has_type_flag(c, addr, L->tpflags_long_subclass)) {
        return PS_ECORRUPT;
    }
    int32_t bits = L->long_digit_bits, size = L->long_digit_size;
    if (bits <= 0 || bits > 32 || (size != 2 && size != 4)) {
        return PS_EVERSION;
    }
    uint64_t word;
    int rc = ps_read_ptr(&c->u->reader,
                         addr + (uint64_t)(L->long_tag != PS_ABSENT ? L->long_tag : L->long_size),
                         &word);
    if (rc != PS_OK) {
        return rc;
    }
    uint64_t ndigits;
    if (L->long_tag != PS_ABSENT) {
        unsigned sign = (unsigned)(word & 3); /* 0 positive, 1 zero, 2 negative */
        if (sign == 2) {
            return PS_ECORRUPT;
        }
        ndigits = sign == 1 ? 0 : word >> L->long_tag_shift;
    } else if ((int64_t)word < 0) {
        return PS_ECORRUPT;
    } else {
        ndigits = word;
    }
    if (ndigits > MAX_LONG_DIGITS) {
        return PS_ECORRUPT;
    }
    unsigned char raw[MAX_LONG_DIGITS * 4];
    rc = ps_read(&c->u->reader, addr + (uint64_t)L->long_digits, raw, (size_t)ndigits * (size_t)size);
    if (rc != PS_OK) {
        return rc;
    }
    uint64_t value = 0;
    for (uint64_t i = 0; i < ndigits; i++) {
        uint32_t d32 = 0;
        uint16_t d16 = 0;
        if (size == 4) {
            memcpy(&d32, raw + i * 4, 4);
        } else {
            memcpy(&d16, raw + i * 2, 2);
            d32 = d16;
        }
        uint64_t digit = d32, shift = i * (uint64_t)bits;
        if (digit >> bits) {
            return PS_ECORRUPT;
        }
        if (digit && (shift >= 64 || (shift && digit >> (64 - shift)))) {
            return PS_ECORRUPT; /* more than 64 bits */
        }
        value |= shift < 64 ? digit << shift : 0;
    }
    *out = value;
    return PS_OK;
}

/* ---- dicts ------------------------------------------------------------------ */

/* The entries of the keys object at keys; with values (a PyDictValues or,
 * before 3.11, a PyObject *[]), the values of a split table. */
static int keys_view(names_ctx *c, uint64_t keys, uint64_t values, dict_view *v)
{
    const ps_layout *L = &c->u->layout;
    memset(v, 0, sizeof *v);
    unsigned char head[64];
    if (!ps_plausible_pointer(keys) || L->dictkeys_indices <= 0 ||
        (size_t)L->dictkeys_indices > sizeof head) {
        return PS_ECORRUPT;
    }
    int rc = ps_read(&c->u->reader, keys, head, (size_t)L->dictkeys_indices);
    if (rc != PS_OK) {
        return rc;
    }
    uint64_t nentries = get_u64(head, L->dictkeys_nentries), slots, index_bytes;
    int general = 1;
    if (L->dictkeys_size != PS_ABSENT) { /* 3.8-3.10 */
        slots = get_u64(head, L->dictkeys_size);
        if (slots < 8 || slots > ((uint64_t)1 << 30) || (slots & (slots - 1))) {
            return PS_ECORRUPT;
        }
        index_bytes = slots * (slots <= 0xff ? 1 : slots <= 0xffff ? 2 : 4);
    } else {
        unsigned log2_size = head[L->dictkeys_log2_size];
        unsigned log2_index = head[L->dictkeys_log2_index_bytes];
        if (log2_size > 30 || log2_index < log2_size || log2_index > log2_size + 3) {
            return PS_ECORRUPT;
        }
        slots = (uint64_t)1 << log2_size;
        index_bytes = (uint64_t)1 << log2_index;
        general = head[L->dictkeys_kind] == L->dict_kind_general;
    }
    if (nentries > slots || nentries > MAX_DICT_ENTRIES) {
        return PS_ECORRUPT;
    }
    if (general || L->dictunicodeentry_size == PS_ABSENT) {
        v->entry_size = (uint32_t)L->dictentry_size;
        v->key_at = (uint32_t)L->dictentry_key;
        v->value_at = (uint32_t)L->dictentry_value;
    } else {
        v->entry_size = (uint32_t)L->dictunicodeentry_size;
        v->key_at = (uint32_t)L->dictunicodeentry_key;
        v->value_at = (uint32_t)L->dictunicodeentry_value;
    }
    if (v->entry_size < 16 || v->key_at + 8 > v->entry_size || v->value_at + 8 > v->entry_size) {
        return PS_EVERSION;
    }
    v->count = (uint32_t)nentries;
    size_t entries_len = (size_t)nentries * v->entry_size;
    v->entries = malloc(entries_len ? entries_len : 1);
    if (!v->entries) {
        return PS_ENOMEM;
    }
    rc = ps_read(&c->u->reader, keys + (uint64_t)L->dictkeys_indices + index_bytes, v->entries,
                 entries_len);
    if (rc == PS_OK && values) {
        v->values = malloc(nentries ? (size_t)nentries * 8 : 8);
        rc = !v->values                        ? PS_ENOMEM
             : !ps_plausible_pointer(values) ? PS_ECORRUPT
                                             : ps_read(&c->u->reader,
                                                       values + (uint64_t)L->dictvalues_values,
                                                       v->values, (size_t)nentries * 8);
    }
    if (rc != PS_OK) {
        view_free(v);
    }
    return rc;
}

/* The entries of the dict object at dict. */
static int dict_view_of(names_ctx *c, uint64_t dict, dict_view *v)
{
    const ps_layout *L = &c->u->layout;
    memset(v, 0, sizeof *v);
    if (!has_type_flag(c, dict, L->tpflags_dict_subclass)) {
        return PS_ECORRUPT;
    }
    uint64_t keys, values;
    int rc = ps_read_ptr(&c->u->reader, dict + (uint64_t)L->dict_keys, &keys);
    if (rc == PS_OK) {
        rc = ps_read_ptr(&c->u->reader, dict + (uint64_t)L->dict_values, &values);
    }
    return rc != PS_OK ? rc : keys_view(c, keys, values, v);
}

/* The value of the str key `name` in v (0 when absent); hint is the key
 * object found last time, tried first. */
static int find_str(names_ctx *c, const dict_view *v, const char *name, int hint, uint64_t *value)
{
    uint64_t *known = &c->u->name_hints[hint];
    size_t len = strlen(name);
    *value = 0;
    if (*known) {
        for (uint32_t i = 0; i < v->count; i++) {
            if (view_key(v, i) != *known) {
                continue;
            }
            if (!c->hint_checked[hint] && !str_is(c, *known, name, len)) {
                break;
            }
            c->hint_checked[hint] = 1;
            *value = view_value(v, i);
            return PS_OK;
        }
    }
    for (uint32_t i = 0; i < v->count; i++) {
        uint64_t key = view_key(v, i);
        if (key && key != *known && view_value(v, i) && str_is(c, key, name, len)) {
            *known = key;
            c->hint_checked[hint] = 1;
            *value = view_value(v, i);
            return PS_OK;
        }
    }
    return PS_OK;
}

/* The value of the str key `name` in the dict object at dict. */
static int dict_get(names_ctx *c, uint64_t dict, const char *name, int hint, uint64_t *value)
{
    dict_view v;
    int rc = dict_view_of(c, dict, &v);
    if (rc == PS_OK) {
        rc = find_str(c, &v, name, hint, value);
    }
    view_free(&v);
    return rc;
}

/* Look `name` up in the type's shared keys with an object's values array. */
static int values_get(names_ctx *c, const type_info *t, uint64_t values, const char *name,
                      int hint, uint64_t *value)
{
    const ps_layout *L = &c->u->layout;
    uint64_t keys;
    *value = 0;
    if (!(t->flags & (uint64_t)L->tpflags_heaptype)) {
        return PS_ECORRUPT;
    }
    int rc = ps_read_ptr(&c->u->reader, t->address + (uint64_t)L->heaptype_cached_keys, &keys);
    if (rc != PS_OK) {
        return rc;
    }
    dict_view v;
    rc = keys_view(c, keys, values, &v);
    if (rc == PS_OK) {
        rc = find_str(c, &v, name, hint, value);
    }
    view_free(&v);
    return rc;
}

/* An instance attribute of obj, looked up only in its own attributes. */
static int instance_attr(names_ctx *c, uint64_t obj, const char *name, int hint, uint64_t *value)
{
    const ps_layout *L = &c->u->layout;
    const type_info *t;
    *value = 0;
    int rc = type_of(c, obj, &t);
    if (rc != PS_OK) {
        return rc;
    }
    if (L->tpflags_managed_dict == PS_ABSENT || !(t->flags & (uint64_t)L->tpflags_managed_dict)) {
        uint64_t dict; /* 3.8-3.10, or a type without a managed dict */
        if (t->dictoffset <= 0 || t->dictoffset > (1 << 20)) {
            return PS_ECORRUPT;
        }
        rc = ps_read_ptr(&c->u->reader, obj + (uint64_t)t->dictoffset, &dict);
        return rc != PS_OK ? rc : dict ? dict_get(c, dict, name, hint, value) : PS_OK;
    }
    if (L->tpflags_inline_values != PS_ABSENT && (t->flags & (uint64_t)L->tpflags_inline_values)) {
        /* 3.13+: the values follow the object, valid unless moved to a dict */
        uint64_t values = obj + (uint64_t)t->basicsize;
        unsigned char valid = 0;
        if (t->basicsize <= 0 || t->basicsize > (1 << 20)) {
            return PS_ECORRUPT;
        }
        rc = ps_read(&c->u->reader, values + (uint64_t)L->dictvalues_valid, &valid, 1);
        if (rc != PS_OK) {
            return rc;
        }
        if (valid) {
            return values_get(c, t, values, name, hint, value);
        }
    }
    if (L->managed_values_before != PS_ABSENT) { /* 3.11: values pointer first */
        uint64_t values;
        rc = ps_read_ptr(&c->u->reader, obj - (uint64_t)L->managed_values_before, &values);
        if (rc != PS_OK) {
            return rc;
        }
        if (values) {
            return values_get(c, t, values, name, hint, value);
        }
    }
    uint64_t word;
    rc = ps_read_ptr(&c->u->reader, obj - (uint64_t)L->managed_dict_before, &word);
    if (rc != PS_OK) {
        return rc;
    }
    if (L->managed_dict_tagged != PS_ABSENT && (word & 1)) { /* 3.12: values, tagged */
        return values_get(c, t, word + 1, name, hint, value);
    }
    return word ? dict_get(c, word, name, hint, value) : PS_OK;
}

/* ---- the names ------------------------------------------------------------- */

static int add_name(ps_unwinder *u, uint64_t thread_id, uint32_t string_id)
{
    ps_thread_name *names = ps_grow(u->names, u->name_count, &u->name_capacity, sizeof *names, 16);
    if (!names) {
        return PS_ENOMEM;
    }
    u->names = names;
    u->names[u->name_count].thread_id = thread_id;
    u->names[u->name_count].string_id = string_id;
    u->name_count++;
    return PS_OK;
}

static int by_thread_id(const void *a, const void *b)
{
    uint64_t x = ((const ps_thread_name *)a)->thread_id;
    uint64_t y = ((const ps_thread_name *)b)->thread_id;
    return x < y ? -1 : x > y;
}

/* Whether the layout has every field this file reads (a layout built from
 * _Py_DebugOffsets alone may lack some), each inside what is read. */
static int layout_complete(const ps_layout *L)
{
    const int32_t required[] = {
        L->object_type, L->unicode_length, L->unicode_state, L->unicode_ascii_size,
        L->unicode_compact_shift, L->unicode_ascii_shift, L->runtime_interpreters_main,
        L->interp_modules, L->module_dict, L->type_basicsize, L->type_flags,
        L->type_dictoffset, L->heaptype_cached_keys, L->tpflags_heaptype,
        L->tpflags_long_subclass, L->tpflags_unicode_subclass, L->tpflags_dict_subclass,
        L->dict_keys, L->dict_values, L->dictvalues_values, L->dictkeys_nentries,
        L->dictkeys_indices, L->dictentry_size, L->dictentry_key, L->dictentry_value,
        L->long_digits, L->long_digit_size, L->long_digit_bits,
    };
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (required[i] < 0) {
            return 0;
        }
    }
    int32_t head = L->dictkeys_indices;
    if (L->dictkeys_nentries + 8 > head) {
        return 0;
    }
    if (L->dictkeys_size != PS_ABSENT) {
        if (L->dictkeys_size + 8 > head) {
            return 0;
        }
    } else if (L->dictkeys_log2_size < 0 || L->dictkeys_log2_size >= head ||
               L->dictkeys_log2_index_bytes < 0 || L->dictkeys_log2_index_bytes >= head ||
               L->dictkeys_kind < 0 || L->dictkeys_kind >= head || L->dict_kind_general < 0 ||
               L->dictunicodeentry_size < 0 || L->dictunicodeentry_key < 0 ||
               L->dictunicodeentry_value < 0) {
        return 0;
    }
    if (L->long_size == PS_ABSENT && (L->long_tag < 0 || L->long_tag_shift < 0)) {
        return 0;
    }
    if (L->tpflags_managed_dict != PS_ABSENT && L->managed_dict_before <= 0) {
        return 0;
    }
    return L->tpflags_inline_values == PS_ABSENT || L->dictvalues_valid >= 0;
}

/* threading._active of the main interpreter, 0 when not imported. */
static int active_dict(names_ctx *c, uint64_t *active)
{
    ps_unwinder *u = c->u;
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
    rc = dict_get(c, modules, "threading", HINT_THREADING, &threading);
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
    return dict_get(c, globals, "_active", HINT_ACTIVE, active);
}

static int names_failed(ps_unwinder *u, int rc)
{
    char who[64];
    return ps_fail(u, rc, "%s: %s while reading threading._active",
                   ps_target_name(u, who, sizeof who), ps_error_name(rc));
}

int ps_unwinder_thread_names(ps_unwinder *u, uint32_t *count)
{
    names_ctx c;
    memset(&c, 0, sizeof c);
    c.u = u;
    u->name_count = 0;
    *count = 0;
    uint64_t active;
    int rc = active_dict(&c, &active);
    if (rc != PS_OK) {
        return names_failed(u, rc);
    }
    if (!active) {
        return PS_OK;
    }
    dict_view threads;
    rc = dict_view_of(&c, active, &threads);
    if (rc != PS_OK) {
        return names_failed(u, rc);
    }
    for (uint32_t i = 0; i < threads.count && rc == PS_OK; i++) {
        uint64_t key = view_key(&threads, i), thread = view_value(&threads, i);
        uint64_t ident, name = 0;
        uint32_t string_id;
        if (!key || !thread || read_ident(&c, key, &ident) != PS_OK ||
            instance_attr(&c, thread, "_name", HINT_NAME, &name) != PS_OK || !name ||
            !has_type_flag(&c, name, u->layout.tpflags_unicode_subclass) ||
            ps_read_string(u, name, &string_id) != PS_OK) {
            continue; /* this thread stays nameless */
        }
        rc = add_name(u, ident, string_id);
    }
    view_free(&threads);
    if (rc != PS_OK) {
        u->name_count = 0;
        return ps_fail(u, rc, "out of memory reading thread names");
    }
    qsort(u->names, u->name_count, sizeof *u->names, by_thread_id);
    *count = u->name_count;
    return PS_OK;
}

int ps_unwinder_thread_name(const ps_unwinder *u, uint64_t thread_id, uint32_t *string_id)
{
    uint32_t lo = 0, hi = u->name_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (u->names[mid].thread_id < thread_id) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    if (lo < u->name_count && u->names[lo].thread_id == thread_id) {
        *string_id = u->names[lo].string_id;
        return PS_OK;
    }
    return PS_EINVAL;
}
