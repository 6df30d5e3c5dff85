/* test_seal.c - the integrity record in an s2s file's user block (src/core/seal.c): a sealed
 * image and a sealed file verify; every kind of damage is refused with its reason (a changed
 * byte anywhere after the record, truncation, extension, a damaged record line, a destroyed
 * check); a file that starts with the HDF5 signature or with another tool's user block has no
 * record; the hash is that of the documented definition. */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s2s/hash.h"
#include "s2s/seal.h"
#include "s2s/status.h"
#include "scratch.h"

static char dir[256];

static void setup(void)
{
    cr_assert_eq(scratch_make(dir, sizeof dir, "seal"), 0, "mkdtemp of a scratch directory");
}

static void teardown(void)
{
    scratch_remove(dir);
}

TestSuite(seal, .init = setup, .fini = teardown);

static const unsigned char SIG[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

/* An image of n bytes: a zero user block, then the HDF5 signature and a byte pattern. */
static unsigned char *make_image(size_t n)
{
    unsigned char *img = calloc(1, n);
    cr_assert(img);
    memcpy(img + SEAL_BLOCK, SIG, sizeof SIG);
    for (size_t i = SEAL_BLOCK + sizeof SIG; i < n; i++)
        img[i] = (unsigned char)(i * 131 + 7);
    return img;
}

static void put(const char *path, const unsigned char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f);
    cr_assert_eq(fwrite(data, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

/* A sealed file of n bytes at dir/name, its path into path. */
static unsigned char *sealed_file(char *path, size_t len, const char *name, size_t n)
{
    unsigned char *img = make_image(n);
    cr_assert_eq(seal_image(img, n, "s2s-checkpoint"), 0, "%s", s2s_errmsg(S2S_EINVAL));
    scratch_path(path, len, dir, name);
    put(path, img, n);
    return img;
}

Test(seal, sealed_image_verifies_and_names_its_kind)
{
    char path[512];
    /* More than one hash piece, and a last piece shorter than SEAL_PIECE. */
    size_t n = SEAL_BLOCK + SEAL_PIECE + 12345;
    unsigned char *img = sealed_file(path, sizeof path, "a.h5", n);
    seal_info info;
    cr_assert_eq(seal_check(path, "checkpoint", &info), 0, "%s", s2s_errmsg(S2S_EFORMAT));
    cr_assert_eq(info.state, SEAL_VALID);
    cr_assert_str_eq(info.kind, "s2s-checkpoint");
    cr_assert_eq(info.size, (long long)n);
    /* The definition: hash64 over [SEAL_BLOCK, size) in SEAL_PIECE pieces. */
    uint64_t h = hash64(HASH64_INIT, img + SEAL_BLOCK, SEAL_PIECE);
    h = hash64(h, img + SEAL_BLOCK + SEAL_PIECE, n - SEAL_BLOCK - SEAL_PIECE);
    cr_assert_eq(info.hash, h);
    cr_assert(strstr((char *)img, "s2s integrity record 1\nkind s2s-checkpoint\n") == (char *)img,
              "the record is readable text: %.80s", (char *)img);
    free(img);
}

Test(seal, sealed_descriptor_equals_sealed_image)
{
    char a[512], b[512];
    size_t n = SEAL_BLOCK + 3000;
    unsigned char *img = sealed_file(a, sizeof a, "a.h5", n);
    unsigned char *raw = make_image(n);
    scratch_path(b, sizeof b, dir, "b.h5");
    put(b, raw, n);
    int fd = open(b, O_RDWR);
    cr_assert(fd >= 0);
    cr_assert_eq(seal_fd(fd, b, "s2s-checkpoint"), 0, "%s", s2s_errmsg(S2S_EIO));
    close(fd);
    size_t got = 0;
    char *back = scratch_read(b, &got);
    cr_assert_eq(got, n);
    cr_assert_eq(memcmp(back, img, n), 0, "seal_fd and seal_image write the same record");
    free(back);
    free(raw);
    free(img);
}

/* seal_check of path fails with S2S_EFORMAT and a message holding `part`. */
static void refused(const char *path, const char *part)
{
    seal_info info;
    s2s_clear_error();
    int rc = seal_check(path, "checkpoint", &info);
    cr_assert_eq(rc, S2S_EFORMAT, "expected a refusal (%s), got %d", part, rc);
    cr_assert_eq(info.state, SEAL_NONE);
    const char *msg = s2s_errmsg(rc);
    cr_assert(strstr(msg, path) && strstr(msg, part), "message '%s' lacks '%s'", msg, part);
}

Test(seal, one_changed_byte_anywhere_after_the_record_is_refused)
{
    char path[512];
    size_t n = SEAL_BLOCK + 5000;
    unsigned char *img = sealed_file(path, sizeof path, "a.h5", n);
    /* The first and last byte covered, and others between, each flipped in one bit. */
    size_t at[] = {SEAL_BLOCK, SEAL_BLOCK + 1, SEAL_BLOCK + 2500, n - 1};
    for (size_t k = 0; k < sizeof at / sizeof at[0]; k++) {
        for (int bit = 0; bit < 8; bit += 7) {
            img[at[k]] ^= (unsigned char)(1u << bit);
            put(path, img, n);
            refused(path, "contents changed after s2s wrote it");
            img[at[k]] ^= (unsigned char)(1u << bit);
        }
    }
    put(path, img, n);
    seal_info info;
    cr_assert_eq(seal_check(path, "checkpoint", &info), 0);
    free(img);
}

Test(seal, truncated_and_extended_files_are_refused)
{
    char path[512];
    size_t n = SEAL_BLOCK + 5000;
    unsigned char *img = sealed_file(path, sizeof path, "a.h5", n);
    put(path, img, n - 1);
    refused(path, "truncated");
    put(path, img, SEAL_BLOCK + 8);
    refused(path, "truncated");
    unsigned char *longer = calloc(1, n + 10);
    memcpy(longer, img, n);
    put(path, longer, n + 10);
    refused(path, "extended");
    free(longer);
    free(img);
}

Test(seal, damaged_record_is_refused_not_taken_for_a_foreign_file)
{
    char path[512];
    size_t n = SEAL_BLOCK + 2000;
    unsigned char *img = sealed_file(path, sizeof path, "a.h5", n);
    /* Every byte of the record's text, each changed in turn, is noticed. */
    size_t text = strlen((char *)img);
    for (size_t i = 0; i < text; i++) {
        unsigned char keep = img[i];
        img[i] = keep == 'x' ? 'y' : 'x';
        put(path, img, n);
        seal_info info;
        s2s_clear_error();
        int rc = seal_check(path, "checkpoint", &info);
        cr_assert_eq(rc, S2S_EFORMAT, "byte %zu of the record changed: status %d", i, rc);
        img[i] = keep;
    }
    /* Garbage after the record's text, inside the block. */
    img[SEAL_BLOCK - 1] = 1;
    put(path, img, n);
    refused(path, "not zero");
    free(img);
}

Test(seal, files_without_a_record)
{
    char path[512];
    size_t n = 4096;
    unsigned char *img = make_image(n);
    seal_info info;
    /* HDF5 without a user block: the signature at 0. */
    scratch_path(path, sizeof path, dir, "plain.h5");
    put(path, img + SEAL_BLOCK, n - SEAL_BLOCK);
    cr_assert_eq(seal_check(path, "dataset", &info), 0);
    cr_assert_eq(info.state, SEAL_NONE);
    /* Another tool's user block (zeros or its own text). */
    put(path, img, n);
    cr_assert_eq(seal_check(path, "dataset", &info), 0);
    cr_assert_eq(info.state, SEAL_NONE);
    memcpy(img, "created by some other program\n", 30);
    put(path, img, n);
    cr_assert_eq(seal_check(path, "dataset", &info), 0);
    cr_assert_eq(info.state, SEAL_NONE);
    /* Short files: the HDF5 checks after this one say what they are. */
    put(path, img, 100);
    cr_assert_eq(seal_check(path, "dataset", &info), 0);
    cr_assert_eq(info.state, SEAL_NONE);
    free(img);
}

Test(seal, missing_file_and_bad_arguments)
{
    char path[512];
    seal_info info;
    scratch_path(path, sizeof path, dir, "missing.h5");
    cr_assert_eq(seal_check(path, "dataset", &info), S2S_EIO);
    cr_assert(strstr(s2s_errmsg(S2S_EIO), "missing.h5"));
    unsigned char small[100] = {0};
    cr_assert_eq(seal_image(small, sizeof small, "s2s-dataset"), S2S_EINVAL);
    unsigned char *img = make_image(2048);
    cr_assert_eq(seal_image(img, 2048, "Bad Kind"), S2S_EINVAL);
    cr_assert_eq(seal_image(img, 2048, ""), S2S_EINVAL);
    free(img);
}
