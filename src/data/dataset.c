/* dataset.c - tokenized parallel corpora in HDF5 files (API in include/s2s/dataset.h, layout in
 * docs/formats.md, "Dataset files"): the names and the vocabulary check that the writer
 * (dataset_write.c) and the reader (dataset_read.c) share.
 *
 * Each split holds, per side, all its sentences' token ids concatenated (`<side>_tokens`) and
 * n + 1 offsets into them (`<side>_offsets`).
 *
 * Every function that opens HDF5 objects keeps their ids in locals or fields initialized to -1
 * and closes whatever is open on its single exit path. Files are opened with the "strong" close
 * degree, so closing a file also closes anything still open in it. */
#include "s2s/dataset.h"

#include <stdio.h>
#include <string.h>

#include "s2s/choice.h"
#include "s2s/status.h"
#include "s2s/tokens.h"
#include "s2s/vocab.h"

#include "dataset_internal.h"

const char *const ds_sides[2] = {"src", "tgt"};
const char *const ds_side_words[2] = {"source", "target"};

const char *split_name(split_id s)
{
    return choice_name(split_names, (int)s);
}

int ds_side_index(const char *side)
{
    for (int s = 0; s < 2; s++)
        if (side && !strcmp(side, ds_sides[s]))
            return s;
    return -1;
}

void ds_object_name(char *buf, size_t n, int split, int side, const char *what)
{
    snprintf(buf, n, "/%s/%s_%s", split_names[split], ds_sides[side], what);
}

int ds_vocab_check(const char *path, int side, const char *const *tokens, size_t n, int code,
                   vocab *v)
{
    char obj[32], where[4200];
    snprintf(obj, sizeof obj, "/vocab/%s", ds_sides[side]);
    for (size_t i = 0; i < n; i++) {
        const char *t = tokens[i] ? tokens[i] : "";
        if (i < TOK_FIRST_WORD && strcmp(t, vocab_reserved[i]))
            return s2s_fail(code, "%s: %s: token %zu is \"%s\", expected \"%s\"", path, obj, i,
                            t, vocab_reserved[i]);
        snprintf(where, sizeof where, "%s: %s: entry %zu of the %s vocabulary", path, obj, i,
                 ds_side_words[side]);
        int rc = vocab_append(v, t, where);
        if (rc == S2S_EFORMAT && code != rc) {
            char msg[sizeof where + 256];
            snprintf(msg, sizeof msg, "%s", s2s_errmsg(rc));
            return s2s_fail(code, "%s", msg);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}
