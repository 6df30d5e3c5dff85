/* torch_parity.c - s2s's loss and every parameter gradient against an independent PyTorch
 * implementation of the same model (scripts/torch_twin.py), for a list of configurations.
 *
 *   torch_parity PYTHON TWIN_SCRIPT [CASE_SUBSTRING]
 *
 * Per configuration: a model with random sizes and U(-0.3, 0.3) parameters, a random batch
 * whose sentences have different lengths (so that padding matters in both encoder directions
 * and in the decoder), one forward/backward pass; the parameters go to a parameter file
 * (paramfile_write, with the configuration as /config) and the batch, loss and gradients to a
 * probe file; then one `PYTHON TWIN_SCRIPT check-list LIST` recomputes every case in float64
 * and fails above the tolerance (TWIN_TOL below; relative error as defined in the script).
 * Built twice: on the float library (what training runs) and on the double one (s2s_f64), where
 * agreement must be to rounding, which no wrong term of any size survives. The twin also writes
 * the parameters back from PyTorch (--resave), and paramfile_read must return them bit for
 * bit: the file format works in both directions.
 * Run through torch_parity.sh, which finds a Python that has torch and h5py or skips. */
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "s2s/model.h"
#include "s2s/paramfile.h"
#include "s2s/rng.h"
#include "s2s/status.h"

/* One entry per configuration: a name (files and the CASE_SUBSTRING filter use it), the model
 * configuration, and the label smoothing of the training loss. Sizes left at 0 are drawn at
 * random (emb, hidden 3..8; vocabularies 8..19); tied embeddings fix E = H. */
typedef struct {
    const char *name;
    model_config cfg;
    double label_smoothing;
    double sampling; /* scheduled sampling: the twin is given the inputs s2s actually read */
} parity_case;

#define CASE(name_, ...) {.name = name_, .cfg = {__VA_ARGS__}}
#define SMOOTHED(name_, eps, ...) {.name = name_, .cfg = {__VA_ARGS__}, .label_smoothing = eps}
#define SAMPLED(name_, p, ...) {.name = name_, .cfg = {__VA_ARGS__}, .sampling = p}
static const parity_case CASES[] = {
    CASE("rnn-l1", .cell = CELL_RNN, .layers = 1),
    CASE("rnn-l1-bidir", .cell = CELL_RNN, .layers = 1, .bidir = true),
    CASE("rnn-l2", .cell = CELL_RNN, .layers = 2),
    CASE("rnn-l2-bidir", .cell = CELL_RNN, .layers = 2, .bidir = true),
    CASE("gru-l1", .cell = CELL_GRU, .layers = 1),
    CASE("gru-l1-bidir", .cell = CELL_GRU, .layers = 1, .bidir = true),
    CASE("gru-l2", .cell = CELL_GRU, .layers = 2),
    CASE("gru-l2-bidir", .cell = CELL_GRU, .layers = 2, .bidir = true),
    CASE("gru-l3-bidir", .cell = CELL_GRU, .layers = 3, .bidir = true),
    CASE("lstm-l1", .cell = CELL_LSTM, .layers = 1),
    CASE("lstm-l1-bidir", .cell = CELL_LSTM, .layers = 1, .bidir = true),
    CASE("lstm-l2", .cell = CELL_LSTM, .layers = 2),
    CASE("lstm-l2-bidir", .cell = CELL_LSTM, .layers = 2, .bidir = true),
    CASE("gru-l1-bidir-bahdanau", .cell = CELL_GRU, .layers = 1, .bidir = true,
         .attn = ATTN_BAHDANAU),
    CASE("lstm-l2-bahdanau", .cell = CELL_LSTM, .layers = 2, .attn = ATTN_BAHDANAU),
    CASE("rnn-l2-bidir-bahdanau", .cell = CELL_RNN, .layers = 2, .bidir = true,
         .attn = ATTN_BAHDANAU),
    CASE("gru-l1-dot", .cell = CELL_GRU, .layers = 1, .attn = ATTN_DOT),
    CASE("lstm-l2-dot-feed", .cell = CELL_LSTM, .layers = 2, .attn = ATTN_DOT, .input_feed = true),
    CASE("gru-l2-bidir-general-feed", .cell = CELL_GRU, .layers = 2, .bidir = true,
         .attn = ATTN_GENERAL, .input_feed = true),
    CASE("lstm-l1-bidir-general", .cell = CELL_LSTM, .layers = 1, .bidir = true,
         .attn = ATTN_GENERAL),
    CASE("gru-l1-general-feed-tied", .cell = CELL_GRU, .layers = 1, .emb = 6, .hidden = 6,
         .attn = ATTN_GENERAL, .input_feed = true, .tie_embeddings = true),
    CASE("gru-l1-bidir-tied", .cell = CELL_GRU, .layers = 1, .bidir = true, .emb = 6,
         .hidden = 6, .tie_embeddings = true),
    CASE("lstm-l1-dec2", .cell = CELL_LSTM, .layers = 1, .dec_layers = 2, .bidir = true),
    CASE("gru-l2-dec1-bahdanau", .cell = CELL_GRU, .layers = 2, .dec_layers = 1,
         .attn = ATTN_BAHDANAU),
    SAMPLED("gru-l2-bidir-sampled", 0.5, .cell = CELL_GRU, .layers = 2, .bidir = true),
    SAMPLED("lstm-l1-bidir-bahdanau-sampled", 0.5, .cell = CELL_LSTM, .layers = 1,
            .bidir = true, .attn = ATTN_BAHDANAU),
    SMOOTHED("gru-l1-bidir-smoothed", 0.1, .cell = CELL_GRU, .layers = 1, .bidir = true),
    SMOOTHED("lstm-l1-general-feed-smoothed", 0.2, .cell = CELL_LSTM, .layers = 1,
             .attn = ATTN_GENERAL, .input_feed = true),
};

/* Gradients are stored at the precision they were computed in. In float, the twin allows 1e-4,
 * or 10x PyTorch's own float32 error where that is larger (Bahdanau's query and key-bias
 * gradients are differences of much larger terms); s2s stays within ~2e-5 elsewhere. In
 * double, s2s and PyTorch agree to ~1e-11, so 1e-9 leaves room for longer sums but none for a
 * wrong term. */
#ifdef S2S_REAL_DOUBLE
#define REAL_H5 H5T_NATIVE_DOUBLE
#define GRAD_FILE_TYPE H5T_IEEE_F64LE
#define TWIN_TOL "1e-9"
#else
#define REAL_H5 H5T_NATIVE_FLOAT
#define GRAD_FILE_TYPE H5T_IEEE_F32LE
#define TWIN_TOL "1e-4"
#endif

enum { MAX_B = 5, MAX_SRC = 7, MAX_TGT = 7 };

static uint32_t draw(rng_stream *s, uint32_t lo, uint32_t hi) /* in [lo, hi] */
{
    return lo + rng_below(s, hi - lo + 1);
}

/* The configuration as /config entries, under s2s's option names. */
static int config_attrs(const model_config *c, double label_smoothing, char buf[][48],
                        const char **attrs)
{
    int n = 0;
#define ENTRY(...) snprintf(buf[n], 48, __VA_ARGS__), attrs[n] = buf[n], n++
    ENTRY("cell=%s", cell_name(c->cell));
    ENTRY("layers=%d", c->layers);
    ENTRY("dec-layers=%d", model_dec_layers(c));
    ENTRY("bidir=%s", c->bidir ? "true" : "false");
    ENTRY("emb=%d", c->emb);
    ENTRY("hidden=%d", c->hidden);
    ENTRY("src-vocab=%d", c->src_vocab);
    ENTRY("tgt-vocab=%d", c->tgt_vocab);
    ENTRY("attn=%s", attn_name(c->attn));
    ENTRY("input-feed=%s", c->input_feed ? "true" : "false");
    ENTRY("tie-embeddings=%s", c->tie_embeddings ? "true" : "false");
    ENTRY("dropout=%g", c->dropout);
    ENTRY("label-smoothing=%.17g", label_smoothing); /* a training option the twin needs */
#undef ENTRY
    attrs[n] = NULL;
    return n;
}

/* A random batch: B sentences of random lengths, one of them at the longest source length, so
 * that the others are padded. */
static int random_batch(batch *bt, const model_config *c, rng_stream *s)
{
    int B = (int)draw(s, 2, MAX_B);
    int src_store[MAX_B][MAX_SRC], tgt_store[MAX_B][MAX_TGT - 1];
    const int *src[MAX_B], *tgt[MAX_B];
    int sl[MAX_B], tl[MAX_B];
    for (int b = 0; b < B; b++) {
        sl[b] = b == 0 ? MAX_SRC : (int)draw(s, 1, MAX_SRC);
        tl[b] = (int)draw(s, 1, MAX_TGT - 1);
        for (int i = 0; i < sl[b]; i++)
            src_store[b][i] = (int)draw(s, TOK_FIRST_WORD, (uint32_t)c->src_vocab - 1);
        for (int i = 0; i < tl[b]; i++)
            tgt_store[b][i] = (int)draw(s, TOK_FIRST_WORD, (uint32_t)c->tgt_vocab - 1);
        src[b] = src_store[b];
        tgt[b] = tgt_store[b];
    }
    return batch_fill(bt, B, src, sl, tgt, tl);
}

/* ---- the probe file ------------------------------------------------------------------------ */

static int write_ints(hid_t g, const char *name, const int *data, int ndim, int d0, int d1)
{
    hsize_t dims[2] = {(hsize_t)d0, (hsize_t)d1};
    hid_t space = H5Screate_simple(ndim, dims, NULL), ds = -1;
    int ok = space >= 0 &&
             (ds = H5Dcreate2(g, name, H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                              H5P_DEFAULT)) >= 0 &&
             H5Dwrite(ds, H5T_NATIVE_INT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;
    if (ds >= 0)
        H5Dclose(ds);
    if (space >= 0)
        H5Sclose(space);
    return ok ? 0 : -1;
}

static int write_scalar_attr(hid_t obj, const char *name, hid_t ftype, hid_t mtype,
                             const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR), a = -1;
    int ok = space >= 0 &&
             (a = H5Acreate2(obj, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, mtype, value) >= 0;
    if (a >= 0)
        H5Aclose(a);
    if (space >= 0)
        H5Sclose(space);
    return ok ? 0 : -1;
}

/* The batch, s2s's loss and token count, and every gradient (float32, as the parameters). */
static int write_probe(const char *path, const model *m, const batch *bt, const output_stats *st)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), g = -1;
    if (f < 0)
        return -1;
    long long tokens = st->tokens;
    int ok = write_scalar_attr(f, "loss", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &st->loss) == 0 &&
             write_scalar_attr(f, "nll", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &st->nll) == 0 &&
             write_scalar_attr(f, "tokens", H5T_STD_I64LE, H5T_NATIVE_LLONG, &tokens) == 0 &&
             (g = H5Gcreate2(f, "batch", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             write_ints(g, "src", bt->src, 2, bt->src_T, bt->B) == 0 &&
             write_ints(g, "src_len", bt->src_len, 1, bt->B, 1) == 0 &&
             /* With scheduled sampling the decoder read some of its own predictions: those
              * inputs (fixed coins, no gradient through the choice) are what the twin gets. */
             write_ints(g, "tgt_in", m->stepwise ? m->dec_ids : bt->tgt_in, 2, bt->tgt_T,
                        bt->B) == 0 &&
             write_ints(g, "tgt_out", bt->tgt_out, 2, bt->tgt_T, bt->B) == 0 &&
             write_ints(g, "tgt_len", bt->tgt_len, 1, bt->B, 1) == 0;
    if (g >= 0)
        H5Gclose(g);
    g = ok ? H5Gcreate2(f, "grads", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
    ok = ok && g >= 0;
    for (int i = 0; ok && i < m->table.n; i++) {
        const param_tensor *t = &m->table.t[i];
        hsize_t dims[2] = {(hsize_t)t->rows, (hsize_t)t->cols};
        hid_t space = H5Screate_simple(t->ndim, dims, NULL), ds = -1;
        ok = space >= 0 &&
             (ds = H5Dcreate2(g, t->name, GRAD_FILE_TYPE, space, H5P_DEFAULT, H5P_DEFAULT,
                              H5P_DEFAULT)) >= 0 &&
             H5Dwrite(ds, REAL_H5, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                      m->grads + t->offset) >= 0;
        if (ds >= 0)
            H5Dclose(ds);
        if (space >= 0)
            H5Sclose(space);
    }
    if (g >= 0)
        H5Gclose(g);
    if (H5Fclose(f) < 0)
        ok = 0;
    return ok ? 0 : -1;
}

/* ---- running the twin ---------------------------------------------------------------------- */

/* Runs argv[0] with argv; its exit status, or -1 if it could not run or was killed. */
static int run(char *const argv[])
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execv(argv[0], argv);
        fprintf(stderr, "torch_parity: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The two halves of a configuration's check, around one Python process for all of them:
 * CASE_WRITE runs s2s's pass and writes the parameter and probe files; CASE_VERIFY rebuilds the
 * same parameters (everything is a function of the case index) and compares them with the file
 * PyTorch wrote back. */
typedef enum { CASE_WRITE, CASE_VERIFY } case_phase;

static void case_paths(const char *dir, const parity_case *pc, char params[512],
                       char probe[512], char resaved[512])
{
    snprintf(params, 512, "%s/%s.params.h5", dir, pc->name);
    snprintf(probe, 512, "%s/%s.probe.h5", dir, pc->name);
    snprintf(resaved, 512, "%s/%s.resaved.h5", dir, pc->name);
}

/* One configuration in one phase; 0 on success. CASE_WRITE appends the case's line to `list`. */
static int run_case(int index, const parity_case *pc, case_phase phase, const char *dir,
                    FILE *list)
{
    model m = {0};
    batch bt = {0};
    real *back = NULL;
    int rc = 1;
    rng_stream s;
    rng_stream_init(&s, 2024, RNG_TEST, (uint32_t)index, 0, 0);
    model_config c = pc->cfg;
    if (!c.emb)
        c.emb = (int)draw(&s, 3, 8);
    if (!c.hidden)
        c.hidden = (int)draw(&s, 3, 8);
    if (!c.src_vocab)
        c.src_vocab = (int)draw(&s, 8, 19);
    if (!c.tgt_vocab)
        c.tgt_vocab = (int)draw(&s, 8, 19);

    if (phase == CASE_WRITE)
        printf("torch_parity: case %s: %s, %d/%d layers%s, E=%d H=%d, vocab %d/%d, attn %s, "
               "label smoothing %g\n",
               pc->name, cell_name(c.cell), c.layers, model_dec_layers(&c),
               c.bidir ? ", bidirectional" : "", c.emb, c.hidden, c.src_vocab, c.tgt_vocab,
               attn_name(c.attn), pc->label_smoothing);
    if (model_init(&m, &c, MAX_B, MAX_SRC, MAX_TGT) < 0 ||
        batch_init(&bt, MAX_B, MAX_SRC, MAX_TGT) < 0 || random_batch(&bt, &c, &s) < 0) {
        fprintf(stderr, "torch_parity: %s: setup failed: %s\n", pc->name, s2s_errmsg(-1));
        goto done;
    }
    model_init_params(&m, (uint32_t)(100 + index), INIT_UNIFORM, 0.3);
    /* The file stores float32: in the double build, both sides must start from the same,
     * float-representable values. */
    for (size_t k = 0; k < m.n_params; k++)
        m.params[k] = (real)(float)m.params[k];
    char params[512], probe[512], resaved[512];
    case_paths(dir, pc, params, probe, resaved);

    if (phase == CASE_WRITE) {
        model_zero_grads(&m);
        output_stats st;
        train_context ctx = {.seed = 1, .label_smoothing = pc->label_smoothing,
                             .sampling = pc->sampling};
        if (model_forward_backward(&m, &bt, &ctx, &st) < 0) {
            fprintf(stderr, "torch_parity: %s: forward/backward failed: %s\n", pc->name,
                    s2s_errmsg(-1));
            goto done;
        }
        char buf[16][48];
        const char *attrs[17];
        config_attrs(&c, pc->label_smoothing, buf, attrs);
        int st_w = paramfile_write(params, &m.table, m.params, attrs);
        if (st_w < 0 || write_probe(probe, &m, &bt, &st) < 0) {
            fprintf(stderr, "torch_parity: %s: cannot write the input files: %s\n", pc->name,
                    st_w < 0 ? s2s_errmsg(st_w) : probe);
            goto done;
        }
        fprintf(list, "%s %s %s\n", params, probe, resaved);
        rc = 0;
        goto done;
    }

    if (!(back = param_buffer_alloc(&m.table))) {
        fprintf(stderr, "torch_parity: %s: out of memory\n", pc->name);
        goto done;
    }
    int st_r = paramfile_read(resaved, &m.table, back);
    if (st_r < 0) {
        fprintf(stderr, "torch_parity: %s: reading PyTorch's file: %s\n", pc->name,
                s2s_errmsg(st_r));
        goto done;
    }
    for (int i = 0; i < m.table.n; i++) {
        const param_tensor *t = &m.table.t[i];
        if (memcmp(back + t->offset, m.params + t->offset, t->size * sizeof(real)) != 0) {
            fprintf(stderr, "torch_parity: %s: tensor %s changed on the way through PyTorch\n",
                    pc->name, t->name);
            goto done;
        }
    }
    printf("torch_parity: case %s: parameters survive PyTorch bit for bit\n", pc->name);
    rc = 0;
done:
    free(back);
    batch_free(&bt);
    model_free(&m);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: torch_parity PYTHON TWIN_SCRIPT [CASE_SUBSTRING]\n");
        return 2;
    }
    const char *tmpdir = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/s2s_parity_XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (!mkdtemp(dir)) {
        fprintf(stderr, "torch_parity: cannot create a directory like %s: %s\n", dir,
                strerror(errno));
        return 1;
    }
    int n = (int)(sizeof CASES / sizeof CASES[0]), ran = 0, failed = 0;
    char list_path[600];
    snprintf(list_path, sizeof list_path, "%s/cases.txt", dir);
    FILE *list = fopen(list_path, "w");
    if (!list) {
        fprintf(stderr, "torch_parity: cannot create %s: %s\n", list_path, strerror(errno));
        return 1;
    }
    bool selected[sizeof CASES / sizeof CASES[0]];
    for (int i = 0; i < n; i++) {
        selected[i] = argc < 4 || strstr(CASES[i].name, argv[3]) != NULL;
        if (!selected[i])
            continue;
        ran++;
        if (run_case(i, &CASES[i], CASE_WRITE, dir, list) != 0) {
            selected[i] = false; /* reported; nothing for the twin to check */
            failed++;
        }
    }
    if (fclose(list) != 0) {
        fprintf(stderr, "torch_parity: cannot write %s\n", list_path);
        return 1;
    }
    /* One Python process checks every case (starting one with PyTorch costs about two
     * seconds, more than a case's own work) and writes each case's parameters back. */
    char *check[] = {(char *)argv[1], (char *)argv[2], "check-list", "--tol", TWIN_TOL,
                     list_path, NULL};
    int status = run(check);
    if (status != 0)
        fprintf(stderr, "torch_parity: the PyTorch twin disagrees (exit status %d; its "
                        "FAILED lines name the cases)\n", status);
    for (int i = 0; i < n; i++)
        if (selected[i])
            failed += run_case(i, &CASES[i], CASE_VERIFY, dir, NULL);
    if (failed || status != 0) {
        fprintf(stderr, "torch_parity: FAILED: %s%d of %d configurations failed to run or to "
                        "survive PyTorch (files kept in %s)\n",
                status != 0 ? "the twin disagrees (above); " : "", failed, ran, dir);
        return 1;
    }
    char *rm[] = {"/bin/rm", "-rf", dir, NULL};
    run(rm);
    printf("torch_parity: all %d configurations agree with PyTorch\n", ran);
    return ran > 0 ? 0 : 1;
}
