/* train_setup.c - the trainer's start-up on every rank, in phases: the options and the test
 * hook checked, the threads set; the dataset opened; the sentence lengths read into the
 * loaders; the model, optimizer, gradient buckets and decoding buffers built; rank 0's run
 * directory prepared. Each phase ends with trainer_startup_check, so that a signal during
 * start-up ends every rank at the end of the phase it came in; and trainer_free.
 *
 * Separate from the loop (train.c) because it is the one place that allocates: everything the
 * steps, validations and checkpoints use is sized here, from the options and the dataset. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "s2s/blas.h"
#include "s2s/decode.h"
#include "s2s/status.h"
#include "train/trainer.h"

static int check_options(const train_options *o, int ranks)
{
    if (!o->data[0])
        return s2s_fail(S2S_EUSAGE, "train: --data DATA.h5 is required (make one with s2s prep)");
    if (o->batch < 1 || o->accum < 1 || o->steps < 0 || !(o->lr > 0) || o->keep < 1 ||
        !(o->bucket_mb > 0) || o->bucket_window < 1)
        return s2s_fail(S2S_EINVAL,
                        "train: need --batch >= 1, --accum >= 1, --steps >= 0, --lr > 0, "
                        "--keep >= 1, --bucket-mb > 0, --bucket-window >= 1");
    if (o->min_sents < ranks)
        return s2s_fail(S2S_EINVAL,
                        "train: %d ranks but --min-sents %d: every global batch must hold at "
                        "least one sentence per rank; raise --min-sents to %d or more (it is "
                        "part of the batch plan, so keep it fixed across resumes)",
                        ranks, o->min_sents, ranks);
    if (o->min_sents > o->batch)
        return s2s_fail(S2S_EINVAL, "train: --min-sents %d exceeds --batch %d", o->min_sents,
                        o->batch);
    if (!strcmp(o->resume, "auto") && !o->run_dir[0])
        return s2s_fail(S2S_EUSAGE, "train: --resume auto needs --run-dir");
    if (o->init_from[0] && o->resume[0] && strcmp(o->resume, "auto") != 0)
        return s2s_fail(S2S_EUSAGE, "train: --init-from starts a new run and --resume %s "
                        "continues one: give one of them (with --resume auto, --init-from "
                        "applies until the run directory has a checkpoint)", o->resume);
    if ((o->reset_optimizer || o->reset_schedule) && !o->init_from[0])
        return s2s_fail(S2S_EUSAGE, "train: --%s applies to --init-from's file; a resumed run "
                        "keeps its own state", o->reset_optimizer ? "reset-optimizer"
                                                                   : "reset-schedule");
    if (!(o->ema < 1))
        return s2s_fail(S2S_EUSAGE, "train: --ema %g: the decay must be below 1 (0: no moving "
                        "average)", o->ema);
    if (o->best_metric != METRIC_LOSS && !o->valid_decode)
        return s2s_fail(S2S_EUSAGE, "train: --best-metric %s needs --valid-decode",
                        valid_metric_names[o->best_metric]);
    return 0;
}

/* One thread per rank unless asked; more threads than the node's cores only when allowed. */
static int check_threads(trainer *t)
{
    const train_options *o = t->o;
    MPI_Comm node;
    int local = 1;
    if (t->size > 1) {
        if (MPI_Comm_split_type(t->comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) !=
            MPI_SUCCESS)
            return s2s_fail(S2S_EMPI, "train: cannot group the ranks by node");
        MPI_Comm_size(node, &local);
        MPI_Comm_free(&node);
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (o->threads > 1 && cores > 0 && (long)local * o->threads > cores && !o->oversubscribe)
        return s2s_fail(S2S_EINVAL,
                        "train: %d ranks on this node x %d threads = %d exceed its %ld cores; "
                        "use fewer --threads, or --oversubscribe to run anyway",
                        local, o->threads, local * o->threads, cores);
    blas_set_threads(o->threads);
    return 0;
}

/* The dataset's token texts of one side, by id (pointers into the dataset). */
static int load_vocab(trainer *t, const char *side, const char ***out, int *n_out)
{
    int n = ds_vocab_size(t->ds, side);
    const char **v = malloc((size_t)n * sizeof *v);
    if (!v)
        return s2s_fail(S2S_ENOMEM, "train: %s vocabulary of %d tokens", side, n);
    for (int i = 0; i < n; i++)
        v[i] = ds_token(t->ds, side, i);
    *out = v;
    *n_out = n;
    return 0;
}

/* Phases "opening the dataset" and "reading the sentence lengths": the dataset, its tokenizer
 * settings in the checkpoint config, and the loaders of the training and validation splits. */
static int open_data(trainer *t)
{
    const train_options *o = t->o;
    trainer_slow(t, SLOW_STARTUP, "start-up: opening the dataset");
    int rc = ds_open(&t->ds, o->data);
    if (rc == 0)
        rc = trainer_config_add_data(t, ds_attr(t->ds, "options"));
    if ((rc = trainer_phase_done(t, rc, "while opening the dataset")) < 0)
        return rc;
    trainer_slow(t, SLOW_STARTUP, "start-up: reading the sentence lengths");
    batcher_config bc = {.seed = o->seed, .batch_sents = o->batch,
                         .batch_tokens = o->batch_tokens, .min_sents = o->min_sents,
                         .window = o->bucket_window * o->batch};
    rc = loader_init(&t->train, t->ds, SPLIT_TRAIN, &bc, t->size);
    long n_valid = ds_count(t->ds, SPLIT_VALID);
    if (rc == 0 && n_valid > 0) {
        bc.window = 1; /* validation needs no bucketing: every sentence once */
        rc = loader_init(&t->valid, t->ds, SPLIT_VALID, &bc, t->size);
        t->has_valid = rc == 0;
    }
    return trainer_phase_done(t, rc, "while reading the sentence lengths");
}

/* The largest batch either loader gives: what the model and the batch are sized for. */
static void batch_capacity(const trainer *t, int *max_B, int *max_src, int *max_tgt)
{
    loader_batch_capacity(&t->train, max_B, max_src, max_tgt);
    if (!t->has_valid)
        return;
    int vb, vs, vt;
    loader_batch_capacity(&t->valid, &vb, &vs, &vt);
    *max_B = vb > *max_B ? vb : *max_B;
    *max_src = vs > *max_src ? vs : *max_src;
    *max_tgt = vt > *max_tgt ? vt : *max_tgt;
}

/* Validation's greedy decoding: its output buffers, the target texts and the scorer. */
static int init_decoding(trainer *t, int max_B)
{
    t->hyp = malloc((size_t)max_B * t->max_out * sizeof(int));
    t->hyp_len = malloc((size_t)max_B * sizeof(int));
    if (!t->hyp || !t->hyp_len)
        return s2s_fail(S2S_ENOMEM, "train: decoding buffers for %d sentences", max_B);
    int rc = load_vocab(t, "tgt", &t->tgt_vocab, &t->tgt_vocab_n);
    if (rc < 0)
        return rc;
    return trainer_valid_init(t);
}

/* Phase "building the model": model, batch, optimizer, gradient buckets, the schedule, the
 * decoding buffers, and the progress record of a fresh start. */
static int build_model(trainer *t)
{
    const train_options *o = t->o;
    int max_B, max_src, max_tgt, rc;
    trainer_slow(t, SLOW_STARTUP, "start-up: building the model");
    batch_capacity(t, &max_B, &max_src, &max_tgt);
    model_config cfg = o->model;
    cfg.src_vocab = ds_vocab_size(t->ds, "src");
    cfg.tgt_vocab = ds_vocab_size(t->ds, "tgt");
    optim_config oc = {.kind = o->optim, .momentum = o->momentum, .beta1 = o->beta1,
                       .beta2 = o->beta2, .eps = o->eps, .weight_decay = o->weight_decay};
    t->lrc = (lr_config){.kind = o->lr_schedule, .lr = o->lr, .warmup = o->warmup,
                         .steps = o->steps, .decay_every = o->decay_every,
                         .decay_factor = o->decay_factor, .patience = o->patience,
                         .min_lr = o->min_lr};
    /* Validation decodes up to the limit `s2s translate` and `s2s eval` use by default. */
    t->max_out = decode_max_len(max_src, DECODE_DEFAULT_RATIO);
    if ((rc = lr_config_check(&t->lrc)) < 0 ||
        (rc = model_init(&t->m, &cfg, max_B, max_src, max_tgt)) < 0 ||
        (rc = batch_init(&t->bt, max_B, max_src, max_tgt)) < 0 ||
        (rc = optimizer_init(&t->opt, &oc, t->m.n_params)) < 0 ||
        (rc = comm_grads_init(&t->cg, t->comm, t->m.grads, t->m.n_params,
                              (size_t)(o->bucket_mb * 1048576.0), o->grad_comm)) < 0 ||
        (rc = init_decoding(t, max_B)) < 0)
        return rc;
    if (o->ema > 0 && !(t->ema = param_buffer_alloc(&t->m.table)))
        return s2s_fail(S2S_ENOMEM, "train: cannot allocate the EMA weights (%zu values)",
                        t->m.n_params);
    if (t->cg.resid) { /* bf16 residuals move through rank 0 row by row, one MPI message each */
        if (t->m.n_params > INT_MAX)
            return s2s_fail(S2S_EINVAL, "train: --grad-comm bf16 with %zu parameters: more than "
                            "one MPI message of the checkpointed residual holds", t->m.n_params);
        if (t->rank == 0 && !(t->resid_row = malloc(t->m.n_params * sizeof *t->resid_row)))
            return s2s_fail(S2S_ENOMEM, "train: cannot allocate a residual row of %zu floats",
                            t->m.n_params);
    }
    lr_state_init(&t->lrs);
    t->pr = (train_progress){.world_size = t->size, .lr_scale = t->lrs.scale,
                             .lr_best = t->lrs.best, .best_valid = INFINITY};
    return trainer_phase_done(t, 0, "while building the model");
}

/* Phase "preparing the run directory", rank 0 with --run-dir: the directory, the source texts
 * for checkpoints, metrics.jsonl. */
static int prepare_run_dir(trainer *t)
{
    int rc = 0;
    if (t->rank == 0 && t->o->run_dir[0]) {
        trainer_slow(t, SLOW_STARTUP, "start-up: preparing the run directory");
        rc = trainer_make_run_dir(t->o->run_dir);
        if (rc == 0)
            rc = load_vocab(t, "src", &t->src_vocab, &t->src_vocab_n);
        if (rc == 0)
            rc = trainer_open_metrics(t);
    }
    return trainer_startup_check(t, rc, "while preparing the run directory");
}

int trainer_init(trainer *t, const train_options *o, MPI_Comm comm, FILE *log)
{
    int rc;
    memset(t, 0, sizeof *t);
    t->o = o;
    t->comm = comm;
    MPI_Comm_rank(comm, &t->rank);
    MPI_Comm_size(comm, &t->size);
    t->log = t->rank == 0 ? log : NULL;
    if (t->log)
        progress_init(&t->prog, t->log, progress_live(o->progress, t->log));
    if ((rc = check_options(o, t->size)) < 0 || (rc = trainer_parse_slow(t)) < 0 ||
        (rc = check_threads(t)) < 0 || (rc = trainer_config_parse(t, o->config_text)) < 0 ||
        (rc = open_data(t)) < 0 || (rc = build_model(t)) < 0)
        return rc;
    return prepare_run_dir(t);
}

void trainer_free(trainer *t)
{
    if (t->metrics)
        fclose(t->metrics);
    comm_grads_free(&t->cg);
    free(t->resid_row);
    optimizer_free(&t->opt);
    free(t->ema);
    model_free(&t->m);
    batch_free(&t->bt);
    loader_free(&t->train);
    loader_free(&t->valid);
    ds_close(t->ds);
    free(t->history);
    for (char **c = t->config; c && *c; c++)
        free(*c);
    free(t->config);
    trainer_valid_free(t);
    free(t->src_vocab);
    free(t->tgt_vocab);
    free(t->hyp);
    free(t->hyp_len);
    memset(t, 0, sizeof *t);
}
