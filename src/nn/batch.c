/* batch.c - padding sentence pairs into time-major batches. */
#include "s2s/batch.h"

#include <stdlib.h>
#include <string.h>

#include "s2s/status.h"

int batch_init(batch *bt, int max_B, int max_src, int max_tgt)
{
    memset(bt, 0, sizeof *bt);
    if (max_B <= 0 || max_src <= 0 || max_tgt <= 1)
        return s2s_fail(S2S_EINVAL, "batch: invalid capacity B=%d src=%d tgt=%d", max_B, max_src,
                        max_tgt);
    bt->max_B = max_B;
    bt->max_src = max_src;
    bt->max_tgt = max_tgt;
    bt->src = calloc((size_t)max_src * max_B, sizeof(int));
    bt->src_len = calloc((size_t)max_B, sizeof(int));
    bt->tgt_in = calloc((size_t)max_tgt * max_B, sizeof(int));
    bt->tgt_out = calloc((size_t)max_tgt * max_B, sizeof(int));
    bt->tgt_len = calloc((size_t)max_B, sizeof(int));
    bt->ids = calloc((size_t)max_B, sizeof(uint32_t));
    if (!bt->src || !bt->src_len || !bt->tgt_in || !bt->tgt_out || !bt->tgt_len || !bt->ids) {
        batch_free(bt);
        return s2s_fail(S2S_ENOMEM, "batch: cannot allocate %d x (%d + %d) tokens", max_B,
                        max_src, max_tgt);
    }
    return 0;
}

void batch_free(batch *bt)
{
    free(bt->src);
    free(bt->src_len);
    free(bt->tgt_in);
    free(bt->tgt_out);
    free(bt->tgt_len);
    free(bt->ids);
    memset(bt, 0, sizeof *bt);
}

int batch_fill(batch *bt, int B, const int *const *src, const int *src_len,
               const int *const *tgt, const int *tgt_len)
{
    if (B <= 0 || B > bt->max_B)
        return s2s_fail(S2S_EINVAL, "batch: %d sentences do not fit a batch of %d", B, bt->max_B);
    int src_T = 0, tgt_T = 0;
    for (int b = 0; b < B; b++) {
        if (src_len[b] <= 0 || src_len[b] > bt->max_src)
            return s2s_fail(S2S_EINVAL, "batch: source sentence %d has length %d (allowed 1..%d)",
                            b, src_len[b], bt->max_src);
        if (src_len[b] > src_T)
            src_T = src_len[b];
        if (tgt) {
            if (tgt_len[b] <= 0 || tgt_len[b] + 1 > bt->max_tgt)
                return s2s_fail(S2S_EINVAL,
                                "batch: target sentence %d has length %d (allowed 1..%d)", b,
                                tgt_len[b], bt->max_tgt - 1);
            if (tgt_len[b] + 1 > tgt_T)
                tgt_T = tgt_len[b] + 1;
        }
    }
    bt->B = B;
    bt->src_T = src_T;
    bt->tgt_T = tgt_T;
    for (int t = 0; t < src_T; t++)
        for (int b = 0; b < B; b++)
            bt->src[t * B + b] = t < src_len[b] ? src[b][t] : TOK_PAD;
    for (int b = 0; b < B; b++) {
        bt->src_len[b] = src_len[b];
        bt->ids[b] = (uint32_t)b;
    }
    for (int b = 0; b < B; b++) {
        int m = tgt ? tgt_len[b] : 0;
        bt->tgt_len[b] = tgt ? m + 1 : 0;
        for (int t = 0; t < tgt_T; t++) {
            bt->tgt_in[t * B + b] = t == 0 ? TOK_BOS : t <= m ? tgt[b][t - 1] : TOK_PAD;
            bt->tgt_out[t * B + b] = t < m ? tgt[b][t] : t == m ? TOK_EOS : TOK_PAD;
        }
    }
    return 0;
}

long batch_target_tokens(const batch *bt)
{
    long n = 0;
    for (int b = 0; b < bt->B; b++)
        n += bt->tgt_len[b];
    return n;
}
