/* Finding the instruction that covers a byte offset of a code object's
 * bytecode, for every bytecode format CPython 3.8-3.15 has used.
 *
 * 3.8-3.10: every instruction is one 2-byte code unit (opcode, oparg).
 * 3.11+: an instruction is followed by a fixed number of CACHE code units
 * that depends on its base opcode (_PyOpcode_Caches), and the opcode byte
 * itself may be a specialized or instrumented form of that base
 * (_PyOpcode_Deopt); both tables are generated into layouts/v3_*.h.
 * In every version EXTENDED_ARG units may prefix an instruction to widen
 * its oparg; they are reported as part of the instruction they prefix. */
#include <string.h>

#include "core.h"

/* EXTENDED_ARG's opcode number: 144 up to 3.12, 71 in 3.13, 69 in 3.14,
 * 67 in 3.15; looked up by name when the table says otherwise.  -1 when it
 * cannot be found. */
static int extended_arg_opcode(int major, int minor)
{
    const char *const *names = ps_opnames_for(major, minor);
    int guess = major != 3 || minor < 13 ? 144 : minor == 13 ? 71 : minor == 14 ? 69 : 67;

    if (names == NULL) {
        return -1;
    }
    if (names[guess] != NULL && strcmp(names[guess], "EXTENDED_ARG") == 0) {
        return guess;
    }
    for (int op = 0; op < 256; op++) {
        if (names[op] != NULL && strcmp(names[op], "EXTENDED_ARG") == 0) {
            return op;
        }
    }
    return -1;
}

int ps_instruction_at(int major, int minor, const unsigned char *code, size_t len,
                      int32_t offset, int32_t *start, int32_t *opcode, int32_t *base_opcode)
{
    const uint8_t *caches = ps_cache_entries_for(major, minor);
    const uint8_t *deopt = ps_deopt_for(major, minor);
    int extended_arg = extended_arg_opcode(major, minor);
    size_t at, next;

    if (code == NULL || offset < 0 || (size_t)offset >= len) {
        return PS_ECORRUPT;
    }
    if (major != 3 || minor < 8 || (minor >= 11 && (caches == NULL || deopt == NULL))) {
        return PS_EVERSION;
    }

    if (minor < 11) {
        /* One code unit per instruction. */
        at = (size_t)offset & ~(size_t)1;
        while (code[at] == extended_arg) {
            at += 2;
            if (at >= len) {
                return PS_ECORRUPT; /* EXTENDED_ARG prefixing nothing */
            }
        }
        *start = (int32_t)at;
        *opcode = code[at];
        *base_opcode = code[at];
        return PS_OK;
    }

    /* Instructions can only be told apart by walking from the start. */
    at = 0;
    for (;;) {
        next = at + 2 * (1 + (size_t)caches[deopt[code[at]]]);
        if ((size_t)offset < next) {
            break;
        }
        at = next;
        if (at >= len) {
            return PS_ECORRUPT; /* unreachable: offset < len */
        }
    }
    while (deopt[code[at]] == extended_arg) {
        at += 2; /* EXTENDED_ARG has no caches */
        if (at >= len) {
            return PS_ECORRUPT;
        }
    }
    *start = (int32_t)at;
    *opcode = code[at];
    *base_opcode = deopt[code[at]];
    return PS_OK;
}
