/* tokens.h - the reserved token ids, the same on both sides of every vocabulary. */
#ifndef S2S_TOKENS_H
#define S2S_TOKENS_H

#define TOK_PAD 0        /* padding: never a target, no gradient to its embedding */
#define TOK_UNK 1        /* a word outside the vocabulary */
#define TOK_BOS 2        /* <s>: first decoder input */
#define TOK_EOS 3        /* </s>: last decoder output */
#define TOK_FIRST_WORD 4 /* ids of real words start here */

#endif
