/* test_vocab.c - tokenizers, vocabularies and detokenization (src/data/vocab.c): text -> tokens ->
 * ids -> text round trips for both tokenizers, lowercasing, unknown and reserved tokens, the
 * order of built vocabularies, malformed vocabularies, SentencePiece detection. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/status.h"
#include "s2s/tokens.h"
#include "s2s/vocab.h"

static void expect_tokens(const token_list *t, const char *const *want, int n)
{
    cr_assert_eq(t->n, n, "%d tokens, expected %d", t->n, n);
    for (int i = 0; i < n; i++)
        cr_expect_str_eq(t->tok[i], want[i], "token %d", i);
}

Test(vocab, whitespace_tokens_and_lowercase)
{
    token_list t = {0};
    char line[] = "  The cat\tSAT,  on  the mat ";
    cr_assert_eq(tokenize(TOK_WHITESPACE, true, NULL, line, &t), 0);
    const char *want[] = {"the", "cat", "sat,", "on", "the", "mat"};
    expect_tokens(&t, want, 6);
    char empty[] = "   \t ";
    cr_assert_eq(tokenize(TOK_WHITESPACE, false, NULL, empty, &t), 0);
    cr_expect_eq(t.n, 0, "a line of spaces has no tokens");
    tokens_free(&t);
}

Test(vocab, character_tokens_mark_spaces)
{
    token_list t = {0};
    char line[] = " h\xC3\xA9 \xE2\x82\xAC ";  /* " hé € " */
    cr_assert_eq(tokenize(TOK_CHARS, false, NULL, line, &t), 0);
    const char *want[] = {"h", "\xC3\xA9", "\xE2\x96\x81", "\xE2\x82\xAC"};
    expect_tokens(&t, want, 4);
    char *buf = NULL;
    size_t cap = 0;
    long n = detokenize(DETOK_PIECES, NULL, (const char *const *)t.tok, t.n, &buf, &cap);
    cr_expect_str_eq(buf, "h\xC3\xA9 \xE2\x82\xAC", "characters back to text");
    cr_expect_eq(n, (long)strlen(buf));
    free(buf);
    tokens_free(&t);
}

Test(vocab, detokenize_space_and_sentencepiece)
{
    char *buf = NULL;
    size_t cap = 0;
    const char *words[] = {"a", "b,", "c"};
    detokenize(DETOK_SPACE, NULL, words, 3, &buf, &cap);
    cr_expect_str_eq(buf, "a b, c");
    const char *pieces[] = {"\xE2\x96\x81He", "llo", "\xE2\x96\x81world", "!"};
    detokenize(DETOK_PIECES, NULL, pieces, 4, &buf, &cap);
    cr_expect_str_eq(buf, "Hello world!", "SentencePiece pieces joined, markers to spaces");
    detokenize(DETOK_SPACE, NULL, words, 0, &buf, &cap);
    cr_expect_str_eq(buf, "", "no tokens: empty text");
    free(buf);
}

Test(vocab, build_orders_by_count_then_text)
{
    vocab v = {0};
    const char *text[] = {"b", "a", "c", "a", "b", "a", "d"};
    for (int i = 0; i < 7; i++)
        cr_assert_not_null(vocab_count(&v, text[i], 1));
    cr_assert_eq(vocab_build(&v, 1, 0), 0);
    const char *want[] = {"<pad>", "<unk>", "<s>", "</s>", "a", "b", "c", "d"};
    cr_assert_eq(v.size, 8);
    for (int i = 0; i < 8; i++)
        cr_expect_str_eq(v.by_id[i], want[i], "id %d", i);
    cr_expect_eq(vocab_id(&v, "c"), 6);
    cr_expect_eq(vocab_id(&v, "zzz"), TOK_UNK, "unknown word");
    cr_expect_eq(vocab_id(&v, "<s>"), TOK_UNK, "a literal <s> in text is not a boundary");
    vocab_free(&v);

    vocab w = {0};
    for (int i = 0; i < 7; i++)
        vocab_count(&w, text[i], 1);
    cr_assert_eq(vocab_build(&w, 2, 0), 0);
    cr_expect_eq(w.size, 6, "min_freq 2 keeps a and b");
    vocab_free(&w);
}

Test(vocab, append_checks_reserved_duplicates_and_utf8)
{
    vocab v = {0};
    cr_expect_eq(vocab_append(&v, "x", "f:1"), S2S_EFORMAT, "reserved tokens first");
    cr_expect(strstr(s2s_errmsg(S2S_EFORMAT), "f:1"), "message names the place: %s",
              s2s_errmsg(S2S_EFORMAT));
    for (int i = 0; i < 4; i++)
        cr_assert_eq(vocab_append(&v, vocab_reserved[i], "f"), 0);
    cr_expect_eq(vocab_append(&v, "w", "f"), 0);
    cr_expect_eq(vocab_append(&v, "w", "f:6"), S2S_EFORMAT, "duplicate");
    cr_expect_eq(vocab_append(&v, "", "f:6"), S2S_EFORMAT, "empty");
    cr_expect_eq(vocab_append(&v, "\xff", "f:6"), S2S_EFORMAT, "invalid UTF-8");
    /* No tokenizer makes a token with whitespace inside (chars writes spaces as U+2581). */
    const char *spaced[] = {"a b", "a\tb", "a\nb", " a", "a\r"};
    for (int i = 0; i < 5; i++) {
        cr_expect_eq(vocab_append(&v, spaced[i], "f:6"), S2S_EFORMAT, "whitespace %d", i);
        cr_expect(strstr(s2s_errmsg(S2S_EFORMAT), "f:6: token"), "%s", s2s_errmsg(S2S_EFORMAT));
        cr_expect(strstr(s2s_errmsg(S2S_EFORMAT), "holds whitespace"), "%s",
                  s2s_errmsg(S2S_EFORMAT));
    }
    cr_expect_eq(vocab_append(&v, "w", "f:6"), S2S_EFORMAT);
    cr_expect_str_eq(s2s_errmsg(S2S_EFORMAT), "f:6: duplicate token \"w\" (also id 4)");
    cr_expect_eq(v.size, 5, "nothing refused was added");
    /* Past the first growth of the id table: every id still maps back. */
    char name[16];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "t%d", i);
        cr_assert_eq(vocab_append(&v, name, "f"), 0);
    }
    cr_expect_eq(v.size, 3005);
    for (int i = 0; i < 3000; i += 499) {
        snprintf(name, sizeof name, "t%d", i);
        cr_expect_eq(vocab_id(&v, name), 5 + i);
        cr_expect_str_eq(v.by_id[5 + i], name);
    }
    vocab_free(&v);
}

Test(vocab, guess_detokenizer)
{
    vocab v = {0};
    for (int i = 0; i < 4; i++)
        vocab_append(&v, vocab_reserved[i], "f");
    vocab_append(&v, "\xE2\x96\x81the", "f");
    vocab_append(&v, "\xE2\x96\x81" "a", "f");
    vocab_append(&v, "s", "f");
    cr_expect_eq(detok_guess(TOK_WHITESPACE, &v), DETOK_PIECES, "mostly marked pieces");
    cr_expect_eq(detok_guess(TOK_CHARS, &v), DETOK_PIECES);
    vocab_append(&v, "b", "f");
    vocab_append(&v, "c", "f");
    cr_expect_eq(detok_guess(TOK_WHITESPACE, &v), DETOK_SPACE, "mostly plain words");
    vocab_free(&v);
}

/* text_lines (translate's and eval's input) refuses what prep refuses: a NUL byte or invalid
 * UTF-8, with FILE:LINE. */
Test(vocab, text_lines_refuses_nul_bytes)
{
    char text[] = "ok\nb\0ad\n";
    char **lines = NULL;
    int n = 0;
    cr_expect_eq(text_lines(text, sizeof text - 1, "in.txt", 1, &lines, &n), S2S_EFORMAT);
    cr_expect_str_eq(s2s_errmsg(S2S_EFORMAT), "in.txt:2: NUL byte");
    cr_expect_null(text_line_problem("plain", 5));
    cr_expect_str_eq(text_line_problem("\xff", 1), "invalid UTF-8");
}
