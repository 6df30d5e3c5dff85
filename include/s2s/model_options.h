/* model_options.h - the model's shape as command-line options: one table entry list shared by
 * `s2s train`, `s2s bench` and the commands that rebuild a model from a checkpoint's /config
 * (whose keys are these option names). */
#ifndef S2S_MODEL_OPTIONS_H
#define S2S_MODEL_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "s2s/choice.h"
#include "s2s/model.h"
#include "s2s/options.h"

/* --input-feed (include/s2s/choice.h): auto means on for Luong attention (dot, general), off
 * otherwise. */
#define FEED_CHOICES(X) X(FEED_AUTO, "auto") X(FEED_ON, "on") X(FEED_OFF, "off")
enum { FEED_CHOICES(CHOICE_ENUM) FEED_COUNT };
extern const char *const model_feed_names[]; /* NULL-terminated */
void model_resolve_input_feed(model_config *c, int mode);

/* opt_spec entries for the fields of a model_config member m of struct T, which also has an
 * int input_feed_mode; EMB_DEFAULT and HIDDEN_DEFAULT must be defined where it is expanded.
 * A new model option is a row here (and a field of model_config): checkpoints store it, `s2s
 * info` shows it with the model, and a resumed run refuses to change it unless
 * model_option_fixed says otherwise. */
#define MODEL_OPTIONS(T, m)                                                                        \
    {"cell", OPT_CHOICE, offsetof(T, m.cell), "gru", "recurrent cell", cell_names, 0, 0},          \
    {"layers", OPT_INT, offsetof(T, m.layers), "1", "stacked encoder layers", NULL, 1,            \
     MODEL_MAX_LAYERS},                                                                            \
    {"dec-layers", OPT_INT, offsetof(T, m.dec_layers), "0",                                       \
     "stacked decoder layers (0: as many as the encoder)", NULL, 0, MODEL_MAX_LAYERS},             \
    {"bidir", OPT_BOOL, offsetof(T, m.bidir), "true", "bidirectional encoder", NULL, 0, 0},        \
    {"emb", OPT_INT, offsetof(T, m.emb), EMB_DEFAULT, "embedding size", NULL, 1, 1 << 16},        \
    {"hidden", OPT_INT, offsetof(T, m.hidden), HIDDEN_DEFAULT, "hidden state size", NULL, 1,      \
     1 << 16},                                                                                     \
    {"attn", OPT_CHOICE, offsetof(T, m.attn), "bahdanau",                                             \
     "attention: Bahdanau additive, Luong dot or general", attn_names, 0, 0},                      \
    {"input-feed", OPT_CHOICE, offsetof(T, input_feed_mode), "auto",                             \
     "feed the attentional state to the next step (auto: on for dot and general)",              \
     model_feed_names, 0, 0},                                                                      \
    {"tie-embeddings", OPT_BOOL, offsetof(T, m.tie_embeddings), "false",                          \
     "share the target embeddings with the output layer", NULL, 0, 0},                             \
    {"dropout", OPT_DOUBLE, offsetof(T, m.dropout), "0.3",                                          \
     "dropout on embeddings, between layers and before the output layer", NULL, 0, 0.99}

/* The model configuration stored in a checkpoint's or parameter file's /config (the options
 * above; other keys are ignored), vocabulary sizes left 0. S2S_EFORMAT naming the file and the
 * key for a value that does not parse. */
int model_config_read(const char *path, model_config *cfg);

/* The number of MODEL_OPTIONS entries, and the index of key among them (-1: not a model
 * option). */
int model_option_count(void);
int model_option_index(const char *key);

/* Whether a model option is fixed for the life of a run (it decides the shape of the
 * parameters): all but dropout. */
bool model_option_fixed(const char *key);

#endif
