/* grammar.c - the grammar task: English-like SVO sentences translated into a made-up SOV
 * language with its own words. The translation needs attention: the verb moves to the end,
 * adjectives and determiners follow their noun, prepositions become postpositions, relative
 * clauses move before their noun, and the verb's form agrees with a subject that may be many
 * words away. datasets/README.md documents the rules with examples.
 *
 *   sentence   -> subject verb [object] pp{0,2}            (an intransitive verb has >= 1 pp)
 *   subject, object -> np [that verb [np]]                 (relative clause on the noun)
 *   np         -> det adj{0,2} noun                        (1 adjective at most inside a clause)
 *   pp         -> prep np
 * Target: subject' pp'... [object' wo] verb', with
 *   np'  = noun adj'... [ri] det'           ri marks a plural noun
 *   pp'  = np' postposition
 *   relative clause' = [np' wo] verb' ji, before the np' it belongs to
 * and each verb in the form of its subject's number (stem + a: singular, stem + en: plural).
 * The source is unambiguous (every word form belongs to one class and a relative clause holds
 * no prepositional phrase), so the translation is a function of the source text. */
#include "internal.h"

/* The lexicon, listed once. Target words have a shape per class: nouns CVCV, adjectives CVCVn,
 * verb stems CVCVC, postpositions VC, determiners and markers CV; no target word is an English
 * word of the source lexicon. The words were drawn once at random and are fixed here. */
// clang-format off
#define N(sg, pl, t) {{sg, pl}, {t, t}}       /* nouns, determiners: a form per number */
#define A(w, t) {{w, w}, {t, t}}              /* adjectives, prepositions: one form */
#define V(s3, base, t) {{s3, base}, {t "a", t "en"}} /* verbs: agree with the subject */
static const gen_lex_entry dets[] = {
    N("the", "the", "le"),
    N("a", "some", "ka"),
    N("this", "these", "su"),
    N("my", "my", "mi"),
    N("your", "your", "tu"),
    N("every", "all", "po"),
    N("no", "no", "ni"),
};
static const gen_lex_entry nouns[] = {
    N("dog", "dogs", "dive"), N("cat", "cats", "deku"), N("bird", "birds", "tesu"),
    N("horse", "horses", "nuzo"), N("cow", "cows", "teno"), N("goat", "goats", "soge"),
    N("pig", "pigs", "nuto"), N("duck", "ducks", "meli"), N("frog", "frogs", "taka"),
    N("fox", "foxes", "zaro"), N("bear", "bears", "bipu"), N("lion", "lions", "voba"),
    N("tiger", "tigers", "mefi"), N("rabbit", "rabbits", "nile"), N("snake", "snakes", "noma"),
    N("owl", "owls", "koze"), N("bee", "bees", "nate"), N("ant", "ants", "kiti"),
    N("spider", "spiders", "zino"), N("monkey", "monkeys", "giku"), N("donkey", "donkeys", "sebi"),
    N("eagle", "eagles", "pilo"), N("turtle", "turtles", "nera"), N("camel", "camels", "voso"),
    N("zebra", "zebras", "suka"), N("whale", "whales", "peme"), N("shark", "sharks", "fike"),
    N("crab", "crabs", "bami"), N("parrot", "parrots", "vole"), N("farmer", "farmers", "dupu"),
    N("teacher", "teachers", "peve"), N("doctor", "doctors", "nupa"), N("baker", "bakers", "suve"),
    N("sailor", "sailors", "revu"), N("soldier", "soldiers", "kule"), N("king", "kings", "kapu"),
    N("queen", "queens", "pigo"), N("girl", "girls", "zamu"), N("boy", "boys", "foru"),
    N("student", "students", "gano"), N("artist", "artists", "dipa"),
    N("singer", "singers", "sifo"), N("driver", "drivers", "pine"), N("pilot", "pilots", "taga"),
    N("nurse", "nurses", "puvo"), N("lawyer", "lawyers", "mali"), N("hunter", "hunters", "duba"),
    N("painter", "painters", "neme"), N("writer", "writers", "vilo"),
    N("dancer", "dancers", "neri"), N("judge", "judges", "biru"), N("guard", "guards", "muno"),
    N("prince", "princes", "tuba"), N("princess", "princesses", "vobe"),
    N("neighbor", "neighbors", "toku"), N("friend", "friends", "denu"),
    N("stranger", "strangers", "doro"), N("brother", "brothers", "zora"),
    N("sister", "sisters", "leza"), N("uncle", "uncles", "gupa"), N("aunt", "aunts", "doko"),
    N("cousin", "cousins", "sigi"), N("house", "houses", "kira"), N("garden", "gardens", "luba"),
    N("tree", "trees", "guru"), N("river", "rivers", "gazi"), N("road", "roads", "tima"),
    N("bridge", "bridges", "somi"), N("table", "tables", "dafo"), N("chair", "chairs", "ziba"),
    N("window", "windows", "liko"), N("door", "doors", "zosi"), N("box", "boxes", "geta"),
    N("cup", "cups", "pogu"), N("bottle", "bottles", "tome"), N("book", "books", "kofu"),
    N("letter", "letters", "geni"), N("apple", "apples", "kepa"), N("banana", "bananas", "gete"),
    N("carrot", "carrots", "roro"), N("flower", "flowers", "luso"), N("stone", "stones", "lage"),
    N("hill", "hills", "beva"), N("field", "fields", "fizu"), N("forest", "forests", "dame"),
    N("lake", "lakes", "bupo"), N("village", "villages", "vimu"), N("city", "cities", "nigu"),
    N("castle", "castles", "kepo"), N("tower", "towers", "pubi"), N("market", "markets", "fove"),
    N("school", "schools", "teda"), N("kitchen", "kitchens", "ronu"), N("boat", "boats", "duze"),
    N("car", "cars", "buta"), N("train", "trains", "vaka"), N("wagon", "wagons", "soba"),
    N("ship", "ships", "gufe"), N("basket", "baskets", "vipe"), N("lamp", "lamps", "puse"),
    N("mirror", "mirrors", "runi"), N("clock", "clocks", "nubo"), N("key", "keys", "zosu"),
    N("coin", "coins", "tato"), N("ring", "rings", "bema"), N("hat", "hats", "vomu"),
    N("coat", "coats", "remu"), N("shoe", "shoes", "vero"), N("bag", "bags", "mafu"),
    N("bed", "beds", "fige"), N("wall", "walls", "mudo"), N("roof", "roofs", "noku"),
    N("cake", "cakes", "nila"), N("bell", "bells", "kezi"), N("drum", "drums", "gita"),
    N("flag", "flags", "sozo"), N("map", "maps", "zufu"), N("pencil", "pencils", "nane"),
    N("ball", "balls", "kovi"), N("kite", "kites", "nomi"),
};
static const gen_lex_entry adjectives[] = {
    A("big", "mekon"), A("small", "rakun"), A("old", "vukan"), A("young", "bisan"),
    A("red", "nozin"), A("blue", "padin"), A("green", "bunan"), A("yellow", "difun"),
    A("black", "tepin"), A("white", "temen"), A("happy", "gigon"), A("sad", "bevan"),
    A("angry", "rizan"), A("tired", "vifen"), A("hungry", "refun"), A("quiet", "vapun"),
    A("loud", "daton"), A("tall", "kuran"), A("short", "resun"), A("fast", "vofin"),
    A("slow", "ridan"), A("strong", "pufan"), A("weak", "poten"), A("brave", "repen"),
    A("shy", "fagon"), A("clever", "bilon"), A("lazy", "tegun"), A("busy", "bodin"),
    A("rich", "lukan"), A("poor", "gapun"), A("dirty", "melen"), A("heavy", "malen"),
    A("dark", "geran"), A("bright", "nalon"), A("warm", "megin"), A("cold", "fadun"),
    A("wet", "ledan"), A("dry", "molan"), A("soft", "zonen"), A("sweet", "gofin"),
    A("strange", "sofun"), A("famous", "gilin"), A("gentle", "bebin"), A("proud", "fepen"),
    A("calm", "mofun"), A("wild", "timin"), A("kind", "bepon"), A("curious", "tufen"),
    A("lonely", "malon"), A("friendly", "magen"), A("polite", "todon"), A("silly", "vofon"),
    A("wise", "kevin"), A("honest", "pimen"), A("huge", "paden"), A("tiny", "zupon"),
    A("pretty", "rofun"), A("ugly", "tonin"), A("round", "zevin"), A("sleepy", "sivon"),
};
static const gen_lex_entry verbs[] = {
    V("sees", "see", "vener"), V("likes", "like", "vanav"), V("chases", "chase", "gekur"),
    V("follows", "follow", "ligad"), V("helps", "help", "rabis"), V("finds", "find", "mutel"),
    V("watches", "watch", "dolos"), V("carries", "carry", "girad"), V("pushes", "push", "zugag"),
    V("pulls", "pull", "foguk"), V("visits", "visit", "tilob"), V("calls", "call", "tofuf"),
    V("kicks", "kick", "kerol"), V("touches", "touch", "pamag"), V("holds", "hold", "kibum"),
    V("paints", "paint", "fidep"), V("washes", "wash", "lunel"), V("opens", "open", "bosus"),
    V("closes", "close", "kosal"), V("draws", "draw", "rumik"), V("catches", "catch", "gavan"),
    V("greets", "greet", "lasom"), V("meets", "meet", "nafal"), V("knows", "know", "losif"),
    V("loves", "love", "fagur"), V("hates", "hate", "bubal"), V("wants", "want", "lodiz"),
    V("needs", "need", "pogam"), V("brings", "bring", "fevob"), V("buys", "buy", "rurir"),
    V("sells", "sell", "zimuf"), V("builds", "build", "difen"), V("breaks", "break", "netiv"),
    V("hits", "hit", "kaseb"), V("feeds", "feed", "laded"), V("teaches", "teach", "marol"),
    V("remembers", "remember", "kudas"), V("forgets", "forget", "kosob"),
    V("admires", "admire", "gegek"), V("avoids", "avoid", "zefar"),
    V("ignores", "ignore", "zonok"), V("protects", "protect", "tader"),
    V("attacks", "attack", "fonas"), V("bites", "bite", "mimes"), V("hugs", "hug", "bumer"),
    V("kisses", "kiss", "pisum"), V("lifts", "lift", "vates"), V("drops", "drop", "zovom"),
};
static const gen_lex_entry intransitive[] = {
    V("sleeps", "sleep", "famef"), V("runs", "run", "dupik"), V("sings", "sing", "budov"),
    V("dances", "dance", "resib"), V("laughs", "laugh", "zerab"), V("cries", "cry", "nuvos"),
    V("sits", "sit", "ropav"), V("waits", "wait", "zobib"), V("jumps", "jump", "nider"),
    V("swims", "swim", "kirid"), V("walks", "walk", "semuv"), V("smiles", "smile", "zovun"),
};
static const gen_lex_entry preps[] = {
    A("in", "ig"), A("on", "it"), A("near", "od"), A("behind", "ub"), A("under", "er"),
    A("above", "ed"), A("beside", "ur"), A("with", "iv"), A("without", "ep"), A("across", "ef"),
    A("along", "eg"), A("around", "ol"), A("through", "om"), A("toward", "ut"), A("from", "us"),
};
static const gen_lex_entry marks[] = {
    {{"that", "that"}, {GEN_MARK_RELATIVE, GEN_MARK_RELATIVE}},
    {{NULL, NULL}, {GEN_MARK_PLURAL, GEN_MARK_PLURAL}},
    {{NULL, NULL}, {GEN_MARK_OBJECT, GEN_MARK_OBJECT}},
};
#undef N
#undef A
#undef V
// clang-format on

/* nouns[] lists animals and people before things and places: the subjects of verbs come from
 * the first ANIMATE, so that "the teacher sees a boat" is possible and "the boat sees" is not;
 * prepositional phrases take the rest ("in the garden", not "in the teacher"). */
enum { ANIMATE = 62 };

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
static const struct {
    const gen_lex_entry *words;
    int n;
} lexicon[GEN_LEX_N_CLASSES] = {
    [GEN_LEX_DET] = {dets, COUNT(dets)},
    [GEN_LEX_NOUN] = {nouns, COUNT(nouns)},
    [GEN_LEX_ADJ] = {adjectives, COUNT(adjectives)},
    [GEN_LEX_VERB] = {verbs, COUNT(verbs)},
    [GEN_LEX_INTRANS] = {intransitive, COUNT(intransitive)},
    [GEN_LEX_PREP] = {preps, COUNT(preps)},
    [GEN_LEX_MARK] = {marks, COUNT(marks)},
};

const gen_lex_entry *gen_lexicon(gen_lex_class cls, int *n)
{
    if ((unsigned)cls >= GEN_LEX_N_CLASSES) {
        *n = 0;
        return NULL;
    }
    *n = lexicon[cls].n;
    return lexicon[cls].words;
}

/* A sentence's derivation: the words chosen, before either side is written. */
typedef struct {
    const gen_lex_entry *det, *noun, *adj[2];
    int n_adj, plural; /* plural: 0 or 1, the index of the forms */
} noun_phrase;

typedef struct {
    noun_phrase head;
    const gen_lex_entry *rel_verb; /* NULL: no relative clause */
    bool rel_object;               /* the relative clause's verb has an object, rel_np */
    noun_phrase rel_np;
} clause_np;

typedef struct {
    clause_np subject, object;
    const gen_lex_entry *verb;
    bool transitive;
    int n_pp;
    const gen_lex_entry *prep[2];
    noun_phrase pp[2];
} sentence;

static const gen_lex_entry *pick(rng_stream *s, gen_lex_class cls)
{
    return &lexicon[cls].words[rng_below(s, (uint32_t)lexicon[cls].n)];
}

enum { ANY_NOUN, ANIMATE_NOUN, THING_NOUN };

static const gen_lex_entry *pick_noun(rng_stream *s, int kind)
{
    uint32_t first = kind == THING_NOUN ? ANIMATE : 0;
    uint32_t end = kind == ANIMATE_NOUN ? ANIMATE : (uint32_t)COUNT(nouns);
    return &nouns[first + rng_below(s, end - first)];
}

/* True with probability percent / 100. */
static bool chance(rng_stream *s, uint32_t percent)
{
    return rng_below(s, 100) < percent;
}

/* 0, 1 or 2 with probabilities 1/2, 7/20, 3/20: most phrases are short, some are long. */
static int few(rng_stream *s)
{
    uint32_t u = rng_below(s, 100);
    return u < 50 ? 0 : u < 85 ? 1 : 2;
}

static void draw_np(rng_stream *s, int noun_kind, int max_adj, noun_phrase *np)
{
    np->det = pick(s, GEN_LEX_DET);
    np->noun = pick_noun(s, noun_kind);
    np->plural = chance(s, 35);
    np->n_adj = few(s);
    if (np->n_adj > max_adj)
        np->n_adj = max_adj;
    for (int i = 0; i < np->n_adj; i++) {
        do /* two different adjectives: "big big" says nothing */
            np->adj[i] = pick(s, GEN_LEX_ADJ);
        while (i == 1 && np->adj[1] == np->adj[0]);
    }
}

/* A subject, or an object when `subject` is false; a relative clause makes its noun the
 * clause's subject. */
static void draw_clause_np(rng_stream *s, bool subject, clause_np *c)
{
    bool relative = chance(s, 20);
    draw_np(s, subject || relative ? ANIMATE_NOUN : ANY_NOUN, 2, &c->head);
    c->rel_verb = NULL;
    if (!relative)
        return;
    c->rel_object = chance(s, 70);
    c->rel_verb = pick(s, c->rel_object ? GEN_LEX_VERB : GEN_LEX_INTRANS);
    if (c->rel_object)
        draw_np(s, ANY_NOUN, 1, &c->rel_np);
}

/* Longest source: subject and object 4 + 5 words each, the verb, two pps of 5: 29 words. */
static void draw_sentence(rng_stream *s, sentence *x)
{
    draw_clause_np(s, true, &x->subject);
    x->transitive = chance(s, 75);
    x->verb = pick(s, x->transitive ? GEN_LEX_VERB : GEN_LEX_INTRANS);
    if (x->transitive)
        draw_clause_np(s, false, &x->object);
    x->n_pp = few(s);
    if (!x->transitive && x->n_pp == 0)
        x->n_pp = 1; /* "the dog sleeps" alone is too short to need attention */
    for (int i = 0; i < x->n_pp; i++) {
        x->prep[i] = pick(s, GEN_LEX_PREP);
        draw_np(s, THING_NOUN, 2, &x->pp[i]);
    }
}

static void np_source(const noun_phrase *np, text_line *l)
{
    line_word(l, np->det->src[np->plural]);
    for (int i = 0; i < np->n_adj; i++)
        line_word(l, np->adj[i]->src[0]);
    line_word(l, np->noun->src[np->plural]);
}

static void clause_np_source(const clause_np *c, text_line *l)
{
    np_source(&c->head, l);
    if (!c->rel_verb)
        return;
    line_word(l, marks[0].src[0]); /* "that" */
    line_word(l, c->rel_verb->src[c->head.plural]);
    if (c->rel_object)
        np_source(&c->rel_np, l);
}

static void sentence_source(const sentence *x, text_line *l)
{
    clause_np_source(&x->subject, l);
    line_word(l, x->verb->src[x->subject.head.plural]);
    if (x->transitive)
        clause_np_source(&x->object, l);
    for (int i = 0; i < x->n_pp; i++) {
        line_word(l, x->prep[i]->src[0]);
        np_source(&x->pp[i], l);
    }
}

static void np_target(const noun_phrase *np, text_line *l)
{
    line_word(l, np->noun->tgt[0]);
    for (int i = 0; i < np->n_adj; i++)
        line_word(l, np->adj[i]->tgt[0]);
    if (np->plural)
        line_word(l, GEN_MARK_PLURAL);
    line_word(l, np->det->tgt[0]);
}

static void clause_np_target(const clause_np *c, text_line *l)
{
    if (c->rel_verb) {
        if (c->rel_object) {
            np_target(&c->rel_np, l);
            line_word(l, GEN_MARK_OBJECT);
        }
        line_word(l, c->rel_verb->tgt[c->head.plural]);
        line_word(l, GEN_MARK_RELATIVE);
    }
    np_target(&c->head, l);
}

static void sentence_target(const sentence *x, text_line *l)
{
    clause_np_target(&x->subject, l);
    for (int i = 0; i < x->n_pp; i++) {
        np_target(&x->pp[i], l);
        line_word(l, x->prep[i]->tgt[0]);
    }
    if (x->transitive) {
        clause_np_target(&x->object, l);
        line_word(l, GEN_MARK_OBJECT);
    }
    line_word(l, x->verb->tgt[x->subject.head.plural]);
}

typedef struct {
    sentence x;
    text_line *src;
} grammar_draw;

/* Draws a sentence and writes its English side, whose text is the content hashed. */
static uint32_t draw_grammar(void *ctx, rng_stream *s)
{
    grammar_draw *d = ctx;
    draw_sentence(s, &d->x);
    line_init(d->src, d->src->buf, d->src->size);
    sentence_source(&d->x, d->src);
    return fnv1a(FNV_OFFSET, d->src->buf, d->src->len);
}

int grammar_text(const gen_task *t, int split, uint32_t index, text_line *src, text_line *tgt)
{
    grammar_draw d = {.src = src};
    int rc = draw_for_split("grammar", t->seed, KEY_GRAMMAR + (uint32_t)split, split, index,
                            draw_grammar, &d);
    if (rc < 0)
        return rc;
    sentence_target(&d.x, tgt);
    return 0;
}
