/* test_gen.c - the synthetic tasks of `s2s gen` (datasets/): every pair is a function of (seed,
 * split, index); valid and test never share a source sentence with train or with each other;
 * number words are spelled as written English spells them and read back to the same digits;
 * the sequence tasks copy, reverse and sort their sources; grammar
 * pairs parse by the lexicon, with the verb last, agreement in both languages, and the size of
 * vocabulary the task promises; and gen_write leaves exactly the files it names. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/gen.h"
#include "s2s/status.h"
#include "scratch.h"

enum { LINE = 8192, MAX_WORDS = 64 };

static gen_task task_of(gen_kind kind, uint32_t seed)
{
    return (gen_task){.kind = kind, .symbols = 20, .min_len = 4, .max_len = 12, .seed = seed};
}

/* Example (split, index) of t into src and tgt, asserting success. */
static void example(const gen_task *t, int split, uint64_t index, char *src, char *tgt)
{
    int rc = gen_example(t, split, index, src, LINE, tgt, LINE);
    cr_assert_eq(rc, 0, "%s split %d example %llu: %s", gen_task_names[t->kind], split,
                 (unsigned long long)index, s2s_errmsg(rc));
}

/* Splits line (modified) into words; returns their number. */
static int words(char *line, char **w)
{
    int n = 0;
    for (char *tok = strtok(line, " "); tok; tok = strtok(NULL, " ")) {
        cr_assert_lt(n, MAX_WORDS, "too many words");
        w[n++] = tok;
    }
    return n;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The source lines of examples 0..n-1 of a split, sorted for bsearch; free with free_lines. */
static char **source_lines(const gen_task *t, int split, int n)
{
    char src[LINE], tgt[LINE];
    char **lines = malloc((size_t)n * sizeof *lines);
    cr_assert(lines);
    for (int i = 0; i < n; i++) {
        example(t, split, (uint64_t)i, src, tgt);
        lines[i] = strdup(src);
    }
    qsort(lines, (size_t)n, sizeof *lines, cmp_str);
    return lines;
}

static void free_lines(char **lines, int n)
{
    for (int i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

static bool contains(char **sorted, int n, const char *line)
{
    return bsearch(&line, sorted, (size_t)n, sizeof *sorted, cmp_str) != NULL;
}

Test(gen, parse_task_names)
{
    gen_kind k;
    for (int i = 0; i < GEN_N_KINDS; i++) {
        cr_assert_eq(gen_parse_task(gen_task_names[i], &k), 0);
        cr_expect_eq(k, (gen_kind)i);
    }
    cr_expect_eq(gen_parse_task("grammer", &k), S2S_EINVAL);
    cr_expect(strstr(s2s_errmsg(S2S_EINVAL), "grammer"), "message names the task");
}

Test(gen, same_seed_same_text_other_seed_other_text)
{
    char a_src[LINE], a_tgt[LINE], b_src[LINE], b_tgt[LINE];
    for (int k = 0; k < GEN_N_KINDS; k++) {
        gen_task t = task_of((gen_kind)k, 7), u = task_of((gen_kind)k, 8);
        int differ = 0;
        for (int split = 0; split < 3; split++)
            for (uint64_t i = 0; i < 20; i++) {
                example(&t, split, i, a_src, a_tgt);
                example(&t, split, i, b_src, b_tgt);
                cr_expect_str_eq(a_src, b_src, "%s: same seed, same source", gen_task_names[k]);
                cr_expect_str_eq(a_tgt, b_tgt, "%s: same seed, same target", gen_task_names[k]);
                example(&u, split, i, b_src, b_tgt);
                differ += strcmp(a_src, b_src) != 0;
            }
        /* Short numbers may coincide across seeds; most examples may not. */
        cr_expect_gt(differ, 50, "%s: only %d of 60 examples change with the seed",
                     gen_task_names[k], differ);
    }
}

/* No valid or test source among 20,000 training sources, and valid and test disjoint. */
static void check_disjoint(const gen_task *t)
{
    enum { N_TRAIN = 20000, N_HELD = 500 };
    char **train = source_lines(t, SPLIT_TRAIN, N_TRAIN);
    char **valid = source_lines(t, SPLIT_VALID, N_HELD);
    char **test = source_lines(t, SPLIT_TEST, N_HELD);
    for (int i = 0; i < N_HELD; i++) {
        cr_expect(!contains(train, N_TRAIN, valid[i]), "%s: valid '%s' is in train",
                  gen_task_names[t->kind], valid[i]);
        cr_expect(!contains(train, N_TRAIN, test[i]), "%s: test '%s' is in train",
                  gen_task_names[t->kind], test[i]);
        cr_expect(!contains(valid, N_HELD, test[i]), "%s: test '%s' is in valid",
                  gen_task_names[t->kind], test[i]);
    }
    free_lines(train, N_TRAIN);
    free_lines(valid, N_HELD);
    free_lines(test, N_HELD);
}

/* Held-out lines rarely repeat: a split is not filled with a few short sources. */
static void check_mostly_distinct(const gen_task *t)
{
    enum { N = 500 };
    for (int split = SPLIT_VALID; split <= SPLIT_TEST; split++) {
        char **lines = source_lines(t, split, N);
        int repeats = 0;
        for (int i = 1; i < N; i++)
            repeats += !strcmp(lines[i - 1], lines[i]);
        cr_expect_lt(repeats, N / 20, "%s split %d: %d of %d lines repeat", gen_task_names[t->kind],
                     split, repeats, N);
        free_lines(lines, N);
    }
}

Test(gen, heldout_mostly_distinct)
{
    for (uint32_t seed = 1; seed <= 4; seed++)
        for (int k = 0; k < GEN_N_KINDS; k++) {
            gen_task t = task_of((gen_kind)k, seed);
            check_mostly_distinct(&t);
        }
}

Test(gen, heldout_disjoint_sequences, .timeout = 120)
{
    gen_task t = task_of(GEN_SORT, 3);
    check_disjoint(&t);
    /* 1,092 sequences in all: 20,000 training draws meet every training sequence many times. */
    t = (gen_task){.kind = GEN_COPY, .symbols = 3, .min_len = 1, .max_len = 6, .seed = 3};
    check_disjoint(&t);
}

Test(gen, heldout_disjoint_numbers, .timeout = 120)
{
    gen_task t = task_of(GEN_NUMBERS, 4);
    check_disjoint(&t);
    t.reverse = true; /* the content decides, whichever side is the source */
    check_disjoint(&t);
}

Test(gen, heldout_disjoint_grammar, .timeout = 120)
{
    gen_task t = task_of(GEN_GRAMMAR, 5);
    check_disjoint(&t);
}

Test(gen, too_few_sources_is_an_error)
{
    /* One possible sequence: it belongs to one split, the others cannot be filled. */
    gen_task t = {.kind = GEN_COPY, .symbols = 1, .min_len = 1, .max_len = 1, .seed = 1};
    char src[LINE], tgt[LINE];
    int failures = 0;
    for (int split = 0; split < 3; split++)
        failures += gen_example(&t, split, 0, src, LINE, tgt, LINE) == S2S_ERANGE;
    cr_expect_eq(failures, 2, "two of three splits have no sequence");
    t.max_len = 1001;
    cr_expect_eq(gen_check(&t), S2S_EINVAL);
}

Test(gen, line_too_long_for_buffer)
{
    gen_task t = task_of(GEN_GRAMMAR, 1);
    char src[8], tgt[LINE];
    cr_expect_eq(gen_example(&t, SPLIT_TRAIN, 0, src, sizeof src, tgt, LINE), S2S_ERANGE);
}

static const struct {
    uint32_t n;
    const char *words, *digits;
} NUMBERS[] = {
    {0, "zero", "0"},
    {7, "seven", "7"},
    {10, "ten", "1 0"},
    {13, "thirteen", "1 3"},
    {20, "twenty", "2 0"},
    {21, "twenty one", "2 1"},
    {100, "one hundred", "1 0 0"},
    {101, "one hundred one", "1 0 1"},
    {110, "one hundred ten", "1 1 0"},
    {342, "three hundred forty two", "3 4 2"},
    {999, "nine hundred ninety nine", "9 9 9"},
    {1000, "one thousand", "1 0 0 0"},
    {1001, "one thousand one", "1 0 0 1"},
    {1010, "one thousand ten", "1 0 1 0"},
    {12345, "twelve thousand three hundred forty five", "1 2 3 4 5"},
    {1000000, "one million", "1 0 0 0 0 0 0"},
    {100000000, "one hundred million", "1 0 0 0 0 0 0 0 0"},
    {999999999,
     "nine hundred ninety nine million nine hundred ninety nine thousand nine hundred ninety nine",
     "9 9 9 9 9 9 9 9 9"},
};

/* An independent reading of number words: the value of the text, or -1 if a word is unknown. */
static long read_number(const char *text)
{
    static const char *const small[] = {"zero",    "one",     "two",       "three",    "four",
                                        "five",    "six",     "seven",     "eight",    "nine",
                                        "ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                        "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
    static const char *const tens[] = {"twenty", "thirty",  "forty",  "fifty",
                                       "sixty",  "seventy", "eighty", "ninety"};
    char copy[LINE], *w[MAX_WORDS];
    snprintf(copy, sizeof copy, "%s", text);
    int n = words(copy, w);
    long total = 0, group = 0;
    for (int i = 0; i < n; i++) {
        long v = -1;
        for (int k = 0; k < 20; k++)
            if (!strcmp(w[i], small[k]))
                v = k;
        for (int k = 0; k < 8; k++)
            if (!strcmp(w[i], tens[k]))
                v = 20 + 10 * k;
        if (v >= 0)
            group += v;
        else if (!strcmp(w[i], "hundred"))
            group *= 100;
        else if (!strcmp(w[i], "thousand") || !strcmp(w[i], "million")) {
            total += group * (w[i][0] == 't' ? 1000 : 1000000);
            group = 0;
        } else
            return -1;
    }
    return total + group;
}

/* "3 4 2" -> 342, or -1. */
static long read_digits(const char *text)
{
    long v = 0;
    for (const char *c = text; *c; c++) {
        if (*c == ' ')
            continue;
        if (*c < '0' || *c > '9' || (c[1] && c[1] != ' '))
            return -1;
        v = v * 10 + (*c - '0');
    }
    return v;
}

Test(gen, number_spelling)
{
    char buf[LINE];
    for (size_t i = 0; i < sizeof NUMBERS / sizeof NUMBERS[0]; i++) {
        cr_assert_eq(gen_number_words(NUMBERS[i].n, buf, sizeof buf), 0);
        cr_expect_str_eq(buf, NUMBERS[i].words, "%u", NUMBERS[i].n);
        cr_expect_eq(read_number(buf), (long)NUMBERS[i].n, "'%s' reads back", buf);
        cr_assert_eq(gen_number_digits(NUMBERS[i].n, buf, sizeof buf), 0);
        cr_expect_str_eq(buf, NUMBERS[i].digits, "%u", NUMBERS[i].n);
    }
    cr_expect_eq(gen_number_words(1000000000, buf, sizeof buf), S2S_ERANGE);
    cr_expect_eq(gen_number_words(342, buf, 6), S2S_ERANGE, "does not fit");
}

Test(gen, numbers_both_directions)
{
    gen_task t = task_of(GEN_NUMBERS, 2), r = t;
    r.reverse = true;
    char src[LINE], tgt[LINE], rsrc[LINE], rtgt[LINE];
    int by_digits[3][10] = {{0}};
    for (int split = 0; split < 3; split++)
        for (uint64_t i = 0; i < 1000; i++) {
            example(&t, split, i, src, tgt);
            long n = read_digits(tgt);
            cr_assert(n >= 0 && n <= 999999999, "target '%s' is digits", tgt);
            cr_assert_eq(read_number(src), n, "'%s' -> '%s'", src, tgt);
            char expect[LINE];
            gen_number_words((uint32_t)n, expect, sizeof expect);
            cr_assert_str_eq(src, expect);
            example(&r, split, i, rsrc, rtgt);
            cr_assert_str_eq(rsrc, tgt, "--reverse: digits are the source");
            cr_assert_str_eq(rtgt, src, "--reverse: words are the target");
            by_digits[split][(strlen(tgt) + 1) / 2]++;
        }
    /* Each length 1..9 about a ninth of the training lines, so small and large numbers are
     * both common; held-out lines have 4..9 digits, a sixth each. */
    for (int d = 1; d <= 9; d++) {
        cr_expect_gt(by_digits[SPLIT_TRAIN][d], 70, "%d-digit training numbers: %d of 1000", d,
                     by_digits[SPLIT_TRAIN][d]);
        for (int split = SPLIT_VALID; split <= SPLIT_TEST; split++)
            if (d < 4)
                cr_expect_eq(by_digits[split][d], 0, "%d-digit numbers are training data", d);
            else
                cr_expect_gt(by_digits[split][d], 110, "%d-digit numbers in split %d: %d", d, split,
                             by_digits[split][d]);
    }
}

/* The symbol index of a token of a sequence task ("c" -> 2, "w17" -> 17). */
static int symbol(const gen_task *t, const char *w)
{
    return t->symbols <= 26 ? w[0] - 'a' : atoi(w + 1);
}

static void check_sequences(const gen_task *t)
{
    char src[LINE], tgt[LINE], *s[MAX_WORDS], *g[MAX_WORDS];
    for (uint64_t i = 0; i < 300; i++) {
        example(t, (int)(i % 3), i, src, tgt);
        int n = words(src, s), m = words(tgt, g);
        cr_assert_eq(n, m, "same length");
        cr_assert(n >= t->min_len && n <= t->max_len, "length %d", n);
        int count[1000] = {0};
        for (int k = 0; k < n; k++) {
            int a = symbol(t, s[k]);
            cr_assert(a >= 0 && a < t->symbols, "symbol '%s'", s[k]);
            count[a]++;
        }
        for (int k = 0; k < n; k++) {
            if (t->kind == GEN_COPY)
                cr_assert_str_eq(g[k], s[k]);
            if (t->kind == GEN_REVERSE)
                cr_assert_str_eq(g[k], s[n - 1 - k]);
            if (t->kind == GEN_SORT) { /* ordered, and the same multiset */
                cr_assert(k == 0 || symbol(t, g[k - 1]) <= symbol(t, g[k]), "sorted");
                count[symbol(t, g[k])]--;
            }
        }
        for (int a = 0; t->kind == GEN_SORT && a < t->symbols; a++)
            cr_assert_eq(count[a], 0, "sort keeps the symbols");
    }
}

Test(gen, sequence_tasks)
{
    for (int k = GEN_COPY; k <= GEN_SORT; k++) {
        gen_task t = task_of((gen_kind)k, 9);
        check_sequences(&t);
        t.symbols = 300; /* w0 .. w299 */
        t.max_len = 20;
        check_sequences(&t);
    }
}

/* The grammar lexicon as a sorted table of word forms, per side. */
typedef struct {
    const char *word;
    gen_lex_class cls;
    const gen_lex_entry *entry;
    int form; /* 0 singular, 1 plural, -1 either (the forms are the same) */
} form;

typedef struct {
    form *f;
    int n;
} form_table;

static int cmp_form(const void *a, const void *b)
{
    return strcmp(((const form *)a)->word, ((const form *)b)->word);
}

static form_table forms_of(int side)
{
    form_table t = {calloc(4096, sizeof(form)), 0};
    cr_assert(t.f);
    for (int c = 0; c < GEN_LEX_N_CLASSES; c++) {
        int n;
        const gen_lex_entry *e = gen_lexicon((gen_lex_class)c, &n);
        for (int i = 0; i < n; i++) {
            const char *const *w = side ? e[i].tgt : e[i].src;
            if (!w[0])
                continue;
            bool same = !strcmp(w[0], w[1]);
            for (int k = 0; k < (same ? 1 : 2); k++)
                t.f[t.n++] = (form){w[k], (gen_lex_class)c, &e[i], same ? -1 : k};
        }
    }
    qsort(t.f, (size_t)t.n, sizeof *t.f, cmp_form);
    for (int i = 1; i < t.n; i++)
        cr_assert(strcmp(t.f[i - 1].word, t.f[i].word) != 0,
                  "'%s' is two words of the %s side: parsing would be ambiguous", t.f[i].word,
                  side ? "target" : "source");
    return t;
}

static const form *lookup(const form_table *t, const char *w)
{
    form key = {.word = w};
    return bsearch(&key, t->f, (size_t)t->n, sizeof *t->f, cmp_form);
}

static bool is_verb(const form *f)
{
    return f->cls == GEN_LEX_VERB || f->cls == GEN_LEX_INTRANS;
}

Test(gen, grammar_lexicon_size)
{
    int n[GEN_LEX_N_CLASSES];
    for (int c = 0; c < GEN_LEX_N_CLASSES; c++)
        gen_lexicon((gen_lex_class)c, &n[c]);
    cr_expect_geq(n[GEN_LEX_NOUN], 100);
    cr_expect_geq(n[GEN_LEX_VERB] + n[GEN_LEX_INTRANS], 50);
    cr_expect_geq(n[GEN_LEX_ADJ], 50);
    cr_expect_geq(n[GEN_LEX_PREP], 12);
    form_table s = forms_of(0), t = forms_of(1);
    for (int i = 0; i < t.n; i++)
        cr_expect(!lookup(&s, t.f[i].word), "'%s' is a word of both languages", t.f[i].word);
    free(s.f);
    free(t.f);
}

/* Parses 1,000 pairs of each split by the lexicon and checks the rules of datasets/grammar.c. */
Test(gen, grammar_order_agreement_lexicon, .timeout = 120)
{
    form_table S = forms_of(0), T = forms_of(1);
    gen_task g = task_of(GEN_GRAMMAR, 11);
    char src[LINE], tgt[LINE], *s[MAX_WORDS], *t[MAX_WORDS];
    const form *sf[MAX_WORDS], *tf[MAX_WORDS];
    int longest = 0, shortest = 99, with_relative = 0;
    for (int split = 0; split < 3; split++)
        for (uint64_t i = 0; i < 1000; i++) {
            example(&g, split, i, src, tgt);
            char src_line[LINE], tgt_line[LINE]; /* for messages: words() cuts src and tgt */
            strcpy(src_line, src);
            strcpy(tgt_line, tgt);
            int n = words(src, s), m = words(tgt, t);
            cr_assert(n >= GEN_GRAMMAR_MIN_WORDS && n <= GEN_GRAMMAR_MAX_WORDS, "%d words", n);
            longest = n > longest ? n : longest;
            shortest = n < shortest ? n : shortest;
            int plural_nouns = 0, objects = 0, plural_marks = 0, object_marks = 0;
            for (int k = 0; k < n; k++) {
                cr_assert((sf[k] = lookup(&S, s[k])), "source word '%s' is in the lexicon", s[k]);
                plural_nouns += sf[k]->cls == GEN_LEX_NOUN && sf[k]->form == 1;
                objects += sf[k]->cls == GEN_LEX_VERB;
            }
            for (int k = 0; k < m; k++) {
                cr_assert((tf[k] = lookup(&T, t[k])), "target word '%s' is in the lexicon", t[k]);
                plural_marks += !strcmp(t[k], GEN_MARK_PLURAL);
                object_marks += !strcmp(t[k], GEN_MARK_OBJECT);
            }
            cr_assert_eq(plural_marks, plural_nouns, "each plural noun is marked: %s", tgt_line);
            cr_assert_eq(object_marks, objects, "each object is marked: %s", tgt_line);

            /* Source: the first noun heads the subject; the main verb is the first verb that
             * does not follow "that", and it agrees with the subject. */
            int subj = 0, verb = 0;
            while (sf[subj]->cls != GEN_LEX_NOUN)
                subj++;
            while (!is_verb(sf[verb]) || (verb > 0 && !strcmp(s[verb - 1], "that")))
                verb++;
            cr_assert_eq(sf[verb]->form, sf[subj]->form, "source agreement: %s", src_line);

            /* Target: the verb is last, is the source's main verb, and agrees with the
             * subject, whose determiner is the first one not followed by the object mark. */
            const form *last = tf[m - 1];
            cr_assert(is_verb(last), "verb last: %s", tgt_line);
            cr_assert_eq(last->entry, sf[verb]->entry, "the main verb translated: %s", tgt_line);
            cr_assert_eq(last->form, sf[subj]->form, "target agreement: %s -> %s", src_line,
                         tgt_line);
            int det = 0;
            while (tf[det]->cls != GEN_LEX_DET || !strcmp(t[det + 1], GEN_MARK_OBJECT))
                det++;
            cr_assert_eq(!strcmp(t[det - 1], GEN_MARK_PLURAL), last->form == 1,
                         "subject number marked as the verb shows: %s", tgt_line);

            /* A relative clause ends in its verb and ji, and the verb agrees with the noun
             * phrase after it, whose determiner is the next one. */
            for (int k = 1; k < m; k++) {
                if (strcmp(t[k], GEN_MARK_RELATIVE) != 0)
                    continue;
                with_relative++;
                cr_assert(is_verb(tf[k - 1]), "verb before ji: %s", tgt_line);
                int d = k + 1;
                while (tf[d]->cls != GEN_LEX_DET)
                    d++;
                cr_assert_eq(!strcmp(t[d - 1], GEN_MARK_PLURAL), tf[k - 1]->form == 1,
                             "relative clause agreement: %s", tgt_line);
            }
        }
    cr_expect_leq(shortest, 6, "short sentences occur");
    cr_expect_geq(longest, 20, "long sentences occur");
    cr_expect_gt(with_relative, 300, "relative clauses occur");
    free(S.f);
    free(T.f);
}

Test(gen, grammar_vocabulary_size, .timeout = 120)
{
    /* Distinct words of 20,000 pairs, both sides (the languages share no word). */
    enum { N = 20000 };
    form_table S = forms_of(0), T = forms_of(1);
    bool *seen_s = calloc((size_t)S.n, 1), *seen_t = calloc((size_t)T.n, 1);
    gen_task g = task_of(GEN_GRAMMAR, 12);
    char src[LINE], tgt[LINE], *w[MAX_WORDS];
    for (uint64_t i = 0; i < N; i++) {
        example(&g, SPLIT_TRAIN, i, src, tgt);
        int n = words(src, w);
        for (int k = 0; k < n; k++)
            seen_s[lookup(&S, w[k]) - S.f] = true;
        n = words(tgt, w);
        for (int k = 0; k < n; k++)
            seen_t[lookup(&T, w[k]) - T.f] = true;
    }
    int types = 0;
    for (int i = 0; i < S.n; i++)
        types += seen_s[i];
    for (int i = 0; i < T.n; i++)
        types += seen_t[i];
    cr_expect(types >= 200 && types <= 1000, "%d word types", types);
    free(seen_s);
    free(seen_t);
    free(S.f);
    free(T.f);
}

Test(gen, grammar_reverse_swaps_sides)
{
    gen_task g = task_of(GEN_GRAMMAR, 13), r = g;
    r.reverse = true;
    char src[LINE], tgt[LINE], rsrc[LINE], rtgt[LINE];
    for (uint64_t i = 0; i < 100; i++) {
        example(&g, SPLIT_TEST, i, src, tgt);
        example(&r, SPLIT_TEST, i, rsrc, rtgt);
        cr_assert_str_eq(rsrc, tgt);
        cr_assert_str_eq(rtgt, src);
    }
}

static char dir[64];

static void setup(void)
{
    cr_assert_eq(scratch_make(dir, sizeof dir, "gen"), 0, "scratch directory");
}

static void teardown(void)
{
    scratch_remove(dir);
}

/* Lines of a file, asserting each equals the matching side of the task's examples. */
static long check_file(const gen_task *t, const char *prefix, int split, int side)
{
    static const char *const splits[] = {"train", "valid", "test"};
    char path[512], src[LINE], tgt[LINE];
    snprintf(path, sizeof path, "%s.%s.%s", prefix, splits[split], side ? "tgt" : "src");
    char *text = scratch_read(path, NULL);
    cr_assert(text, "%s exists", path);
    long lines = 0;
    for (char *line = text, *end; *line; line = end + 1, lines++) {
        end = strchr(line, '\n');
        cr_assert(end, "%s: every line ends in a newline", path);
        *end = '\0';
        example(t, split, (uint64_t)lines, src, tgt);
        cr_assert_str_eq(line, side ? tgt : src, "%s line %ld", path, lines + 1);
    }
    free(text);
    return lines;
}

Test(gen, write_files, .init = setup, .fini = teardown)
{
    char prefix[256];
    scratch_path(prefix, sizeof prefix, dir, "corpus");
    gen_task g = task_of(GEN_GRAMMAR, 14);
    cr_assert_eq(gen_write(&g, prefix, 137, 11, 0), 0, "%s", s2s_errmsg(S2S_EIO));
    const long expect[3] = {137, 11, 0};
    for (int split = 0; split < 3; split++)
        for (int side = 0; side < 2; side++)
            cr_expect_eq(check_file(&g, prefix, split, side), expect[split]);
    cr_expect_eq(scratch_count(dir, ""), 6, "six files");
    cr_expect_eq(scratch_count(dir, ".tmp"), 0, "no temporary file left");

    /* Writing again replaces the files. */
    g = task_of(GEN_NUMBERS, 14);
    cr_assert_eq(gen_write(&g, prefix, 5, 3, 2), 0);
    cr_expect_eq(check_file(&g, prefix, SPLIT_TEST, 1), 2);
    cr_expect_eq(scratch_count(dir, ""), 6, "six files");
}

Test(gen, write_failure_leaves_nothing, .init = setup, .fini = teardown)
{
    char prefix[256];
    scratch_path(prefix, sizeof prefix, dir, "missing/corpus");
    gen_task g = task_of(GEN_COPY, 1);
    cr_expect_eq(gen_write(&g, prefix, 10, 1, 1), S2S_EIO);
    cr_expect(strstr(s2s_errmsg(S2S_EIO), "missing/corpus.train.src"), "names the file: %s",
              s2s_errmsg(S2S_EIO));

    /* A task that cannot fill its held-out splits fails after creating its files: none stays. */
    scratch_path(prefix, sizeof prefix, dir, "corpus");
    g = (gen_task){.kind = GEN_COPY, .symbols = 1, .min_len = 1, .max_len = 1, .seed = 1};
    cr_expect_eq(gen_write(&g, prefix, 10, 1, 1), S2S_ERANGE);
    cr_expect_eq(scratch_count(dir, ""), 0, "nothing left: %d entries", scratch_count(dir, ""));
    cr_expect_eq(gen_write(&g, prefix, -1, 0, 0), S2S_ERANGE);
}
