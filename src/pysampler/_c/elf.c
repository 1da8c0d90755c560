/* Finding symbols and sections in the ELF file that holds _PyRuntime. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"

static const Elf64_Ehdr *header(const ps_elf *elf)
{
    return (const Elf64_Ehdr *)elf->data;
}

static const Elf64_Shdr *section(const ps_elf *elf, size_t index)
{
    const Elf64_Ehdr *eh = header(elf);
    if (index >= eh->e_shnum) {
        return NULL;
    }
    size_t off = eh->e_shoff + index * sizeof(Elf64_Shdr);
    if (off + sizeof(Elf64_Shdr) > elf->size) {
        return NULL;
    }
    return (const Elf64_Shdr *)(elf->data + off);
}

static int valid_header(const ps_elf *elf)
{
    const Elf64_Ehdr *eh = header(elf);
    if (elf->size < sizeof(Elf64_Ehdr) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB) {
        return 0;
    }
    if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > elf->size ||
        (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > elf->size - eh->e_shoff) {
        return 0;
    }
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phoff > elf->size ||
        (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > elf->size - eh->e_phoff) {
        return 0;
    }
    return 1;
}

static uint64_t first_load_vaddr(const ps_elf *elf)
{
    const Elf64_Ehdr *eh = header(elf);
    for (size_t i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = (const Elf64_Phdr *)(elf->data + eh->e_phoff + i * sizeof(Elf64_Phdr));
        if (ph->p_type == PT_LOAD) {
            uint64_t align = ph->p_align ? ph->p_align : 1;
            return ph->p_vaddr & ~(align - 1);
        }
    }
    return 0;
}

int ps_elf_open(const char *path, ps_elf *elf)
{
    memset(elf, 0, sizeof *elf);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == EACCES || errno == EPERM ? PS_EPERM : PS_ENOTPYTHON;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        close(fd);
        return PS_ENOTPYTHON;
    }
    void *data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (data == MAP_FAILED) {
        return PS_ENOTPYTHON;
    }
    elf->data = data;
    elf->size = (size_t)st.st_size;
    if (!valid_header(elf)) {
        ps_elf_close(elf);
        return PS_ENOTPYTHON;
    }
    elf->first_load_vaddr = first_load_vaddr(elf);
    return PS_OK;
}

void ps_elf_close(ps_elf *elf)
{
    if (elf->data) {
        munmap((void *)elf->data, elf->size);
    }
    memset(elf, 0, sizeof *elf);
}

static uint64_t symbol_in(const ps_elf *elf, uint32_t type, const char *name)
{
    const Elf64_Ehdr *eh = header(elf);
    for (size_t i = 0; i < eh->e_shnum; i++) {
        const Elf64_Shdr *sh = section(elf, i);
        if (!sh || sh->sh_type != type || sh->sh_entsize != sizeof(Elf64_Sym)) {
            continue;
        }
        const Elf64_Shdr *strs = section(elf, sh->sh_link);
        if (!strs || sh->sh_offset > elf->size || sh->sh_size > elf->size - sh->sh_offset ||
            strs->sh_offset > elf->size || strs->sh_size > elf->size - strs->sh_offset) {
            continue;
        }
        const Elf64_Sym *syms = (const Elf64_Sym *)(elf->data + sh->sh_offset);
        const char *names = (const char *)(elf->data + strs->sh_offset);
        size_t count = sh->sh_size / sizeof(Elf64_Sym);
        size_t want = strlen(name);
        for (size_t k = 0; k < count; k++) {
            uint32_t at = syms[k].st_name;
            if (syms[k].st_shndx == SHN_UNDEF || at >= strs->sh_size ||
                strs->sh_size - at <= want) {
                continue;
            }
            if (memcmp(names + at, name, want + 1) == 0) {
                return syms[k].st_value;
            }
        }
    }
    return 0;
}

uint64_t ps_elf_symbol(const ps_elf *elf, const char *name)
{
    uint64_t value = symbol_in(elf, SHT_DYNSYM, name);
    return value ? value : symbol_in(elf, SHT_SYMTAB, name);
}

uint64_t ps_elf_section(const ps_elf *elf, const char *name, uint64_t *size)
{
    const Elf64_Ehdr *eh = header(elf);
    const Elf64_Shdr *names = section(elf, eh->e_shstrndx);
    if (!names || names->sh_offset > elf->size || names->sh_size > elf->size - names->sh_offset) {
        return 0;
    }
    size_t want = strlen(name);
    for (size_t i = 0; i < eh->e_shnum; i++) {
        const Elf64_Shdr *sh = section(elf, i);
        if (!sh || sh->sh_name >= names->sh_size || names->sh_size - sh->sh_name <= want) {
            continue;
        }
        if (memcmp(elf->data + names->sh_offset + sh->sh_name, name, want + 1) == 0) {
            if (size) {
                *size = sh->sh_size;
            }
            return sh->sh_addr;
        }
    }
    return 0;
}

/* The GNU build-id note's descriptor: where the loaded file has it and its
 * bytes in the file.  Notes are walked through the program headers, which
 * a stripped file keeps. */
int ps_elf_build_id(const ps_elf *elf, uint64_t *vaddr, const unsigned char **bytes, size_t *len)
{
    const Elf64_Ehdr *eh = header(elf);
    for (size_t i = 0; i < eh->e_phnum; i++) {
        const Elf64_Phdr *ph = (const Elf64_Phdr *)(elf->data + eh->e_phoff + i * sizeof(Elf64_Phdr));
        if (ph->p_type != PT_NOTE || ph->p_offset > elf->size ||
            ph->p_filesz > elf->size - ph->p_offset) {
            continue;
        }
        /* Offsets are padded to the segment's alignment: 4, or 8 for
         * notes such as .note.gnu.property. */
        uint64_t pad = ph->p_align == 8 ? 7 : 3, at = 0;
        while (at < ph->p_filesz && ph->p_filesz - at >= sizeof(Elf64_Nhdr)) {
            const Elf64_Nhdr *note = (const Elf64_Nhdr *)(elf->data + ph->p_offset + at);
            uint64_t desc_at = (at + sizeof(Elf64_Nhdr) + note->n_namesz + pad) & ~pad;
            if (desc_at > ph->p_filesz || note->n_descsz > ph->p_filesz - desc_at) {
                break;
            }
            if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 && note->n_descsz > 0 &&
                memcmp(note + 1, "GNU", 4) == 0) {
                *vaddr = ph->p_vaddr + desc_at;
                *bytes = elf->data + ph->p_offset + desc_at;
                *len = note->n_descsz;
                return 1;
            }
            at = (desc_at + note->n_descsz + pad) & ~pad;
        }
    }
    return 0;
}
