/* test_bleu.c - the 13a tokenizer and whitespace splitting (tok13a), UTF-8 decoding, and
 * corpus BLEU against sacreBLEU: the examples of its README and test suite (test_bleu.py,
 * test_sentence_bleu.py), small cases worked out by hand for every smoothing method, edge
 * cases (empty hypothesis or reference, punctuation only, numbers), summing statistics in
 * parts as MPI ranks do, and errors.
 *
 * sacreBLEU's published values are given to 2 to 9 decimals; each is checked to the precision
 * it is given (and so to two decimals at least). Hand-computed values are checked to 1e-9. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/bleu.h"
#include "s2s/status.h"
#include "s2s/tok13a.h"

/* ---- tokenizer ---- */

static void expect_tokens(bool tok13a, const char *text, const char *const *want)
{
    tok13a_tokens t;
    tok13a_tokens_init(&t);
    int rc =
        tok13a ? tok13a_tokenize(&t, text, strlen(text)) : tok13a_split(&t, text, strlen(text));
    cr_assert_eq(rc, 0, "%s", s2s_errmsg(rc));
    size_t n = 0;
    while (want[n])
        n++;
    cr_expect_eq(t.n, n, "'%s': %zu tokens, expected %zu", text, t.n, n);
    for (size_t i = 0; i < n && i < t.n; i++) {
        cr_expect_str_eq(t.tok[i], want[i], "'%s': token %zu", text, i);
        cr_expect_eq(t.len[i], strlen(want[i]), "'%s': length of token %zu", text, i);
    }
    tok13a_tokens_free(&t);
}

#define TOKS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NO_TOKS ((const char *const[]){NULL})

Test(tok13a, punctuation_and_words)
{
    expect_tokens(true, "The dog bit the man.", TOKS("The", "dog", "bit", "the", "man", "."));
    /* the apostrophe is never split */
    expect_tokens(true, "It wasn't surprising.", TOKS("It", "wasn't", "surprising", "."));
    /* every character of the first rule's class becomes a token */
    expect_tokens(true, "(hi) [y] {x} 100% $5 #1 @me a/b a|b ~^_`\\",
                  TOKS("(", "hi", ")", "[", "y", "]", "{", "x", "}", "100", "%", "$", "5", "#", "1",
                       "@", "me", "a", "/", "b", "a", "|", "b", "~", "^", "_", "`", "\\"));
}

/* "." and "," stay inside numbers: split off when preceded by a non-digit (rule 2), and when
 * followed by a non-digit (rule 3); "-" is split off after a digit (rule 4) only. */
Test(tok13a, numbers)
{
    expect_tokens(true, "1,000.5 and 3.14.", TOKS("1,000.5", "and", "3.14", "."));
    expect_tokens(true, "5-3 e-mail -4 4-", TOKS("5", "-", "3", "e-mail", "-4", "4", "-"));
    expect_tokens(true, "U.S.", TOKS("U", ".", "S", "."));
    /* x.5: "x." matches rule 2; .5: " ." matches rule 2; 5.: ". " matches rule 3; ,5: rule 2 */
    expect_tokens(true, "a,b x.5 .5 5. ,5",
                  TOKS("a", ",", "b", "x", ".", "5", ".", "5", "5", ".", ",", "5"));
    /* re.sub's non-overlapping matches: rule 2 takes "x." and resumes at ".5", which no rule
     * splits */
    expect_tokens(true, "x..5", TOKS("x", ".", ".5"));
}

/* sacreBLEU's replacements are sequential: "&amp;lt;" becomes "&lt;" and then "<", while
 * "&amp;quot;" only becomes "&quot;" because &quot; was replaced before &amp;. */
Test(tok13a, entities_skipped_and_newlines)
{
    expect_tokens(true, "&amp;lt; &quot;Hi&quot; &lt;b&gt; AT&amp;T &amp;quot;",
                  TOKS("<", "\"", "Hi", "\"", "<", "b", ">", "AT", "&", "T", "&", "quot", ";"));
    expect_tokens(true, "a<skipped>b to-\nmorrow one\ntwo", TOKS("ab", "tomorrow", "one", "two"));
    /* "<skipped>" goes first, so it can join a "-" and a newline */
    expect_tokens(true, "to-<skipped>\nmorrow", TOKS("tomorrow"));
}

Test(tok13a, only_punctuation_and_empty)
{
    expect_tokens(true, "?!...", TOKS("?", "!", ".", ".", "."));
    expect_tokens(true, "...", TOKS(".", ".", "."));
    expect_tokens(true, "", NO_TOKS);
    expect_tokens(true, "  \t \n ", NO_TOKS);
    expect_tokens(false, "", NO_TOKS);
    expect_tokens(false, " \t\n", NO_TOKS);
}

/* Non-ASCII characters are never punctuation, and Python's whitespace (no-break space, ideographic
 * space, thin space, 0x1C, NEL) separates tokens; a zero-width space (U+200B) does not. */
Test(tok13a, unicode)
{
    expect_tokens(true, "zahăr alb; é. 5é.5 日本語。",
                  TOKS("zahăr", "alb", ";", "é", ".", "5é", ".", "5", "日本語。"));
    expect_tokens(true,
                  "a\u00a0b\u3000c\u2009d\x1c"
                  "e\xc2\x85"
                  "f\u200bg",
                  TOKS("a", "b", "c", "d", "e", "f\u200bg"));
    expect_tokens(false, "a\u00a0b  c\td\u200bé", TOKS("a", "b", "c", "d\u200bé"));
    expect_tokens(false, "The dog.  It's", TOKS("The", "dog.", "It's"));
}

Test(tok13a, utf8_decoding)
{
    struct {
        const char *s;
        size_t len;
        uint32_t cp;
    } cases[] = {
        {"a", 1, 'a'},
        {"\xc3\xa9", 2, 0xE9},
        {"\xe6\x97\xa5", 3, 0x65E5},
        {"\xf0\x9f\x98\x80", 4, 0x1F600},
        {"\xff", 1, 0xDCFF},             /* not UTF-8 at all */
        {"\xc0\x80", 1, 0xDCC0},         /* overlong NUL */
        {"\xed\xa0\x80", 1, 0xDCED},     /* a surrogate */
        {"\xe6\x97", 1, 0xDCE6},         /* truncated */
        {"\xf4\x90\x80\x80", 1, 0xDCF4}, /* above U+10FFFF */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t cp = 0;
        size_t k = tok13a_utf8_next(cases[i].s, strlen(cases[i].s), &cp);
        cr_expect(k == cases[i].len && cp == cases[i].cp,
                  "case %zu: %zu bytes U+%04X, expected %zu U+%04X", i, k, (unsigned)cp,
                  cases[i].len, (unsigned)cases[i].cp);
    }
    cr_expect(tok13a_is_space(0xA0) && tok13a_is_space(0x3000) && tok13a_is_space(0x1F) &&
              tok13a_is_space(0x85) && tok13a_is_space('\v'));
    cr_expect(!tok13a_is_space(0x200B) && !tok13a_is_space(0x180E) && !tok13a_is_space('a') &&
              !tok13a_is_space(0xDCA0));
}

/* Buffers are kept: a long sentence and then short ones, the tokens always right. */
Test(tok13a, reuse)
{
    tok13a_tokens t;
    tok13a_tokens_init(&t);
    size_t n = 200000;
    char *big = malloc(n + 1);
    cr_assert_not_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = i % 2 ? ' ' : (i % 4 ? '.' : 'a');
    big[n] = '\0';
    cr_assert_eq(tok13a_tokenize(&t, big, n), 0);
    cr_expect_eq(t.n, n / 2);
    cr_assert_eq(tok13a_tokenize(&t, "a b", 3), 0);
    cr_expect(t.n == 2 && strcmp(t.tok[0], "a") == 0 && strcmp(t.tok[1], "b") == 0);
    free(big);
    tok13a_tokens_free(&t);
}

/* ---- BLEU ---- */

static void expect_near(double got, double want, double tol, const char *what)
{
    cr_expect(fabs(got - want) <= tol, "%s: %.12g, expected %.12g (tolerance %g)", what, got, want,
              tol);
}

/* Corpus statistics of hyps[i] against refs[k][i] (k < nstreams), sacreBLEU's layout. */
static void corpus_stats(bleu_tokenizer tok, const char *const *hyps, int n,
                         const char *const *refs, int nstreams, double *stats)
{
    bleu_scorer *s;
    cr_assert_eq(bleu_scorer_new(tok, &s), 0);
    bleu_stats_zero(stats);
    for (int i = 0; i < n; i++) {
        const char *r[8];
        for (int k = 0; k < nstreams; k++)
            r[k] = refs[k * n + i];
        int rc = bleu_add(s, hyps[i], r, nstreams, stats);
        cr_assert_eq(rc, 0, "%s", s2s_errmsg(rc));
    }
    bleu_scorer_free(s);
}

static bleu_result score(const double *stats, bleu_smooth sm, double value, bool eff)
{
    bleu_config c = {.smooth = sm, .smooth_value = value, .effective_order = eff};
    bleu_result r;
    int rc = bleu_compute(stats, &c, &r);
    cr_assert_eq(rc, 0, "%s", s2s_errmsg(rc));
    return r;
}

static void expect_stats(const double *got, const double *want, const char *what)
{
    for (int i = 0; i < BLEU_NSTATS; i++)
        cr_expect(got[i] == want[i], "%s: statistic %d is %g, expected %g", what, i, got[i],
                  want[i]);
}

static const char *const readme_hyps[] = {"The dog bit the man.", "It wasn't surprising.",
                                          "The man had just bitten him."};
static const char *const readme_refs[] = {"The dog bit the man.",   "It was not unexpected.",
                                          "The man bit him first.", "The dog had bit the man.",
                                          "No one was surprised.",  "The man had bitten the dog."};

Test(bleu, names)
{
    cr_expect_str_eq(bleu_smooth_names[BLEU_SMOOTH_NONE], "none");
    cr_expect_str_eq(bleu_smooth_names[BLEU_SMOOTH_FLOOR], "floor");
    cr_expect_str_eq(bleu_smooth_names[BLEU_SMOOTH_ADD_K], "add-k");
    cr_expect_str_eq(bleu_smooth_names[BLEU_SMOOTH_EXP], "exp");
    cr_expect_null(bleu_smooth_names[4]);
    cr_expect_str_eq(bleu_tokenizer_names[BLEU_TOK_13A], "13a");
    cr_expect_str_eq(bleu_tokenizer_names[BLEU_TOK_NONE], "none");
    cr_expect_null(bleu_tokenizer_names[2]);
    bleu_config c = bleu_config_default();
    cr_expect(c.smooth == BLEU_SMOOTH_EXP && isnan(c.smooth_value) && !c.effective_order);
}

/* sacreBLEU's README: BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17
 * ref_len = 18), two references per sentence; test_bleu.py: 48.530827 (default and smooth
 * none, as every order has matches), 49.1919566 with tokenize='none'. */
Test(bleu, readme_two_references)
{
    double st[BLEU_NSTATS];
    corpus_stats(BLEU_TOK_13A, readme_hyps, 3, readme_refs, 2, st);
    /* hyp_len 17, ref_len 18 (6 + 5 + 7), matches 14 7 5 3 of 17 14 11 8 */
    expect_stats(st, (double[]){17, 18, 14, 7, 5, 3, 17, 14, 11, 8}, "README");
    bleu_result r = score(st, BLEU_SMOOTH_EXP, NAN, false);
    expect_near(r.score, 48.530827, 1e-6, "README BLEU");
    expect_near(score(st, BLEU_SMOOTH_NONE, NAN, false).score, 48.530827, 1e-6, "smooth none");
    char line[160];
    bleu_format(&r, line, sizeof line);
    cr_expect_str_eq(line, "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len "
                           "= 17 ref_len = 18)");
    corpus_stats(BLEU_TOK_NONE, readme_hyps, 3, readme_refs, 2, st);
    expect_near(score(st, BLEU_SMOOTH_EXP, NAN, false).score, 49.1919566, 1e-7, "tokenize none");
}

/* README "Variable Number of References": the first reference of the first stream is '', so
 * sentence 1 has one reference: BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895
 * hyp_len = 17 ref_len = 19). */
Test(bleu, readme_variable_references)
{
    const char *refs[6];
    memcpy(refs, readme_refs, sizeof refs);
    refs[0] = "";
    double st[BLEU_NSTATS];
    corpus_stats(BLEU_TOK_13A, readme_hyps, 3, refs, 2, st);
    bleu_result r = score(st, BLEU_SMOOTH_EXP, NAN, false);
    char line[160];
    bleu_format(&r, line, sizeof line);
    cr_expect_str_eq(line, "BLEU = 29.44 82.4/42.9/27.3/12.5 (BP = 0.889 ratio = 0.895 hyp_len "
                           "= 17 ref_len = 19)");
    refs[0] = NULL; /* sacreBLEU's None: the same */
    double st2[BLEU_NSTATS];
    corpus_stats(BLEU_TOK_13A, readme_hyps, 3, refs, 2, st2);
    expect_stats(st2, st, "NULL reference");
}

/* test_bleu.py: empty hypotheses are kept (and score 0). Hypothesis lengths 0; each reference
 * length is the closest to 0, i.e. the shorter of the two: 6 (of 6, 7) + 5 (5, 5) + 6 (6, 7). */
Test(bleu, empty_hypotheses)
{
    const char *hyps[] = {"", "", ""};
    double st[BLEU_NSTATS];
    corpus_stats(BLEU_TOK_13A, hyps, 3, readme_refs, 2, st);
    expect_stats(st, (double[]){0, 17, 0, 0, 0, 0, 0, 0, 0, 0}, "empty hypotheses");
    for (int sm = 0; sm < 4; sm++) {
        bleu_result r = score(st, (bleu_smooth)sm, NAN, sm % 2);
        cr_expect(r.score == 0 && r.bp == 0 && r.ratio == 0, "%s: score %g bp %g",
                  bleu_smooth_names[sm], r.score, r.bp);
    }
}

/* test_bleu.py's raw_corpus_bleu cases: tokenize 'none', floor smoothing 0.01, effective
 * order; expected values are fractions of 1. */
Test(bleu, sacrebleu_raw_corpus_cases)
{
    struct {
        const char *hyp, *ref;
        double want;
    } cases[] = {
        {"this is a test", "this is a test", 1.0},
        /* 3/4 2/3 1/2 and 0/1 floored to 0.01/1: (75 * 66.67 * 50 * 1)^(1/4) = 250000^(1/4) */
        {"this is a fest", "this is a test", 0.223606797749979},
        /* effective order: "test" vs "a test", only 1-grams: 100, bp = exp(1 - 2/1) = e^-1 */
        {"test", "a test", 0.3678794411714425},
        {"a test", "a test", 1.0},
        {"a little test", "a test", 0.03218297948685433},
    };
    bleu_scorer *s;
    cr_assert_eq(bleu_scorer_new(BLEU_TOK_NONE, &s), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double st[BLEU_NSTATS];
        bleu_stats_zero(st);
        cr_assert_eq(bleu_add(s, cases[i].hyp, &cases[i].ref, 1, st), 0);
        expect_near(score(st, BLEU_SMOOTH_FLOOR, 0.01, true).score / 100, cases[i].want, 1e-8,
                    cases[i].hyp);
    }
    /* two sentences, no match at all: 0 (sacreBLEU's early exit, its issue #141) */
    const char *hyps[] = {"this is a test", "another test"}, *refs[] = {"ref1", "ref2"};
    double st[BLEU_NSTATS];
    corpus_stats(BLEU_TOK_NONE, hyps, 2, refs, 1, st);
    cr_expect_eq(score(st, BLEU_SMOOTH_FLOOR, 0.01, true).score, 0.0);
    bleu_scorer_free(s);
}

/* test_bleu.py's statistics and offset cases: "am I am a character sequence" vs "I am a symbol
 * string sequence a a": matches 4 2 1 0 of 6 5 4 3, lengths 6 and 8; floor 0.1 (sacreBLEU's
 * default value) gives 0.1555722182, floor 0 gives 0. By hand with 0.1: precisions 66.67, 40,
 * 25, 100 * 0.1 / 3 = 3.33, mean (222222.2)^(1/4) = 21.71, bp exp(1 - 8/6) = 0.7165. */
Test(bleu, sacrebleu_statistics_and_offset)
{
    bleu_scorer *s;
    cr_assert_eq(bleu_scorer_new(BLEU_TOK_NONE, &s), 0);
    double st[BLEU_NSTATS];
    bleu_stats_zero(st);
    const char *ref = "I am a symbol string sequence a a";
    cr_assert_eq(bleu_add(s, "am I am a character sequence", &ref, 1, st), 0);
    expect_stats(st, (double[]){6, 8, 4, 2, 1, 0, 6, 5, 4, 3}, "statistics");
    expect_near(score(st, BLEU_SMOOTH_FLOOR, NAN, true).score / 100, 0.1555722182, 1e-8,
                "floor default");
    expect_near(score(st, BLEU_SMOOTH_FLOOR, 0.1, true).score / 100, 0.1555722182, 1e-8,
                "floor 0.1");
    cr_expect_eq(score(st, BLEU_SMOOTH_FLOOR, 0.0, true).score, 0.0);
    bleu_scorer_free(s);
}

/* test_bleu.py's scoring case and degenerate statistics (floor smoothing, score 0). */
Test(bleu, sacrebleu_scoring_and_degenerate)
{
    double st[BLEU_NSTATS] = {11, 11, 9, 7, 5, 3, 10, 8, 6, 4};
    expect_near(score(st, BLEU_SMOOTH_NONE, NAN, false).score / 100, 0.8375922397, 1e-8, "scoring");
    struct {
        double match[4], total[4], sys, ref, offset;
    } cases[] = {
        {{0, 0, 0, 0}, {4, 4, 2, 1}, 0, 1, 0.0}, {{0, 0, 0, 0}, {10, 11, 12, 0}, 14, 10, 0.0},
        {{0, 0, 0, 0}, {0, 0, 0, 0}, 0, 0, 0.0}, {{6, 5, 4, 0}, {6, 5, 4, 3}, 6, 6, 0.0},
        {{0, 0, 0, 0}, {0, 0, 0, 0}, 0, 0, 0.1}, {{0, 0, 0, 0}, {0, 0, 0, 0}, 1, 5, 0.01},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double d[BLEU_NSTATS] = {cases[i].sys, cases[i].ref};
        for (int k = 0; k < 4; k++) {
            d[BLEU_STAT_MATCH + k] = cases[i].match[k];
            d[BLEU_STAT_TOTAL + k] = cases[i].total[k];
        }
        cr_expect_eq(score(d, BLEU_SMOOTH_FLOOR, cases[i].offset, false).score, 0.0,
                     "degenerate case %zu", i);
    }
}

/* test_sentence_bleu.py (sacreBLEU issue #98), sentence BLEU with effective order, checked to
 * the 1e-3 of that test: one Romanian sentence, matches 10 5 2 0 of 14 13 12 11 (13a). */
Test(bleu, sacrebleu_sentence_smoothing)
{
    const char *ref = "producţia de zahăr brut se exprimă în zahăr alb;";
    const char *sys = "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;";
    struct {
        bleu_tokenizer tok;
        bleu_smooth sm;
        double value, want;
    } cases[] = {
        {BLEU_TOK_13A, BLEU_SMOOTH_EXP, NAN, 8.493},
        {BLEU_TOK_13A, BLEU_SMOOTH_NONE, NAN, 0.0},
        {BLEU_TOK_13A, BLEU_SMOOTH_FLOOR, NAN, 4.51688},
        {BLEU_TOK_13A, BLEU_SMOOTH_FLOOR, 0.1, 4.51688},
        {BLEU_TOK_13A, BLEU_SMOOTH_FLOOR, 0.5, 10.10},
        {BLEU_TOK_13A, BLEU_SMOOTH_ADD_K, NAN, 14.882},
        {BLEU_TOK_13A, BLEU_SMOOTH_ADD_K, 1, 14.882},
        {BLEU_TOK_13A, BLEU_SMOOTH_ADD_K, 2, 21.389},
        {BLEU_TOK_NONE, BLEU_SMOOTH_EXP, NAN, 7.347},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double st[BLEU_NSTATS];
        corpus_stats(cases[i].tok, &sys, 1, &ref, 1, st);
        char what[64];
        snprintf(what, sizeof what, "%s %s %g", bleu_tokenizer_names[cases[i].tok],
                 bleu_smooth_names[cases[i].sm], cases[i].value);
        expect_near(score(st, cases[i].sm, cases[i].value, true).score, cases[i].want, 1e-3, what);
    }
    /* sacreBLEU issue #141: "this is a cat" vs "okay thanks" is 0 whatever the smoothing */
    const char *h0 = "this is a cat", *r0 = "okay thanks";
    double st[BLEU_NSTATS];
    corpus_stats(BLEU_TOK_13A, &h0, 1, &r0, 1, st);
    for (int sm = 0; sm < 4; sm++)
        cr_expect_eq(score(st, (bleu_smooth)sm, NAN, true).score, 0.0, "%s", bleu_smooth_names[sm]);
}

/* By hand, tokenizer 'none': hyp "a b a c", ref "a a b d". 1-grams: a a b c vs a a b d -> 3/4;
 * 2-grams: ab ba ac vs aa ab bd -> 1/3; 3-grams aba bac vs aab abd -> 0/2; 4-grams 0/1;
 * lengths 4 and 4, bp 1. Then
 *   none:  p3 = 0, log 0 -> score 0
 *   floor: p3 = 100 * 0.1 / 2 = 5, p4 = 10: (75 * 33.33 * 5 * 10)^(1/4) = 125000^(1/4) = 18.8030
 *   add-k: (2/4, 1/3, 1/2 for n >= 2): (75 * 50 * 33.33 * 50)^(1/4) = 6250000^(1/4) = 50
 *   exp:   p3 = 100 / (2 * 2) = 25, p4 = 100 / (4 * 1) = 25:
 *          (75 * 33.33 * 25 * 25)^(1/4) = 1562500^(1/4) = 25 sqrt(2) */
Test(bleu, smoothing_by_hand)
{
    const char *hyp = "a b a c", *ref = "a a b d";
    double st[BLEU_NSTATS];
    corpus_stats(BLEU_TOK_NONE, &hyp, 1, &ref, 1, st);
    expect_stats(st, (double[]){4, 4, 3, 1, 0, 0, 4, 3, 2, 1}, "by hand");
    bleu_result r = score(st, BLEU_SMOOTH_NONE, NAN, false);
    cr_expect(r.score == 0 && r.precisions[2] == 0 && r.bp == 1);
    expect_near(r.precisions[0], 75, 1e-12, "p1");
    expect_near(r.precisions[1], 100.0 / 3, 1e-12, "p2");
    r = score(st, BLEU_SMOOTH_FLOOR, NAN, false);
    expect_near(r.precisions[2], 5, 1e-12, "floor p3");
    expect_near(r.precisions[3], 10, 1e-12, "floor p4");
    expect_near(r.score, pow(125000, 0.25), 1e-9, "floor");
    r = score(st, BLEU_SMOOTH_ADD_K, NAN, false);
    expect_near(r.precisions[1], 50, 1e-12, "add-k p2");
    expect_near(r.score, 50, 1e-9, "add-k");
    r = score(st, BLEU_SMOOTH_EXP, NAN, false);
    expect_near(r.precisions[2], 25, 1e-12, "exp p3");
    expect_near(r.precisions[3], 25, 1e-12, "exp p4");
    expect_near(r.score, 25 * sqrt(2), 1e-9, "exp");
    /* effective order changes nothing when every order has hypothesis n-grams */
    expect_near(score(st, BLEU_SMOOTH_EXP, NAN, true).score, 25 * sqrt(2), 1e-9, "exp eff");
}

/* By hand: hyp "a b" vs "a b c d": 1-grams 2/2, 2-grams 1/1, no 3- or 4-grams in the
 * hypothesis, so the loop stops at n = 3 and p3 = p4 = 0 whatever the smoothing. bp = exp(1 -
 * 4/2) = e^-1. Without effective order the score is 0; with it, e^-1 * 100. */
Test(bleu, short_hypothesis_and_brevity_penalty)
{
    const char *hyp = "a b", *ref = "a b c d";
    double st[BLEU_NSTATS];
    corpus_stats(BLEU_TOK_NONE, &hyp, 1, &ref, 1, st);
    expect_stats(st, (double[]){2, 4, 2, 1, 0, 0, 2, 1, 0, 0}, "short");
    for (int sm = 0; sm < 4; sm++) {
        bleu_result r = score(st, (bleu_smooth)sm, NAN, false);
        if (sm != BLEU_SMOOTH_ADD_K)
            cr_expect_eq(r.score, 0.0, "%s", bleu_smooth_names[sm]);
        expect_near(r.bp, exp(-1), 1e-15, "bp");
        expect_near(r.ratio, 0.5, 0, "ratio");
    }
    expect_near(score(st, BLEU_SMOOTH_NONE, NAN, true).score, 100 * exp(-1), 1e-9, "eff none");
    /* add-k adds k = 1 to the matches and totals of n >= 2 before the loop can stop: 2/2, 1/1,
     * 1/1, so all four precisions are 100, with or without effective order */
    expect_near(score(st, BLEU_SMOOTH_ADD_K, NAN, false).score, 100 * exp(-1), 1e-9, "add-k");
    expect_near(score(st, BLEU_SMOOTH_ADD_K, NAN, true).score, 100 * exp(-1), 1e-9, "eff add-k");
}

/* Punctuation-only hypothesis "?!" (13a: "?" "!") against the same: 1-grams 2/2, 2-grams 1/1,
 * nothing longer: corpus BLEU 0, sentence BLEU (effective order) 100. */
Test(bleu, punctuation_only)
{
    const char *hyp = "?!", *ref = "?!";
    double st[BLEU_NSTATS];
    corpus_stats(BLEU_TOK_13A, &hyp, 1, &ref, 1, st);
    expect_stats(st, (double[]){2, 2, 2, 1, 0, 0, 2, 1, 0, 0}, "?!");
    cr_expect_eq(score(st, BLEU_SMOOTH_EXP, NAN, false).score, 0.0);
    expect_near(score(st, BLEU_SMOOTH_EXP, NAN, true).score, 100, 1e-9, "?! eff");
}

/* 13a keeps "1,000.50" whole and splits the final "." off "dollars.", so the detokenized and
 * the tokenized reference give the same tokens: 5 tokens, all n-grams match, BLEU 100. */
Test(bleu, numbers)
{
    const char *hyp = "It costs 1,000.50 dollars.", *ref = "It costs 1,000.50 dollars .";
    double st[BLEU_NSTATS];
    corpus_stats(BLEU_TOK_13A, &hyp, 1, &ref, 1, st);
    expect_stats(st, (double[]){5, 5, 5, 4, 3, 2, 5, 4, 3, 2}, "numbers");
    expect_near(score(st, BLEU_SMOOTH_EXP, NAN, false).score, 100, 1e-9, "numbers");
}

/* A reference that is empty (skipped, then counted as one empty reference, since there is no
 * other) gives the same statistics as one of only whitespace (which sacreBLEU keeps): lengths
 * 2 and 0, no matches; bp 1, ratio 0 (reference length 0), score 0. */
Test(bleu, empty_reference)
{
    const char *hyp = "a b", *empty = "", *blank = " \t";
    double st[BLEU_NSTATS], st2[BLEU_NSTATS];
    corpus_stats(BLEU_TOK_13A, &hyp, 1, &empty, 1, st);
    corpus_stats(BLEU_TOK_13A, &hyp, 1, &blank, 1, st2);
    expect_stats(st, (double[]){2, 0, 0, 0, 0, 0, 2, 1, 0, 0}, "empty reference");
    expect_stats(st2, st, "blank reference");
    for (int sm = 0; sm < 4; sm++) {
        bleu_result r = score(st, (bleu_smooth)sm, NAN, false);
        cr_expect(r.score == 0 && r.bp == 1 && r.ratio == 0, "%s", bleu_smooth_names[sm]);
    }
    /* empty hypothesis and reference */
    const char *none = "";
    corpus_stats(BLEU_TOK_13A, &none, 1, &none, 1, st);
    expect_stats(st, (double[BLEU_NSTATS]){0}, "both empty");
    cr_expect_eq(score(st, BLEU_SMOOTH_EXP, NAN, false).score, 0.0);
}

/* Several references: clipping by the largest count in any one reference ("the the the" vs
 * "the cat" and "the the": 2 of 3), length of the closest reference, the shorter on a tie
 * (hypothesis 3 tokens, references of 2 and 4: 2). sacreBLEU strips trailing whitespace. */
Test(bleu, multi_reference_clipping_and_length)
{
    bleu_scorer *s;
    cr_assert_eq(bleu_scorer_new(BLEU_TOK_NONE, &s), 0);
    double st[BLEU_NSTATS];
    bleu_stats_zero(st);
    const char *refs[] = {"the cat", "the the", "a the the b"};
    cr_assert_eq(bleu_add(s, "the the the  \n", refs, 3, st), 0);
    /* 1-grams: "the" x3, largest reference count 2 -> 2/3; 2-grams "the the" x2, at most 1 in
     * one reference -> 1/2; 3-gram "the the the" 0/1 */
    expect_stats(st, (double[]){3, 2, 2, 1, 0, 0, 3, 2, 1, 0}, "clipping");
    bleu_scorer_free(s);
}

/* Statistics are additive: adding sentences one by one into one array, or into per-"rank"
 * arrays that are then summed (what MPI_Allreduce does), gives identical sums and score. */
Test(bleu, stats_sum_like_allreduce)
{
    double all[BLEU_NSTATS], rank[2][BLEU_NSTATS], sum[BLEU_NSTATS];
    corpus_stats(BLEU_TOK_13A, readme_hyps, 3, readme_refs, 2, all);
    bleu_scorer *s;
    cr_assert_eq(bleu_scorer_new(BLEU_TOK_13A, &s), 0);
    bleu_stats_zero(rank[0]);
    bleu_stats_zero(rank[1]);
    for (int i = 0; i < 3; i++) {
        const char *r[2] = {readme_refs[i], readme_refs[3 + i]};
        cr_assert_eq(bleu_add(s, readme_hyps[i], r, 2, rank[i % 2]), 0);
    }
    for (int k = 0; k < BLEU_NSTATS; k++)
        sum[k] = rank[0][k] + rank[1][k];
    expect_stats(sum, all, "summed ranks");
    bleu_scorer_free(s);
}

/* A long sentence of one repeated token (the worst case for clipping) is linear, not
 * quadratic: 10^5 tokens, 10^5 - n + 1 n-grams all matching. */
Test(bleu, long_sentence)
{
    size_t n = 100000;
    char *text = malloc(2 * n + 1);
    cr_assert_not_null(text);
    for (size_t i = 0; i < n; i++) {
        text[2 * i] = 'x';
        text[2 * i + 1] = ' ';
    }
    text[2 * n] = '\0';
    const char *ref = text;
    double st[BLEU_NSTATS];
    corpus_stats(BLEU_TOK_13A, (const char *const *)&text, 1, &ref, 1, st);
    for (int k = 0; k < 4; k++)
        cr_expect(st[BLEU_STAT_MATCH + k] == (double)(n - (size_t)k) &&
                      st[BLEU_STAT_TOTAL + k] == (double)(n - (size_t)k),
                  "order %d", k + 1);
    free(text);
}

Test(bleu, errors)
{
    bleu_scorer *s;
    cr_expect_eq(bleu_scorer_new((bleu_tokenizer)7, &s), S2S_EINVAL);
    cr_expect_null(s);
    cr_assert_eq(bleu_scorer_new(BLEU_TOK_13A, &s), 0);
    double st[BLEU_NSTATS];
    bleu_stats_zero(st);
    const char *ref = "a";
    cr_expect_eq(bleu_add(s, "a", &ref, 0, st), S2S_EINVAL);
    cr_expect_eq(bleu_add(s, NULL, &ref, 1, st), S2S_EINVAL);
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "bleu") != NULL, "%s", s2s_errmsg(S2S_EINVAL));
    expect_stats(st, (double[BLEU_NSTATS]){0}, "unchanged after errors");
    bleu_scorer_free(s);
    bleu_scorer_free(NULL);

    bleu_result r;
    bleu_config c = bleu_config_default();
    double bad[BLEU_NSTATS] = {1, 1, -1};
    cr_expect_eq(bleu_compute(bad, &c, &r), S2S_EINVAL);
    bad[2] = NAN;
    cr_expect_eq(bleu_compute(bad, &c, &r), S2S_EINVAL);
    bad[2] = 1;
    c.smooth = (bleu_smooth)9;
    cr_expect_eq(bleu_compute(bad, &c, &r), S2S_EINVAL);
    c.smooth = BLEU_SMOOTH_FLOOR;
    c.smooth_value = -0.5;
    cr_expect_eq(bleu_compute(bad, &c, &r), S2S_EINVAL);
    c.smooth_value = INFINITY;
    cr_expect_eq(bleu_compute(bad, &c, &r), S2S_EINVAL);
}
