/* train_log.c - what rank 0 tells about a run, for people and for programs: the message lines
 * and the progress display on its log, the run directory, and every record of metrics.jsonl
 * (one function per record type: the table of docs/training.md), each line flushed as written.
 *
 * Separate so that the format of the run's outputs is in one place: the loop says what
 * happened, this file says how it reads. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "s2s/blas_core.h"
#include "s2s/json.h"
#include "s2s/status.h"
#include "s2s/timer.h"
#include "train/trainer.h"

static const char *const PHASE_NAMES[N_PHASES] = {TRAIN_PHASES(CHOICE_NAME)};

void trainer_note(trainer *t, const char *fmt, ...)
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

/* ---- the run directory ------------------------------------------------------------------ */

/* dir and its missing parents. */
int trainer_make_run_dir(const char *dir)
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

/* run_dir/metrics.jsonl, appended to: a resumed run goes on with the records of the first. */
int trainer_open_metrics(trainer *t)
{
    char path[OPT_STRING_MAX + 32];
    snprintf(path, sizeof path, "%s/metrics.jsonl", t->o->run_dir);
    if (!(t->metrics = fopen(path, "a")))
        return s2s_fail(S2S_EIO, "cannot open %s: %s", path, strerror(errno));
    return 0;
}

/* ---- lines ------------------------------------------------------------------------------ */

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
    trainer_note(t, "s2s train: %s, %s kernels (%s)%s", bc->version, bc->kernel, bc->origin,
                 below);
}

static void print_header(trainer *t)
{
    const train_options *o = t->o;
    const model_config *c = &t->m.cfg;
    trainer_note(t,
                 "s2s train: %s (%ld training, %ld validation pairs, vocabularies %d/%d), %s "
                 "x%d%s%s%s, emb %d, hidden %d, %zu parameters; %d rank%s x %d thread%s, "
                 "global batch <= %d sentences%s x %d, %s lr %g, %ld steps",
                 o->data, ds_count(t->ds, SPLIT_TRAIN), ds_count(t->ds, SPLIT_VALID),
                 c->src_vocab, c->tgt_vocab, cell_name(c->cell), c->layers,
                 c->bidir ? " bidirectional" : "", c->attn != ATTN_NONE ? ", attention " : "",
                 c->attn != ATTN_NONE ? attn_name(c->attn) : "", c->emb, c->hidden,
                 param_table_count(&t->m.table), t->size, t->size == 1 ? "" : "s", o->threads,
                 o->threads == 1 ? "" : "s", o->batch, o->batch_tokens ? " (token-limited)" : "",
                 o->accum, optim_name(o->optim), o->lr, o->steps);
}

/* The start's lines: what is trained (a new run only: a resumed one said where it resumed)
 * and the kernels. */
void trainer_log_start(trainer *t)
{
    if (t->pr.step == 0 || t->initialized)
        print_header(t);
    print_blas_core(t);
}

/* ---- metrics.jsonl ---------------------------------------------------------------------- */

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

/* Every rank at a logging step: phase times reduced over ranks; rank 0 prints and records. */
int trainer_log_step(trainer *t, log_window *w, double lr, double gnorm, train_result *res)
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
    if (!t->metrics)
        return 0;
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

/* A step skipped on a non-finite gradient norm: its line and record. */
int trainer_log_skip(trainer *t, double gnorm)
{
    trainer_note(t, "step %lld: gradient norm is %g: step skipped on every rank (%lld in a row)",
                 (long long)t->pr.step, gnorm, (long long)t->pr.nonfinite_streak);
    if (!t->metrics)
        return 0;
    json_writer j;
    record_begin(&j, t->metrics, "skip", t->pr.step);
    json_kint(&j, "streak", t->pr.nonfinite_streak);
    return record_end(&j);
}

int trainer_log_valid(trainer *t, const valid_result *vr, bool best)
{
    if (!t->metrics)
        return 0;
    json_writer j;
    record_begin(&j, t->metrics, "valid", t->pr.step);
    json_kfigure(&j, "loss", vr->loss);
    json_kfigure(&j, "ppl", vr->ppl);
    json_kfigure(&j, "token_acc", vr->token_acc);
    if (vr->decoded) {
        char sig[BLEU_SIGNATURE_MAX];
        trainer_bleu_signature(sig);
        json_kfigure(&j, "bleu", vr->bleu);
        json_kfigure(&j, "exact_match", vr->exact_match);
        json_kfigure(&j, "bleu_tokens", vr->bleu_tokens);
        json_kstr(&j, "bleu_signature", sig);
    }
    json_kint(&j, "sentences", vr->sentences);
    json_kbool(&j, "best", best);
    return record_end(&j);
}

/* One call of trainer_checkpoint on rank 0: the last file it tried, and its status rc. A
 * misuse of the writer is a bug: its status stops the run. */
int trainer_log_checkpoint(trainer *t, const char *file, double seconds, int rc)
{
    if (!t->metrics)
        return 0;
    json_writer j;
    record_begin(&j, t->metrics, "checkpoint", t->pr.step);
    json_kstr(&j, "file", file);
    json_kfixed(&j, "seconds", seconds, 3);
    json_kbool(&j, "ok", rc == 0);
    if (rc < 0)
        json_kstr(&j, "error", s2s_errmsg(rc));
    return record_end(&j);
}

/* The end of the run, completed or stopped: the final line and record. */
int trainer_log_final(trainer *t, const train_result *res, const valid_result *vr)
{
    /* A figure that was not measured (no final validation: a stopped run, no validation split;
     * no decoding: --no-valid-decode) is said to be absent, never shown as 0. */
    bool valid = vr->sentences > 0 && !vr->abandoned, decoded = valid && vr->decoded;
    if (t->log) {
        progress_done(&t->prog);
        char figures[256] = "no final validation", bleu[32] = "-", exact[32] = "-";
        if (decoded) {
            snprintf(bleu, sizeof bleu, "%.2f", vr->bleu);
            snprintf(exact, sizeof exact, "%.4f", vr->exact_match);
        }
        if (valid)
            snprintf(figures, sizeof figures,
                     "validation loss %.4f, ppl %.3f, token accuracy %.4f, BLEU %s, exact match %s "
                     "(%ld sentences)",
                     vr->loss, vr->ppl, vr->token_acc, bleu, exact, vr->sentences);
        fprintf(t->log,
                "final: step %ld, %.1fs, %.0f tokens/s; %s; skipped steps %ld; parameters hash "
                "%016llx\n",
                res->steps, res->seconds, res->tokens_per_s, figures, res->skipped,
                res->params_hash);
        if (decoded) {
            char sig[BLEU_SIGNATURE_MAX];
            trainer_bleu_signature(sig);
            fprintf(t->log, "  BLEU signature %s (token BLEU %.2f)\n", sig, vr->bleu_tokens);
        }
        fflush(t->log);
    }
    if (!t->metrics)
        return 0;
    json_writer j;
    char hash[20];
    snprintf(hash, sizeof hash, "%016llx", res->params_hash);
    record_begin(&j, t->metrics, "final", res->steps);
    json_kbool(&j, "stopped", res->stopped);
    json_kfigure(&j, "valid_loss", valid ? vr->loss : NAN); /* NaN: null, not measured */
    json_kfigure(&j, "bleu", decoded ? vr->bleu : NAN);
    json_kfigure(&j, "exact_match", decoded ? vr->exact_match : NAN);
    json_kfigure(&j, "bleu_tokens", decoded ? vr->bleu_tokens : NAN);
    json_kfigure(&j, "tokens_per_s", res->tokens_per_s);
    json_kstr(&j, "params_hash", hash);
    return record_end(&j);
}
