/* Reading Python objects in the target: str, bytes, int, dict, instance
 * attributes and code objects.
 *
 * Dicts are searched by walking their entries and comparing str keys,
 * never by hashing (str hashes are randomized per process).  Instance
 * attributes live in a __dict__ at tp_dictoffset (3.8-3.10), or in a
 * managed dict or values array beside the object (3.11+): before it on
 * 3.11-3.12, inline after it on 3.13+.  Every read is bounds-checked and
 * every walk bounded. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define MAX_DICT_ENTRIES (1 << 16)
#define MAX_LONG_DIGITS 5 /* 64 bits in 15-bit digits */

/* ---- str and bytes ----------------------------------------------------------- */

int ps_read_string(ps_unwinder *u, uint64_t addr, uint32_t *id)
{
    const ps_layout *L = &u->layout;
    if (!ps_plausible_pointer(addr)) {
        return PS_ECORRUPT;
    }
    unsigned char head[128];
    size_t head_size = (size_t)L->unicode_compact_size;
    if (head_size > sizeof head || head_size < (size_t)L->unicode_ascii_size) {
        return PS_ECORRUPT;
    }
    int rc = ps_read(&u->reader, addr, head, (size_t)L->unicode_ascii_size);
    if (rc != PS_OK) {
        return rc;
    }
    uint64_t length = field_u64(head, L->unicode_length);
    uint32_t state = (uint32_t)field_i32(head, L->unicode_state);
    unsigned kind = (state >> L->unicode_kind_shift) & 7;
    unsigned compact = (state >> L->unicode_compact_shift) & 1;
    unsigned ascii = (state >> L->unicode_ascii_shift) & 1;
    if (length > PS_MAX_STRING || !compact || (kind != 1 && kind != 2 && kind != 4)) {
        return PS_ECORRUPT;
    }
    size_t data_at = (size_t)(ascii ? L->unicode_ascii_size : L->unicode_compact_size);
    size_t raw_len = (size_t)length * kind;
    rc = ps_buffer_reserve(&u->scratch, raw_len + (size_t)length * 4 + 1);
    if (rc != PS_OK) {
        return rc;
    }
    unsigned char *raw = u->scratch.p;
    rc = ps_read(&u->reader, addr + data_at, raw, raw_len);
    if (rc != PS_OK) {
        return rc;
    }
    if (ascii) {
        return ps_strings_intern(&u->strings, (const char *)raw, raw_len, id);
    }
    unsigned char *utf8 = raw + raw_len, *o = utf8;
    for (size_t i = 0; i < length; i++) {
        uint32_t c = kind == 1 ? raw[i]
                     : kind == 2 ? (uint32_t)(raw[2 * i] | raw[2 * i + 1] << 8)
                                 : (uint32_t)(raw[4 * i] | raw[4 * i + 1] << 8 |
                                              raw[4 * i + 2] << 16 | (uint32_t)raw[4 * i + 3] << 24);
        if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
            c = 0xFFFD;
        }
        if (c < 0x80) {
            *o++ = (unsigned char)c;
        } else if (c < 0x800) {
            *o++ = (unsigned char)(0xC0 | c >> 6);
            *o++ = (unsigned char)(0x80 | (c & 63));
        } else if (c < 0x10000) {
            *o++ = (unsigned char)(0xE0 | c >> 12);
            *o++ = (unsigned char)(0x80 | ((c >> 6) & 63));
            *o++ = (unsigned char)(0x80 | (c & 63));
        } else {
            *o++ = (unsigned char)(0xF0 | c >> 18);
            *o++ = (unsigned char)(0x80 | ((c >> 12) & 63));
            *o++ = (unsigned char)(0x80 | ((c >> 6) & 63));
            *o++ = (unsigned char)(0x80 | (c & 63));
        }
    }
    return ps_strings_intern(&u->strings, (const char *)utf8, (size_t)(o - utf8), id);
}

int ps_read_bytes(ps_unwinder *u, uint64_t addr, unsigned char **out, size_t *len)
{
    const ps_layout *L = &u->layout;
    *out = NULL;
    *len = 0;
    if (!ps_plausible_pointer(addr)) {
        return PS_ECORRUPT;
    }
    uint64_t size;
    int rc = ps_read_ptr(&u->reader, addr + (uint64_t)L->varobject_size, &size);
    if (rc != PS_OK) {
        return rc;
    }
    if (size > PS_MAX_LINETABLE) {
        return PS_ECORRUPT;
    }
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) {
        return PS_ENOMEM;
    }
    rc = ps_read(&u->reader, addr + (uint64_t)L->bytes_sval, buf, size);
    if (rc != PS_OK) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = size;
    return PS_OK;
}

/* ---- types and ints ---------------------------------------------------------- */

void ps_objects_begin(ps_objects *o, ps_unwinder *u)
{
    o->u = u;
    o->type_count = 0;
}

int ps_objects_readable(const ps_layout *L)
{
    const int32_t required[] = {
        L->object_type, L->unicode_length, L->unicode_state, L->unicode_ascii_size,
        L->unicode_compact_shift, L->unicode_ascii_shift, L->type_basicsize, L->type_flags,
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

static int type_of(ps_objects *o, uint64_t obj, const ps_type_info **out)
{
    const ps_layout *L = &o->u->layout;
    uint64_t type;
    if (!ps_plausible_pointer(obj)) {
        return PS_ECORRUPT;
    }
    int rc = ps_read_ptr(&o->u->reader, obj + (uint64_t)L->object_type, &type);
    if (rc != PS_OK) {
        return rc;
    }
    if (!ps_plausible_pointer(type)) {
        return PS_ECORRUPT;
    }
    for (uint32_t i = 0; i < o->type_count; i++) {
        if (o->types[i].address == type) {
            *out = &o->types[i];
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
    rc = ps_read(&o->u->reader, type, buf, (size_t)end + 8);
    if (rc != PS_OK) {
        return rc;
    }
    uint32_t slot = o->type_count < PS_TYPE_CACHE ? o->type_count++ : PS_TYPE_CACHE - 1;
    ps_type_info *t = &o->types[slot];
    t->address = type;
    t->flags = field_u64(buf, L->type_flags);
    t->basicsize = (int64_t)field_u64(buf, L->type_basicsize);
    t->dictoffset = (int64_t)field_u64(buf, L->type_dictoffset);
    *out = t;
    return PS_OK;
}

int ps_has_type_flag(ps_objects *o, uint64_t obj, int32_t flag)
{
    const ps_type_info *t;
    return flag != PS_ABSENT && type_of(o, obj, &t) == PS_OK && (t->flags & (uint64_t)flag);
}

/* Whether the str at addr is exactly the ASCII text[0:len]; one read. */
static int str_is(ps_objects *o, uint64_t addr, const char *text, size_t len)
{
    const ps_layout *L = &o->u->layout;
    unsigned char buf[128];
    size_t head = (size_t)L->unicode_ascii_size;
    if (!ps_plausible_pointer(addr) || head + len > sizeof buf ||
        ps_read(&o->u->reader, addr, buf, head + len) != PS_OK) {
        return 0;
    }
    uint32_t state;
    memcpy(&state, buf + L->unicode_state, sizeof state);
    return field_u64(buf, L->unicode_length) == len && (state >> L->unicode_compact_shift & 1) &&
           (state >> L->unicode_ascii_shift & 1) && memcmp(buf + head, text, len) == 0;
}

int ps_read_int(ps_objects *o, uint64_t addr, uint64_t *out)
{
    const ps_layout *L = &o->u->layout;
    if (!ps_has_type_flag(o, addr, L->tpflags_long_subclass)) {
        return PS_ECORRUPT;
    }
    int32_t bits = L->long_digit_bits, size = L->long_digit_size;
    if (bits <= 0 || bits > 32 || (size != 2 && size != 4)) {
        return PS_EVERSION;
    }
    uint64_t word;
    int rc = ps_read_ptr(&o->u->reader,
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
    rc = ps_read(&o->u->reader, addr + (uint64_t)L->long_digits, raw,
                 (size_t)ndigits * (size_t)size);
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

void ps_dict_view_free(ps_dict_view *v)
{
    free(v->entries);
    free(v->values);
    memset(v, 0, sizeof *v);
}

uint64_t ps_dict_key(const ps_dict_view *v, uint32_t i)
{
    return field_u64(v->entries, (int32_t)(i * v->entry_size + v->key_at));
}

uint64_t ps_dict_value(const ps_dict_view *v, uint32_t i)
{
    return v->values ? v->values[i]
                     : field_u64(v->entries, (int32_t)(i * v->entry_size + v->value_at));
}

/* The entries of the keys object at keys; with values (a PyDictValues or,
 * before 3.11, a PyObject *[]), the values of a split table. */
static int keys_view(ps_objects *o, uint64_t keys, uint64_t values, ps_dict_view *v)
{
    const ps_layout *L = &o->u->layout;
    memset(v, 0, sizeof *v);
    unsigned char head[64];
    if (!ps_plausible_pointer(keys) || L->dictkeys_indices <= 0 ||
        (size_t)L->dictkeys_indices > sizeof head) {
        return PS_ECORRUPT;
    }
    int rc = ps_read(&o->u->reader, keys, head, (size_t)L->dictkeys_indices);
    if (rc != PS_OK) {
        return rc;
    }
    uint64_t nentries = field_u64(head, L->dictkeys_nentries), slots, index_bytes;
    int general = 1;
    if (L->dictkeys_size != PS_ABSENT) { /* 3.8-3.10 */
        slots = field_u64(head, L->dictkeys_size);
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
    rc = ps_read(&o->u->reader, keys + (uint64_t)L->dictkeys_indices + index_bytes, v->entries,
                 entries_len);
    if (rc == PS_OK && values) {
        v->values = malloc(nentries ? (size_t)nentries * 8 : 8);
        rc = !v->values                        ? PS_ENOMEM
             : !ps_plausible_pointer(values) ? PS_ECORRUPT
                                             : ps_read(&o->u->reader,
                                                       values + (uint64_t)L->dictvalues_values,
                                                       v->values, (size_t)nentries * 8);
    }
    if (rc != PS_OK) {
        ps_dict_view_free(v);
    }
    return rc;
}

int ps_dict_view_of(ps_objects *o, uint64_t dict, ps_dict_view *v)
{
    const ps_layout *L = &o->u->layout;
    memset(v, 0, sizeof *v);
    if (!ps_has_type_flag(o, dict, L->tpflags_dict_subclass)) {
        return PS_ECORRUPT;
    }
    uint64_t keys, values;
    int rc = ps_read_ptr(&o->u->reader, dict + (uint64_t)L->dict_keys, &keys);
    if (rc == PS_OK) {
        rc = ps_read_ptr(&o->u->reader, dict + (uint64_t)L->dict_values, &values);
    }
    return rc != PS_OK ? rc : keys_view(o, keys, values, v);
}

/* The value of the str key `name` in v (0 when absent); the hint's key is
 * tried first. */
static int find_str(ps_objects *o, const ps_dict_view *v, const char *name, ps_key_hint *hint,
                    uint64_t *value)
{
    size_t len = strlen(name);
    *value = 0;
    if (hint->key) {
        for (uint32_t i = 0; i < v->count; i++) {
            if (ps_dict_key(v, i) != hint->key) {
                continue;
            }
            if (!hint->checked && !str_is(o, hint->key, name, len)) {
                break;
            }
            hint->checked = 1;
            *value = ps_dict_value(v, i);
            return PS_OK;
        }
    }
    for (uint32_t i = 0; i < v->count; i++) {
        uint64_t key = ps_dict_key(v, i);
        if (key && key != hint->key && ps_dict_value(v, i) && str_is(o, key, name, len)) {
            hint->key = key;
            hint->checked = 1;
            *value = ps_dict_value(v, i);
            return PS_OK;
        }
    }
    return PS_OK;
}

int ps_dict_get(ps_objects *o, uint64_t dict, const char *name, ps_key_hint *hint,
                uint64_t *value)
{
    ps_dict_view v;
    int rc = ps_dict_view_of(o, dict, &v);
    if (rc == PS_OK) {
        rc = find_str(o, &v, name, hint, value);
    }
    ps_dict_view_free(&v);
    return rc;
}

/* Look `name` up in the type's shared keys with an object's values array. */
static int values_get(ps_objects *o, const ps_type_info *t, uint64_t values, const char *name,
                      ps_key_hint *hint, uint64_t *value)
{
    const ps_layout *L = &o->u->layout;
    uint64_t keys;
    *value = 0;
    if (!(t->flags & (uint64_t)L->tpflags_heaptype)) {
        return PS_ECORRUPT;
    }
    int rc = ps_read_ptr(&o->u->reader, t->address + (uint64_t)L->heaptype_cached_keys, &keys);
    if (rc != PS_OK) {
        return rc;
    }
    ps_dict_view v;
    rc = keys_view(o, keys, values, &v);
    if (rc == PS_OK) {
        rc = find_str(o, &v, name, hint, value);
    }
    ps_dict_view_free(&v);
    return rc;
}

int ps_instance_attr(ps_objects *o, uint64_t obj, const char *name, ps_key_hint *hint,
                     uint64_t *value)
{
    const ps_layout *L = &o->u->layout;
    const ps_type_info *t;
    *value = 0;
    int rc = type_of(o, obj, &t);
    if (rc != PS_OK) {
        return rc;
    }
    if (L->tpflags_managed_dict == PS_ABSENT || !(t->flags & (uint64_t)L->tpflags_managed_dict)) {
        uint64_t dict; /* 3.8-3.10, or a type without a managed dict */
        if (t->dictoffset <= 0 || t->dictoffset > (1 << 20)) {
            return PS_ECORRUPT;
        }
        rc = ps_read_ptr(&o->u->reader, obj + (uint64_t)t->dictoffset, &dict);
        return rc != PS_OK ? rc : dict ? ps_dict_get(o, dict, name, hint, value) : PS_OK;
    }
    if (L->tpflags_inline_values != PS_ABSENT && (t->flags & (uint64_t)L->tpflags_inline_values)) {
        /* 3.13+: the values follow the object, valid unless moved to a dict */
        uint64_t values = obj + (uint64_t)t->basicsize;
        unsigned char valid = 0;
        if (t->basicsize <= 0 || t->basicsize > (1 << 20)) {
            return PS_ECORRUPT;
        }
        rc = ps_read(&o->u->reader, values + (uint64_t)L->dictvalues_valid, &valid, 1);
        if (rc != PS_OK) {
            return rc;
        }
        if (valid) {
            return values_get(o, t, values, name, hint, value);
        }
    }
    if (L->managed_values_before != PS_ABSENT) { /* 3.11: values pointer first */
        uint64_t values;
        rc = ps_read_ptr(&o->u->reader, obj - (uint64_t)L->managed_values_before, &values);
        if (rc != PS_OK) {
            return rc;
        }
        if (values) {
            return values_get(o, t, values, name, hint, value);
        }
    }
    uint64_t word;
    rc = ps_read_ptr(&o->u->reader, obj - (uint64_t)L->managed_dict_before, &word);
    if (rc != PS_OK) {
        return rc;
    }
    if (L->managed_dict_tagged != PS_ABSENT && (word & 1)) { /* 3.12: values, tagged */
        return values_get(o, t, word + 1, name, hint, value);
    }
    return word ? ps_dict_get(o, word, name, hint, value) : PS_OK;
}

/* ---- code objects --------------------------------------------------------- */

/* The cached entry for the code object at addr, read again when its
 * identifying fields changed (the address was reused for another code). */
int ps_code_entry_read(ps_unwinder *u, uint64_t addr, uint32_t *index)
{
    const ps_layout *L = &u->layout;
    if (!ps_plausible_pointer(addr)) {
        return PS_ECORRUPT;
    }
    int rc = ps_buffer_reserve(&u->scratch, (size_t)L->code_size);
    if (rc != PS_OK) {
        return rc;
    }
    unsigned char *buf = u->scratch.p;
    rc = ps_read(&u->reader, addr, buf, (size_t)L->code_size);
    if (rc != PS_OK) {
        return rc;
    }
    if (u->code_type && field_u64(buf, L->object_type) != u->code_type) {
        return PS_ECORRUPT;
    }
    uint64_t filename = field_u64(buf, L->code_filename);
    uint64_t qualname = field_u64(buf, L->code_qualname != PS_ABSENT ? L->code_qualname : L->code_name);
    uint64_t linetable = field_u64(buf, L->code_linetable);
    int32_t firstlineno = field_i32(buf, L->code_firstlineno);
    uint64_t code_bytes = L->code_code != PS_ABSENT ? field_u64(buf, L->code_code) : 0;
    uint64_t code_units = L->code_adaptive != PS_ABSENT ? field_u64(buf, L->varobject_size) : 0;
    if (code_units > PS_MAX_LINETABLE) {
        return PS_ECORRUPT;
    }

    rc = ps_code_cache_slot(&u->codes, addr, index);
    if (rc != PS_OK) {
        return rc;
    }
    ps_code_entry *e = ps_code_cache_entry(&u->codes, *index);
    if (e->code_id != UINT32_MAX && e->filename_ptr == filename && e->qualname_ptr == qualname &&
        e->linetable_ptr == linetable && e->firstlineno == firstlineno) {
        return PS_OK;
    }
    ps_code_rec rec = {0, 0, firstlineno};
    rc = ps_read_string(u, filename, &rec.filename_id);
    if (rc == PS_OK) {
        rc = ps_read_string(u, qualname, &rec.qualname_id);
    }
    unsigned char *table = NULL;
    size_t table_len = 0;
    if (rc == PS_OK) {
        rc = ps_read_bytes(u, linetable, &table, &table_len);
    }
    uint32_t id = 0;
    if (rc == PS_OK) {
        rc = ps_code_cache_add_record(&u->codes, &rec, &id);
    }
    if (rc != PS_OK) {
        free(table);
        return rc;
    }
    free(e->linetable);
    e->filename_ptr = filename;
    e->qualname_ptr = qualname;
    e->linetable_ptr = linetable;
    e->firstlineno = firstlineno;
    e->code_bytes = code_bytes;
    e->code_units = (uint32_t)code_units;
    e->linetable = table;
    e->linetable_len = table_len;
    e->memo_offset[0] = e->memo_offset[1] = -2;
    e->code_id = id;
    return PS_OK;
}

