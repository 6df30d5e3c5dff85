/* train.c - the data-parallel training loop of include/s2s/train.h, as the story of a run: the
 * trainer set up and started (fresh or resumed), then step after step: the optimizer step, a
 * progress line, a validation, a checkpoint, each when it is due, until the last step, an early
 * stop or a stop request; then the end: a full validation with greedy decoding, the final
 * checkpoint and the final line. The choice lists of include/s2s/train.h are defined here.
 *
 * What each part does in detail is in the file named after it (src/train/trainer.h lists
 * them); this file holds only when each happens and what the run's state is between them. */
#include "s2s/train.h"

#include <math.h>
#include <string.h>

#include "s2s/hash.h"
#include "s2s/timer.h"
#include "train/trainer.h"

const char *const tf_schedule_names[] = {TF_CHOICES(CHOICE_NAME) NULL};
const char *const ckpt_error_names[] = {CKPT_ERROR_CHOICES(CHOICE_NAME) NULL};
const char *const valid_metric_names[] = {METRIC_CHOICES(CHOICE_NAME) NULL};

double tf_ratio_at(tf_schedule schedule, double r, double r_min, double k, long step, long steps)
{
    switch (schedule) {
    case TF_LINEAR: return steps > 0 ? r + (r_min - r) * (double)step / (double)steps : r;
    case TF_INVERSE_SIGMOID: return k / (k + exp((double)step / k));
    default: return r;
    }
}

/* The loop's state between its iterations. */
typedef struct {
    double seconds_before; /* training time of the run before this process */
    double lr, gnorm;      /* of the last step */
    /* A validation to do first: a stop abandoned it and its row in the checkpoint says so
     * (on resume), or one due at this step (in the loop). */
    bool pending;
    bool stop;             /* a stop request agreed by every rank: this iteration is the last */
    const char *why;       /* what the stop interrupted, for its line ("" for nothing) */
    log_window w;
    double all_tokens;     /* source and target tokens trained on by this process */
    valid_result vr;       /* the last validation */
} run_state;

/* After the start: the start's lines, and what a resumed run does first. A validation that a
 * stop abandoned is done first (its row in the checkpoint says so), and a run that had ended
 * by --early-stop only ends: the resumed run then records what an uninterrupted one would
 * have. */
static void run_begin(trainer *t, run_state *r, train_result *res)
{
    trainer_log_start(t);
    t->t_start = wall_seconds();
    *r = (run_state){.seconds_before = t->pr.seconds, .why = ""};
    r->w = (log_window){.t_start = t->t_start};
    r->pending = trainer_take_pending_validation(t, &res->train_loss, &r->lr);
    if (r->pending)
        trainer_note(t, "resume: the validation of step %lld was abandoned by the stop: doing it "
                        "now",
                     (long long)t->pr.step);
    if (!r->pending && t->pr.step > 0 && trainer_early_stop_due(t)) {
        trainer_note(t, "resume: the run had stopped early at step %lld (no improvement in %lld "
                        "validations, --early-stop %d): only its end remains",
                     (long long)t->pr.step, (long long)t->pr.bad_evals, t->o->early_stop);
        res->early_stopped = true;
    }
    /* At the end, the final validation does it. */
    r->pending = r->pending && t->pr.step < t->o->steps;
}

/* A resumed run whose checkpoint is already its end: every step done and, with a validation
 * split, the final validation recorded (an abandoned one is pending and is done instead).
 * Resuming it changes nothing, so nothing is validated, logged or written again. */
static bool run_complete(const trainer *t, const run_state *r, const train_result *res)
{
    /* From what every rank has (the broadcast state), so that all of them agree. */
    return t->o->resume[0] && t->pr.step > 0 && t->pr.step >= t->o->steps && !r->pending &&
           !res->early_stopped && (!t->has_valid || trainer_validated_at_step(t));
}

/* The next optimizer step, its figures added to the logging window. */
static int run_step(trainer *t, run_state *r, double *sums, bool *abandoned)
{
    const train_options *o = t->o;
    long next = t->pr.step + 1;
    r->lr = lr_value(&t->lrc, &t->lrs, next);
    double tf = tf_ratio_at(o->tf_schedule, o->teacher_forcing, o->tf_min, o->tf_k, next, o->steps);
    int64_t tokens_before = t->pr.tokens;
    int rc = trainer_step(t, r->lr, tf, &r->gnorm, sums, abandoned);
    if (rc < 0)
        return rc;
    r->stop = sums[S_STOP] > 0 || *abandoned;
    if (*abandoned) {
        r->why = " (reading the data of the next step was interrupted: that step is redone)";
        return 0;
    }
    r->w.loss += sums[S_LOSS];
    r->w.nll += sums[S_NLL];
    r->w.tokens += (double)(t->pr.tokens - tokens_before);
    r->w.all_tokens += sums[S_ALL_TOKENS];
    r->all_tokens += sums[S_ALL_TOKENS];
    return 0;
}

/* A validation in the loop. A stop already agreed does not start it; one that comes during it
 * abandons it (on every rank); either way the resumed run repeats it. */
static int run_validation(trainer *t, run_state *r, train_result *res, bool *best)
{
    double v0 = wall_seconds();
    int rc;
    r->vr = (valid_result){.abandoned = true};
    if (!r->stop) {
        trainer_swap_ema(t); /* with --ema, validation judges the moving average */
        rc = trainer_validate(t, t->o->valid_decode, 0, &r->vr);
        trainer_swap_ema(t);
        if (rc < 0)
            return rc;
    }
    if (r->vr.abandoned) {
        if ((rc = trainer_mark_validation_pending(t, res->train_loss, r->lr)) < 0)
            return rc;
        r->stop = true;
        r->why = " (the validation of that step was abandoned: the resumed run does it)";
    } else if ((rc = trainer_record_validation(t, &r->vr, res->train_loss, r->lr, best)) < 0) {
        return rc;
    }
    t->phase[PH_VALID] += wall_seconds() - v0;
    if (!r->vr.abandoned)
        res->early_stopped = trainer_report_validation(t, &r->vr, *best);
    return 0;
}

/* The checkpoints at the end of an iteration, and a stop's. A stop writes the checkpoint of its
 * step unless that state is on disk already; a repeated validation rewrites the checkpoint it
 * resumed from, which then holds it. */
static int run_checkpoints(trainer *t, run_state *r, train_result *res, const double *sums,
                           bool last, bool best)
{
    const train_options *o = t->o;
    int rc;
    bool due = r->pending || (o->ckpt_every > 0 && t->pr.step % o->ckpt_every == 0) ||
               sums[S_CKPT_DUE] > 0 || r->stop;
    due = due && (r->pending || t->saved_step != t->pr.step);
    r->pending = false;
    /* A stop request at the last step still writes its checkpoint (the final one is not
     * reached); an early stop ends the loop, signal or not (the end's validation then
     * honours the signal). */
    r->stop = r->stop && !res->early_stopped;
    if ((!last || r->stop) && !res->early_stopped &&
        (rc = trainer_checkpoint(t, due, best, r->stop ? CK_STOP : CK_GO_ON)) < 0)
        return rc;
    if (!r->stop && !res->early_stopped && t->stop_sig) {
        /* The request came during the checkpoint's write: that write was the stop's. */
        r->stop = true;
        r->why = " (the signal came during that checkpoint's write)";
    }
    if (r->stop && t->saved_step != t->pr.step &&
        (rc = trainer_checkpoint(t, true, false, CK_STOP)) < 0)
        return rc;
    if (r->stop) {
        res->stopped = true;
        trainer_note_stop(t, r->why);
    }
    return 0;
}

/* One iteration of the loop: the step (unless a pending validation comes first), then each of
 * a progress line, a validation and checkpoints when due. */
static int run_iteration(trainer *t, run_state *r, train_result *res)
{
    const train_options *o = t->o;
    double sums[N_STEP_SUMS] = {0};
    bool abandoned = false, best = false;
    int rc;
    r->why = "";
    if (!r->pending && (rc = run_step(t, r, sums, &abandoned)) < 0)
        return rc;
    bool last = t->pr.step == o->steps;
    if (!r->pending && !abandoned && o->log_every > 0 && t->pr.step % o->log_every == 0 &&
        (rc = trainer_log_step(t, &r->w, r->lr, r->gnorm, res)) < 0)
        return rc;
    if (!abandoned && t->has_valid &&
        (r->pending || (o->valid_every > 0 && t->pr.step % o->valid_every == 0 && !last)) &&
        (rc = run_validation(t, r, res, &best)) < 0)
        return rc;
    t->pr.seconds = r->seconds_before + (wall_seconds() - t->t_start);
    return run_checkpoints(t, r, res, sums, last, best);
}

/* The end of a run that was not stopped: a full validation with greedy decoding, then the
 * final checkpoint; a stop during that validation leaves it to the resumed run. */
static int run_final(trainer *t, run_state *r, train_result *res)
{
    const train_options *o = t->o;
    bool best = false;
    int rc;
    if (t->log && o->samples > 0 && t->has_valid)
        fprintf(t->log, "validation examples:\n");
    trainer_swap_ema(t);
    rc = trainer_validate(t, true, o->samples, &r->vr);
    trainer_swap_ema(t);
    if (rc < 0)
        return rc;
    if (r->vr.abandoned) {
        /* After an early stop the loop recorded this step's validation already; otherwise
         * the resumed run does the final one. */
        bool marked = !res->early_stopped && t->has_valid;
        if (marked && (rc = trainer_mark_validation_pending(t, res->train_loss, r->lr)) < 0)
            return rc;
        if ((marked || t->saved_step != t->pr.step) &&
            (rc = trainer_checkpoint(t, true, false, CK_STOP)) < 0)
            return rc;
        res->stopped = true;
        trainer_note_stop(t, " (the final validation was abandoned: the resumed run does it)");
        return 0;
    }
    /* After an early stop this is the validation the loop just recorded: not twice. */
    if (t->has_valid && !res->early_stopped &&
        (rc = trainer_record_validation(t, &r->vr, res->train_loss, r->lr, &best)) < 0)
        return rc;
    res->valid_loss = r->vr.loss;
    res->valid_token_acc = r->vr.token_acc;
    res->exact_match = r->vr.exact_match;
    res->valid_bleu = r->vr.bleu;
    t->pr.seconds = r->seconds_before + res->seconds;
    return trainer_checkpoint(t, true, best, CK_FINAL);
}

/* After the loop: the run's figures, the end (unless stopped) and the parameters' hash. */
static int run_end(trainer *t, run_state *r, train_result *res)
{
    res->seconds = wall_seconds() - t->t_start;
    res->tokens_per_s = res->seconds > 0 ? r->all_tokens / res->seconds : 0;
    res->steps = t->pr.step;
    res->skipped = t->pr.skipped;
    int rc;
    if (!res->stopped && (rc = run_final(t, r, res)) < 0)
        return rc;
    res->params_hash = hash64(HASH64_INIT, t->m.params, t->m.n_params * sizeof(real));
    return 0;
}

int train_run(const train_options *o, MPI_Comm comm, FILE *log, train_result *res)
{
    trainer t;
    run_state r;
    int rc;
    memset(res, 0, sizeof *res);
    if ((rc = trainer_init(&t, o, comm, log)) < 0 || (rc = trainer_start(&t)) < 0)
        goto done;
    run_begin(&t, &r, res);
    if (run_complete(&t, &r, res)) {
        trainer_note(&t, "resume: %s is the end of the run (step %lld of %ld, its final "
                         "validation recorded): nothing to do; a larger --steps trains on",
                     t.intact_ckpt, (long long)t.pr.step, o->steps);
        res->steps = t.pr.step;
        res->params_hash = hash64(HASH64_INIT, t.m.params, t.m.n_params * sizeof(real));
        goto done; /* rc is 0 */
    }
    while ((r.pending || t.pr.step < o->steps) && !r.stop && !res->early_stopped)
        if ((rc = run_iteration(&t, &r, res)) < 0)
            goto done;
    if ((rc = run_end(&t, &r, res)) < 0)
        goto done;
    /* The final line and record come first: a run whose every checkpoint write failed
     * (--ckpt-error continue) still reports its figures before its error. */
    rc = trainer_log_final(&t, res, &r.vr);
    if (rc == 0)
        rc = trainer_check_written(&t);
    rc = trainer_agree(&t, rc);
done:
    trainer_free(&t);
    return rc;
}
