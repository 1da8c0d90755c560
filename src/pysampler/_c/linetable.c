/* Mapping a bytecode offset to source positions, for each line-table
 * format CPython has used: co_lnotab (3.8-3.9), the PEP 626 table (3.10)
 * and the location table with columns (3.11+). */
#include "core.h"

static void unknown(ps_location *out)
{
    out->lineno = out->end_lineno = out->col = out->end_col = -1;
}

/* 3.8-3.9: (address increment, signed line increment) byte pairs. */
static void lnotab(const unsigned char *t, size_t len, int32_t line, int32_t addr, ps_location *out)
{
    int32_t at = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        at += t[i];
        if (at > addr) {
            break;
        }
        line += (int8_t)t[i + 1];
    }
    out->lineno = out->end_lineno = line;
}

/* 3.10: (byte length, signed line delta) pairs; a delta of -128 means the
 * range has no line. */
static void pep626(const unsigned char *t, size_t len, int32_t line, int32_t addr, ps_location *out)
{
    int32_t start = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        int32_t end = start + t[i];
        int8_t delta = (int8_t)t[i + 1];
        int32_t range_line = -1;
        if (delta != -128) {
            line += delta;
            range_line = line;
        }
        if (addr >= start && addr < end) {
            out->lineno = out->end_lineno = range_line;
            return;
        }
        start = end;
    }
}

typedef struct cursor {
    const unsigned char *p, *end;
} cursor;

static uint32_t uvarint(cursor *c)
{
    uint32_t value = 0;
    unsigned shift = 0;
    while (c->p < c->end && shift < 32) {
        unsigned char b = *c->p++;
        value |= (uint32_t)(b & 63) << shift;
        shift += 6;
        if (!(b & 64)) {
            break;
        }
    }
    return value;
}

static int32_t svarint(cursor *c)
{
    uint32_t v = uvarint(c);
    return (v & 1) ? -(int32_t)(v >> 1) : (int32_t)(v >> 1);
}

static int32_t next_byte(cursor *c)
{
    return c->p < c->end ? *c->p++ : -1;
}

/* 3.11+: entries of a header byte (1, code:4, length-1:3) and a payload. */
static void locations(const unsigned char *t, size_t len, int32_t line, int32_t addr, ps_location *out)
{
    cursor c = {t, t + len};
    int32_t unit = addr / 2, start = 0;
    while (c.p < c.end) {
        unsigned char head = *c.p++;
        if (!(head & 0x80)) {
            return; /* not at an entry start: a damaged table */
        }
        int code = (head >> 3) & 15;
        int32_t end = start + (head & 7) + 1;
        ps_location here;
        unknown(&here);
        if (code == 15) {
            /* no location */
        } else if (code == 14) {
            line += svarint(&c);
            here.lineno = line;
            here.end_lineno = line + (int32_t)uvarint(&c);
            here.col = (int32_t)uvarint(&c) - 1;
            here.end_col = (int32_t)uvarint(&c) - 1;
        } else if (code == 13) {
            line += svarint(&c);
            here.lineno = here.end_lineno = line;
        } else if (code >= 10) {
            line += code - 10;
            here.lineno = here.end_lineno = line;
            here.col = next_byte(&c);
            here.end_col = next_byte(&c);
        } else {
            int32_t second = next_byte(&c);
            here.lineno = here.end_lineno = line;
            if (second >= 0) {
                here.col = code * 8 + ((second >> 4) & 7);
                here.end_col = here.col + (second & 15);
            }
        }
        if (unit >= start && unit < end) {
            *out = here;
            return;
        }
        start = end;
    }
}

void ps_linetable_lookup(int major, int minor, const unsigned char *table, size_t len,
                         int32_t firstlineno, int32_t addr, ps_location *out)
{
    unknown(out);
    if (major != 3 || addr < 0) {
        if (addr < 0) {
            out->lineno = out->end_lineno = firstlineno;
        }
        return;
    }
    if (minor <= 9) {
        lnotab(table, len, firstlineno, addr, out);
    } else if (minor == 10) {
        pep626(table, len, firstlineno, addr, out);
    } else {
        locations(table, len, firstlineno, addr, out);
    }
}
