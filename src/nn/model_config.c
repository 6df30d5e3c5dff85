/* model_config.c - a model configuration's checks and the widths it implies (declared in
 * include/s2s/model_config.h), apart from model.c so that the step-major decoder, which needs
 * the widths, does not call into the model that calls it. */
#include "s2s/model_config.h"

#include "s2s/status.h"
#include "s2s/tokens.h"

int model_config_check(const model_config *cfg)
{
    if (cfg->cell != CELL_RNN && cfg->cell != CELL_GRU && cfg->cell != CELL_LSTM)
        return s2s_fail(S2S_EINVAL, "model: unknown cell type %d", (int)cfg->cell);
    if (cfg->layers < 1 || cfg->layers > MODEL_MAX_LAYERS)
        return s2s_fail(S2S_EINVAL, "model: layers must be in 1..%d, got %d", MODEL_MAX_LAYERS,
                        cfg->layers);
    if (cfg->emb < 1 || cfg->hidden < 1 || cfg->hidden > RNN_MAX_HIDDEN)
        return s2s_fail(S2S_EINVAL, "model: emb and hidden must be in 1..%d, got %d and %d",
                        RNN_MAX_HIDDEN, cfg->emb, cfg->hidden);
    if (cfg->dec_layers < 0 || cfg->dec_layers > MODEL_MAX_LAYERS)
        return s2s_fail(S2S_EINVAL, "model: decoder layers must be in 0..%d, got %d",
                        MODEL_MAX_LAYERS, cfg->dec_layers);
    if ((unsigned)cfg->attn > ATTN_GENERAL)
        return s2s_fail(S2S_EINVAL, "model: unknown attention type %d", (int)cfg->attn);
    int DM = (cfg->bidir ? 2 : 1) * cfg->hidden;
    if (cfg->attn == ATTN_DOT && DM != cfg->hidden)
        return s2s_fail(S2S_EINVAL,
                        "model: dot attention needs decoder states and encoder outputs of one "
                        "size, but the decoder state has %d and the %s encoder output %d "
                        "(use --attn general, or a unidirectional encoder)",
                        cfg->hidden, cfg->bidir ? "bidirectional" : "unidirectional", DM);
    if (cfg->input_feed && cfg->attn != ATTN_DOT && cfg->attn != ATTN_GENERAL)
        return s2s_fail(S2S_EINVAL, "model: input feeding needs Luong attention (dot or "
                                    "general), not '%s'",
                        attn_name(cfg->attn));
    if (cfg->tie_embeddings && model_feature_size(cfg) != cfg->emb)
        return s2s_fail(S2S_EINVAL,
                        "model: tied embeddings need the output layer's input (%d) to equal the "
                        "embedding size (%d)",
                        model_feature_size(cfg), cfg->emb);
    if (!(cfg->dropout >= 0 && cfg->dropout < 1))
        return s2s_fail(S2S_EINVAL, "model: dropout must be in [0, 1), got %g", cfg->dropout);
    if (cfg->src_vocab <= TOK_FIRST_WORD || cfg->tgt_vocab <= TOK_FIRST_WORD)
        return s2s_fail(S2S_EINVAL,
                        "model: vocabularies must hold more than the %d reserved tokens, got "
                        "src %d, tgt %d",
                        TOK_FIRST_WORD, cfg->src_vocab, cfg->tgt_vocab);
    return 0;
}

int model_dec_layers(const model_config *cfg)
{
    return cfg->dec_layers > 0 ? cfg->dec_layers : cfg->layers;
}

int model_feature_size(const model_config *cfg)
{
    int DM = (cfg->bidir ? 2 : 1) * cfg->hidden;
    return cfg->attn == ATTN_BAHDANAU ? cfg->hidden + DM + cfg->emb : cfg->hidden;
}

int model_dec_input_size(const model_config *cfg)
{
    int DM = (cfg->bidir ? 2 : 1) * cfg->hidden;
    if (cfg->attn == ATTN_BAHDANAU)
        return cfg->emb + DM;
    return cfg->input_feed ? cfg->emb + cfg->hidden : cfg->emb;
}
