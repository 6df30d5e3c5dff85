/* blas_core.c - the CPU's features, the OpenBLAS kernels they run, and the start-up choice among
 * them (include/s2s/blas_core.h). */
#include "s2s/blas_core.h"

#include <cblas.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

const cpu_feature_info cpu_features[CPU_NFEATURES] = {
    [CPU_SSE3] = {"sse3", "SSE3"},
    [CPU_SSSE3] = {"ssse3", "SSSE3"},
    [CPU_SSE41] = {"sse4_1", "SSE4.1"},
    [CPU_SSE42] = {"sse4_2", "SSE4.2"},
    [CPU_AVX] = {"avx", "AVX"},
    [CPU_FMA] = {"fma", "FMA"},
    [CPU_AVX2] = {"avx2", "AVX2"},
    [CPU_AVX512F] = {"avx512f", "AVX512F"},
    [CPU_AVX512CD] = {"avx512cd", "AVX512CD"},
    [CPU_AVX512BW] = {"avx512bw", "AVX512BW"},
    [CPU_AVX512DQ] = {"avx512dq", "AVX512DQ"},
    [CPU_AVX512VL] = {"avx512vl", "AVX512VL"},
    [CPU_AVX512_BF16] = {"avx512_bf16", "AVX512_BF16"},
    [CPU_AMX_BF16] = {"amx_bf16", "AMX-BF16"},
    [CPU_AMX_TILE] = {"amx_tile", "AMX-TILE"},
    [CPU_OS_YMM] = {"os_ymm", "YMM register state saved by the OS"},
    [CPU_OS_ZMM] = {"os_zmm", "ZMM register state saved by the OS"},
    [CPU_OS_AMX] = {"os_amx", "AMX tile state saved by the OS"},
};

/* ---- the CPU -------------------------------------------------------------------------------- */

/* A copy of text fit for messages and JSON strings: with names_only letters, digits, '_' and
 * '-' (kernel names from the environment), else any printable character but quotes and
 * backslashes; everything else becomes '?'. */
static void clean_copy(char *dst, size_t size, const char *src, bool names_only)
{
    size_t n = 0;
    for (; src && *src && n + 1 < size; src++, n++) {
        unsigned char ch = (unsigned char)*src;
        bool ok = names_only ? isalnum(ch) || ch == '_' || ch == '-'
                             : isprint(ch) && ch != '"' && ch != '\\';
        dst[n] = ok ? (char)ch : '?';
    }
    if (size > 0)
        dst[n] = '\0';
}

#if defined(__x86_64__) || defined(__i386__)
enum { EAX, EBX, ECX, EDX };
/* Where cpuid reports each feature (Intel SDM vol. 2A, CPUID). A subleaf of leaf 7 beyond the
 * last one reads as zeros, so subleaf 1 needs no check of its own. */
static const struct {
    unsigned leaf, subleaf;
    int reg, bit;
    cpu_feature f;
} CPUID_BITS[] = {
    {1, 0, ECX, 0, CPU_SSE3},      {1, 0, ECX, 9, CPU_SSSE3},     {1, 0, ECX, 12, CPU_FMA},
    {1, 0, ECX, 19, CPU_SSE41},    {1, 0, ECX, 20, CPU_SSE42},    {1, 0, ECX, 28, CPU_AVX},
    {7, 0, EBX, 5, CPU_AVX2},      {7, 0, EBX, 16, CPU_AVX512F},  {7, 0, EBX, 17, CPU_AVX512DQ},
    {7, 0, EBX, 28, CPU_AVX512CD}, {7, 0, EBX, 30, CPU_AVX512BW}, {7, 0, EBX, 31, CPU_AVX512VL},
    {7, 0, EDX, 22, CPU_AMX_BF16}, {7, 0, EDX, 24, CPU_AMX_TILE}, {7, 1, EAX, 5, CPU_AVX512_BF16},
};
#endif

void blas_cpu_detect(blas_cpu *cpu)
{
    memset(cpu, 0, sizeof *cpu);
#if defined(__x86_64__) || defined(__i386__)
    unsigned r[4];
    if (!__get_cpuid(0, &r[EAX], &r[EBX], &r[ECX], &r[EDX]))
        return;
    char vendor[13];
    memcpy(vendor, &r[EBX], 4);
    memcpy(vendor + 4, &r[EDX], 4);
    memcpy(vendor + 8, &r[ECX], 4);
    vendor[12] = '\0';
    clean_copy(cpu->vendor, sizeof cpu->vendor, vendor, false);
    if (!__get_cpuid(1, &r[EAX], &r[EBX], &r[ECX], &r[EDX]))
        return;
    int family = (int)(r[EAX] >> 8 & 0xf), model = (int)(r[EAX] >> 4 & 0xf);
    /* The extended fields count only where the base family says so (CPUID leaf 1). */
    cpu->family = family == 0xf ? family + (int)(r[EAX] >> 20 & 0xff) : family;
    cpu->model = family == 0x6 || family == 0xf ? model + (int)((r[EAX] >> 16 & 0xf) << 4) : model;
    cpu->stepping = (int)(r[EAX] & 0xf);
    bool osxsave = r[ECX] >> 27 & 1;
    for (size_t i = 0; i < sizeof CPUID_BITS / sizeof CPUID_BITS[0]; i++)
        if (__get_cpuid_count(CPUID_BITS[i].leaf, CPUID_BITS[i].subleaf, &r[EAX], &r[EBX], &r[ECX],
                              &r[EDX]) &&
            (r[CPUID_BITS[i].reg] >> CPUID_BITS[i].bit & 1))
            cpu->features |= CPU_HAS(CPUID_BITS[i].f);
    if (osxsave) {
        /* XCR0: which register state the OS saves on a context switch. Without it the
         * instructions fault even though cpuid lists them. */
        unsigned lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        uint64_t xcr0 = (uint64_t)hi << 32 | lo;
        if ((xcr0 & 0x6) == 0x6) /* SSE, AVX */
            cpu->features |= CPU_HAS(CPU_OS_YMM);
        if ((xcr0 & 0xe6) == 0xe6) /* and opmask, ZMM0-15 upper halves, ZMM16-31 */
            cpu->features |= CPU_HAS(CPU_OS_ZMM);
        if ((xcr0 & 0x60000) == 0x60000) /* TILECFG, TILEDATA */
            cpu->features |= CPU_HAS(CPU_OS_AMX);
    }
#endif
}

void blas_cpu_describe(const blas_cpu *cpu, char *buf, size_t size)
{
    static const struct {
        cpu_feature f;
        const char *name;
    } LEVELS[] = {{CPU_AVX512F, "AVX-512"}, {CPU_AVX2, "AVX2"},   {CPU_AVX, "AVX"},
                  {CPU_SSE42, "SSE4.2"},    {CPU_SSSE3, "SSSE3"}, {CPU_SSE3, "SSE3"}};
    const char *level = "no SSE3";
    for (size_t i = 0; i < sizeof LEVELS / sizeof LEVELS[0]; i++)
        if (cpu->features & CPU_HAS(LEVELS[i].f)) {
            level = LEVELS[i].name;
            break;
        }
    snprintf(buf, size, "%s family %d model %d, %s", cpu->vendor[0] ? cpu->vendor : "unknown CPU",
             cpu->family, cpu->model, level);
}

/* ---- the kernels ---------------------------------------------------------------------------- */

/* Kernels of one tier use the same vector extension for sgemm. SkylakeX, Cooperlake and
 * SapphireRapids share one: the latter two add bf16 kernels (sbgemm) that s2s never calls, so
 * running SkylakeX where SapphireRapids would do is no fall-back worth a restart. */
enum { TIER_SSE3 = 1, TIER_SSSE3, TIER_SSE42, TIER_AVX, TIER_AVX2, TIER_AVX512 };

/* Which CPUs a kernel is the best choice for: Haswell on Intel (and others), Zen on the AMD
 * families, as OpenBLAS itself picks them. */
enum { FOR_ALL, FOR_INTEL, FOR_AMD };

#define R_PRESCOTT CPU_HAS(CPU_SSE3)
#define R_CORE2 (R_PRESCOTT | CPU_HAS(CPU_SSSE3))
#define R_NEHALEM (R_CORE2 | CPU_HAS(CPU_SSE41) | CPU_HAS(CPU_SSE42))
#define R_SANDYBRIDGE (R_NEHALEM | CPU_HAS(CPU_AVX) | CPU_HAS(CPU_OS_YMM))
#define R_HASWELL (R_SANDYBRIDGE | CPU_HAS(CPU_AVX2) | CPU_HAS(CPU_FMA))
#define R_SKYLAKEX                                                                                 \
    (R_HASWELL | CPU_HAS(CPU_AVX512F) | CPU_HAS(CPU_AVX512CD) | CPU_HAS(CPU_AVX512BW) |            \
     CPU_HAS(CPU_AVX512DQ) | CPU_HAS(CPU_AVX512VL) | CPU_HAS(CPU_OS_ZMM))
#define R_COOPERLAKE (R_SKYLAKEX | CPU_HAS(CPU_AVX512_BF16))
#define R_SAPPHIRERAPIDS                                                                           \
    (R_COOPERLAKE | CPU_HAS(CPU_AMX_BF16) | CPU_HAS(CPU_AMX_TILE) | CPU_HAS(CPU_OS_AMX))

/* The kernels s2s chooses among, weakest first (the --blas-core choices, and the order of the
 * best choice: within a tier a later kernel is preferred where it runs): name as OpenBLAS
 * spells it, tier, the features it needs, the CPUs it is best for. */
#define CHOOSABLE(X)                                                                               \
    X("Prescott", TIER_SSE3, R_PRESCOTT, FOR_ALL)                                                  \
    X("Core2", TIER_SSSE3, R_CORE2, FOR_ALL)                                                       \
    X("Nehalem", TIER_SSE42, R_NEHALEM, FOR_ALL)                                                   \
    X("Sandybridge", TIER_AVX, R_SANDYBRIDGE, FOR_ALL)                                             \
    X("Haswell", TIER_AVX2, R_HASWELL, FOR_INTEL)                                                  \
    X("Zen", TIER_AVX2, R_HASWELL, FOR_AMD)                                                        \
    X("SkylakeX", TIER_AVX512, R_SKYLAKEX, FOR_ALL)                                                \
    X("Cooperlake", TIER_AVX512, R_COOPERLAKE, FOR_ALL)                                            \
    X("SapphireRapids", TIER_AVX512, R_SAPPHIRERAPIDS, FOR_INTEL)

typedef struct {
    const char *name;
    int tier;
    unsigned requires;
    int best_for;
} kernel;

#define KERNEL_ENTRY(name, tier, requires, best_for) {name, tier, requires, best_for},
#define KERNEL_NAME(name, tier, requires, best_for) name,
static const kernel KERNELS[] = {CHOOSABLE(KERNEL_ENTRY)};
const char *const blas_core_choices[] = {"auto", CHOOSABLE(KERNEL_NAME) NULL};
#define N_KERNELS ((int)(sizeof KERNELS / sizeof KERNELS[0]))

/* OpenBLAS's other x86 kernel names (its corename list), only for their tiers: to tell
 * whether OpenBLAS fell back, whatever it reports. s2s does not choose them: some need
 * instructions it does not check (3DNow!, SSE4a, FMA4). */
static const struct {
    const char *name;
    int tier;
} OTHER_KERNELS[] = {
    {"Katmai", TIER_SSE3},       {"Coppermine", TIER_SSE3}, {"Northwood", TIER_SSE3},
    {"Banias", TIER_SSE3},       {"Athlon", TIER_SSE3},     {"Opteron", TIER_SSE3},
    {"Opteron_SSE3", TIER_SSE3}, {"Atom", TIER_SSSE3},      {"Penryn", TIER_SSSE3},
    {"Dunnington", TIER_SSSE3},  {"Nano", TIER_SSSE3},      {"Bobcat", TIER_SSSE3},
    {"Barcelona", TIER_SSE42},   {"Bulldozer", TIER_AVX},   {"Piledriver", TIER_AVX},
    {"Steamroller", TIER_AVX},   {"Excavator", TIER_AVX2},
};

static const kernel *find_kernel(const char *name)
{
    for (int i = 0; name && i < N_KERNELS; i++)
        if (!strcasecmp(KERNELS[i].name, name))
            return &KERNELS[i];
    return NULL;
}

int blas_core_tier(const char *name)
{
    const kernel *k = find_kernel(name);
    if (k)
        return k->tier;
    for (size_t i = 0; name && i < sizeof OTHER_KERNELS / sizeof OTHER_KERNELS[0]; i++)
        if (!strcasecmp(OTHER_KERNELS[i].name, name))
            return OTHER_KERNELS[i].tier;
    return -1;
}

unsigned blas_core_missing(const char *name, const blas_cpu *cpu)
{
    const kernel *k = find_kernel(name);
    return k ? k->requires & ~cpu->features : 0;
}

static bool amd_family(const blas_cpu *cpu)
{
    return !strcmp(cpu->vendor, "AuthenticAMD") || !strcmp(cpu->vendor, "HygonGenuine");
}

const char *blas_core_best(const blas_cpu *cpu)
{
    int exclude = amd_family(cpu) ? FOR_INTEL : FOR_AMD;
    for (int i = N_KERNELS - 1; i >= 0; i--)
        if (KERNELS[i].best_for != exclude && !(KERNELS[i].requires & ~cpu->features))
            return KERNELS[i].name;
    return NULL;
}

int blas_core_runnable(const blas_cpu *cpu, const char **names, int max)
{
    int n = 0;
    for (int i = 0; i < N_KERNELS && n < max; i++)
        if (!(KERNELS[i].requires & ~cpu->features))
            names[n++] = KERNELS[i].name;
    return n;
}

/* ---- the decision --------------------------------------------------------------------------- */

static bool same(const char *a, const char *b)
{
    return a && b && !strcasecmp(a, b);
}

/* Kernels k run below the tier of best (both known). */
static bool below(const char *k, const char *best)
{
    int t = blas_core_tier(k);
    return t >= 0 && best && t < blas_core_tier(best);
}

/* Appends "a, b, c" to buf: the names of the features in mask, or the kernels cpu runs. */
static void append(char *buf, size_t size, const char *word)
{
    size_t len = strlen(buf);
    snprintf(buf + len, size - len, "%s%s", len ? ", " : "", word);
}

static void feature_list(char *buf, size_t size, unsigned mask)
{
    buf[0] = '\0';
    for (int f = 0; f < CPU_NFEATURES; f++)
        if (mask & CPU_HAS(f))
            append(buf, size, cpu_features[f].name);
}

static void runnable_list(char *buf, size_t size, const blas_cpu *cpu)
{
    const char *names[N_KERNELS];
    int n = blas_core_runnable(cpu, names, N_KERNELS);
    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        append(buf, size, names[i]);
    if (n == 0)
        snprintf(buf, size, "none of them");
}

/* Refuses kernels k, which this CPU cannot run, named by `who`. */
static void cannot_run(blas_core_decision *d, const char *who, const kernel *k, const blas_cpu *cpu,
                       const char *cpu_text, const char *hint)
{
    char lacks[256], runs[256];
    feature_list(lacks, sizeof lacks, k->requires & ~cpu->features);
    runnable_list(runs, sizeof runs, cpu);
    d->action = BLAS_REFUSE;
    snprintf(d->message, sizeof d->message,
             "%s: this CPU (%s) cannot run OpenBLAS's %s kernels: it lacks %s; it runs %s%s", who,
             cpu_text, k->name, lacks, runs, hint);
}

/* The restarted process: did OpenBLAS take the kernels asked for? Kernels of the same tier or
 * better count (OpenBLAS may trade SapphireRapids for SkylakeX, whose sgemm is the same). */
static void after_restart(const blas_core_input *in, const kernel *req, const char *running,
                          const char *cpu_text, blas_core_decision *d)
{
    char asked[32], old[32];
    clean_copy(asked, sizeof asked, req ? req->name : in->coretype ? in->coretype : d->best, true);
    clean_copy(old, sizeof old, in->restarted, true);
    int want = blas_core_tier(asked);
    if (!same(asked, running) && (want < 0 || blas_core_tier(running) < want)) {
        snprintf(d->origin, sizeof d->origin, "OpenBLAS's own choice (it did not take %s=%s)",
                 BLAS_CORE_ENV, asked);
        snprintf(d->message, sizeof d->message,
                 "warning: %s picked its %s kernels for this CPU (%s); restarted with %s=%s, "
                 "but it runs %s",
                 in->version, old, cpu_text, BLAS_CORE_ENV, asked, running);
        return;
    }
    if (req) { /* the user's choice, which the start-up lines report: nothing to add */
        snprintf(d->origin, sizeof d->origin, "--blas-core");
        return;
    }
    char runs_other[64] = "";
    if (!same(asked, running))
        snprintf(runs_other, sizeof runs_other, " (it runs %s)", running);
    snprintf(d->origin, sizeof d->origin, "restarted automatically: OpenBLAS had picked %s", old);
    snprintf(d->message, sizeof d->message,
             "%s picked its %s kernels for this CPU (%s); restarted with %s=%s%s (--blas-core or "
             "%s choose the kernel)",
             in->version, old, cpu_text, BLAS_CORE_ENV, asked, runs_other, BLAS_CORE_ENV);
}

/* A library without DYNAMIC_ARCH runs the kernels it was compiled for, whatever is asked. */
static void fixed_kernels(const blas_core_input *in, const kernel *req, const char *running,
                          const char *cpu_text, blas_core_decision *d)
{
    static const char why[] = "was built without DYNAMIC_ARCH, so s2s cannot switch its kernels "
                              "(a DYNAMIC_ARCH build, such as Debian's libopenblas0-pthread, can)";
    snprintf(d->origin, sizeof d->origin, "built into %s (no DYNAMIC_ARCH)", in->version);
    if (req && !same(req->name, running)) {
        d->action = BLAS_REFUSE;
        snprintf(d->message, sizeof d->message, "--blas-core %s: %s runs its %s kernels and %s",
                 req->name, in->version, running, why);
    } else if (!req && below(running, d->best)) {
        snprintf(d->message, sizeof d->message,
                 "warning: %s runs its %s kernels, below the %s kernels this CPU (%s) can run, "
                 "and %s",
                 in->version, running, d->best, cpu_text, why);
    }
}

void blas_core_decide(const blas_core_input *in, blas_core_decision *d)
{
    memset(d, 0, sizeof *d);
    d->action = BLAS_KEEP;
    d->best = blas_core_best(&in->cpu);
    blas_core_input copy = *in; /* the version filled in for messages */
    if (!copy.version[0])
        snprintf(copy.version, sizeof copy.version, "OpenBLAS");
    in = &copy;
    char running[32], cpu_text[96], who[96];
    clean_copy(running, sizeof running, in->running && in->running[0] ? in->running : "unknown",
               true);
    blas_cpu_describe(&in->cpu, cpu_text, sizeof cpu_text);
    const kernel *req = NULL;
    if (in->request && strcmp(in->request, "auto") != 0) {
        char name[32];
        clean_copy(name, sizeof name, in->request, true);
        snprintf(who, sizeof who, "--blas-core %s", name);
        if (!(req = find_kernel(in->request))) {
            char list[256] = "";
            for (int i = 0; blas_core_choices[i]; i++)
                append(list, sizeof list, blas_core_choices[i]);
            d->action = BLAS_REFUSE;
            snprintf(d->message, sizeof d->message, "%s: not one of %s", who, list);
            return;
        }
    }
    if (!in->dynamic) {
        fixed_kernels(in, req, running, cpu_text, d);
        return;
    }
    if (req && req->requires & ~in->cpu.features) {
        cannot_run(d, who, req, &in->cpu, cpu_text, "");
        return;
    }
    if (in->restarted) {
        after_restart(in, req, running, cpu_text, d);
        return;
    }
    if (req) {
        snprintf(d->origin, sizeof d->origin, "--blas-core");
        if (!same(req->name, running)) {
            d->action = BLAS_RESTART;
            d->kernel = req->name;
        }
        return;
    }
    if (in->coretype) {
        const kernel *k = find_kernel(in->coretype);
        char name[32];
        clean_copy(name, sizeof name, in->coretype, true);
        snprintf(who, sizeof who, "%s=%s", BLAS_CORE_ENV, name);
        if (k && k->requires & ~in->cpu.features)
            cannot_run(d, who, k, &in->cpu, cpu_text,
                       " (unset " BLAS_CORE_ENV " or set it to one of those)");
        else if (k)
            snprintf(d->origin, sizeof d->origin, "%s", BLAS_CORE_ENV);
        else
            snprintf(d->origin, sizeof d->origin, "%s, not a kernel s2s checks", who);
        return;
    }
    if (below(running, d->best)) {
        d->action = BLAS_RESTART;
        d->kernel = d->best;
        return;
    }
    snprintf(d->origin, sizeof d->origin, "OpenBLAS's own choice");
}

/* ---- this process --------------------------------------------------------------------------- */

/* "OpenBLAS 0.3.21" from "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ...": the first two words. */
static void version_of(const char *config, char *buf, size_t size)
{
    const char *end = config ? strchr(config, ' ') : NULL;
    end = end ? strchr(end + 1, ' ') : NULL;
    size_t n = end ? (size_t)(end - config) : config ? strlen(config) : 0;
    char word[64];
    snprintf(word, sizeof word, "%.*s", (int)n, config ? config : "");
    clean_copy(buf, size, word[0] ? word : "OpenBLAS", false);
}

void blas_core_gather(blas_core_input *in, const char *request)
{
    memset(in, 0, sizeof *in);
    blas_cpu_detect(&in->cpu);
    in->running = openblas_get_corename();
    const char *config = openblas_get_config();
    in->dynamic = config && strstr(config, "DYNAMIC_ARCH");
    version_of(config, in->version, sizeof in->version);
    const char *coretype = getenv(BLAS_CORE_ENV), *hook = getenv(BLAS_CORE_TEST_FALLBACK);
    bool fallback = hook && !strcmp(hook, "1");
    in->coretype = coretype && coretype[0] && !fallback ? coretype : NULL;
    const char *marker = getenv(BLAS_CORE_MARKER);
    in->restarted = marker && marker[0] ? marker : NULL;
    in->request = request;
}

static blas_core_state state;
static bool recorded;

void blas_core_record(const blas_core_input *in, const char *origin)
{
    memset(&state, 0, sizeof state);
    clean_copy(state.kernel, sizeof state.kernel, in->running, true);
    clean_copy(state.origin, sizeof state.origin, origin, false);
    state.best = blas_core_best(&in->cpu);
    state.below_best = below(state.kernel, state.best);
    blas_cpu_describe(&in->cpu, state.cpu, sizeof state.cpu);
    snprintf(state.version, sizeof state.version, "%s", in->version);
    clean_copy(state.config, sizeof state.config, openblas_get_config(), false);
    recorded = true;
}

const blas_core_state *blas_core_get(void)
{
    if (!recorded) {
        blas_core_input in;
        blas_core_decision d;
        blas_core_gather(&in, NULL);
        blas_core_decide(&in, &d);
        blas_core_record(&in, d.action == BLAS_KEEP ? d.origin
                              : in.coretype         ? BLAS_CORE_ENV
                                                    : "OpenBLAS's own choice");
    }
    return &state;
}
