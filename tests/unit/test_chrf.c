/* test_chrf.c - corpus chrF and chrF++ against sacreBLEU: the examples of its README and test
 * suite (test_chrf.py) and of the Hugging Face "evaluate" chrF metric card (which runs
 * sacreBLEU), small cases worked out by hand (effective-order averaging, epsilon smoothing,
 * code points rather than bytes, whitespace, chrF++ word splitting), edge cases, several
 * references, summing statistics as MPI ranks do, and errors.
 *
 * Published values are checked to the precision they are given (test_chrf.py's own tolerance
 * is 1e-4); hand-computed ones to 1e-9. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/chrf.h"
#include "s2s/status.h"

static void expect_near(double got, double want, double tol, const char *what)
{
    cr_expect(fabs(got - want) <= tol, "%s: %.12g, expected %.12g (tolerance %g)", what, got, want,
              tol);
}

/* Corpus statistics of hyps[i] against refs[k * n + i] (k < nstreams), then the score. */
static double corpus(const chrf_config *c, const char *const *hyps, int n, const char *const *refs,
                     int nstreams, double *stats)
{
    chrf_scorer *s;
    int rc = chrf_scorer_new(c, &s);
    cr_assert_eq(rc, 0, "%s", s2s_errmsg(rc));
    chrf_stats_zero(c, stats);
    for (int i = 0; i < n; i++) {
        const char *r[8];
        for (int k = 0; k < nstreams; k++)
            r[k] = refs[k * n + i];
        rc = chrf_add(s, hyps[i], r, nstreams, stats);
        cr_assert_eq(rc, 0, "%s", s2s_errmsg(rc));
    }
    chrf_scorer_free(s);
    double score;
    rc = chrf_compute(c, stats, &score);
    cr_assert_eq(rc, 0, "%s", s2s_errmsg(rc));
    return score;
}

static double pair(const chrf_config *c, const char *hyp, const char *ref, double *stats)
{
    return corpus(c, &hyp, 1, &ref, 1, stats);
}

static void expect_stats(const double *got, const double *want, int n, const char *what)
{
    for (int i = 0; i < n; i++)
        cr_expect(got[i] == want[i], "%s: statistic %d is %g, expected %g", what, i, got[i],
                  want[i]);
}

static chrf_config cfg(int char_order, int word_order, double beta, bool whitespace, bool eps)
{
    return (chrf_config){.char_order = char_order,
                         .word_order = word_order,
                         .beta = beta,
                         .whitespace = whitespace,
                         .eps_smoothing = eps};
}

Test(chrf, defaults)
{
    chrf_config c = chrf_config_default();
    cr_expect(c.char_order == 6 && c.word_order == 0 && c.beta == 2 && !c.whitespace &&
              !c.eps_smoothing);
    cr_expect_eq(chrf_nstats(&c), 18);
    c.word_order = 2;
    cr_expect_eq(chrf_nstats(&c), 24);
}

/* sacreBLEU's README: chrF2 = 59.73 for its example with two references per sentence. */
Test(chrf, readme_two_references)
{
    const char *hyps[] = {"The dog bit the man.", "It wasn't surprising.",
                          "The man had just bitten him."};
    const char *refs[] = {"The dog bit the man.",   "It was not unexpected.",
                          "The man bit him first.", "The dog had bit the man.",
                          "No one was surprised.",  "The man had bitten the dog."};
    chrf_config c = chrf_config_default();
    double st[3 * CHRF_MAX_ORDER];
    expect_near(corpus(&c, hyps, 3, refs, 2, st), 59.73, 0.005, "README chrF2");
}

/* The "evaluate" chrF metric card (sacreBLEU underneath): chrF 84.64214891738334 and chrF++
 * (word_order 2) 82.87263732906315. */
Test(chrf, evaluate_metric_card)
{
    const char *hyps[] = {"The relationship between cats and dogs is not exactly friendly.",
                          "a good bookshop is just a genteel black hole that knows how to read."};
    const char *refs[] = {"The relationship between dogs and cats is not exactly friendly.",
                          "A good bookshop is just a genteel Black Hole that knows how to read."};
    chrf_config c = chrf_config_default();
    double st[3 * CHRF_MAX_ORDER];
    expect_near(corpus(&c, hyps, 2, refs, 1, st), 84.64214891738334, 1e-9, "chrF2");
    c.word_order = 2;
    expect_near(corpus(&c, hyps, 2, refs, 1, st), 82.87263732906315, 1e-9, "chrF2++");
}

/* test_chrf.py, test_cases: char_order 6, word_order 0, beta 3, eps_smoothing. (The "Die
 * Beziehung" case is given there as 64.1302698 and checked with its 1e-4 tolerance; sacreBLEU's
 * formula gives 64.13022156, which this matches to 1e-9 in the cross-check, not here.) */
Test(chrf, sacrebleu_eps_smoothing_cases)
{
    struct {
        const char *hyp, *ref;
        double want;
    } cases[] = {
        {"abcdefg", "hijklmnop", 0.0},
        {"a", "b", 0.0},
        {"", "b", 0.0},
        {"", "ref", 0.0},
        {"", "reference", 0.0},
        /* by hand: order 1 a a vs a b: P = R = 1/2, F3 = 10 (1/4) / (9/2 + 1/2) = 1/2; order
         * 2: "aa" vs "ab", P = R = 0: eps; orders 3-6: no n-grams: eps each -> 0.5 / 6 */
        {"aa", "ab", 8.3333},
        /* one order with F = 1, five with eps: 1/6 */
        {"a", "a", 16.6667},
        /* "abc" both: orders 1-3 F = 1, 4-6 eps: 3/6 */
        {"a b c", "a b c", 50.0},
        {"a b c", "abc", 50.0},
        {" risk assessment must be made of those who are qualified and expertise in the sector "
         "- these are the scientists .",
         "risk assessment has to be undertaken by those who are qualified and expert in that "
         "area - that is the scientists .",
         63.361730},
        {" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. ",
         "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.",
         64.1302698},
        {"Niemand hat die Absicht, eine Mauer zu errichten",
         "Niemand hat die Absicht, eine Mauer zu errichten", 100.0},
    };
    chrf_config c = cfg(6, 0, 3, false, true);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double st[3 * CHRF_MAX_ORDER];
        expect_near(pair(&c, cases[i].hyp, cases[i].ref, st), cases[i].want, 1e-4, cases[i].hyp);
    }
    /* two sentences: "a" vs "a" and "b" vs "c", summed: order 1 P = R = 1/2 -> F = 1/2, the
     * five others eps: 8.3333 */
    const char *hyps[] = {"a", "b"}, *refs[] = {"a", "c"};
    double st[3 * CHRF_MAX_ORDER];
    expect_near(corpus(&c, hyps, 2, refs, 1, st), 8.3333, 1e-4, "a b / a c");
}

/* test_chrf.py, test_cases_effective_order: beta 3, no eps smoothing: precision and recall are
 * averaged over the orders with n-grams on both sides. */
Test(chrf, sacrebleu_effective_order_cases)
{
    struct {
        const char *hyp, *ref;
        double want;
    } cases[] = {
        {"a", "a", 100.0},
        {"", "reference", 0.0},
        {"a b c", "a b c", 100.0},
        {"a b c", "abc", 100.0},
        {"", "c", 0.0},
        /* by hand: order 1 P = R = 1/2, order 2 P = R = 0 (both have a 2-gram): averages 1/4,
         * F3 = 1/4 */
        {"aa", "ab", 25.0},
    };
    chrf_config c = cfg(6, 0, 3, false, false);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double st[3 * CHRF_MAX_ORDER];
        expect_near(pair(&c, cases[i].hyp, cases[i].ref, st), cases[i].want, 1e-4, cases[i].hyp);
    }
    /* corpus statistics are summed before the averages: order 1 hyp 2 ref 2 match 1 -> 50 */
    const char *hyps[] = {"a", "b"}, *refs[] = {"a", "c"};
    double st[3 * CHRF_MAX_ORDER];
    expect_near(corpus(&c, hyps, 2, refs, 1, st), 50.0, 1e-9, "a b / a c");
    expect_stats(st, (double[]){2, 2, 1, 0, 0, 0}, 6, "a b / a c");
}

/* test_chrf.py, test_cases_keep_whitespace: beta 3, whitespace kept, no eps smoothing. */
Test(chrf, sacrebleu_keep_whitespace_cases)
{
    chrf_config c = cfg(6, 0, 3, true, false);
    double st[3 * CHRF_MAX_ORDER];
    expect_near(pair(&c, "Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.",
                     "Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade "
                     "freundschaftlich.",
                     st),
                67.3481606, 1e-4, "Die Beziehung");
    expect_near(pair(&c,
                     "risk assessment must be made of those who are qualified and expertise "
                     "in the sector - these are the scientists .",
                     "risk assessment has to be undertaken by those who are qualified and expert "
                     "in that area - that is the scientists .",
                     st),
                65.2414427, 1e-4, "risk assessment");
}

/* test_chrf.py, sentence level: default orders and beta 2, eps smoothing. */
Test(chrf, sacrebleu_sentence_level)
{
    chrf_config c = cfg(6, 0, 2, false, true);
    double st[3 * CHRF_MAX_ORDER];
    expect_near(pair(&c,
                     "Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.",
                     "Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo "
                     "zemře.",
                     st),
                39.14078509, 1e-4, "cs 1");
    expect_near(pair(&c, "Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.",
                     "A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři.",
                     st),
                31.22557079, 1e-4, "cs 2");
    expect_near(pair(&c, "Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.",
                     "Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, "
                     "připomněli.",
                     st),
                57.15704367, 1e-4, "cs 3");
}

/* By hand, defaults: "ab" vs "ab": order 1 2/2/2, order 2 1/1/1, orders 3-6 nothing (and the
 * hypothesis counts 0 where the reference has no n-gram): P = R = 1 -> 100. "ab" vs "a": order
 * 1 hyp 2 ref 1 match 1; order 2: the reference has no 2-gram, so the hypothesis' one is not
 * counted: P = 1/2, R = 1 over one order: F2 = 5 (1/2) / (4/2 + 1) = 5/6. */
Test(chrf, by_hand_orders)
{
    chrf_config c = chrf_config_default();
    double st[3 * CHRF_MAX_ORDER];
    expect_near(pair(&c, "ab", "ab", st), 100, 1e-9, "ab");
    expect_stats(st, (double[]){2, 2, 2, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 18, "ab");
    expect_near(pair(&c, "ab", "a", st), 500.0 / 6, 1e-9, "ab / a");
    expect_stats(st, (double[]){2, 1, 1, 0, 0, 0}, 6, "ab / a");
}

/* Characters are code points: "é" is one character (2 bytes), "日本" two (6 bytes). */
Test(chrf, code_points_not_bytes)
{
    chrf_config c = cfg(2, 0, 2, false, false);
    double st[3 * CHRF_MAX_ORDER];
    expect_near(pair(&c, "é", "é", st), 100, 1e-9, "é");
    expect_stats(st, (double[]){1, 1, 1, 0, 0, 0}, 6, "é");
    pair(&c, "日本", "日本", st);
    expect_stats(st, (double[]){2, 2, 2, 1, 1, 1}, 6, "日本");
    /* é (U+00E9) and è (U+00E8) share their first byte but are different characters */
    expect_near(pair(&c, "é", "è", st), 0, 0, "é / è");
}

/* Whitespace, Python's, is removed before character n-grams (a no-break space too), unless
 * kept. Kept, "a b" vs "ab": order 1: 3 characters, 2 match: P = 2/3, R = 1; order 2: "a ", " b"
 * vs "ab": P = R = 0; averages P = 1/3, R = 1/2; F2 = 5 (1/6) / (4/3 + 1/2) = 5/11. */
Test(chrf, whitespace)
{
    chrf_config c = chrf_config_default();
    double st[3 * CHRF_MAX_ORDER];
    expect_near(pair(&c, " a\u00a0b\u3000\t", "ab", st), 100, 1e-9, "removed");
    c = cfg(6, 0, 2, true, false);
    expect_near(pair(&c, "a b", "ab", st), 500.0 / 11, 1e-9, "kept");
    expect_stats(st, (double[]){3, 2, 2, 2, 1, 0}, 6, "kept");
}

/* chrF++ words, by hand with char_order 1, word_order 1, beta 1. "hi." gives the words "hi"
 * "." as "hi ." does: characters 3/3/3, words 2/2/2: 100. "(hi)" gives "(hi" ")" (the end is
 * split first) against "(" "hi" ")": characters 4/4/4, words 2/3/1; P = (1 + 1/2) / 2 = 3/4, R
 * = (1 + 1/3) / 2 = 2/3, F1 = 2 (1/2) / (3/4 + 2/3) = 12/17. */
Test(chrf, chrf_plus_plus_words)
{
    chrf_config c = cfg(1, 1, 1, false, false);
    double st[3 * CHRF_MAX_ORDER];
    expect_near(pair(&c, "hi.", "hi .", st), 100, 1e-9, "hi.");
    expect_stats(st, (double[]){3, 3, 3, 2, 2, 2}, 6, "hi.");
    expect_near(pair(&c, "(hi)", "( hi )", st), 1200.0 / 17, 1e-9, "(hi)");
    expect_stats(st, (double[]){4, 4, 4, 2, 3, 1}, 6, "(hi)");
    /* a one-character word stays whole, even punctuation; a start is split when the end is
     * not punctuation: "-x" gives "-" "x" */
    pair(&c, "- -x", "- x", st);
    expect_stats(st, (double[]){3, 2, 2, 3, 2, 2}, 6, "-x");
    /* word bigrams: "a b c" vs "a b d": 1-grams 2 of 3, 2-grams "a b" 1 of 2 */
    c = cfg(1, 2, 2, false, false);
    pair(&c, "a b c", "a b d", st);
    expect_stats(st, (double[]){3, 3, 2, 3, 3, 2, 2, 2, 1}, 9, "bigrams");
}

/* Empty hypothesis, empty reference (skipped, then one empty reference is used), a hypothesis
 * of punctuation only: no crash, score 0, and the reference-less orders count no hypothesis
 * n-grams. */
Test(chrf, empty_and_punctuation)
{
    chrf_config c = chrf_config_default();
    double st[3 * CHRF_MAX_ORDER];
    cr_expect_eq(pair(&c, "", "abc", st), 0.0);
    expect_stats(st, (double[]){0, 3, 0, 0, 2, 0, 0, 1, 0}, 9, "empty hypothesis");
    cr_expect_eq(pair(&c, "abc", "", st), 0.0);
    expect_stats(st, (double[18]){0}, 18, "empty reference");
    cr_expect_eq(pair(&c, "", "", st), 0.0);
    expect_near(pair(&c, "?!", "?!", st), 100, 1e-9, "?!");
    c.word_order = 2;
    expect_near(pair(&c, "?!", "?!", st), 100, 1e-9, "?! chrF++");
    c.eps_smoothing = true;
    expect_near(pair(&c, "abc", "", st), 0, 1e-12, "eps, empty reference");
}

/* Several references: the one with the best sentence score is used ("abc" vs "xyz" and
 * "abc"); on a tie, the first; NULL and "" references are skipped. */
Test(chrf, multi_reference)
{
    chrf_config c = chrf_config_default();
    chrf_scorer *s;
    cr_assert_eq(chrf_scorer_new(&c, &s), 0);
    double st[3 * CHRF_MAX_ORDER];
    chrf_stats_zero(&c, st);
    const char *refs[] = {"xyz", NULL, "", "abc"};
    cr_assert_eq(chrf_add(s, "abc", refs, 4, st), 0);
    expect_stats(st, (double[]){3, 3, 3, 2, 2, 2, 1, 1, 1}, 9, "best");
    chrf_stats_zero(&c, st);
    const char *tie[] = {"abd", "abe"};
    cr_assert_eq(chrf_add(s, "abc", tie, 2, st), 0);
    double one[3 * CHRF_MAX_ORDER];
    chrf_stats_zero(&c, one);
    cr_assert_eq(chrf_add(s, "abc", tie, 1, one), 0);
    expect_stats(st, one, 18, "tie");
    chrf_scorer_free(s);
}

/* Statistics are additive: per-"rank" arrays summed (MPI_Allreduce) equal one pass. */
Test(chrf, stats_sum_like_allreduce)
{
    const char *hyps[] = {"The dog bit the man.", "It wasn't surprising.", "Zahăr alb.", ""};
    const char *refs[] = {"The dog had bit the man.", "No one was surprised.", "zahăr alb;", "x"};
    chrf_config c = chrf_config_default();
    c.word_order = 2;
    double all[3 * CHRF_MAX_ORDER], rank[2][3 * CHRF_MAX_ORDER];
    double want = corpus(&c, hyps, 4, refs, 1, all);
    chrf_scorer *s;
    cr_assert_eq(chrf_scorer_new(&c, &s), 0);
    chrf_stats_zero(&c, rank[0]);
    chrf_stats_zero(&c, rank[1]);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(chrf_add(s, hyps[i], &refs[i], 1, rank[i % 2]), 0);
    for (int k = 0; k < chrf_nstats(&c); k++)
        rank[0][k] += rank[1][k];
    expect_stats(rank[0], all, chrf_nstats(&c), "summed ranks");
    double got;
    cr_assert_eq(chrf_compute(&c, rank[0], &got), 0);
    cr_expect_eq(got, want);
    chrf_scorer_free(s);
}

/* 10^5 identical characters against the same: linear, every n-gram matches. */
Test(chrf, long_sentence)
{
    size_t n = 100000;
    char *text = malloc(n + 1);
    cr_assert_not_null(text);
    memset(text, 'x', n);
    text[n] = '\0';
    chrf_config c = chrf_config_default();
    double st[3 * CHRF_MAX_ORDER];
    expect_near(pair(&c, text, text, st), 100, 1e-9, "long");
    for (int k = 0; k < 6; k++)
        cr_expect(st[3 * k] == (double)(n - (size_t)k) && st[3 * k + 2] == (double)(n - (size_t)k));
    free(text);
}

Test(chrf, errors)
{
    chrf_config c = chrf_config_default();
    chrf_scorer *s;
    c.char_order = 0;
    cr_expect_eq(chrf_scorer_new(&c, &s), S2S_EINVAL);
    cr_expect_null(s);
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "char_order") != NULL, "%s", s2s_errmsg(S2S_EINVAL));
    c = chrf_config_default();
    c.word_order = -1;
    cr_expect_eq(chrf_config_check(&c), S2S_EINVAL);
    c.word_order = CHRF_MAX_ORDER;
    cr_expect_eq(chrf_config_check(&c), S2S_EINVAL);
    c = chrf_config_default();
    c.beta = 0;
    cr_expect_eq(chrf_config_check(&c), S2S_EINVAL);
    c.beta = NAN;
    cr_expect_eq(chrf_config_check(&c), S2S_EINVAL);

    c = chrf_config_default();
    cr_assert_eq(chrf_scorer_new(&c, &s), 0);
    double st[3 * CHRF_MAX_ORDER];
    chrf_stats_zero(&c, st);
    const char *ref = "a";
    cr_expect_eq(chrf_add(s, "a", &ref, 0, st), S2S_EINVAL);
    cr_expect_eq(chrf_add(s, NULL, &ref, 1, st), S2S_EINVAL);
    expect_stats(st, (double[18]){0}, 18, "unchanged after errors");
    chrf_scorer_free(s);
    chrf_scorer_free(NULL);

    double score;
    st[4] = -1;
    cr_expect_eq(chrf_compute(&c, st, &score), S2S_EINVAL);
    st[4] = INFINITY;
    cr_expect_eq(chrf_compute(&c, st, &score), S2S_EINVAL);
}
