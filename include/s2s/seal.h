/* seal.h - the integrity record ("seal") every file s2s writes carries, checked before the HDF5
 * library parses a byte of the file.
 *
 * s2s creates its HDF5 files with a user block of SEAL_BLOCK bytes, which HDF5 skips (h5py,
 * h5dump and every other reader find the superblock after it), and once the file is complete
 * writes into that block a short text record: the kind of file, its size, and hash64 of all its
 * bytes after the block. The hash therefore covers everything that changes behaviour:
 * configuration, vocabularies, tokenizer settings, parameters, optimizer and iterator state,
 * metadata and string storage alike. A reader verifies size and hash with plain reads first, so
 * a damaged file is refused in one line instead of reaching the library's parsers (which crash
 * or loop on some damage). hash64 detects damage (disks, copies, network file systems); it is
 * not a signature and does not stop someone who rewrites the record on purpose.
 *
 * The record, NUL-padded to SEAL_BLOCK bytes:
 *     s2s integrity record 1
 *     kind s2s-checkpoint
 *     size 1234567
 *     hash 0123456789abcdef
 *     check fedcba9876543210
 * where hash is hash64 over the bytes [SEAL_BLOCK, size) fed in pieces of SEAL_PIECE bytes, and
 * check is hash64 of the record's text before the check line. */
#ifndef S2S_SEAL_H
#define S2S_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEAL_BLOCK 512
#define SEAL_PIECE ((size_t)1 << 20)
#define SEAL_VERSION 1

typedef enum {
    SEAL_NONE = 0,   /* no record: a file from another tool, or one whose record was destroyed */
    SEAL_VALID = 1,  /* the record is intact and the file matches it */
} seal_state;

typedef struct {
    seal_state state;
    char kind[64];       /* SEAL_VALID: the kind the record names ("s2s-dataset") */
    long long size;      /* the file's size */
    uint64_t hash;       /* SEAL_VALID: the verified content hash */
} seal_info;

/* Writes the record for kind into image[0, SEAL_BLOCK) of a complete file image of size bytes
 * (created with a SEAL_BLOCK user block). S2S_EINVAL if the image is too small or kind too long. */
int seal_image(unsigned char *image, size_t size, const char *kind);

/* The same for a complete file open for reading and writing as fd (path names it in
 * messages): reads it once to hash it and writes the record at offset 0 (not synced). */
int seal_fd(int fd, const char *path, const char *kind);

/* Checks the file at path before anything else reads it. 0 with info->state SEAL_VALID (kind,
 * size and hash filled) or SEAL_NONE (no record: the file starts with the HDF5 signature, or
 * with a user block that holds no s2s record). S2S_EFORMAT, with the reason, for a file that
 * has a record it does not match (truncated, extended, changed) or a damaged record; S2S_EIO if
 * it cannot be read; S2S_ESTOPPED if a stop signal (stop.h) arrives while it is hashed. `what`
 * names the file's role in messages ("checkpoint"). */
int seal_check(const char *path, const char *what, seal_info *info);

#endif
