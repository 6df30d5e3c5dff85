/* formats.h - the names and versions of the files s2s writes: the root attributes `format` and
 * `version` that every reader checks before anything else (docs/formats.md). One list below
 * every module that reads or writes a file, so that a reader accepting another format (a
 * parameter-file reader given a checkpoint, `s2s info` given anything) names it without
 * depending on that format's module. */
#ifndef S2S_FORMATS_H
#define S2S_FORMATS_H

#include "s2s/choice.h"

#define PARAMFILE_FORMAT "s2s-params"
#define PARAMFILE_VERSION 1

#define CKPT_FORMAT "s2s-checkpoint"
#define CKPT_VERSION 1

#define DATASET_FORMAT "s2s-dataset"
#define DATASET_SCHEMA_VERSION 1

#define ATTN_FORMAT "s2s-attention"
#define ATTN_VERSION 1

/* The splits of a corpus: a dataset's groups /train, /valid and /test, the generators' file
 * names and every option that names a split (include/s2s/choice.h). */
#define SPLIT_CHOICES(X) X(SPLIT_TRAIN, "train") X(SPLIT_VALID, "valid") X(SPLIT_TEST, "test")
typedef enum { SPLIT_CHOICES(CHOICE_ENUM) SPLIT_COUNT } split_id;
extern const char *const split_names[]; /* NULL-terminated, indexed by split_id */

#endif
