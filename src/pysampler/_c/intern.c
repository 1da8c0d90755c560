/* Growable storage and the one interner, with the two tables built on it:
 * strings by content, code objects by address. */
#include <stdlib.h>
#include <string.h>

#include "core.h"

void *ps_grow(void *items, uint32_t count, uint32_t *capacity, size_t item_size, uint32_t first)
{
    if (count < *capacity) {
        return items;
    }
    uint32_t grown = *capacity ? *capacity * 2 : first;
    void *block = realloc(items, (size_t)grown * item_size);
    if (block) {
        *capacity = grown;
    }
    return block;
}

#define PS_BUFFER_FIRST 4096

int ps_buffer_reserve(ps_buffer *b, size_t size)
{
    if (size <= b->size) {
        return PS_OK;
    }
    size_t want = b->size * 2 > size ? b->size * 2 : size;
    want = want < PS_BUFFER_FIRST ? PS_BUFFER_FIRST : want;
    unsigned char *p = realloc(b->p, want);
    if (!p) {
        return PS_ENOMEM;
    }
    b->p = p;
    b->size = want;
    return PS_OK;
}

void ps_buffer_free(ps_buffer *b)
{
    free(b->p);
    b->p = NULL;
    b->size = 0;
}

/* ---- vectors ---------------------------------------------------------------- */

void ps_vec_init(ps_vec *v, size_t item_size)
{
    memset(v, 0, sizeof *v);
    v->item_size = item_size;
}

int ps_vec_push(ps_vec *v, const void *item)
{
    void *items = ps_grow(v->items, v->count, &v->capacity, v->item_size, 256);
    if (!items) {
        return PS_ENOMEM;
    }
    v->items = items;
    memcpy((char *)v->items + (size_t)v->count * v->item_size, item, v->item_size);
    v->count++;
    return PS_OK;
}

void ps_vec_free(ps_vec *v)
{
    free(v->items);
    ps_vec_init(v, v->item_size);
}

/* ---- the interner ------------------------------------------------------------ */

void ps_interner_init(ps_interner *t, size_t item_size, ps_hash_fn hash, ps_same_fn same)
{
    memset(t, 0, sizeof *t);
    ps_vec_init(&t->items, item_size);
    t->hash = hash;
    t->same = same;
}

/* Room in the index for one more item, at most half full. */
static int reserve_slot(ps_interner *t)
{
    if ((uint64_t)(t->items.count + 1) * 2 < t->slot_count) {
        return PS_OK;
    }
    uint32_t slot_count = t->slot_count ? t->slot_count * 2 : 1024;
    uint32_t *slots = calloc(slot_count, sizeof *slots);
    if (!slots) {
        return PS_ENOMEM;
    }
    for (uint32_t k = 0; k < t->items.count; k++) {
        uint32_t i = (uint32_t)t->hash(ps_vec_at(&t->items, k)) & (slot_count - 1);
        while (slots[i]) {
            i = (i + 1) & (slot_count - 1);
        }
        slots[i] = k + 1;
    }
    free(t->slots);
    t->slots = slots;
    t->slot_count = slot_count;
    return PS_OK;
}

/* The slot holding an item equal to item, else the empty one it would go in. */
static uint32_t probe(const ps_interner *t, const void *item)
{
    uint32_t i = (uint32_t)t->hash(item) & (t->slot_count - 1);
    while (t->slots[i] && !t->same(ps_vec_at(&t->items, t->slots[i] - 1), item)) {
        i = (i + 1) & (t->slot_count - 1);
    }
    return i;
}

int ps_interner_find(const ps_interner *t, const void *item, uint32_t *id)
{
    if (!t->slot_count) {
        return 0;
    }
    uint32_t i = probe(t, item);
    if (!t->slots[i]) {
        return 0;
    }
    *id = t->slots[i] - 1;
    return 1;
}

int ps_intern(ps_interner *t, const void *item, uint32_t *id)
{
    int rc = reserve_slot(t);
    if (rc != PS_OK) {
        return rc;
    }
    uint32_t i = probe(t, item);
    if (!t->slots[i]) {
        rc = ps_vec_push(&t->items, item);
        if (rc != PS_OK) {
            return rc;
        }
        t->slots[i] = t->items.count;
    }
    *id = t->slots[i] - 1;
    return PS_OK;
}

void ps_interner_free(ps_interner *t)
{
    ps_vec_free(&t->items);
    free(t->slots);
    t->slots = NULL;
    t->slot_count = 0;
}

/* ---- strings by content ------------------------------------------------------ */

static uint64_t hash_string(const void *item)
{
    const ps_string *s = item;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < s->length; i++) {
        h = (h ^ (unsigned char)s->text[i]) * 1099511628211ULL;
    }
    return h;
}

static int same_string(const void *a, const void *b)
{
    const ps_string *x = a, *y = b;
    return x->length == y->length && memcmp(x->text, y->text, x->length) == 0;
}

void ps_strings_init(ps_strings *s)
{
    ps_interner_init(&s->table, sizeof(ps_string), hash_string, same_string);
}

int ps_strings_intern(ps_strings *s, const char *text, size_t len, uint32_t *id)
{
    ps_string wanted = {(char *)text, len};
    if (ps_interner_find(&s->table, &wanted, id)) {
        return PS_OK;
    }
    ps_string copy = {malloc(len + 1), len};
    if (!copy.text) {
        return PS_ENOMEM;
    }
    memcpy(copy.text, text, len);
    copy.text[len] = '\0';
    int rc = ps_intern(&s->table, &copy, id);
    if (rc != PS_OK) {
        free(copy.text);
    }
    return rc;
}

void ps_strings_free(ps_strings *s)
{
    for (uint32_t i = 0; i < ps_strings_count(s); i++) {
        free(ps_strings_at(s, i)->text);
    }
    ps_interner_free(&s->table);
}

/* ---- code objects by address -------------------------------------------------- */

/* An entry is found by its address, its first field: a pointer to the
 * entry is one to the address, and a bare address can be looked up. */
static uint64_t hash_code(const void *item)
{
    uint64_t x = *(const uint64_t *)item;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static int same_code(const void *a, const void *b)
{
    return *(const uint64_t *)a == *(const uint64_t *)b;
}

void ps_code_cache_init(ps_code_cache *c)
{
    ps_interner_init(&c->entries, sizeof(ps_code_entry), hash_code, same_code);
    ps_vec_init(&c->records, sizeof(ps_code_rec));
}

int ps_code_cache_slot(ps_code_cache *c, uint64_t address, uint32_t *index)
{
    ps_code_entry unread = {.address = address, .code_id = UINT32_MAX};
    return ps_intern(&c->entries, &unread, index);
}

uint32_t ps_code_cache_find(const ps_code_cache *c, uint64_t address)
{
    uint32_t index;
    if (!address || !ps_interner_find(&c->entries, &address, &index) ||
        ps_code_cache_entry(c, index)->code_id == UINT32_MAX) {
        return PS_NO_CODE_ENTRY;
    }
    return index;
}

int ps_code_cache_add_record(ps_code_cache *c, const ps_code_rec *rec, uint32_t *id)
{
    int rc = ps_vec_push(&c->records, rec);
    if (rc == PS_OK) {
        *id = c->records.count - 1;
    }
    return rc;
}

void ps_code_cache_free(ps_code_cache *c)
{
    for (uint32_t k = 0; k < c->entries.items.count; k++) {
        free(((ps_code_entry *)ps_vec_at(&c->entries.items, k))->linetable);
    }
    ps_interner_free(&c->entries);
    ps_vec_free(&c->records);
}
