/* test_blas_core.c - the OpenBLAS kernel choice (src/core/blas_core.c): the best kernels of
 * made-up CPUs (an Intel family 6 model 207 with AVX-512, BF16 and AMX, Ice Lake, Haswell, AVX
 * only, SSE4.2 only, AMD Zen 2 and Zen 4, register state the OS does not save), the tier of
 * every name OpenBLAS reports, the start-up decision (OpenBLAS fallen back: restart; the user's
 * OPENBLAS_CORETYPE kept, or refused with the missing features when the CPU cannot run it;
 * --blas-core over the variable; the marker against a second restart; a library without
 * DYNAMIC_ARCH; a name s2s does not know passed through), the state without a start-up, and
 * the detection of this machine against /proc/cpuinfo. */
#include <cblas.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s2s/blas_core.h"

#define F(x) CPU_HAS(CPU_##x)
#define SSE42_ONLY (F(SSE3) | F(SSSE3) | F(SSE41) | F(SSE42))
#define AVX_ONLY (SSE42_ONLY | F(AVX) | F(OS_YMM))
#define HASWELL_CPU (AVX_ONLY | F(AVX2) | F(FMA))
#define AVX512 (F(AVX512F) | F(AVX512CD) | F(AVX512BW) | F(AVX512DQ) | F(AVX512VL))
#define ICELAKE (HASWELL_CPU | AVX512 | F(OS_ZMM))
#define MODEL_207 (ICELAKE | F(AVX512_BF16) | F(AMX_BF16) | F(AMX_TILE) | F(OS_AMX))
#define ZEN2 HASWELL_CPU
#define ZEN4 (ICELAKE | F(AVX512_BF16))

static blas_cpu cpu_of(const char *vendor, int family, int model, unsigned features)
{
    blas_cpu c = {.family = family, .model = model, .features = features};
    snprintf(c.vendor, sizeof c.vendor, "%s", vendor);
    return c;
}

static blas_cpu intel(int model, unsigned features)
{
    return cpu_of("GenuineIntel", 6, model, features);
}

/* Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) running `running` on cpu, nothing asked. */
static blas_core_input input(blas_cpu cpu, const char *running)
{
    return (blas_core_input){
        .cpu = cpu, .running = running, .version = "OpenBLAS 0.3.21", .dynamic = true};
}

static blas_core_decision decide(const blas_core_input *in)
{
    blas_core_decision d;
    blas_core_decide(in, &d);
    return d;
}

static void expect_has(const char *text, const char *needle)
{
    cr_expect(strstr(text, needle) != NULL, "\"%s\" lacks \"%s\"", text, needle);
}

static void expect_restart(const blas_core_input *in, const char *kernel)
{
    blas_core_decision d = decide(in);
    cr_expect_eq(d.action, BLAS_RESTART, "restart expected (running %s): %d %s", in->running,
                 d.action, d.message);
    cr_expect(d.kernel && !strcmp(d.kernel, kernel), "restart with %s, got %s", kernel,
              d.kernel ? d.kernel : "(null)");
}

static blas_core_decision expect_keep(const blas_core_input *in, const char *origin)
{
    blas_core_decision d = decide(in);
    cr_expect_eq(d.action, BLAS_KEEP, "keep expected (running %s): %d %s", in->running, d.action,
                 d.message);
    if (origin)
        cr_expect_str_eq(d.origin, origin, "origin");
    return d;
}

static blas_core_decision expect_refuse(const blas_core_input *in)
{
    blas_core_decision d = decide(in);
    cr_expect_eq(d.action, BLAS_REFUSE, "refusal expected (running %s): %d %s", in->running,
                 d.action, d.origin);
    return d;
}

/* ---- the kernels ---------------------------------------------------------------------------- */

Test(blas_core, choices_come_from_the_table)
{
    static const char *const want[] = {"auto",        "Prescott",       "Core2", "Nehalem",
                                       "Sandybridge", "Haswell",        "Zen",   "SkylakeX",
                                       "Cooperlake",  "SapphireRapids", NULL};
    for (int i = 0; want[i] || blas_core_choices[i]; i++) {
        cr_assert(want[i] && blas_core_choices[i], "choice %d", i);
        cr_expect_str_eq(blas_core_choices[i], want[i], "choice %d", i);
    }
}

Test(blas_core, best_kernels_of_made_up_cpus)
{
    struct {
        blas_cpu cpu;
        const char *best;
    } cases[] = {
        {intel(207, MODEL_207), "SapphireRapids"},
        {intel(207, MODEL_207 & ~F(OS_AMX)), "Cooperlake"}, /* AMX state not enabled */
        {intel(106, ICELAKE), "SkylakeX"},
        {intel(106, ICELAKE & ~F(OS_ZMM)), "Haswell"}, /* ZMM state not saved */
        {intel(63, HASWELL_CPU), "Haswell"},
        {intel(42, AVX_ONLY), "Sandybridge"},
        {intel(42, AVX_ONLY & ~F(OS_YMM)), "Nehalem"},
        {intel(26, SSE42_ONLY), "Nehalem"},
        {intel(15, F(SSE3) | F(SSSE3)), "Core2"},
        {cpu_of("GenuineIntel", 15, 4, F(SSE3)), "Prescott"},
        {cpu_of("AuthenticAMD", 23, 49, ZEN2), "Zen"},
        {cpu_of("HygonGenuine", 24, 0, ZEN2), "Zen"},
        {cpu_of("AuthenticAMD", 25, 97, ZEN4), "Cooperlake"},
        {cpu_of("AuthenticAMD", 25, 97, ZEN4 & ~F(AVX512_BF16)), "SkylakeX"},
        {cpu_of("CentaurHauls", 6, 15, HASWELL_CPU), "Haswell"}, /* "and others": Intel's order */
        {cpu_of("", 0, 0, 0), NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *best = blas_core_best(&cases[i].cpu);
        if (!cases[i].best)
            cr_expect_null(best, "case %zu: no kernel, got %s", i, best);
        else
            cr_expect(best && !strcmp(best, cases[i].best), "case %zu: best %s, got %s", i,
                      cases[i].best, best ? best : "(null)");
    }
}

Test(blas_core, every_openblas_name_has_a_tier)
{
    /* OpenBLAS 0.3.21's x86 corename list */
    static const char *const names[] = {
        "Katmai",       "Coppermine",    "Northwood",   "Prescott",    "Banias", "Atom",
        "Core2",        "Penryn",        "Dunnington",  "Nehalem",     "Athlon", "Opteron",
        "Opteron_SSE3", "Barcelona",     "Nano",        "Sandybridge", "Bobcat", "Bulldozer",
        "Piledriver",   "Haswell",       "Steamroller", "Excavator",   "Zen",    "SkylakeX",
        "Cooperlake",   "SapphireRapids"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_expect_geq(blas_core_tier(names[i]), 1, "%s has no tier", names[i]);
    int prescott = blas_core_tier("Prescott"), core2 = blas_core_tier("Core2");
    int nehalem = blas_core_tier("Nehalem"), avx = blas_core_tier("Sandybridge");
    int avx2 = blas_core_tier("Haswell"), avx512 = blas_core_tier("SkylakeX");
    cr_expect(prescott < core2 && core2 < nehalem && nehalem < avx && avx < avx2 && avx2 < avx512,
              "tiers rise");
    cr_expect_eq(blas_core_tier("Katmai"), prescott, "SSE2-era names: Prescott's tier");
    cr_expect_eq(blas_core_tier("Opteron"), prescott, "Opteron");
    cr_expect_eq(blas_core_tier("Atom"), core2, "Atom");
    cr_expect_eq(blas_core_tier("Penryn"), core2, "Penryn");
    cr_expect_eq(blas_core_tier("Barcelona"), nehalem, "Barcelona");
    cr_expect_eq(blas_core_tier("Piledriver"), avx, "Bulldozer family: AVX");
    cr_expect_eq(blas_core_tier("Excavator"), avx2, "Excavator: AVX2");
    cr_expect_eq(blas_core_tier("Zen"), avx2, "Zen = Haswell");
    cr_expect_eq(blas_core_tier("SapphireRapids"), avx512, "SkylakeX's sgemm");
    cr_expect_eq(blas_core_tier("skylakex"), avx512, "case-insensitive like OpenBLAS");
    cr_expect_eq(blas_core_tier("Unknown"), -1, "unknown name");
    cr_expect_eq(blas_core_tier(NULL), -1, "no name");
}

Test(blas_core, runnable_and_missing)
{
    blas_cpu icl = intel(106, ICELAKE);
    const char *names[16];
    int n = blas_core_runnable(&icl, names, 16);
    static const char *const want[] = {"Prescott", "Core2", "Nehalem", "Sandybridge",
                                       "Haswell",  "Zen",   "SkylakeX"};
    cr_assert_eq(n, 7, "Ice Lake runs 7 kernels, got %d", n);
    for (int i = 0; i < n; i++)
        cr_expect_str_eq(names[i], want[i], "runnable %d", i);
    cr_expect_eq(blas_core_missing("Cooperlake", &icl), F(AVX512_BF16), "Cooperlake needs BF16");
    cr_expect_eq(blas_core_missing("SkylakeX", &icl), 0u, "SkylakeX runs");
    cr_expect_eq(blas_core_missing("Bulldozer", &icl), 0u, "not checked");
    char text[96];
    blas_cpu c207 = intel(207, MODEL_207);
    blas_cpu_describe(&c207, text, sizeof text);
    cr_expect_str_eq(text, "GenuineIntel family 6 model 207, AVX-512", "description");
    blas_cpu zen2 = cpu_of("AuthenticAMD", 23, 49, ZEN2);
    blas_cpu_describe(&zen2, text, sizeof text);
    cr_expect_str_eq(text, "AuthenticAMD family 23 model 49, AVX2", "description");
}

/* ---- the decision --------------------------------------------------------------------------- */

/* Nothing asked: a restart with the best kernels when OpenBLAS runs a lower tier, else
 * OpenBLAS's own choice, silently. */
Test(blas_core, automatic_choice)
{
    struct {
        blas_cpu cpu;
        const char *running, *restart; /* restart: NULL to keep */
    } cases[] = {
        {intel(207, MODEL_207), "Prescott", "SapphireRapids"},
        {intel(63, HASWELL_CPU), "Prescott", "Haswell"},
        {intel(106, ICELAKE), "Haswell", "SkylakeX"},
        {intel(42, AVX_ONLY), "Nehalem", "Sandybridge"},
        {intel(26, SSE42_ONLY), "Prescott", "Nehalem"},
        {intel(63, HASWELL_CPU), "Penryn", "Haswell"},               /* any name OpenBLAS reports */
        {cpu_of("AuthenticAMD", 25, 97, ZEN4), "Zen", "Cooperlake"}, /* as newer OpenBLAS */
        {cpu_of("AuthenticAMD", 23, 49, ZEN2), "Prescott", "Zen"},
        {intel(106, ICELAKE), "SkylakeX", NULL},
        {intel(207, MODEL_207), "SkylakeX", NULL}, /* same tier: bf16 kernels are not worth it */
        {intel(63, HASWELL_CPU), "Haswell", NULL},
        {intel(42, AVX_ONLY), "Sandybridge", NULL},
        {intel(26, SSE42_ONLY), "Nehalem", NULL},
        {cpu_of("AuthenticAMD", 23, 49, ZEN2), "Zen", NULL},
        {cpu_of("AuthenticAMD", 23, 49, ZEN2), "Excavator", NULL}, /* the AVX2 tier too */
        {intel(106, ICELAKE), "Unknown", NULL},                    /* a name s2s cannot judge */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        blas_core_input in = input(cases[i].cpu, cases[i].running);
        if (cases[i].restart) {
            expect_restart(&in, cases[i].restart);
        } else {
            blas_core_decision d = expect_keep(&in, "OpenBLAS's own choice");
            cr_expect_str_eq(d.message, "", "case %zu: nothing to say", i);
        }
    }
    blas_core_input in = input(intel(106, ICELAKE), "SkylakeX");
    cr_expect_str_eq(decide(&in).best, "SkylakeX", "best");
}

Test(blas_core, user_coretype_kept)
{
    blas_core_input in = input(intel(106, ICELAKE), "Haswell");
    in.coretype = "Haswell";
    blas_core_decision d = expect_keep(&in, "OPENBLAS_CORETYPE");
    cr_expect_str_eq(d.message, "", "the user's choice, silently");
    in = input(intel(106, ICELAKE), "Prescott");
    in.coretype = "prescott"; /* OpenBLAS matches names case-insensitively */
    expect_keep(&in, "OPENBLAS_CORETYPE");
}

Test(blas_core, user_coretype_the_cpu_cannot_run_refused)
{
    blas_core_input in = input(intel(106, ICELAKE), "SkylakeX");
    in.coretype = "SapphireRapids";
    blas_core_decision d = expect_refuse(&in);
    expect_has(d.message, "OPENBLAS_CORETYPE=SapphireRapids");
    expect_has(d.message, "cannot run OpenBLAS's SapphireRapids kernels");
    expect_has(d.message, "it lacks AVX512_BF16, AMX-BF16, AMX-TILE, AMX tile state");
    expect_has(d.message, "GenuineIntel family 6 model 106, AVX-512");
    expect_has(d.message, "it runs Prescott, Core2, Nehalem, Sandybridge, Haswell, Zen, SkylakeX");
    in = input(intel(63, HASWELL_CPU), "Haswell");
    in.coretype = "skylakex";
    d = expect_refuse(&in);
    expect_has(d.message, "AVX512F, AVX512CD, AVX512BW, AVX512DQ, AVX512VL");
}

Test(blas_core, blas_core_option_over_the_variable)
{
    blas_core_input in = input(intel(106, ICELAKE), "Haswell");
    in.coretype = "Haswell";
    in.request = "SkylakeX";
    expect_restart(&in, "SkylakeX");
    in.coretype = "SapphireRapids"; /* not checked: the option decides */
    in.request = "Prescott";
    expect_restart(&in, "Prescott");
    in = input(intel(106, ICELAKE), "Haswell");
    in.request = "Haswell";
    blas_core_decision d = expect_keep(&in, "--blas-core");
    cr_expect_str_eq(d.message, "", "quiet");
    in.request = "auto";
    expect_restart(&in, "SkylakeX");
    in.request = "Cooperlake";
    d = expect_refuse(&in);
    expect_has(d.message, "--blas-core Cooperlake: this CPU");
    expect_has(d.message, "it lacks AVX512_BF16; it runs");
    in.request = "bogus";
    d = expect_refuse(&in);
    expect_has(d.message, "not one of auto, Prescott");
}

Test(blas_core, restarted_process_never_restarts_again)
{
    blas_core_input in = input(intel(207, MODEL_207), "SapphireRapids");
    in.coretype = "SapphireRapids"; /* what start-up set */
    in.restarted = "Prescott";
    blas_core_decision d =
        expect_keep(&in, "restarted automatically: OpenBLAS had picked Prescott");
    cr_expect_str_eq(d.message,
                     "OpenBLAS 0.3.21 picked its Prescott kernels for this CPU (GenuineIntel "
                     "family 6 model 207, AVX-512); restarted with OPENBLAS_CORETYPE="
                     "SapphireRapids (--blas-core or OPENBLAS_CORETYPE choose the kernel)",
                     "the one line");
    /* OpenBLAS ignored the request: a warning, and no second restart */
    in.running = "Prescott";
    d = expect_keep(&in, NULL);
    expect_has(d.message, "warning: ");
    expect_has(d.message, "restarted with OPENBLAS_CORETYPE=SapphireRapids, but it runs Prescott");
    /* the test hook: the variable is not the user's, the best was asked for; SkylakeX is as
     * good for sgemm */
    in.coretype = NULL;
    in.running = "SkylakeX";
    d = expect_keep(&in, "restarted automatically: OpenBLAS had picked Prescott");
    expect_has(d.message, "restarted with OPENBLAS_CORETYPE=SapphireRapids (it runs SkylakeX)");
    /* --blas-core's restart: the start-up line says it, nothing more */
    in = input(intel(106, ICELAKE), "Haswell");
    in.request = "Haswell";
    in.coretype = "Haswell";
    in.restarted = "SkylakeX";
    d = expect_keep(&in, "--blas-core");
    cr_expect_str_eq(d.message, "", "quiet");
}

Test(blas_core, library_without_dynamic_arch)
{
    blas_core_input in = input(intel(207, MODEL_207), "Prescott");
    in.dynamic = false;
    blas_core_decision d = expect_keep(&in, NULL);
    expect_has(d.message, "warning: OpenBLAS 0.3.21 runs its Prescott kernels, below the "
                          "SapphireRapids kernels");
    expect_has(d.message, "without DYNAMIC_ARCH");
    in.request = "SkylakeX";
    d = expect_refuse(&in);
    expect_has(d.message, "--blas-core SkylakeX: ");
    expect_has(d.message, "without DYNAMIC_ARCH");
    in.request = "Prescott"; /* what it runs anyway */
    d = expect_keep(&in, NULL);
    cr_expect_str_eq(d.message, "", "nothing to switch");
    in = input(intel(106, ICELAKE), "SkylakeX");
    in.dynamic = false;
    d = expect_keep(&in, NULL);
    cr_expect_str_eq(d.message, "", "the best already");
}

Test(blas_core, unknown_coretype_passed_through)
{
    blas_core_input in = input(intel(106, ICELAKE), "SkylakeX");
    in.coretype = "Bulldozer"; /* OpenBLAS knows it, s2s does not check it */
    expect_keep(&in, "OPENBLAS_CORETYPE=Bulldozer, not a kernel s2s checks");
    in.coretype = "Frobnicator\"x"; /* printed safely */
    expect_keep(&in, "OPENBLAS_CORETYPE=Frobnicator?x, not a kernel s2s checks");
}

/* ---- this process --------------------------------------------------------------------------- */

Test(blas_core, state_without_a_start_up)
{
    const blas_core_state *s = blas_core_get();
    cr_expect_str_eq(s->kernel, openblas_get_corename(), "the kernels OpenBLAS runs");
    cr_expect_str_eq(s->config, openblas_get_config(), "OpenBLAS's config string");
    cr_expect_neq(s->origin[0], '\0', "an origin");
    expect_has(s->version, "OpenBLAS");
    blas_core_input in;
    blas_core_gather(&in, NULL);
    blas_core_record(&in, "--blas-core");
    cr_expect_str_eq(blas_core_get()->origin, "--blas-core", "recorded origin");
}

/* The value of "key<tab>: value" in the first processor's block of /proc/cpuinfo. */
static bool cpuinfo_value(const char *text, const char *key, char *buf, size_t n)
{
    size_t len = strlen(key);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n'), *p = line + len;
        if (!strncmp(line, key, len)) {
            while (*p == '\t' || *p == ' ')
                p++;
            if (*p == ':') {
                p += p[1] == ' ' ? 2 : 1;
                snprintf(buf, n, "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
                return true;
            }
        }
        line = end ? end + 1 : NULL;
    }
    return false;
}

static bool has_flag(const char *flags, const char *flag)
{
    size_t len = strlen(flag);
    for (const char *p = flags; (p = strstr(p, flag)); p += len)
        if ((p == flags || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
            return true;
    return false;
}

Test(blas_core, detection_agrees_with_proc_cpuinfo)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        cr_skip_test("no /proc/cpuinfo");
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char flags[8192], value[64];
    cr_assert(cpuinfo_value(text, "flags", flags, sizeof flags), "flags line");
    blas_cpu cpu;
    blas_cpu_detect(&cpu);
    static const struct {
        const char *flag;
        cpu_feature f;
    } map[] = {{"pni", CPU_SSE3},
               {"ssse3", CPU_SSSE3},
               {"sse4_1", CPU_SSE41},
               {"sse4_2", CPU_SSE42},
               {"avx", CPU_AVX},
               {"fma", CPU_FMA},
               {"avx2", CPU_AVX2},
               {"avx512f", CPU_AVX512F},
               {"avx512cd", CPU_AVX512CD},
               {"avx512bw", CPU_AVX512BW},
               {"avx512dq", CPU_AVX512DQ},
               {"avx512vl", CPU_AVX512VL},
               {"avx512_bf16", CPU_AVX512_BF16},
               {"amx_bf16", CPU_AMX_BF16},
               {"amx_tile", CPU_AMX_TILE}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        cr_expect_eq(has_flag(flags, map[i].flag), (cpu.features & CPU_HAS(map[i].f)) != 0,
                     "%s: /proc/cpuinfo %d, cpuid %d", map[i].flag, has_flag(flags, map[i].flag),
                     (cpu.features & CPU_HAS(map[i].f)) != 0);
    /* Linux lists AVX and AVX-512 only when it saves their registers. */
    if (has_flag(flags, "avx2"))
        cr_expect(cpu.features & CPU_HAS(CPU_OS_YMM), "avx2 listed: YMM state saved");
    if (has_flag(flags, "avx512f"))
        cr_expect(cpu.features & CPU_HAS(CPU_OS_ZMM), "avx512f listed: ZMM state saved");
    if (cpuinfo_value(text, "vendor_id", value, sizeof value))
        cr_expect_str_eq(cpu.vendor, value, "vendor");
    if (cpuinfo_value(text, "cpu family", value, sizeof value))
        cr_expect_eq(cpu.family, atoi(value), "family");
    if (cpuinfo_value(text, "model", value, sizeof value))
        cr_expect_eq(cpu.model, atoi(value), "model");
    /* and OpenBLAS agrees that this CPU runs its choice */
    cr_expect_eq(blas_core_missing(openblas_get_corename(), &cpu), 0u, "OpenBLAS's kernels run");
}
