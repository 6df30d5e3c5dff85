/* prep.h - `s2s prep`: parallel text to an HDF5 dataset (include/s2s/dataset.h).
 *
 * Two passes over the input, streaming: the first counts lines and the training split's token
 * frequencies (memory grows with the vocabulary, not the corpus), the second tokenizes, filters,
 * maps tokens to ids and appends them to the dataset. Validation/test splits come from their own
 * files or are carved out of the training data: `valid_size` lines chosen from (seed, line
 * index) alone, so the same input and seed always give the same split.
 *
 * With the sentencepiece tokenizer, prep first trains its SentencePiece models on the training
 * split (the carved-out lines excluded, lowercased with --lowercase, every non-empty line
 * before any filter: the filters count pieces) or reads them from files, then tokenizes every
 * split with them; the models go into the dataset (/spm) and beside it as files, for another
 * prep to reuse (--spm-model). */
#ifndef S2S_PREP_H
#define S2S_PREP_H

#include <stdbool.h>
#include <stdio.h>

#include "s2s/choice.h"
#include "s2s/options.h"
#include "s2s/spm.h"
#include "s2s/vocab.h"

/* What prep does with a training pair longer than --max-len (include/s2s/choice.h). */
#define LONG_CHOICES(X) X(LONG_DROP, "drop") X(LONG_TRUNCATE, "truncate")
typedef enum { LONG_CHOICES(CHOICE_ENUM) LONG_COUNT } long_policy;
extern const char *const long_policy_names[]; /* NULL-terminated, indexed by long_policy */

/* SentencePiece models trained by prep (include/s2s/choice.h): one joint model on both sides'
 * training text, or one per side. */
#define SPM_TRAIN_CHOICES(X) X(SPM_TRAIN_JOINT, "joint") X(SPM_TRAIN_SEPARATE, "separate")
typedef enum { SPM_TRAIN_CHOICES(CHOICE_ENUM) SPM_TRAIN_COUNT } spm_train_mode;
extern const char *const spm_train_names[]; /* NULL-terminated, indexed by spm_train_mode */

/* How a carve-out chooses held-out pairs (include/s2s/choice.h): single lines, or every pair of
 * a source sentence together, so that no held-out source also occurs in training (corpora like
 * Tatoeba give one sentence several translations). */
#define CARVE_CHOICES(X) X(CARVE_LINE, "line") X(CARVE_SOURCE, "source")
typedef enum { CARVE_CHOICES(CHOICE_ENUM) CARVE_COUNT } carve_kind;
extern const char *const carve_kind_names[]; /* NULL-terminated, indexed by carve_kind */

/* Each split's input is two parallel files (src, tgt) or one tab-separated file (tsv). */
typedef struct {
    char src[OPT_STRING_MAX], tgt[OPT_STRING_MAX], tsv[OPT_STRING_MAX];
} prep_input;

typedef struct {
    prep_input in[3];          /* indexed by split_id; valid and test are optional */
    char out[OPT_STRING_MAX];  /* the HDF5 dataset; vocabularies also go to <stem>.{src,tgt}.vocab */
    char src_vocab[OPT_STRING_MAX], tgt_vocab[OPT_STRING_MAX]; /* reuse these vocabularies */
    long valid_size, test_size; /* lines carved from the training data when no files are given */
    int carve_by;              /* carve_kind */
    long train_size;           /* training pairs kept, chosen by seed after the carve-out; 0: all */
    int tokenizer;             /* tokenizer_kind */
    bool lowercase;            /* ASCII letters only (see docs/formats.md) */
    bool shared_vocab;
    int min_freq, max_vocab;   /* max_vocab counts the 4 reserved tokens; 0: no limit */
    int max_len;               /* tokens per side, training split only; 0: no limit */
    int long_policy;           /* long_policy */
    double max_ratio;          /* drop training pairs whose length ratio exceeds this; 0: off */
    unsigned seed;             /* of the carve-out and SentencePiece's random generator */
    /* --tokenizer sentencepiece: trained models ... */
    int spm_train;             /* spm_train_mode */
    int spm_type;              /* spm_type */
    int spm_vocab_size;        /* pieces per model, at most */
    double spm_coverage;       /* character coverage */
    long spm_sentences;        /* sentences per model at most (a sample; 0: all) */
    int spm_threads;           /* threads of the training (same threads, same model) */
    /* ... or models from files: one joint model, or one per side */
    char spm_model[OPT_STRING_MAX], spm_src_model[OPT_STRING_MAX], spm_tgt_model[OPT_STRING_MAX];
    const char *config_text;   /* not an option: the resolved options as `name = value` lines,
                                * stored in the file (NULL: none) */
} prep_options;

/* What happened to the pairs of one split. Filters apply to the training split only: held-out
 * pairs are kept as they are (but for empty ones, which no split can hold), so that scores on
 * them compare with other systems. */
typedef struct {
    long read;      /* pairs assigned to the split */
    long kept;      /* written */
    long empty;     /* dropped: a side with no tokens */
    long too_long;  /* dropped: a side longer than max_len (policy drop) */
    long truncated; /* kept, cut to max_len (policy truncate) */
    long ratio;     /* dropped: length ratio above max_ratio */
    long tokens[2]; /* source, target tokens written */
    long unk[2];    /* of which <unk> */
} prep_split_report;

typedef struct {
    prep_split_report split[3];
    long unused;    /* training input pairs left out by --train-size */
    long shared_src; /* held-out pairs carved by line whose source also occurs in training */
    int vocab[2];   /* source, target vocabulary sizes (with the reserved tokens) */
} prep_report;

/* Runs the whole preparation; a human-readable report goes to `log` (NULL: none) and the
 * figures to *rep (NULL: not returned). On failure nothing is left at o->out or beside it. */
int prep_run(const prep_options *o, FILE *log, prep_report *rep);

/* `s2s prep`: argv without the program and command names (src/prep/prep_cli.c holds the option
 * table). */
int prep_command(int argc, char **argv);

#endif
