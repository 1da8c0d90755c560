/* Growable storage and interning tables: strings by content, code objects
 * by address. */
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

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
    }
    return h;
}

static uint64_t hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static int strings_grow(ps_strings *s)
{
    if (s->count < s->capacity && (uint64_t)(s->count + 1) * 2 < s->slot_count) {
        return PS_OK;
    }
    uint32_t capacity = s->capacity ? s->capacity * 2 : 256;
    char **text = realloc(s->text, capacity * sizeof *text);
    if (!text) {
        return PS_ENOMEM;
    }
    s->text = text;
    size_t *length = realloc(s->length, capacity * sizeof *length);
    if (!length) {
        return PS_ENOMEM;
    }
    s->length = length;
    s->capacity = capacity;
    uint32_t slot_count = capacity * 2;
    uint32_t *slots = calloc(slot_count, sizeof *slots);
    if (!slots) {
        return PS_ENOMEM;
    }
    for (uint32_t id = 0; id < s->count; id++) {
        uint32_t i = (uint32_t)hash_bytes(s->text[id], s->length[id]) & (slot_count - 1);
        while (slots[i]) {
            i = (i + 1) & (slot_count - 1);
        }
        slots[i] = id + 1;
    }
    free(s->slots);
    s->slots = slots;
    s->slot_count = slot_count;
    return PS_OK;
}

int ps_strings_intern(ps_strings *s, const char *text, size_t len, uint32_t *id)
{
    int rc = strings_grow(s);
    if (rc != PS_OK) {
        return rc;
    }
    uint32_t i = (uint32_t)hash_bytes(text, len) & (s->slot_count - 1);
    while (s->slots[i]) {
        uint32_t at = s->slots[i] - 1;
        if (s->length[at] == len && memcmp(s->text[at], text, len) == 0) {
            *id = at;
            return PS_OK;
        }
        i = (i + 1) & (s->slot_count - 1);
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        return PS_ENOMEM;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    s->text[s->count] = copy;
    s->length[s->count] = len;
    s->slots[i] = s->count + 1;
    *id = s->count++;
    return PS_OK;
}

void ps_strings_free(ps_strings *s)
{
    for (uint32_t i = 0; i < s->count; i++) {
        free(s->text[i]);
    }
    free(s->text);
    free(s->length);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

static int codes_grow(ps_code_cache *c)
{
    if ((uint64_t)(c->used + 1) * 2 < c->slot_count) {
        return PS_OK;
    }
    uint32_t slot_count = c->slot_count ? c->slot_count * 2 : 1024;
    ps_code_entry *entries = calloc(slot_count, sizeof *entries);
    if (!entries) {
        return PS_ENOMEM;
    }
    for (uint32_t k = 0; k < c->slot_count; k++) {
        if (!c->entries[k].address) {
            continue;
        }
        uint32_t i = (uint32_t)hash_u64(c->entries[k].address) & (slot_count - 1);
        while (entries[i].address) {
            i = (i + 1) & (slot_count - 1);
        }
        entries[i] = c->entries[k];
    }
    free(c->entries);
    c->entries = entries;
    c->slot_count = slot_count;
    return PS_OK;
}

ps_code_entry *ps_code_cache_slot(ps_code_cache *c, uint64_t address)
{
    if (codes_grow(c) != PS_OK) {
        return NULL;
    }
    uint32_t i = (uint32_t)hash_u64(address) & (c->slot_count - 1);
    while (c->entries[i].address && c->entries[i].address != address) {
        i = (i + 1) & (c->slot_count - 1);
    }
    if (!c->entries[i].address) {
        c->entries[i].address = address;
        c->entries[i].code_id = UINT32_MAX;
        c->used++;
    }
    return &c->entries[i];
}

int ps_code_cache_add_record(ps_code_cache *c, const ps_code_rec *rec, uint32_t *id)
{
    ps_code_rec *records =
        ps_grow(c->records, c->record_count, &c->record_capacity, sizeof *records, 256);
    if (!records) {
        return PS_ENOMEM;
    }
    c->records = records;
    c->records[c->record_count] = *rec;
    *id = c->record_count++;
    return PS_OK;
}

void ps_code_cache_free(ps_code_cache *c)
{
    for (uint32_t k = 0; k < c->slot_count; k++) {
        free(c->entries[k].linetable);
    }
    free(c->entries);
    free(c->records);
    memset(c, 0, sizeof *c);
}

ps_code_entry *ps_code_cache_find(const ps_code_cache *c, uint64_t address)
{
    if (!c->slot_count || !address) {
        return NULL;
    }
    uint32_t i = (uint32_t)hash_u64(address) & (c->slot_count - 1);
    while (c->entries[i].address) {
        if (c->entries[i].address == address) {
            return c->entries[i].code_id != UINT32_MAX ? &c->entries[i] : NULL;
        }
        i = (i + 1) & (c->slot_count - 1);
    }
    return NULL;
}
