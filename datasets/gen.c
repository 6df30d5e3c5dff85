/* gen.c - `s2s gen`'s library side (gen.h): one example of any task as text, and the six files
 * of a generated corpus written in one pass. */
#include "s2s/gen.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "s2s/fsutil.h"
#include "s2s/choice.h"
#include "s2s/status.h"

const char *const gen_task_names[] = {GEN_CHOICES(CHOICE_NAME) NULL};

int gen_parse_task(const char *name, gen_kind *out)
{
    int k = choice_parse("task", gen_task_names, name);
    if (k >= 0)
        *out = (gen_kind)k;
    return k < 0 ? k : 0;
}

int gen_check(const gen_task *t)
{
    if ((unsigned)t->kind >= GEN_N_KINDS)
        return s2s_fail(S2S_EINVAL, "gen: no task number %d", (int)t->kind);
    return t->kind <= GEN_SORT ? sequence_check(t) : 0;
}

int gen_example(const gen_task *t, int split, uint64_t index, char *src, size_t src_size, char *tgt,
                size_t tgt_size)
{
    static int (*const text[])(const gen_task *, int, uint32_t, text_line *, text_line *) = {
        sequence_text, sequence_text, sequence_text, numbers_text, grammar_text};
    _Static_assert(sizeof text / sizeof text[0] == GEN_N_KINDS, "a text function per task");
    int rc = gen_check(t);
    if (rc < 0)
        return rc;
    if (split < SPLIT_TRAIN || split > SPLIT_TEST)
        return s2s_fail(S2S_EINVAL, "gen: no split number %d", split);
    if (index > UINT32_MAX)
        return s2s_fail(S2S_ERANGE, "gen: example index %llu is beyond 2^32",
                        (unsigned long long)index);
    text_line a, b;
    line_init(&a, src, src_size);
    line_init(&b, tgt, tgt_size);
    /* The task writes its natural direction; --reverse hands it the buffers the other way round,
     * so the content that decides the split is the same in both directions. */
    if ((rc = text[t->kind](t, split, (uint32_t)index, t->reverse ? &b : &a,
                            t->reverse ? &a : &b)) < 0)
        return rc;
    if (a.full || b.full)
        return s2s_fail(S2S_ERANGE, "%s: example %llu of the %s split does not fit in %zu bytes",
                        gen_task_names[t->kind], (unsigned long long)index, split_names[split],
                        a.full ? src_size : tgt_size);
    return 0;
}

/* The longest line any task writes: SEQ_MAX_LEN symbols of up to 4 characters and a space. */
enum { LINE_BYTES = 5 * SEQ_MAX_LEN + 64, FILES = 6 };

typedef struct {
    char path[PATH_MAX], tmp[PATH_MAX + 64];
    FILE *f;
} out_file;

/* Closes f after pushing its data to disk, so that the rename publishes a complete file. */
static int finish_file(out_file *o)
{
    errno = 0;
    int bad = fflush(o->f) != 0 || ferror(o->f) || fsync(fileno(o->f)) != 0;
    int err = errno;
    if (fclose(o->f) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    o->f = NULL;
    return bad ? s2s_fail(S2S_EIO, "%s: writing failed: %s", o->tmp,
                          err ? strerror(err) : "stream error")
               : 0;
}

int gen_write(const gen_task *t, const char *prefix, long n_train, long n_valid, long n_test)
{
    const long count[3] = {n_train, n_valid, n_test};
    out_file *out = calloc(FILES, sizeof *out);
    char *src = malloc(LINE_BYTES), *tgt = malloc(LINE_BYTES);
    int rc = 0, committed = 0;
    if (!out || !src || !tgt) {
        rc = s2s_fail(S2S_ENOMEM, "gen: buffers for %s", prefix);
        goto fail;
    }
    if ((rc = gen_check(t)) < 0)
        goto fail;
    for (int s = 0; s < 3; s++)
        if (count[s] < 0 || (unsigned long)count[s] > UINT32_MAX) {
            rc = s2s_fail(S2S_ERANGE, "gen: %s lines must be in 0..2^32-1, got %ld",
                          split_names[s], count[s]);
            goto fail;
        }
    for (int i = 0; i < FILES; i++) {
        out_file *o = &out[i];
        if (snprintf(o->path, sizeof o->path, "%s.%s.%s", prefix, split_names[i / 2],
                     i % 2 ? "tgt" : "src") >= (int)sizeof o->path) {
            rc = s2s_fail(S2S_EINVAL, "gen: output prefix too long: %s", prefix);
            goto fail;
        }
        int fd = fs_create_temp(o->path, o->tmp, sizeof o->tmp);
        if (fd < 0)
            o->tmp[0] = '\0'; /* not ours to remove */
        if (fd < 0 || !(o->f = fdopen(fd, "w"))) {
            rc = s2s_fail(S2S_EIO, "%s: cannot create a file beside it: %s", o->path,
                          strerror(errno));
            if (fd >= 0)
                close(fd);
            goto fail;
        }
        setvbuf(o->f, NULL, _IOFBF, 1 << 20); /* large writes: the corpus streams to disk */
    }
    for (int s = 0; s < 3; s++) {
        FILE *fs = out[2 * s].f, *ft = out[2 * s + 1].f;
        for (long i = 0; i < count[s]; i++) {
            if ((rc = gen_example(t, s, (uint64_t)i, src, LINE_BYTES, tgt, LINE_BYTES)) < 0)
                goto fail;
            fputs(src, fs);
            putc('\n', fs);
            fputs(tgt, ft);
            putc('\n', ft);
        }
    }
    for (int i = 0; i < FILES; i++)
        if ((rc = finish_file(&out[i])) < 0)
            goto fail;
    /* All six are complete before any is renamed: a failure while generating or writing
     * leaves an earlier corpus of the same prefix as it was. */
    for (; committed < FILES; committed++)
        if ((rc = fs_commit(out[committed].tmp, out[committed].path)) < 0) {
            committed++; /* fs_commit removed its temporary file */
            goto fail;
        }
fail:
    for (int i = 0; out && i < FILES; i++) {
        if (out[i].f)
            fclose(out[i].f);
        if (i >= committed && out[i].tmp[0])
            unlink(out[i].tmp);
    }
    free(out);
    free(src);
    free(tgt);
    return rc;
}
