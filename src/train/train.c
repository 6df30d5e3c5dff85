/* train.c - the data-parallel training loop of include/s2s/train.h: set-up, the step, sharded
 * validation, checkpoints and resume, stopping on signals, progress lines and metrics.
 *
 * Who does what: every rank reads its share of each batch, trains on it and takes part in every
 * collective; rank 0 alone prints, writes the run directory (checkpoints, metrics.jsonl) and
 * reads a checkpoint to resume, broadcasting what it read. Where only rank 0 can fail (a file it
 * alone touches), its status is broadcast, so every rank leaves together: rank 0 with the
 * message, the others with S2S_EPEER. */
#include "s2s/train.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "s2s/blas.h"
#include "s2s/blas_core.h"
#include "s2s/ckpt.h"
#include "s2s/comm.h"
#include "s2s/dataset.h"
#include "s2s/decode.h"
#include "s2s/hash.h"
#include "s2s/json.h"
#include "s2s/loader.h"
#include "s2s/model_options.h"
#include "s2s/progress.h"
#include "s2s/score.h"
#include "s2s/status.h"
#include "s2s/stop.h"
#include "s2s/timer.h"

const char *const tf_schedule_names[] = {TF_CHOICES(CHOICE_NAME) NULL};
const char *const ckpt_error_names[] = {CKPT_ERROR_CHOICES(CHOICE_NAME) NULL};
const char *const valid_metric_names[] = {METRIC_CHOICES(CHOICE_NAME) NULL};
const char *const progress_mode_names[] = {PROGRESS_CHOICES(CHOICE_NAME) NULL};

double tf_ratio_at(tf_schedule schedule, double r, double r_min, double k, long step, long steps)
{
    switch (schedule) {
    case TF_LINEAR: return steps > 0 ? r + (r_min - r) * (double)step / (double)steps : r;
    case TF_INVERSE_SIGMOID: return k / (k + exp((double)step / k));
    default: return r;
    }
}

/* ---- the trainer ------------------------------------------------------------------------ */

enum { PH_DATA, PH_FORWARD, PH_BACKWARD, PH_ALLREDUCE, PH_OPTIM, PH_VALID, PH_CKPT, N_PHASES };
static const char *const PHASE_NAMES[N_PHASES] = {
    "data", "forward", "backward", "allreduce_wait", "optimizer", "validation", "checkpoint"};

#define HISTORY_COLUMNS                                                                            \
    "step,train_loss,valid_loss,valid_ppl,valid_token_acc,lr,valid_bleu,valid_exact"
enum { HISTORY_COLS = 8 };


typedef struct {
    const train_options *o;
    MPI_Comm comm;
    int rank, size;
    FILE *log;          /* rank 0 only; NULL elsewhere or when silent */
    FILE *metrics;      /* rank 0: run_dir/metrics.jsonl */
    progress prog;

    dataset *ds;
    loader train, valid;
    bool has_valid;
    model m;
    optimizer opt;
    comm_grads cg;
    batch bt;
    lr_config lrc;
    lr_state lrs;

    train_progress pr;  /* step, data iterator, counters: what a checkpoint carries */
    batcher_state st;
    double *history;    /* [rows, HISTORY_COLS] validation results */
    int history_rows, history_cap;

    char **config;      /* NULL-terminated "key=value" strings of the options */
    const char **src_vocab, **tgt_vocab;
    int src_vocab_n, tgt_vocab_n;

    int *hyp, *hyp_len; /* greedy decoding output [max_B, max_out], [max_B] */
    int max_out;
    scorer score;       /* BLEU and exact match of the greedy translations */
    const char **tgt_tokens; /* every rank: target token text by id, for the scorer */

    double phase[N_PHASES]; /* this rank's seconds per phase in the current logging window */
    double last_ckpt_time;
    /* Rank 0: the newest checkpoint known to be whole, written by this run or resumed from
     * ("" for none), named when a later write fails; and how many writes succeeded. */
    char intact_ckpt[OPT_STRING_MAX + 64];
    long ckpts_written;
    double t_start;     /* when this process's training loop began */
    long start_step;    /* the step it began from (0, or a resumed checkpoint's) */
    /* Every rank: the newest step whose state is on disk as a regular checkpoint (written by
     * this run, or resumed from; a fresh start's step 0 needs none: the options rebuild it),
     * so that a stop writes no second copy of it. */
    long saved_step;
    long ckpt_failures; /* rank 0: writes that failed */
    int stop_sig;       /* a stop request agreed by every rank during a checkpoint (signal) */
    /* Test hook S2S_TRAIN_TEST_SLOW (docs/development.md): milliseconds slept per start-up
     * phase, per validation batch, before each checkpoint file; 0: none. */
    int slow_ms[3];
} trainer;

enum { SLOW_STARTUP, SLOW_VALID, SLOW_CKPT, N_SLOW };

static void trainer_free(trainer *t)
{
    if (t->metrics)
        fclose(t->metrics);
    comm_grads_free(&t->cg);
    optimizer_free(&t->opt);
    model_free(&t->m);
    batch_free(&t->bt);
    loader_free(&t->train);
    loader_free(&t->valid);
    ds_close(t->ds);
    free(t->history);
    for (char **c = t->config; c && *c; c++)
        free(*c);
    free(t->config);
    free(t->src_vocab);
    free(t->tgt_vocab);
    free(t->hyp);
    free(t->hyp_len);
    scorer_free(&t->score);
    free(t->tgt_tokens);
    memset(t, 0, sizeof *t);
}

/* Rank 0's status, known to every rank: rank 0 gets its own, the others S2S_EPEER if it failed
 * (rank 0 reports the cause). Every rank must call it at the same point. */
static int agree(const trainer *t, int rc)
{
    if (t->size == 1)
        return rc;
    int shared = rc;
    if (MPI_Bcast(&shared, 1, MPI_INT, 0, t->comm) != MPI_SUCCESS)
        return s2s_fail(S2S_EMPI, "train: broadcast of rank 0's status failed");
    return t->rank == 0 ? rc : shared < 0 ? S2S_EPEER : 0;
}


/* Every rank at the same point: an error on any rank (rank 0's, where only rank 0 can fail),
 * the stop requests of all ranks and rank 0's *flags, in one small allreduce. Returns rc where
 * this rank failed, S2S_EPEER where only another did; otherwise 0 with *sig the highest signal
 * number of a stop request on any rank (0: none; a rank whose own rc is S2S_ESTOPPED counts as
 * one) and *flags, if given, rank 0's. */
static int agree_stop(trainer *t, int rc, int *sig, int *flags)
{
    int mine = stop_requested();
    if (rc == S2S_ESTOPPED) {
        mine = mine ? mine : SIGTERM;
        s2s_clear_error();
        rc = 0;
    }
    int v[3] = {rc < 0, mine, flags && t->rank == 0 ? *flags : 0}, all[3] = {v[0], v[1], v[2]};
    if (t->size > 1 && MPI_Allreduce(v, all, 3, MPI_INT, MPI_MAX, t->comm) != MPI_SUCCESS)
        return s2s_fail(S2S_EMPI, "train: agreement on the ranks' status failed");
    if (rc < 0)
        return rc;
    if (all[0])
        return S2S_EPEER;
    /* A rank's request counts as of when it entered: one that came while it waited for the
     * others (rank 0 writing a checkpoint, say) is in a second, short, agreement. */
    if (t->size > 1 && !all[1]) {
        mine = stop_requested();
        if (MPI_Allreduce(&mine, &all[1], 1, MPI_INT, MPI_MAX, t->comm) != MPI_SUCCESS)
            return s2s_fail(S2S_EMPI, "train: agreement on stop requests failed");
    }
    *sig = all[1];
    if (flags)
        *flags = all[2];
    return 0;
}

/* The end of a start-up phase (`during` names it): every rank learns of a stop request on any
 * rank, or of rank 0's error, and leaves. Before training began there is nothing to save, so a
 * stop is S2S_ESTOPPED with the message main prints (exit TRAIN_EXIT_STOPPED). A rank's own
 * error in a phase every rank runs is returned before this point (main then ends the job), so
 * that no rank waits for the slower ones to report it. */
static int startup_check(trainer *t, int rc, const char *during)
{
    int sig = 0;
    if ((rc = agree_stop(t, rc, &sig, NULL)) < 0)
        return rc;
    if (!sig)
        return 0;
    return s2s_fail(S2S_ESTOPPED,
                    "stop requested by %s before training began (%s): there was nothing to "
                    "save, no checkpoint was written; run the same command again to start",
                    stop_signal_name(sig), during);
}

/* startup_check after a phase that every rank runs: an error (not a stop) leaves at once. */
static int phase_done(trainer *t, int rc, const char *during)
{
    if (rc < 0 && rc != S2S_ESTOPPED)
        return rc;
    return startup_check(t, rc, during);
}

/* Test hook: S2S_TRAIN_TEST_SLOW="startup:MS,valid:MS,ckpt:MS" (any of them) slows the real
 * loops down so that a test's signal lands inside one: MS milliseconds at the start of each
 * start-up phase, before each validation batch and before each checkpoint file is written. */
static int parse_slow(trainer *t)
{
    static const char *const NAMES[N_SLOW] = {"startup", "valid", "ckpt"};
    const char *env = getenv("S2S_TRAIN_TEST_SLOW");
    for (const char *p = env; p && *p;) {
        int which = -1;
        for (int i = 0; i < N_SLOW; i++)
            if (!strncmp(p, NAMES[i], strlen(NAMES[i])) && p[strlen(NAMES[i])] == ':')
                which = i;
        char *end = NULL;
        long ms = which < 0 ? -1 : strtol(p + strlen(NAMES[which]) + 1, &end, 10);
        if (which < 0 || ms < 0 || ms > 600000 || (*end && *end != ','))
            return s2s_fail(S2S_EUSAGE,
                            "S2S_TRAIN_TEST_SLOW=%s: want startup:MS, valid:MS or ckpt:MS, "
                            "comma-separated (0 <= MS <= 600000)",
                            env);
        t->slow_ms[which] = (int)ms;
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* The hook's sleep, whole whatever signals come (as real work would be: only the loop's own
 * check acts on them); `what` (NULL: say nothing) goes to stderr so that a test knows where
 * the process is. */
static void test_slow(const trainer *t, int which, const char *what)
{
    int ms = t->slow_ms[which];
    if (ms <= 0)
        return;
    if (what) {
        fprintf(stderr, "s2s train: test hook: rank %d: %s: sleeping %d ms\n", t->rank, what, ms);
        fflush(stderr);
    }
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void note(trainer *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(trainer *t, const char *fmt, ...)
{
    if (!t->log)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    progress_note(&t->prog, "%s", buf);
}

/* Appends "key=value" (key and value given by pointer and length) to the checkpoint config. */
static int config_add(trainer *t, const char *key, size_t klen, const char *value, size_t vlen)
{
    size_t n = 0;
    while (t->config && t->config[n])
        n++;
    char **grown = realloc(t->config, (n + 2) * sizeof *grown);
    if (!grown)
        return s2s_fail(S2S_ENOMEM, "train: options list");
    t->config = grown;
    t->config[n + 1] = NULL;
    if (!(t->config[n] = malloc(klen + vlen + 2)))
        return s2s_fail(S2S_ENOMEM, "train: options list");
    memcpy(t->config[n], key, klen);
    t->config[n][klen] = '=';
    memcpy(t->config[n] + klen + 1, value, vlen);
    t->config[n][klen + 1 + vlen] = '\0';
    return 0;
}

/* Calls fn(key, klen, value, vlen) for each "name = value" line of an options text (as written
 * by opts_write_config: blank lines and # comments skipped, spaces around '=' trimmed). */
typedef int (*config_line_fn)(trainer *t, const char *key, size_t klen, const char *value,
                              size_t vlen);
static int each_config_line(trainer *t, const char *text, config_line_fn fn)
{
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        const char *eq = memchr(line, '=', len);
        if (eq && line[0] != '#') {
            const char *ke = eq, *vs = eq + 1;
            while (ke > line && ke[-1] == ' ')
                ke--;
            while (vs < line + len && *vs == ' ')
                vs++;
            int rc = fn(t, line, (size_t)(ke - line), vs, (size_t)(line + len - vs));
            if (rc < 0)
                return rc;
        }
        line = end ? end + 1 : NULL;
    }
    return 0;
}

/* The options text ("name = value" lines) as "name=value" strings for checkpoints. */
static int parse_config(trainer *t, const char *text)
{
    if (!(t->config = calloc(1, sizeof *t->config)))
        return s2s_fail(S2S_ENOMEM, "train: options list");
    return each_config_line(t, text, config_add);
}

/* The dataset's tokenizer settings join the checkpoint's config as data.<name>, so that
 * `s2s translate` can tokenize new text as `s2s prep` did. */
static int add_data_option(trainer *t, const char *key, size_t klen, const char *value,
                           size_t vlen)
{
    static const char *const KEEP[] = {"tokenizer", "lowercase", NULL};
    for (const char *const *k = KEEP; *k; k++) {
        if (strlen(*k) == klen && !strncmp(*k, key, klen)) {
            char name[64];
            snprintf(name, sizeof name, "data.%s", *k);
            return config_add(t, name, strlen(name), value, vlen);
        }
    }
    return 0;
}

static const char *config_value(char *const *config, const char *key)
{
    size_t k = strlen(key);
    for (char *const *c = config; c && *c; c++)
        if (!strncmp(*c, key, k) && (*c)[k] == '=')
            return *c + k + 1;
    return NULL;
}

/* ---- checking a resumed configuration against its checkpoint ------------------------------ */

/* Options besides the model's fixed ones (model_option_fixed) that decide the shape of the
 * optimizer state or what the kept best validation figure means. */
static const char *const FIXED_KEYS[] = {"optim", "best-metric", NULL};
/* Options that name this invocation, not the run (the kernels may differ from machine to
 * machine; each checkpoint records those of its writer). */
static const char *const INVOCATION_KEYS[] = {"resume", "blas-core", "probe-timeout",
                                              "large-vocab", NULL};

static bool in_list(const char *const *list, const char *key)
{
    for (; *list; list++)
        if (!strcmp(*list, key))
            return true;
    return false;
}

typedef struct {
    trainer *t;
    const char *path;
} resume_check;

static int check_resumed_option(const char *key, const char *value, void *ctx)
{
    resume_check *chk = ctx;
    const char *now = config_value(chk->t->config, key);
    if (!now || !strcmp(now, value) || in_list(INVOCATION_KEYS, key))
        return 0;
    if (model_option_fixed(key) || in_list(FIXED_KEYS, key))
        return s2s_fail(S2S_EINVAL,
                        "resume: %s was trained with --%s %s, this run asks for --%s %s; the "
                        "model and optimizer shape and the best-checkpoint metric cannot change "
                        "on resume",
                        chk->path, key, value, key, now);
    note(chk->t, "resume: --%s changed from %s to %s", key, value, now);
    return 0;
}

/* ---- run directory, metrics ------------------------------------------------------------- */

static int make_run_dir(const char *dir)
{
    char buf[OPT_STRING_MAX];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return s2s_fail(S2S_ERANGE, "run directory name too long: %s", dir);
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return s2s_fail(S2S_EIO, "cannot create run directory %s: %s", buf, strerror(errno));
        *p = c;
        if (!c)
            break;
    }
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return s2s_fail(S2S_EIO, "run directory %s is not a directory", dir);
    return 0;
}

/* A metrics.jsonl record starts: {"type":TYPE,"step":STEP (the table of docs/training.md). */
static void record_begin(json_writer *j, FILE *f, const char *type, long long step)
{
    json_writer_init(j, f, JSON_COMPACT);
    json_open_object(j);
    json_kstr(j, "type", type);
    json_kint(j, "step", step);
}

/* ... and ends: the object closed, the line ended and flushed, so that a run killed later keeps
 * every record written so far. */
static int record_end(json_writer *j)
{
    json_close_object(j);
    fputc('\n', j->out);
    fflush(j->out);
    return json_writer_end(j);
}

/* ---- set-up ----------------------------------------------------------------------------- */

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

static int trainer_init(trainer *t, const train_options *o, MPI_Comm comm, FILE *log)
{
    int rc;
    memset(t, 0, sizeof *t);
    t->o = o;
    t->comm = comm;
    MPI_Comm_rank(comm, &t->rank);
    MPI_Comm_size(comm, &t->size);
    t->log = t->rank == 0 ? log : NULL;
    if (t->log)
        progress_init(&t->prog, t->log,
                      o->progress == PROGRESS_LIVE ||
                          (o->progress == PROGRESS_AUTO && isatty(fileno(t->log))));
    if ((rc = check_options(o, t->size)) < 0 || (rc = parse_slow(t)) < 0 ||
        (rc = check_threads(t)) < 0 || (rc = parse_config(t, o->config_text)) < 0)
        return rc;

    /* Start-up phases, each followed by an agreement on stop requests (startup_check): a
     * signal during start-up ends every rank at the end of the phase it came in. */
    test_slow(t, SLOW_STARTUP, "start-up: opening the dataset");
    rc = ds_open(&t->ds, o->data);
    if (rc == 0)
        rc = each_config_line(t, ds_attr(t->ds, "options"), add_data_option);
    if ((rc = phase_done(t, rc, "while opening the dataset")) < 0)
        return rc;
    test_slow(t, SLOW_STARTUP, "start-up: reading the sentence lengths");
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
    if ((rc = phase_done(t, rc, "while reading the sentence lengths")) < 0)
        return rc;
    test_slow(t, SLOW_STARTUP, "start-up: building the model");
    int max_B, max_src, max_tgt;
    loader_batch_capacity(&t->train, &max_B, &max_src, &max_tgt);
    if (t->has_valid) {
        int vb, vs, vt;
        loader_batch_capacity(&t->valid, &vb, &vs, &vt);
        max_B = vb > max_B ? vb : max_B;
        max_src = vs > max_src ? vs : max_src;
        max_tgt = vt > max_tgt ? vt : max_tgt;
    }

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
        (rc = comm_grads_init(&t->cg, comm, t->m.grads, t->m.n_params,
                              (size_t)(o->bucket_mb * 1048576.0))) < 0)
        return rc;
    t->hyp = malloc((size_t)max_B * t->max_out * sizeof(int));
    t->hyp_len = malloc((size_t)max_B * sizeof(int));
    int tgt_n = ds_vocab_size(t->ds, "tgt");
    t->tgt_tokens = malloc((size_t)tgt_n * sizeof *t->tgt_tokens);
    if (!t->hyp || !t->hyp_len || !t->tgt_tokens)
        return s2s_fail(S2S_ENOMEM, "train: decoding buffers for %d sentences", max_B);
    for (int i = 0; i < tgt_n; i++)
        t->tgt_tokens[i] = ds_token(t->ds, "tgt", i);
    if ((rc = scorer_init(&t->score, t->tgt_tokens, DETOK_SPACE, false)) < 0)
        return rc;
    lr_state_init(&t->lrs);
    t->pr = (train_progress){.world_size = t->size, .lr_scale = t->lrs.scale,
                             .lr_best = t->lrs.best, .best_valid = INFINITY};
    if ((rc = phase_done(t, 0, "while building the model")) < 0)
        return rc;

    if (t->rank == 0 && o->run_dir[0]) {
        test_slow(t, SLOW_STARTUP, "start-up: preparing the run directory");
        rc = make_run_dir(o->run_dir);
        if (rc == 0 && ((rc = load_vocab(t, "src", &t->src_vocab, &t->src_vocab_n)) == 0 &&
                        (rc = load_vocab(t, "tgt", &t->tgt_vocab, &t->tgt_vocab_n)) == 0)) {
            char path[OPT_STRING_MAX + 32];
            snprintf(path, sizeof path, "%s/metrics.jsonl", o->run_dir);
            if (!(t->metrics = fopen(path, "a")))
                rc = s2s_fail(S2S_EIO, "cannot open %s: %s", path, strerror(errno));
        }
    } else {
        rc = 0;
    }
    return startup_check(t, rc, "while preparing the run directory");
}

/* ---- start: fresh or from a checkpoint ---------------------------------------------------- */

static int bcast(trainer *t, void *buf, size_t bytes)
{
    /* MPI counts are int: large buffers go in pieces */
    for (size_t done = 0; done < bytes;) {
        size_t piece = bytes - done < (1u << 30) ? bytes - done : (1u << 30);
        if (MPI_Bcast((char *)buf + done, (int)piece, MPI_BYTE, 0, t->comm) != MPI_SUCCESS)
            return s2s_fail(S2S_EMPI, "train: broadcast of the checkpoint failed");
        done += piece;
    }
    return 0;
}

static int history_reserve(trainer *t, int rows)
{
    if (rows <= t->history_cap)
        return 0;
    int cap = t->history_cap ? t->history_cap : 64;
    while (cap < rows)
        cap *= 2;
    double *h = realloc(t->history, (size_t)cap * HISTORY_COLS * sizeof(double));
    if (!h)
        return s2s_fail(S2S_ENOMEM, "train: validation history of %d rows", cap);
    t->history = h;
    t->history_cap = cap;
    return 0;
}

/* Rank 0: which checkpoint to resume from ("" for none), as the options ask. */
static int resume_path(trainer *t, char *path, size_t size)
{
    const train_options *o = t->o;
    path[0] = '\0';
    if (!o->resume[0])
        return 0;
    if (strcmp(o->resume, "auto") != 0) {
        if (snprintf(path, size, "%s", o->resume) >= (int)size)
            return s2s_fail(S2S_ERANGE, "checkpoint path too long: %s", o->resume);
        return 0;
    }
    int rc = ckpt_find_latest(o->run_dir, path, size, t->log);
    if (rc < 0 && stop_requested()) /* the search gave up on the signal, not "none there" */
        return stop_fail(o->run_dir);
    if (rc == S2S_EINVAL) { /* nothing to resume: the first run of a requeued job */
        note(t, "resume auto: no checkpoint in %s, starting from scratch", o->run_dir);
        path[0] = '\0';
        s2s_clear_error();
        return 0;
    }
    return rc;
}

/* Rank 0 reads the checkpoint at path into the trainer. */
static int read_checkpoint(trainer *t, const char *path)
{
    resume_check chk = {.t = t, .path = path};
    int rc = ckpt_read_config(path, check_resumed_option, &chk);
    if (rc < 0)
        return rc;
    ckpt_loaded ld = {.params = t->m.params, .exp_avg = t->opt.m, .exp_avg_sq = t->opt.v};
    if ((rc = ckpt_read(path, &t->m.table, &ld)) < 0)
        goto done;
    if (ld.src_vocab_n != t->m.cfg.src_vocab || ld.tgt_vocab_n != t->m.cfg.tgt_vocab) {
        rc = s2s_fail(S2S_EINVAL,
                      "resume: %s has vocabularies of %d and %d tokens, the dataset %s has %d "
                      "and %d; the model shape cannot change on resume",
                      path, ld.src_vocab_n, ld.tgt_vocab_n, t->o->data, t->m.cfg.src_vocab,
                      t->m.cfg.tgt_vocab);
        goto done;
    }
    if (ld.history.rows > 0 && ld.history.cols != HISTORY_COLS) {
        rc = s2s_fail(S2S_EFORMAT, "%s: history has %d columns, expected %d", path,
                      ld.history.cols, HISTORY_COLS);
        goto done;
    }
    if ((rc = history_reserve(t, ld.history.rows)) < 0)
        goto done;
    if (ld.history.rows > 0)
        memcpy(t->history, ld.history.data,
               (size_t)ld.history.rows * HISTORY_COLS * sizeof(double));
    t->history_rows = ld.history.rows;
    t->opt.step = ld.optim_step;
    t->pr = ld.progress;
    snprintf(t->intact_ckpt, sizeof t->intact_ckpt, "%s", path);
    note(t, "resumed from %s: step %lld, epoch %lld, written by %lld rank%s%s", path,
         (long long)t->pr.step, (long long)t->pr.epoch, (long long)t->pr.world_size,
         t->pr.world_size == 1 ? "" : "s",
         t->pr.world_size != t->size ? " (now a different number of ranks: the same global "
                                       "batches, results equal to float rounding)"
                                     : "");
done:
    ckpt_loaded_free(&ld);
    return rc;
}

static int trainer_start(trainer *t)
{
    char path[OPT_STRING_MAX + 64] = "";
    int rc = 0;
    if (t->rank == 0 && t->o->resume[0]) {
        test_slow(t, SLOW_STARTUP, "start-up: looking for the checkpoint to resume");
        rc = resume_path(t, path, sizeof path);
    }
    if ((rc = startup_check(t, rc, "while looking for the checkpoint to resume")) < 0)
        return rc;
    if ((rc = bcast(t, path, sizeof path)) < 0)
        return rc;

    if (!path[0]) {
        /* Fresh: rank 0 draws the initial parameters; everyone gets them and checks. */
        if (t->rank == 0)
            model_init_params(&t->m, t->o->seed, t->o->init, t->o->init_scale);
        return comm_bcast_params(t->comm, t->m.params, t->m.n_params);
    }
    if (t->rank == 0) {
        test_slow(t, SLOW_STARTUP, "start-up: reading the checkpoint");
        rc = read_checkpoint(t, path);
    }
    if ((rc = startup_check(t, rc, "while reading the checkpoint to resume")) < 0)
        return rc;
    size_t n = t->m.n_params;
    int rows = t->history_rows;
    if ((rc = comm_bcast_params(t->comm, t->m.params, n)) < 0 ||
        (t->opt.m && (rc = bcast(t, t->opt.m, n * sizeof(real))) < 0) ||
        (t->opt.v && (rc = bcast(t, t->opt.v, n * sizeof(real))) < 0) ||
        (rc = bcast(t, &t->opt.step, sizeof t->opt.step)) < 0 ||
        (rc = bcast(t, &t->pr, sizeof t->pr)) < 0 || (rc = bcast(t, &rows, sizeof rows)) < 0 ||
        (rc = history_reserve(t, rows)) < 0 ||
        (rows && (rc = bcast(t, t->history, (size_t)rows * HISTORY_COLS * sizeof(double))) < 0))
        return rc;
    t->history_rows = rows;
    return 0;
}

/* The plateau schedule's state lives in the progress record that checkpoints carry. */
static void lr_state_from_progress(trainer *t)
{
    t->lrs.scale = t->pr.lr_scale;
    t->lrs.best = t->pr.lr_best;
    t->lrs.bad = (int)t->pr.lr_bad;
}

/* ---- validation ------------------------------------------------------------------------- */

typedef struct {
    double loss, ppl, token_acc;
    bool decoded;            /* the figures below are there */
    double exact_match, bleu; /* bleu: on the tokens, 0-100 */
    long sentences, tokens;
    bool abandoned;          /* a stop request on some rank ended it early: no figures */
} valid_result;

static void print_tokens(FILE *f, const dataset *ds, const char *side, const int *ids, int n)
{
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? " " : "", ds_token(ds, side, ids[i]));
}

/* The validation split, sharded over the ranks: teacher-forced NLL and token accuracy, and with
 * `greedy` BLEU on the tokens and the exact-match rate of greedy decoding (each translation cut
 * at decode_max_len of its source, as `s2s eval` decodes); rank 0 prints `samples` of its
 * sentences. A stop request ends a rank's batches at the next batch; the one sum at the end,
 * which every rank reaches, carries it, so that every rank abandons the validation together
 * (vr->abandoned) without a collective per batch. */
static int validate(trainer *t, bool greedy, int samples, valid_result *vr)
{
    memset(vr, 0, sizeof *vr);
    if (!t->has_valid)
        return 0;
    enum { LOSS, TOKENS, CORRECT, STOPPED, SENTENCES, N_SUMS = SENTENCES + 1 + SCORE_NSUMS };
    double sums[N_SUMS] = {0}, *score = sums + SENTENCES + 1;
    batcher_state vs = {0, 0};
    long steps = batcher_epoch_steps(&t->valid.bat, 0);
    int shown = 0, rc;
    char what[96];
    snprintf(what, sizeof what, "validation of step %lld: each of its %ld batches",
             (long long)t->pr.step, steps);
    for (long s = 0; s < steps; s++) {
        int global;
        long global_tokens;
        output_stats st;
        test_slow(t, SLOW_VALID, s == 0 ? what : NULL);
        if (stop_requested()) {
            sums[STOPPED] = 1;
            break;
        }
        rc = loader_next(&t->valid, &vs, t->rank, &t->bt, &global, &global_tokens);
        if (rc == S2S_ESTOPPED) { /* the reader gave up on the signal: the same stop */
            s2s_clear_error();
            sums[STOPPED] = 1;
            break;
        }
        if (rc < 0 || (rc = model_evaluate(&t->m, &t->bt, &st)) < 0)
            return rc;
        sums[LOSS] += st.loss;
        sums[TOKENS] += (double)st.tokens;
        sums[CORRECT] += (double)st.correct;
        sums[SENTENCES] += t->bt.B;
        if (!greedy)
            continue;
        if ((rc = model_greedy(&t->m, &t->bt, t->max_out, t->hyp, t->hyp_len)) < 0)
            return rc;
        for (int b = 0; b < t->bt.B; b++) {
            const int *h = t->hyp + (size_t)b * t->max_out;
            const int *ref = t->valid.tgt_rows[b];
            int ref_len = t->valid.share_tgt_len[b];
            /* Greedy output is a prefix-closed sequence: cutting it is decoding to the limit. */
            int limit = decode_max_len(t->valid.share_src_len[b], DECODE_DEFAULT_RATIO);
            int len = t->hyp_len[b] < limit ? t->hyp_len[b] : limit;
            double exact_before = score[SCORE_EXACT];
            if ((rc = scorer_add(&t->score, h, len, ref, ref_len, score)) < 0)
                return rc;
            if (t->log && shown < samples) {
                FILE *f = t->log;
                fprintf(f, "  src: ");
                print_tokens(f, t->ds, "src", t->valid.src_rows[b], t->valid.share_src_len[b]);
                fprintf(f, "\n  ref: ");
                print_tokens(f, t->ds, "tgt", ref, ref_len);
                fprintf(f, "\n  out: ");
                print_tokens(f, t->ds, "tgt", h, len);
                fprintf(f, "   [%s]\n", score[SCORE_EXACT] > exact_before ? "correct" : "wrong");
                shown++;
            }
        }
    }
    if ((rc = comm_sum_doubles(t->comm, sums, greedy ? N_SUMS : SENTENCES + 1)) < 0)
        return rc;
    if (sums[STOPPED] > 0) {
        vr->abandoned = true;
        return 0;
    }
    vr->tokens = (long)sums[TOKENS];
    vr->sentences = (long)sums[SENTENCES];
    vr->loss = sums[TOKENS] > 0 ? sums[LOSS] / sums[TOKENS] : 0;
    vr->ppl = exp(vr->loss);
    vr->token_acc = sums[TOKENS] > 0 ? sums[CORRECT] / sums[TOKENS] : 0;
    if (greedy) {
        bleu_result b;
        bleu_config bc = bleu_config_default();
        if ((rc = bleu_compute(score + SCORE_BLEU_TOKENS, &bc, &b)) < 0)
            return rc;
        vr->decoded = true;
        vr->bleu = b.score;
        vr->exact_match = score[SCORE_SENTENCES] > 0 ? score[SCORE_EXACT] / score[SCORE_SENTENCES]
                                                     : 0;
    }
    return 0;
}

/* The chosen figure of a validation as "lower is better" (BLEU and exact match negated), the
 * form kept in train_progress.best_valid; metric_shown turns it back. */
static double metric_key(int metric, const valid_result *vr)
{
    return metric == METRIC_BLEU ? -vr->bleu : metric == METRIC_EXACT ? -vr->exact_match : vr->loss;
}

static double metric_shown(int metric, double key)
{
    return metric == METRIC_LOSS ? key : -key;
}

/* Records a validation in the schedule, the early-stopping counters and the history; returns
 * whether it is the best so far. */
static int record_validation(trainer *t, const valid_result *vr, double train_loss, double lr,
                             bool *best)
{
    double key = metric_key(t->o->best_metric, vr);
    *best = key < t->pr.best_valid;
    if (*best) {
        t->pr.best_valid = key;
        t->pr.best_step = t->pr.step;
        t->pr.bad_evals = 0;
    } else {
        t->pr.bad_evals++;
    }
    if (lr_observe(&t->lrc, &t->lrs, vr->loss))
        note(t, "validation loss has not improved for %d validations: learning rate x %g",
             t->lrc.patience, t->lrc.decay_factor);
    t->pr.lr_scale = t->lrs.scale;
    t->pr.lr_best = t->lrs.best;
    t->pr.lr_bad = t->lrs.bad;
    int rc = history_reserve(t, t->history_rows + 1);
    if (rc < 0)
        return rc;
    double *row = t->history + (size_t)t->history_rows++ * HISTORY_COLS;
    row[0] = (double)t->pr.step;
    row[1] = train_loss;
    row[2] = vr->loss;
    row[3] = vr->ppl;
    row[4] = vr->token_acc;
    row[5] = lr;
    row[6] = vr->decoded ? vr->bleu : NAN;
    row[7] = vr->decoded ? vr->exact_match : NAN;
    if (t->metrics) {
        json_writer j;
        record_begin(&j, t->metrics, "valid", t->pr.step);
        json_kfigure(&j, "loss", vr->loss);
        json_kfigure(&j, "ppl", vr->ppl);
        json_kfigure(&j, "token_acc", vr->token_acc);
        if (vr->decoded) {
            json_kfigure(&j, "bleu", vr->bleu);
            json_kfigure(&j, "exact_match", vr->exact_match);
        }
        json_kint(&j, "sentences", vr->sentences);
        json_kbool(&j, "best", *best);
        return record_end(&j);
    }
    return 0;
}

/* A validation abandoned by a stop request: a history row of its step with the training loss
 * and the rate, and NaN figures (a real validation's token accuracy is never NaN), goes into
 * the stop's checkpoint, so that the resumed run finds the validation pending and repeats it,
 * recording what an uninterrupted run records (take_pending_validation). */
static int mark_validation_pending(trainer *t, double train_loss, double lr)
{
    int rc = history_reserve(t, t->history_rows + 1);
    if (rc < 0)
        return rc;
    double *row = t->history + (size_t)t->history_rows++ * HISTORY_COLS;
    for (int c = 0; c < HISTORY_COLS; c++)
        row[c] = NAN;
    row[0] = (double)t->pr.step;
    row[1] = train_loss;
    row[5] = lr;
    return 0;
}

/* On resume: whether the checkpoint's newest history row is a pending validation of its step;
 * if so the row is taken off, and its training loss and rate returned. */
static bool take_pending_validation(trainer *t, double *train_loss, double *lr)
{
    if (t->history_rows < 1)
        return false;
    const double *row = t->history + (size_t)(t->history_rows - 1) * HISTORY_COLS;
    if (row[0] != (double)t->pr.step || !isnan(row[4]))
        return false;
    *train_loss = row[1];
    *lr = row[5];
    t->history_rows--;
    return true;
}

/* ---- checkpoints ------------------------------------------------------------------------ */

/* Rank 0 writes the checkpoint of the current state to path. */
static int write_checkpoint(trainer *t, const char *path)
{
    t->pr.epoch = t->st.epoch;
    t->pr.next = (int64_t)t->st.next;
    t->pr.world_size = t->size;
    ckpt_contents c = {
        .tab = &t->m.table, .params = t->m.params, .exp_avg = t->opt.m, .exp_avg_sq = t->opt.v,
        .optim_step = t->opt.step, .config = (const char *const *)t->config,
        .src_vocab = t->src_vocab, .src_vocab_n = t->src_vocab_n, .tgt_vocab = t->tgt_vocab,
        .tgt_vocab_n = t->tgt_vocab_n, .progress = t->pr, .blas_core = blas_core_get()->kernel,
        .history = {.rows = t->history_rows, .cols = HISTORY_COLS, .columns = HISTORY_COLUMNS,
                    .data = t->history}};
    return ckpt_write(path, &c);
}

/* What happens after a checkpoint: training goes on (a stop request agreed during the write
 * then stops the run: CK_GO_ON), the run stops (CK_STOP), or the run is complete (CK_FINAL: a
 * signal changes nothing). */
enum { CK_GO_ON, CK_STOP, CK_FINAL };

/* Every rank: a checkpoint of the current step (`regular`) and/or best.h5 (`best`), written by
 * rank 0. The parameters are first checked to be identical on every rank. A failed write keeps
 * the previous files; the run stops or goes on as --ckpt-error says, except that a run that
 * stops (CK_STOP, or CK_GO_ON with a stop request agreed at the end, t->stop_sig) and failed
 * to write its regular checkpoint ends with an error naming what is on disk: there is no
 * training left to go on with, and exit 75 would promise a checkpoint that is not there. */
static int checkpoint(trainer *t, bool regular, bool best, int after)
{
    enum { REGULAR_OK = 1, REGULAR_FAILED = 2 };
    const train_options *o = t->o;
    if (!o->run_dir[0] || (!regular && !best))
        return 0;
    double t0 = wall_seconds();
    int rc = comm_check_same(t->comm, t->m.params, t->m.n_params, "parameters");
    if (rc < 0)
        return rc;
    char path[OPT_STRING_MAX + 64] = "", failure[1024] = "", what[OPT_STRING_MAX + 128];
    int flags = 0;
    if (t->rank == 0) {
        if (regular && (rc = ckpt_step_path(path, sizeof path, o->run_dir, t->pr.step)) == 0) {
            snprintf(what, sizeof what, "checkpoint of step %lld: before writing %s",
                     (long long)t->pr.step, path);
            test_slow(t, SLOW_CKPT, what);
            rc = write_checkpoint(t, path);
        }
        if (regular && rc == 0) {
            snprintf(t->intact_ckpt, sizeof t->intact_ckpt, "%s", path);
            t->ckpts_written++;
            flags |= REGULAR_OK;
            rc = ckpt_prune(o->run_dir, o->keep, t->log);
        } else if (regular) {
            flags |= REGULAR_FAILED;
        }
        if (rc == 0 && best && (rc = ckpt_best_path(path, sizeof path, o->run_dir)) == 0) {
            snprintf(what, sizeof what, "checkpoint of step %lld: before writing %s",
                     (long long)t->pr.step, path);
            test_slow(t, SLOW_CKPT, what);
            if ((rc = write_checkpoint(t, path)) == 0)
                t->ckpts_written++;
        }
        double secs = wall_seconds() - t0;
        if (t->metrics) {
            json_writer j;
            record_begin(&j, t->metrics, "checkpoint", t->pr.step);
            json_kstr(&j, "file", path);
            json_kfixed(&j, "seconds", secs, 3);
            json_kbool(&j, "ok", rc == 0);
            if (rc < 0)
                json_kstr(&j, "error", s2s_errmsg(rc));
            int st = record_end(&j); /* a misuse of the writer is a bug: it stops the run */
            if (st < 0)
                return st;
        }
        if (rc < 0)
            t->ckpt_failures++;
        /* A writer that gave up on the signal (S2S_ESTOPPED) failed to write all the same. */
        if (rc == S2S_ESTOPPED) {
            snprintf(failure, sizeof failure, "%s", s2s_errmsg(rc));
            rc = s2s_fail(S2S_EIO, "%s", failure);
        }
        if (rc < 0 && o->ckpt_error == CKPT_ERROR_CONTINUE) {
            snprintf(failure, sizeof failure, "%s", s2s_errmsg(rc));
            s2s_clear_error();
            rc = 0;
        }
    }
    t->last_ckpt_time = wall_seconds();
    t->phase[PH_CKPT] += t->last_ckpt_time - t0;
    int sig = 0;
    if ((rc = agree_stop(t, rc, &sig, &flags)) < 0)
        return rc;
    if (flags & REGULAR_OK)
        t->saved_step = t->pr.step;
    if (sig && !t->stop_sig)
        t->stop_sig = sig;
    bool stopping = after == CK_STOP || (after == CK_GO_ON && sig);
    if (stopping && (flags & REGULAR_FAILED)) {
        if (t->rank != 0)
            return S2S_EPEER;
        char kept[sizeof t->intact_ckpt + 80] = "there is no checkpoint of this run on disk";
        if (t->intact_ckpt[0])
            snprintf(kept, sizeof kept,
                     "the newest checkpoint on disk is %s (--resume auto continues from it)",
                     t->intact_ckpt);
        return s2s_fail(S2S_EIO,
                        "train: stop requested by %s at step %lld, but the checkpoint of that "
                        "step could not be written (%s); %s",
                        stop_signal_name(sig), (long long)t->pr.step, failure, kept);
    }
    if (failure[0]) {
        char kept[sizeof t->intact_ckpt + 48] = "there is no previous checkpoint";
        if (t->intact_ckpt[0])
            snprintf(kept, sizeof kept, "the previous checkpoint %s is intact", t->intact_ckpt);
        note(t, "checkpoint at step %lld FAILED, %s (%s): %s", (long long)t->pr.step,
             stopping ? "the run stops" : "training goes on", kept, failure);
    }
    return 0;
}

/* ---- logging ---------------------------------------------------------------------------- */

typedef struct {
    double loss, nll, tokens, all_tokens; /* window sums over all ranks */
    double t_start;
} log_window;

/* Every rank at a logging step: phase times reduced over ranks; rank 0 prints and records. */
static int log_step(trainer *t, log_window *w, double lr, double gnorm, train_result *res)
{
    double mn[N_PHASES], mx[N_PHASES], mean[N_PHASES];
    int rc = comm_min_max_mean(t->comm, t->phase, N_PHASES, mn, mx, mean);
    if (rc < 0)
        return rc;
    double now = wall_seconds(), el = now - w->t_start;
    res->train_loss = w->tokens > 0 ? w->loss / w->tokens : 0;
    double ppl = w->tokens > 0 ? exp(w->nll / w->tokens) : 0;
    double tps = el > 0 ? w->all_tokens / el : 0;
    if (t->log) {
        progress_info pi = {.step = t->pr.step, .steps = t->o->steps, .epoch = t->st.epoch,
                            .loss = res->train_loss, .ppl = ppl, .tokens_per_s = tps, .lr = lr,
                            .gnorm = gnorm, .elapsed_s = now - t->t_start,
                            .start_step = t->start_step};
        progress_update(&t->prog, &pi, false);
    }
    memset(t->phase, 0, sizeof t->phase);
    *w = (log_window){.t_start = now};
    if (t->metrics) {
        json_writer j;
        record_begin(&j, t->metrics, "train", t->pr.step);
        json_kint(&j, "epoch", t->st.epoch);
        json_kfigure(&j, "loss", res->train_loss);
        json_kfigure(&j, "ppl", ppl);
        json_kfigure(&j, "tokens_per_s", tps);
        json_kfigure(&j, "lr", lr);
        json_kfigure(&j, "gnorm", gnorm);
        json_kint(&j, "skipped", t->pr.skipped);
        json_kint(&j, "ranks", t->size);
        json_kint(&j, "threads", t->o->threads);
        json_kfixed(&j, "window_s", el, 4);
        json_key(&j, "phases");
        json_open_object(&j);
        for (int p = 0; p < N_PHASES; p++) {
            json_key(&j, PHASE_NAMES[p]);
            json_open_object(&j);
            json_kfixed(&j, "min", mn[p], 4);
            json_kfixed(&j, "max", mx[p], 4);
            json_kfixed(&j, "mean", mean[p], 4);
            json_close_object(&j);
        }
        json_close_object(&j);
        return record_end(&j);
    }
    return 0;
}

/* ---- the step --------------------------------------------------------------------------- */

/* What every rank learns at the end of a step's backward, in one small allreduce. */
enum { S_LOSS, S_NLL, S_CORRECT, S_ALL_TOKENS, S_STOP, S_CKPT_DUE, S_ABANDON, N_STEP_SUMS };

/* One optimizer step: `accum` global batches, rank's shares forward and backward, gradients
 * summed over ranks and normalized by the global target tokens, then clip and update (or skip
 * on a non-finite norm). sums gets the step's N_STEP_SUMS values summed over ranks. A rank
 * whose data read gave up on a stop request (S2S_ESTOPPED) still takes part in the step's
 * collectives and says so in sums[S_ABANDON]: then no rank applies the step, the data
 * iterator goes back to where the step began, and *abandoned is set. */
static int train_step(trainer *t, double lr, double tf, double *gnorm, double *sums,
                      bool *abandoned)
{
    const train_options *o = t->o;
    model *m = &t->m;
    long global_tokens = 0;
    double t0 = wall_seconds();
    memset(sums, 0, N_STEP_SUMS * sizeof *sums);
    model_zero_grads(m);
    train_context ctx = {.seed = o->seed, .step = (uint32_t)(t->pr.step + 1),
                         .label_smoothing = o->label_smoothing, .sampling = 1 - tf};
    const batcher_state st0 = t->st;
    *abandoned = false;
    for (int k = 0; k < o->accum; k++) {
        int global, rc;
        long tokens;
        rc = loader_next(&t->train, &t->st, t->rank, &t->bt, &global, &tokens);
        if (rc == S2S_ESTOPPED) {
            s2s_clear_error();
            sums[S_ABANDON] = 1;
            comm_grads_begin(&t->cg); /* nothing started yet: finish sums whatever is there */
            break;
        }
        if (rc < 0)
            return rc;
        global_tokens += tokens;
        double t1 = wall_seconds();
        t->phase[PH_DATA] += t1 - t0;
        /* Only the last micro-batch's backward finishes gradients: it drives the allreduce. */
        bool last = k == o->accum - 1;
        if (last)
            comm_grads_begin(&t->cg);
        m->grad_ready = last && t->size > 1 ? comm_grads_ready_cb : NULL;
        m->grad_ready_ctx = &t->cg;
        output_stats st;
        if ((rc = model_forward_backward(m, &t->bt, &ctx, &st)) < 0)
            return rc;
        t0 = wall_seconds();
        t->phase[PH_FORWARD] += m->forward_seconds;
        t->phase[PH_BACKWARD] += t0 - t1 - m->forward_seconds;
        sums[S_LOSS] += st.loss;
        sums[S_NLL] += st.nll;
        sums[S_CORRECT] += (double)st.correct;
        for (int b = 0; b < t->bt.B; b++)
            sums[S_ALL_TOKENS] += t->bt.src_len[b] + t->bt.tgt_len[b];
    }
    m->grad_ready = NULL;
    int rc = comm_grads_finish(&t->cg);
    double t2 = wall_seconds();
    t->phase[PH_ALLREDUCE] += t2 - t0;
    if (rc < 0)
        return rc;

    sums[S_STOP] = stop_requested() != 0;
    sums[S_CKPT_DUE] = t->rank == 0 && o->ckpt_minutes > 0 &&
                       t2 - t->last_ckpt_time >= o->ckpt_minutes * 60.0;
    if ((rc = comm_sum_doubles(t->comm, sums, N_STEP_SUMS)) < 0)
        return rc;
    if (sums[S_ABANDON] > 0) {
        t->st = st0;
        *abandoned = true;
        return 0;
    }

    /* The gradients are of the loss summed over the global batch: per target token. */
    scale_buffer(m->grads, m->n_params, (real)(1.0 / (double)global_tokens));
    *gnorm = clip_grad_norm(m->grads, m->n_params, o->clip);
    t->pr.step++;
    t->pr.tokens += global_tokens;
    if (isfinite(*gnorm)) {
        optimizer_step(&t->opt, m->params, m->grads, lr);
        t->pr.nonfinite_streak = 0;
    } else {
        t->pr.skipped++;
        t->pr.nonfinite_streak++;
        note(t, "step %lld: gradient norm is %g: step skipped on every rank (%lld in a row)",
             (long long)t->pr.step, *gnorm, (long long)t->pr.nonfinite_streak);
        if (t->metrics) {
            json_writer j;
            record_begin(&j, t->metrics, "skip", t->pr.step);
            json_kint(&j, "streak", t->pr.nonfinite_streak);
            if ((rc = record_end(&j)) < 0)
                return rc;
        }
        if (t->pr.nonfinite_streak >= o->max_skips)
            return s2s_fail(S2S_ENUMERIC,
                            "train: %lld steps in a row had non-finite gradients (last: step "
                            "%lld); stopping. Lower --lr or --clip, or resume from an earlier "
                            "checkpoint",
                            (long long)t->pr.nonfinite_streak, (long long)t->pr.step);
    }
    t->phase[PH_OPTIM] += wall_seconds() - t2;
    return 0;
}

/* ---- the run ---------------------------------------------------------------------------- */

/* Rank 0's OpenBLAS kernels and where they come from (include/s2s/blas_core.h), on every start,
 * fresh or resumed: they decide the speed. */
static void print_blas_core(trainer *t)
{
    const blas_core_state *bc = blas_core_get();
    char below[160] = "";
    if (bc->below_best)
        snprintf(below, sizeof below,
                 "; note: this CPU runs the faster %s kernels (--blas-core auto picks them "
                 "when OPENBLAS_CORETYPE is not set)",
                 bc->best);
    note(t, "s2s train: %s, %s kernels (%s)%s", bc->version, bc->kernel, bc->origin, below);
}

static void print_header(trainer *t)
{
    const train_options *o = t->o;
    const model_config *c = &t->m.cfg;
    note(t,
         "s2s train: %s (%ld training, %ld validation pairs, vocabularies %d/%d), %s x%d%s%s%s, "
         "emb %d, hidden %d, %zu parameters; %d rank%s x %d thread%s, global batch <= %d "
         "sentences%s x %d, %s lr %g, %ld steps",
         o->data, ds_count(t->ds, SPLIT_TRAIN), ds_count(t->ds, SPLIT_VALID), c->src_vocab,
         c->tgt_vocab, cell_name(c->cell), c->layers, c->bidir ? " bidirectional" : "",
         c->attn != ATTN_NONE ? ", attention " : "",
         c->attn != ATTN_NONE ? attn_name(c->attn) : "", c->emb, c->hidden,
         param_table_count(&t->m.table), t->size, t->size == 1 ? "" : "s", o->threads,
         o->threads == 1 ? "" : "s", o->batch, o->batch_tokens ? " (token-limited)" : "",
         o->accum, optim_name(o->optim), o->lr, o->steps);
}

/* Rank 0's line after a stop request: what is on disk and what the stop interrupted. */
static void note_stop(trainer *t, const char *why)
{
    if (!t->o->run_dir[0])
        note(t, "stop requested by a signal at step %lld: no --run-dir, nothing was written%s",
             (long long)t->pr.step, why);
    else if (t->saved_step != t->pr.step || t->pr.step == 0)
        note(t, "stop requested by a signal at step %lld: there was nothing new to save, no "
             "checkpoint was written%s", (long long)t->pr.step, why);
    else
        note(t, "stop requested by a signal: checkpoint of step %lld written; resume with "
             "--resume auto%s", (long long)t->pr.step, why);
}

int train_run(const train_options *o, MPI_Comm comm, FILE *log, train_result *res)
{
    trainer t;
    int rc;
    memset(res, 0, sizeof *res);
    if ((rc = trainer_init(&t, o, comm, log)) < 0 || (rc = trainer_start(&t)) < 0)
        goto fail;
    lr_state_from_progress(&t);
    t.st = (batcher_state){.epoch = (uint32_t)t.pr.epoch, .next = (uint64_t)t.pr.next};
    t.start_step = t.pr.step;
    t.saved_step = t.pr.step;
    t.last_ckpt_time = wall_seconds();
    if (t.pr.step == 0)
        print_header(&t);
    print_blas_core(&t);

    double t_start = wall_seconds(), lr = 0, gnorm = 0, seconds_before = t.pr.seconds;
    t.t_start = t_start;
    /* A validation that a stop abandoned is done first (its row in the checkpoint says so), and
     * a run that had ended by --early-stop only ends: the resumed run then records what an
     * uninterrupted one would have. */
    bool pending = take_pending_validation(&t, &res->train_loss, &lr);
    if (pending)
        note(&t, "resume: the validation of step %lld was abandoned by the stop: doing it now",
             (long long)t.pr.step);
    if (!pending && o->early_stop > 0 && t.pr.step > 0 && t.pr.bad_evals >= o->early_stop) {
        note(&t, "resume: the run had stopped early at step %lld (no improvement in %lld "
             "validations, --early-stop %d): only its end remains",
             (long long)t.pr.step, (long long)t.pr.bad_evals, o->early_stop);
        res->early_stopped = true;
    }
    pending = pending && t.pr.step < o->steps; /* at the end, the final validation does it */
    log_window w = {.t_start = t_start};
    double all_tokens = 0;
    bool stop = false;
    valid_result vr = {0};
    while ((pending || t.pr.step < o->steps) && !stop && !res->early_stopped) {
        double sums[N_STEP_SUMS] = {0};
        bool abandoned = false;
        const char *why = "";
        if (!pending) {
            long next = t.pr.step + 1;
            lr = lr_value(&t.lrc, &t.lrs, next);
            double tf = tf_ratio_at(o->tf_schedule, o->teacher_forcing, o->tf_min, o->tf_k,
                                    next, o->steps);
            int64_t tokens_before = t.pr.tokens;
            if ((rc = train_step(&t, lr, tf, &gnorm, sums, &abandoned)) < 0)
                goto fail;
            stop = sums[S_STOP] > 0 || abandoned;
            if (abandoned) {
                why = " (reading the data of the next step was interrupted: that step is redone)";
            } else {
                w.loss += sums[S_LOSS];
                w.nll += sums[S_NLL];
                w.tokens += (double)(t.pr.tokens - tokens_before);
                w.all_tokens += sums[S_ALL_TOKENS];
                all_tokens += sums[S_ALL_TOKENS];
            }
        }

        bool last = t.pr.step == o->steps;
        if (!pending && !abandoned && o->log_every > 0 && t.pr.step % o->log_every == 0 &&
            (rc = log_step(&t, &w, lr, gnorm, res)) < 0)
            goto fail;
        bool best = false;
        if (!abandoned && t.has_valid &&
            (pending || (o->valid_every > 0 && t.pr.step % o->valid_every == 0 && !last))) {
            double v0 = wall_seconds();
            /* A stop already agreed does not start it; one that comes during it abandons it
             * (on every rank); either way the resumed run repeats it. */
            vr = (valid_result){.abandoned = true};
            if (!stop && (rc = validate(&t, o->valid_decode, 0, &vr)) < 0)
                goto fail;
            if (vr.abandoned) {
                if ((rc = mark_validation_pending(&t, res->train_loss, lr)) < 0)
                    goto fail;
                stop = true;
                why = " (the validation of that step was abandoned: the resumed run does it)";
            } else if ((rc = record_validation(&t, &vr, res->train_loss, lr, &best)) < 0) {
                goto fail;
            }
            t.phase[PH_VALID] += wall_seconds() - v0;
            if (!vr.abandoned) {
                char decoded[96] = "";
                if (vr.decoded)
                    snprintf(decoded, sizeof decoded, "  BLEU %.2f  exact %.4f", vr.bleu,
                             vr.exact_match);
                note(&t, "valid step %lld: loss %.4f  ppl %.3f  token acc %.4f%s%s",
                     (long long)t.pr.step, vr.loss, vr.ppl, vr.token_acc, decoded,
                     best ? "  (best)" : "");
            }
            if (!vr.abandoned && o->early_stop > 0 && t.pr.bad_evals >= o->early_stop) {
                note(&t, "early stop: no improvement in %d validations (best %s %.4f at step "
                     "%lld)", o->early_stop, valid_metric_names[o->best_metric],
                     metric_shown(o->best_metric, t.pr.best_valid), (long long)t.pr.best_step);
                res->early_stopped = true;
            }
        }
        t.pr.seconds = seconds_before + (wall_seconds() - t_start);
        /* A stop writes the checkpoint of its step unless that state is on disk already; a
         * repeated validation rewrites the checkpoint it resumed from, which then holds it. */
        bool due = pending || (o->ckpt_every > 0 && t.pr.step % o->ckpt_every == 0) ||
                   sums[S_CKPT_DUE] > 0 || stop;
        due = due && (pending || t.saved_step != t.pr.step);
        pending = false;
        /* A stop request at the last step still writes its checkpoint (the final one is not
         * reached); an early stop ends the loop, signal or not (the end's validation then
         * honours the signal). */
        stop = stop && !res->early_stopped;
        if ((!last || stop) && !res->early_stopped &&
            (rc = checkpoint(&t, due, best, stop ? CK_STOP : CK_GO_ON)) < 0)
            goto fail;
        if (!stop && !res->early_stopped && t.stop_sig) {
            /* The request came during the checkpoint's write: that write was the stop's. */
            stop = true;
            why = " (the signal came during that checkpoint's write)";
        }
        if (stop && t.saved_step != t.pr.step && (rc = checkpoint(&t, true, false, CK_STOP)) < 0)
            goto fail;
        if (stop) {
            res->stopped = true;
            note_stop(&t, why);
        }
    }
    res->seconds = wall_seconds() - t_start;
    res->tokens_per_s = res->seconds > 0 ? all_tokens / res->seconds : 0;
    res->steps = t.pr.step;
    res->skipped = t.pr.skipped;
    if (!res->stopped) {
        /* The end: a full validation with greedy decoding, then the final checkpoint. */
        bool best = false;
        if (t.log && o->samples > 0 && t.has_valid)
            fprintf(t.log, "validation examples:\n");
        if ((rc = validate(&t, true, o->samples, &vr)) < 0)
            goto fail;
        if (vr.abandoned) {
            /* After an early stop the loop recorded this step's validation already; otherwise
             * the resumed run does the final one. */
            bool marked = !res->early_stopped && t.has_valid;
            if (marked && (rc = mark_validation_pending(&t, res->train_loss, lr)) < 0)
                goto fail;
            if ((marked || t.saved_step != t.pr.step) &&
                (rc = checkpoint(&t, true, false, CK_STOP)) < 0)
                goto fail;
            res->stopped = true;
            note_stop(&t, " (the final validation was abandoned: the resumed run does it)");
        } else {
            /* After an early stop this is the validation the loop just recorded: not twice. */
            if (t.has_valid && !res->early_stopped &&
                (rc = record_validation(&t, &vr, res->train_loss, lr, &best)) < 0)
                goto fail;
            res->valid_loss = vr.loss;
            res->valid_token_acc = vr.token_acc;
            res->exact_match = vr.exact_match;
            res->valid_bleu = vr.bleu;
            t.pr.seconds = seconds_before + res->seconds;
            if ((rc = checkpoint(&t, true, best, CK_FINAL)) < 0)
                goto fail;
        }
    }
    res->params_hash = hash64(HASH64_INIT, t.m.params, t.m.n_params * sizeof(real));
    if (t.log) {
        progress_done(&t.prog);
        fprintf(t.log,
                "final: step %ld, %.1fs, %.0f tokens/s; validation loss %.4f, ppl %.3f, token "
                "accuracy %.4f, BLEU %.2f, exact match %.4f (%ld sentences); skipped steps %ld; "
                "parameters hash %016llx\n",
                res->steps, res->seconds, res->tokens_per_s, vr.loss, vr.ppl, vr.token_acc,
                vr.bleu, vr.exact_match, vr.sentences, res->skipped, res->params_hash);
        fflush(t.log);
    }
    rc = 0;
    if (t.metrics) {
        json_writer j;
        char hash[20];
        snprintf(hash, sizeof hash, "%016llx", res->params_hash);
        record_begin(&j, t.metrics, "final", res->steps);
        json_kbool(&j, "stopped", res->stopped);
        json_kfigure(&j, "valid_loss", vr.loss);
        json_kfigure(&j, "bleu", vr.bleu);
        json_kfigure(&j, "exact_match", vr.exact_match);
        json_kfigure(&j, "tokens_per_s", res->tokens_per_s);
        json_kstr(&j, "params_hash", hash);
        rc = record_end(&j);
    }
    /* --ckpt-error continue lets every write fail; a run that leaves nothing to resume from
     * or decode must not look like a success. */
    if (rc == 0 && t.rank == 0 && o->run_dir[0] && t.ckpts_written == 0 && t.ckpt_failures > 0)
        rc = s2s_fail(S2S_EIO,
                      "train: no checkpoint was written to %s during this run: every write "
                      "failed (--ckpt-error continue)%s%s",
                      o->run_dir, t.intact_ckpt[0] ? "; the newest one is still " : "",
                      t.intact_ckpt);
    rc = agree(&t, rc);
fail:
    trainer_free(&t);
    return rc;
}
