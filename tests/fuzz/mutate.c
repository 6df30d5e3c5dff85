/* mutate.c - fuzz_mutate: deterministic mutants of an HDF5 file for the fuzz harness
 * (tests/fuzz/fuzz.sh, issue 14: damaged or hostile files never crash, hang, or get used
 * silently).
 *
 *   fuzz_mutate [--seed S] --index I [--strategy NAME] IN OUT
 *   fuzz_mutate [--seed S] --select N IN
 *   fuzz_mutate --regions IN
 *
 * Mutant I of a file under seed S is always the same bytes: every draw comes from the Philox
 * stream (S, RNG_TEST, I, MUTATE_TAG), never from a clock or a shared generator. The strategy
 * is the I-th of the cycle below unless --strategy names one, so any N consecutive mutants
 * spread evenly over the strategies:
 *
 *   bitflip    1-8 bits anywhere in the file
 *   overwrite  1-8 random bytes anywhere, or a run of up to 16 bytes of one boundary value
 *   truncate   cut at a random length, at a structure of the file, or a few bytes short
 *   duplicate  a block of 8 B - 4 KiB copied over another place (the file keeps its size)
 *   metadata   1-4 changes inside one HDF5 metadata structure: superblock, object headers (v1,
 *              found by their shape, and "OHDR"/"OCHK"), B-trees ("TREE", "BTHD"/"BTIN"/
 *              "BTLF"), local heap headers ("HEAP"), symbol nodes ("SNOD"), fractal heaps and
 *              free-space records ("FRHP"/"FHDB"/"FHIB"/"FSHD"/"FSSE"), global heap headers
 *   strings    inside string storage: the objects of global heap collections ("GCOL", where
 *              HDF5 keeps variable-length strings: their bytes, sizes, indices, reference
 *              counts) and the data segments of local heaps (link names)
 *   userblock  in the bytes before the superblock, where s2s keeps its integrity record: 1-4
 *              changes inside the record (the user block up to its last non-zero byte) or
 *              anywhere in the user block; or the whole record zeroed (the file then looks as
 *              if another tool had written it), alone or with a metadata or string change,
 *              which is how a damaged file without a record is made from one with a record.
 *              In a file without a user block: as metadata
 *
 * Why structure-aware strategies: random bytes mostly land in raw numbers, which only a
 * checksum notices; the crashes issue 14 found were in libhdf5's metadata and global heap
 * readers, which a few random flips rarely reach.
 *
 * Output: one line on stdout naming the strategy and what was changed ("metadata: TREE at
 * 1234+544: field 1258/8 0x1f0->0xffffffffffffffff", a field of 8 bytes at offset 1258).
 * Exit status 0: OUT written and
 * different from IN; 3: the mutation left the bytes unchanged (OUT not written; the harness
 * counts and skips it); 1: an I/O error; 2: usage. --select N prints the indices of the first
 * N mutants that differ from IN, one a line, then "identical K": the K indices skipped on the
 * way (one process for all, so the harness runs exactly N different mutants). --regions lists
 * the structures found (offset, length, kind), to check the parser below against `h5debug
 * FILE ADDRESS` (on the harness's dataset and checkpoint, every version 1 object header it
 * lists is one for h5debug, or a continuation block of one). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/rng.h"

#define MUTATE_TAG 0x66757a7au /* "fuzz": the stream's third counter word */

enum kind {
    K_USERBLOCK,
    K_SUPER,
    K_OHDR1,  /* version 1 object header (no signature) or its continuation block */
    K_OHDR2,  /* "OHDR" */
    K_OCHK,   /* "OCHK" */
    K_TREE,   /* version 1 B-tree node */
    K_BTREE2, /* version 2 B-tree header and nodes */
    K_HEAP,   /* local heap header */
    K_SNOD,
    K_FHEAP,  /* fractal heap header and blocks */
    K_FSPACE, /* free-space manager header and sections */
    K_GCOL,   /* global heap collection header and object headers */
    K_STR_GCOL,
    K_STR_LHEAP,
    K_COUNT
};
static const char *const KIND_NAMES[K_COUNT] = {
    "userblock", "superblock", "object header v1", "OHDR", "OCHK", "TREE", "v2 B-tree",
    "HEAP", "SNOD", "fractal heap", "free space", "GCOL", "GCOL string", "local heap data"};

typedef struct {
    size_t off, len;
    int kind;
    char sig[5];
} region;

typedef struct {
    uint8_t *d;
    size_t n;
    region *r;
    int nr, cap;
    size_t sb;       /* superblock offset (base of addresses), or SIZE_MAX if none found */
    size_t base;     /* absolute base address */
    int so, sl;      /* sizes of offsets and lengths */
    int group_leaf_k, group_int_k, chunk_k;
} h5file;

/* ---- little-endian fields, bounds-checked ---------------------------------------------------- */

static bool have(const h5file *f, size_t off, size_t len)
{
    return off <= f->n && len <= f->n - off;
}

static uint64_t get(const h5file *f, size_t off, int len)
{
    uint64_t v = 0;
    if (!have(f, off, (size_t)len))
        return UINT64_MAX;
    for (int i = len - 1; i >= 0; i--)
        v = v << 8 | f->d[off + (size_t)i];
    return v;
}

static void put(uint8_t *d, size_t off, int len, uint64_t v)
{
    for (int i = 0; i < len; i++, v >>= 8)
        d[off + (size_t)i] = (uint8_t)v;
}

/* Absolute file offset of a stored address, or SIZE_MAX if undefined or outside the file. */
static size_t addr(const h5file *f, uint64_t a)
{
    if (a == UINT64_MAX || (f->so == 4 && a == UINT32_MAX))
        return SIZE_MAX;
    if (a > f->n || f->base + a >= f->n)
        return SIZE_MAX;
    return (size_t)(f->base + a);
}

static int add_region(h5file *f, size_t off, size_t len, int kind, const char *sig)
{
    if (off >= f->n || len == 0)
        return 0;
    if (len > f->n - off)
        len = f->n - off;
    for (int i = 0; i < f->nr; i++)
        if (f->r[i].off == off && f->r[i].kind == kind)
            return 0; /* found twice (e.g. by signature and by a link) */
    if (f->nr == f->cap) {
        int cap = f->cap ? 2 * f->cap : 64;
        region *p = realloc(f->r, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        f->r = p;
        f->cap = cap;
    }
    region *r = &f->r[f->nr++];
    r->off = off;
    r->len = len;
    r->kind = kind;
    snprintf(r->sig, sizeof r->sig, "%s", sig ? sig : "");
    return 0;
}

/* ---- finding the structures ------------------------------------------------------------------ */

/* The superblock: at 0, 512, 1024, 2048, ... (HDF5's rule for user blocks). */
static void find_superblock(h5file *f)
{
    static const uint8_t SIG[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    f->sb = SIZE_MAX;
    f->so = f->sl = 8;
    f->group_leaf_k = 4;
    f->group_int_k = 16;
    f->chunk_k = 32;
    for (size_t at = 0; at + 8 <= f->n; at = at ? 2 * at : 512) {
        if (memcmp(f->d + at, SIG, 8) != 0)
            continue;
        f->sb = at;
        break;
    }
    if (f->sb == SIZE_MAX)
        return;
    size_t s = f->sb;
    int ver = (int)get(f, s + 8, 1);
    size_t len = 48;
    if (ver <= 1) {
        f->so = (int)get(f, s + 13, 1);
        f->sl = (int)get(f, s + 14, 1);
        f->group_leaf_k = (int)get(f, s + 16, 2);
        f->group_int_k = (int)get(f, s + 18, 2);
        size_t p = s + 24;
        if (ver == 1) {
            f->chunk_k = (int)get(f, p, 2);
            p += 4;
        }
        if (f->so != 4 && f->so != 8)
            f->so = 8;
        if (f->sl != 4 && f->sl != 8)
            f->sl = 8;
        uint64_t base = get(f, p, f->so);
        f->base = base < f->n ? (size_t)base : f->sb;
        /* base, free space, EOF, driver info, then the root's symbol table entry */
        len = p - s + 4 * (size_t)f->so + (size_t)(2 * f->so + 24);
    } else {
        f->so = (int)get(f, s + 9, 1);
        f->sl = (int)get(f, s + 10, 1);
        if (f->so != 4 && f->so != 8)
            f->so = 8;
        if (f->sl != 4 && f->sl != 8)
            f->sl = 8;
        uint64_t base = get(f, s + 12, f->so);
        f->base = base < f->n ? (size_t)base : f->sb;
        len = 12 + 4 * (size_t)f->so + 4;
    }
    if (f->group_leaf_k <= 0 || f->group_leaf_k > 1024)
        f->group_leaf_k = 4;
    if (f->group_int_k <= 0 || f->group_int_k > 1024)
        f->group_int_k = 16;
    if (f->chunk_k <= 0 || f->chunk_k > 1024)
        f->chunk_k = 32;
    add_region(f, s, len, K_SUPER, NULL);
    if (f->sb > 0)
        add_region(f, 0, f->sb, K_USERBLOCK, NULL);
}

/* A version 1 object header's messages from p to end, each 8 bytes of header (type 2, size 2,
 * flags 1, reserved 3) and a multiple of 8 bytes of data: true if they tile [p, end) exactly.
 * Continuation messages (type 0x10) add their blocks. */
static bool v1_messages(h5file *f, size_t p, size_t end, bool record)
{
    int count = 0;
    while (p < end) {
        if (!have(f, p, 8))
            return false;
        uint64_t type = get(f, p, 2), size = get(f, p + 2, 2);
        if (type > 0x18 || size % 8 || get(f, p + 5, 3) != 0 || p + 8 + size > end)
            return false;
        if (record && type == 0x10 && size >= (uint64_t)(f->so + f->sl)) {
            size_t at = addr(f, get(f, p + 8, f->so));
            uint64_t len = get(f, p + 8 + (size_t)f->so, f->sl);
            if (at != SIZE_MAX && len >= 8 && len <= f->n && v1_messages(f, at, at + len, false))
                add_region(f, at, (size_t)len, K_OHDR1, NULL);
        }
        p += 8 + size;
        count++;
    }
    return p == end && count > 0;
}

/* Version 1 object headers have no signature: they are recognized by their shape (version 1,
 * a zero byte, a message count, a small reference count, a header size that the messages tile
 * exactly, each message of a known type with zero reserved bytes). False positives in raw
 * numbers need all of that by chance, and cost no more than a mutation of those numbers. */
static void find_v1_headers(h5file *f)
{
    for (size_t p = f->sb == SIZE_MAX ? 0 : f->sb; p + 24 <= f->n; p++) {
        if (f->d[p] != 1 || f->d[p + 1] != 0)
            continue;
        uint64_t nmsg = get(f, p + 2, 2), refs = get(f, p + 4, 4), hsize = get(f, p + 8, 4);
        if (nmsg == 0 || nmsg > 4096 || refs == 0 || refs > 65536 || hsize < 8 ||
            hsize % 8 || p + 16 + hsize > f->n || get(f, p + 12, 4) != 0)
            continue;
        if (v1_messages(f, p + 16, p + 16 + hsize, true))
            add_region(f, p, 16 + hsize, K_OHDR1, NULL);
    }
}

/* Bytes of a version 1 chunk B-tree key (size 4, filter mask 4, rank + 1 offsets of 8): the
 * smallest rank for which the last offset (the element dimension) of every used key is 0. */
static size_t chunk_key_size(const h5file *f, size_t node, int used)
{
    for (int rank = 1; rank <= 8; rank++) {
        size_t ks = 8 + 8 * (size_t)(rank + 1), step = ks + (size_t)f->so;
        bool ok = true;
        for (int k = 0; k <= used && ok; k++)
            ok = get(f, node + 24 + (size_t)k * step + ks - 8, 8) == 0;
        if (ok)
            return ks;
    }
    return 24;
}

static size_t v1_tree_size(const h5file *f, size_t p)
{
    int type = (int)get(f, p + 4, 1);
    int used = (int)get(f, p + 6, 2);
    size_t hdr = 8 + 2 * (size_t)f->so;
    if (type == 0) /* group node: 2K + 1 keys (heap offsets), 2K children */
        return hdr + (2 * (size_t)f->group_int_k + 1) * (size_t)f->sl +
               2 * (size_t)f->group_int_k * (size_t)f->so;
    size_t ks = chunk_key_size(f, p, used < 0 ? 0 : used);
    return hdr + (2 * (size_t)f->chunk_k + 1) * ks + 2 * (size_t)f->chunk_k * (size_t)f->so;
}

/* A global heap collection: header (signature, version, 3 reserved, collection size) and its
 * objects (index 2, reference count 2, reserved 4, size, data padded to 8); index 0 is the
 * free space at the end. Object headers count as heap metadata, their data as strings. */
static void gcol(h5file *f, size_t p)
{
    uint64_t size = get(f, p + 8, f->sl);
    if (size < 16 || size > f->n - p)
        size = f->n - p;
    add_region(f, p, 8 + (size_t)f->sl, K_GCOL, "GCOL");
    size_t end = p + (size_t)size, q = p + 8 + (size_t)f->sl;
    size_t oh = 8 + (size_t)f->sl;
    while (q + oh <= end) {
        uint64_t index = get(f, q, 2), osize = get(f, q + 8, f->sl);
        add_region(f, q, oh, K_GCOL, "GCOL");
        if (index == 0 || osize > end - q - oh)
            break;
        if (osize > 0)
            add_region(f, q + oh, (size_t)osize, K_STR_GCOL, "GCOL");
        q += oh + ((size_t)osize + 7) / 8 * 8;
    }
}

static int cmp_region(const void *a, const void *b)
{
    const region *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off ? 1 : x->kind - y->kind;
}

static void find_signatures(h5file *f)
{
    static const struct {
        const char *sig;
        int kind;
    } SIGS[] = {{"OHDR", K_OHDR2}, {"OCHK", K_OCHK},  {"TREE", K_TREE},  {"BTHD", K_BTREE2},
                {"BTIN", K_BTREE2}, {"BTLF", K_BTREE2}, {"HEAP", K_HEAP},  {"SNOD", K_SNOD},
                {"GCOL", K_GCOL},  {"FRHP", K_FHEAP},  {"FHDB", K_FHEAP}, {"FHIB", K_FHEAP},
                {"FSHD", K_FSPACE}, {"FSSE", K_FSPACE}};
    size_t start = f->sb == SIZE_MAX ? 0 : f->sb;
    uint32_t btree2_node = 512;
    for (size_t p = start; p + 8 <= f->n; p++) {
        for (size_t s = 0; s < sizeof SIGS / sizeof SIGS[0]; s++) {
            if (memcmp(f->d + p, SIGS[s].sig, 4) != 0)
                continue;
            int ver = f->d[p + 4];
            size_t len = 0; /* 0: up to the next structure, at most 512 bytes */
            switch (SIGS[s].kind) {
            case K_TREE:
                if (ver > 1) /* here the byte is the node type */
                    continue;
                len = v1_tree_size(f, p);
                break;
            case K_HEAP: {
                if (ver != 0)
                    continue;
                len = 8 + 2 * (size_t)f->sl + (size_t)f->so;
                uint64_t dsize = get(f, p + 8, f->sl);
                size_t data = addr(f, get(f, p + 8 + 2 * (size_t)f->sl, f->so));
                if (data != SIZE_MAX && dsize <= f->n - data)
                    add_region(f, data, (size_t)dsize, K_STR_LHEAP, "HEAP");
                break;
            }
            case K_SNOD:
                if (ver != 1)
                    continue;
                len = 8 + 2 * (size_t)f->group_leaf_k * (2 * (size_t)f->so + 24);
                break;
            case K_GCOL:
                if (ver != 1)
                    continue;
                gcol(f, p);
                continue;
            case K_OHDR2: {
                if (ver != 2)
                    continue;
                int flags = f->d[p + 5];
                size_t q = p + 6 + (flags & 0x20 ? 16 : 0) + (flags & 0x10 ? 4 : 0);
                int w = 1 << (flags & 3);
                uint64_t chunk = get(f, q, w);
                if (chunk != UINT64_MAX && chunk < f->n)
                    len = q + (size_t)w + (size_t)chunk + 4 - p;
                break;
            }
            case K_BTREE2:
                if (ver != 0)
                    continue;
                if (!memcmp(SIGS[s].sig, "BTHD", 4)) {
                    len = 6 + 4 + 2 + 2 + 2 + (size_t)f->so + 2 + (size_t)f->sl + 4;
                    uint64_t ns = get(f, p + 6, 4);
                    if (ns >= 64 && ns <= 65536)
                        btree2_node = (uint32_t)ns;
                } else {
                    len = btree2_node;
                }
                break;
            default:
                if (ver > 2)
                    continue;
            }
            add_region(f, p, len ? len : 512, SIGS[s].kind, SIGS[s].sig);
        }
    }
}

/* Structures found by signature or shape, sorted by offset; a structure of unknown length ends
 * where the next begins. */
static int parse(h5file *f)
{
    find_superblock(f);
    find_signatures(f);
    find_v1_headers(f);
    if (f->nr == 0)
        return 0;
    qsort(f->r, (size_t)f->nr, sizeof *f->r, cmp_region);
    for (int i = 0; i + 1 < f->nr; i++) {
        region *r = &f->r[i];
        if (r->kind == K_FHEAP || r->kind == K_FSPACE || r->kind == K_OCHK ||
            r->kind == K_BTREE2) {
            size_t next = f->r[i + 1].off;
            if (next > r->off && next - r->off < r->len)
                r->len = next - r->off;
        }
    }
    return 0;
}

/* ---- mutations ------------------------------------------------------------------------------- */

static uint32_t below(rng_stream *s, size_t n)
{
    return n <= 1 ? 0 : rng_below(s, n > UINT32_MAX ? UINT32_MAX : (uint32_t)n);
}

static size_t pick_pos(rng_stream *s, size_t n)
{
    if (n <= UINT32_MAX)
        return below(s, n);
    return (size_t)(((uint64_t)rng_u32(s) << 32 | rng_u32(s)) % n);
}

/* A boundary value for a field of w bytes whose current value is old. */
static uint64_t interesting(rng_stream *s, int w, uint64_t old, size_t filesize)
{
    uint64_t all = w == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * w)) - 1;
    uint64_t v;
    switch (below(s, 10)) {
    case 0: v = 0; break;
    case 1: v = 1; break;
    case 2: v = all; break;
    case 3: v = all >> 1; break;            /* largest signed */
    case 4: v = (all >> 1) + 1; break;      /* smallest signed */
    case 5: v = old + 1; break;
    case 6: v = old - 1; break;
    case 7: v = old * 2 + 1; break;
    case 8: v = filesize + below(s, 64); break;
    default: v = (uint64_t)rng_u32(s) << 32 | rng_u32(s); break;
    }
    return v & all;
}

static int append(char *buf, size_t size, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
    if (*used >= size)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *used, size - *used, fmt, ap);
    va_end(ap);
    if (k > 0)
        *used += (size_t)k;
    return 0;
}

/* 1-4 changes inside [off, off + len): bit flips, random bytes, a boundary value in an aligned
 * field of 1, 2, 4 or 8 bytes, or a zeroed run. */
static void mutate_inside(rng_stream *s, uint8_t *d, size_t off, size_t len, size_t filesize,
                          char *msg, size_t msize, size_t *used)
{
    int changes = 1 + (int)below(s, 4);
    for (int c = 0; c < changes; c++) {
        switch (below(s, 4)) {
        case 0: {
            size_t p = off + below(s, len);
            int bit = (int)below(s, 8);
            d[p] ^= (uint8_t)(1u << bit);
            append(msg, msize, used, " flip %zu.%d", p, bit);
            break;
        }
        case 1: {
            size_t p = off + below(s, len);
            uint8_t v = (uint8_t)rng_u32(s);
            append(msg, msize, used, " byte %zu 0x%02x->0x%02x", p, d[p], v);
            d[p] = v;
            break;
        }
        case 2: {
            static const int W[] = {1, 2, 4, 8};
            int w = W[below(s, 4)];
            while (w > 1 && (size_t)w > len)
                w /= 2;
            size_t slots = len / (size_t)w;
            size_t p = off + below(s, slots) * (size_t)w;
            uint64_t old = 0;
            for (int i = w - 1; i >= 0; i--)
                old = old << 8 | d[p + (size_t)i];
            uint64_t v = interesting(s, w, old, filesize);
            put(d, p, w, v);
            append(msg, msize, used, " field %zu/%d 0x%llx->0x%llx", p, w,
                   (unsigned long long)old, (unsigned long long)v);
            break;
        }
        default: {
            size_t n = 4 + below(s, 29);
            size_t p = off + below(s, len);
            if (n > off + len - p)
                n = off + len - p;
            memset(d + p, 0, n);
            append(msg, msize, used, " zero %zu+%zu", p, n);
            break;
        }
        }
    }
}

/* Inside string storage: a byte of the text replaced by a character that vocabularies and UTF-8
 * validation must refuse or a random one, the text of one object copied over another's (a
 * duplicate token), or, for a global heap object, its header (size, index, reference count). */
static void mutate_string(rng_stream *s, h5file *f, uint8_t *d, const region *r, char *msg,
                          size_t msize, size_t *used)
{
    static const uint8_t BAD[] = {0x00, 0xff, 0x80, 0xc0, 0xed, ' ', '\t', '\n', 0x7f};
    int op = (int)below(s, r->kind == K_STR_GCOL ? 4 : 2);
    if (op == 0) {
        size_t p = r->off + below(s, r->len);
        uint8_t v = below(s, 2) ? BAD[below(s, sizeof BAD)] : (uint8_t)rng_u32(s);
        append(msg, msize, used, " byte %zu 0x%02x->0x%02x", p, d[p], v);
        d[p] = v;
    } else if (op == 1) {
        /* another string region of the same kind, copied over this one as far as both go */
        int other = -1, seen = 0;
        for (int i = 0; i < f->nr; i++)
            if (f->r[i].kind == r->kind && &f->r[i] != r && below(s, (size_t)++seen) == 0)
                other = i;
        if (other < 0) {
            mutate_inside(s, d, r->off, r->len, f->n, msg, msize, used);
            return;
        }
        size_t n = r->len < f->r[other].len ? r->len : f->r[other].len;
        memmove(d + r->off, d + f->r[other].off, n);
        append(msg, msize, used, " copy %zu+%zu over %zu", f->r[other].off, n, r->off);
    } else {
        /* the object's header: 16 bytes before its data (index, refcount, reserved, size) */
        size_t h = r->off - 8 - (size_t)f->sl;
        static const size_t FIELD[] = {0, 2, 8};
        static const int WIDTH[] = {2, 2, 8};
        int k = op == 2 ? 2 : (int)below(s, 3); /* the size most often */
        size_t p = h + FIELD[k];
        int w = k == 2 ? f->sl : WIDTH[k];
        uint64_t old = get(f, p, w);
        uint64_t v = interesting(s, w, old, f->n);
        put(d, p, w, v);
        append(msg, msize, used, " %s %zu 0x%llx->0x%llx", k == 0 ? "index" : k == 1 ? "refcount" : "size", p,
               (unsigned long long)old, (unsigned long long)v);
    }
}

/* A region of one of the kinds in mask: a kind chosen uniformly among those the file has, then
 * one of its regions, so that the many small objects of a global heap do not crowd out the few
 * B-tree nodes and symbol tables. NULL if there is none. */
static const region *pick_region(rng_stream *s, const h5file *f, unsigned mask)
{
    int per_kind[K_COUNT] = {0}, kinds = 0;
    for (int i = 0; i < f->nr; i++)
        if (mask >> f->r[i].kind & 1u && per_kind[f->r[i].kind]++ == 0)
            kinds++;
    if (kinds == 0)
        return NULL;
    int k = (int)below(s, (size_t)kinds), kind = 0;
    for (kind = 0; kind < K_COUNT; kind++)
        if (per_kind[kind] && k-- == 0)
            break;
    int j = (int)below(s, (size_t)per_kind[kind]);
    for (int i = 0; i < f->nr; i++)
        if (f->r[i].kind == kind && j-- == 0)
            return &f->r[i];
    return NULL;
}

static const char *const STRATEGIES[] = {"bitflip",  "overwrite", "truncate", "duplicate",
                                         "metadata", "strings",   "userblock"};
enum { N_STRATEGIES = 7 };

#define META_MASK                                                                                  \
    ((1u << K_SUPER) | (1u << K_OHDR1) | (1u << K_OHDR2) | (1u << K_OCHK) | (1u << K_TREE) |       \
     (1u << K_BTREE2) | (1u << K_HEAP) | (1u << K_SNOD) | (1u << K_FHEAP) | (1u << K_FSPACE) |     \
     (1u << K_GCOL))
#define STRING_MASK ((1u << K_STR_GCOL) | (1u << K_STR_LHEAP))

/* The kind of a structure, with its signature where one kind has several. */
static const char *region_name(const region *r, char *buf, size_t size)
{
    bool several = r->kind == K_BTREE2 || r->kind == K_FHEAP || r->kind == K_FSPACE;
    snprintf(buf, size, "%s%s%s", KIND_NAMES[r->kind], several ? " " : "", several ? r->sig : "");
    return buf;
}

/* Mutates f->d (size f->n) into out (size *out_n, at most f->n); describes it in msg. */
static void mutate(h5file *f, int strategy, rng_stream *s, uint8_t *out, size_t *out_n,
                   char *msg, size_t msize)
{
    size_t used = 0, n = f->n;
    char name[64];
    memcpy(out, f->d, n);
    *out_n = n;
    append(msg, msize, &used, "%s:", STRATEGIES[strategy]);
    if (n == 0)
        return;
    const region *r = NULL;
    if (strategy == 6) {
        r = pick_region(s, f, 1u << K_USERBLOCK);
        if (!r) {
            append(msg, msize, &used, " (no user block: metadata)");
            strategy = 4;
        }
    }
    if (strategy == 5 && !(r = pick_region(s, f, STRING_MASK))) {
        append(msg, msize, &used, " (no string storage found: metadata)");
        strategy = 4;
    }
    if (strategy == 4 && !(r = pick_region(s, f, META_MASK))) {
        append(msg, msize, &used, " (no HDF5 structure found: bitflip)");
        strategy = 0;
    }
    switch (strategy) {
    case 0: {
        int bits = 1 + (int)below(s, 8);
        for (int i = 0; i < bits; i++) {
            size_t p = pick_pos(s, n);
            int bit = (int)below(s, 8);
            out[p] ^= (uint8_t)(1u << bit);
            append(msg, msize, &used, " %zu.%d", p, bit);
        }
        break;
    }
    case 1:
        if (below(s, 2)) {
            int k = 1 + (int)below(s, 8);
            for (int i = 0; i < k; i++) {
                size_t p = pick_pos(s, n);
                out[p] = (uint8_t)rng_u32(s);
                append(msg, msize, &used, " %zu=0x%02x", p, out[p]);
            }
        } else {
            static const uint8_t V[] = {0x00, 0xff, 0x7f, 0x80, 0x01};
            uint8_t v = V[below(s, sizeof V)];
            size_t p = pick_pos(s, n), k = 1 + below(s, 16);
            if (k > n - p)
                k = n - p;
            memset(out + p, v, k);
            append(msg, msize, &used, " run %zu+%zu=0x%02x", p, k, v);
        }
        break;
    case 2: {
        size_t len;
        int how = (int)below(s, 4);
        if (how == 0 && (r = pick_region(s, f, META_MASK | STRING_MASK))) {
            len = r->off + below(s, r->len); /* inside a structure */
            append(msg, msize, &used, " inside %s at %zu:", region_name(r, name, sizeof name),
                   r->off);
        } else if (how == 1) {
            len = n - 1 - below(s, n < 64 ? n : 64); /* a few bytes short */
        } else {
            len = pick_pos(s, n);
        }
        *out_n = len;
        append(msg, msize, &used, " to %zu of %zu bytes", len, n);
        break;
    }
    case 3: {
        size_t len = (size_t)8 << below(s, 10); /* 8 B .. 4 KiB */
        if (len > n / 2)
            len = n / 2 ? n / 2 : 1;
        size_t src = pick_pos(s, n - len + 1), dst;
        const region *at = below(s, 2) ? pick_region(s, f, META_MASK | STRING_MASK) : NULL;
        dst = at ? at->off : pick_pos(s, n - len + 1);
        if (dst > n - len)
            dst = n - len;
        memmove(out + dst, f->d + src, len);
        append(msg, msize, &used, " %zu+%zu over %zu%s%s", src, len, dst, at ? " at " : "",
               at ? region_name(at, name, sizeof name) : "");
        break;
    }
    case 4:
        append(msg, msize, &used, " %s at %zu+%zu:", region_name(r, name, sizeof name), r->off,
               r->len);
        mutate_inside(s, out, r->off, r->len, n, msg, msize, &used);
        break;
    case 6: {
        size_t rec = r->len; /* the record: up to the last non-zero byte */
        while (rec > 0 && f->d[r->off + rec - 1] == 0)
            rec--;
        int op = (int)below(s, 4);
        if (rec == 0 || op == 1) {
            append(msg, msize, &used, " user block 0+%zu:", r->len);
            mutate_inside(s, out, r->off, r->len, n, msg, msize, &used);
        } else if (op == 0) {
            append(msg, msize, &used, " record 0+%zu:", rec);
            mutate_inside(s, out, r->off, rec, n, msg, msize, &used);
        } else {
            memset(out + r->off, 0, rec);
            append(msg, msize, &used, " record 0+%zu zeroed", rec);
            const region *m = op == 3 ? pick_region(s, f, META_MASK | STRING_MASK) : NULL;
            if (m) {
                append(msg, msize, &used, "; %s at %zu+%zu:", region_name(m, name, sizeof name),
                       m->off, m->len);
                if (m->kind == K_STR_GCOL || m->kind == K_STR_LHEAP)
                    mutate_string(s, f, out, m, msg, msize, &used);
                else
                    mutate_inside(s, out, m->off, m->len, n, msg, msize, &used);
            }
        }
        break;
    }
    case 5:
        append(msg, msize, &used, " %s at %zu+%zu:", region_name(r, name, sizeof name), r->off,
               r->len);
        mutate_string(s, f, out, r, msg, msize, &used);
        break;
    }
}

/* ---- files ----------------------------------------------------------------------------------- */

static int read_file(const char *path, h5file *f)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "fuzz_mutate: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *d = malloc(cap);
    while (d) {
        n += fread(d + n, 1, cap - n, fp);
        if (n < cap)
            break;
        uint8_t *p = realloc(d, cap * 2);
        if (!p) {
            free(d);
            d = NULL;
            break;
        }
        d = p;
        cap *= 2;
    }
    bool bad = !d || ferror(fp);
    fclose(fp);
    if (bad) {
        free(d);
        fprintf(stderr, "fuzz_mutate: cannot read %s\n", path);
        return -1;
    }
    f->d = d;
    f->n = n;
    return 0;
}

static int write_file(const char *path, const uint8_t *d, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(d, 1, n, fp) != n || fclose(fp) != 0) {
        fprintf(stderr, "fuzz_mutate: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: fuzz_mutate [--seed S] --index I [--strategy NAME] IN OUT\n"
                    "       fuzz_mutate [--seed S] [--strategy NAME] --select N IN\n"
                    "       fuzz_mutate --regions IN\n"
                    "strategies: bitflip overwrite truncate duplicate metadata strings "
                    "userblock\n");
    return 2;
}

static bool parse_u32(const char *s, uint32_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || end == s || *end || x > UINT32_MAX || s[0] == '-')
        return false;
    *v = (uint32_t)x;
    return true;
}

int main(int argc, char **argv)
{
    uint32_t seed = 1, index = 0, select = 0;
    bool have_index = false, regions = false, selecting = false;
    int strategy = -1;
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            if (!parse_u32(argv[++i], &seed))
                return usage();
        } else if (!strcmp(argv[i], "--index") && i + 1 < argc) {
            if (!parse_u32(argv[++i], &index))
                return usage();
            have_index = true;
        } else if (!strcmp(argv[i], "--strategy") && i + 1 < argc) {
            i++;
            for (int k = 0; k < N_STRATEGIES; k++)
                if (!strcmp(argv[i], STRATEGIES[k]))
                    strategy = k;
            if (strategy < 0)
                return usage();
        } else if (!strcmp(argv[i], "--select") && i + 1 < argc) {
            if (!parse_u32(argv[++i], &select))
                return usage();
            selecting = true;
        } else if (!strcmp(argv[i], "--regions")) {
            regions = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return usage();
        } else if (!in) {
            in = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            return usage();
        }
    }
    if (!in || (regions || selecting ? out != NULL || have_index || (regions && selecting)
                                     : (!out || !have_index)))
        return usage();

    h5file f = {0};
    if (read_file(in, &f) < 0)
        return 1;
    if (parse(&f) < 0) {
        fprintf(stderr, "fuzz_mutate: out of memory\n");
        return 1;
    }
    int rc = 0;
    char name[64];
    if (regions) {
        printf("superblock at %zu, base %zu, offsets %d, lengths %d bytes\n", f.sb, f.base, f.so,
               f.sl);
        for (int i = 0; i < f.nr; i++)
            printf("%10zu %8zu %s\n", f.r[i].off, f.r[i].len,
                   region_name(&f.r[i], name, sizeof name));
    } else if (selecting) {
        uint8_t *m = malloc(f.n ? f.n : 1);
        uint32_t found = 0, same = 0;
        char msg[1024];
        size_t mn = 0;
        if (!m) {
            fprintf(stderr, "fuzz_mutate: out of memory\n");
            rc = 1;
        }
        for (uint32_t i = 0; m && found < select && i < UINT32_MAX; i++) {
            int st = strategy >= 0 ? strategy : (int)(i % N_STRATEGIES);
            rng_stream s;
            rng_stream_init(&s, seed, RNG_TEST, i, (uint32_t)st, MUTATE_TAG);
            mutate(&f, st, &s, m, &mn, msg, sizeof msg);
            if (mn == f.n && memcmp(m, f.d, f.n) == 0) {
                same++;
            } else {
                printf("%u\n", i);
                found++;
            }
        }
        if (m)
            printf("identical %u\n", same);
        free(m);
    } else {
        if (strategy < 0)
            strategy = (int)(index % N_STRATEGIES);
        rng_stream s;
        rng_stream_init(&s, seed, RNG_TEST, index, (uint32_t)strategy, MUTATE_TAG);
        uint8_t *m = malloc(f.n ? f.n : 1);
        char msg[1024];
        size_t mn = 0;
        if (!m) {
            fprintf(stderr, "fuzz_mutate: out of memory\n");
            rc = 1;
        } else {
            mutate(&f, strategy, &s, m, &mn, msg, sizeof msg);
            printf("%s\n", msg);
            if (mn == f.n && memcmp(m, f.d, f.n) == 0)
                rc = 3;
            else if (write_file(out, m, mn) < 0)
                rc = 1;
        }
        free(m);
    }
    free(f.r);
    free(f.d);
    return rc;
}
