/* blas_core.h - which OpenBLAS kernels ("core": Haswell, SkylakeX, ...) s2s computes with, and
 * how the computing commands choose them at start-up.
 *
 * A DYNAMIC_ARCH OpenBLAS (Debian's) picks its kernels from the CPU model when it is loaded,
 * unless the environment variable OPENBLAS_CORETYPE names them. On a CPU newer than the library
 * it does not know the model and falls back to its SSE3 kernels (Prescott), four to five times
 * slower, without a word. So s2s reads the CPU's features itself (cpuid, and xgetbv for the
 * register state the operating system saves), knows which of OpenBLAS's kernels each feature
 * level runs, and before MPI_Init (src/main.c) restarts itself with OPENBLAS_CORETYPE set when
 * OpenBLAS fell below the best kernels for the CPU, or when --blas-core names other kernels.
 *
 * Start-up, in order of precedence: --blas-core NAME, then a user's OPENBLAS_CORETYPE, then the
 * automatic choice. A named kernel the CPU cannot run is refused (it would die of an illegal
 * instruction); a name in OPENBLAS_CORETYPE that s2s does not check is passed through. The
 * restarted process carries BLAS_CORE_MARKER, so it never restarts again. A library built
 * without DYNAMIC_ARCH cannot switch: --blas-core is refused, the automatic choice warns.
 *
 * The decision (blas_core_decide) is a pure function of a blas_core_input, so that it can be
 * tested with made-up CPUs; blas_core_gather fills the input from this process. */
#ifndef S2S_BLAS_CORE_H
#define S2S_BLAS_CORE_H

#include <stdbool.h>
#include <stddef.h>

#define BLAS_CORE_ENV "OPENBLAS_CORETYPE"
/* Set in the restarted process to the kernels OpenBLAS ran before. */
#define BLAS_CORE_MARKER "S2S_BLAS_RESTARTED"
/* Test hook: "1" makes OPENBLAS_CORETYPE count as OpenBLAS's own choice, not the user's, so a
 * test can make OpenBLAS "fall back" (OPENBLAS_CORETYPE=Prescott) and see the restart. */
#define BLAS_CORE_TEST_FALLBACK "S2S_BLAS_TEST_FALLBACK"

/* CPU features the kernels need, as bits CPU_HAS(f) of blas_cpu.features. The CPU_OS_* bits
 * say the operating system saves the register state (XCR0): without it the instructions fault. */
typedef enum {
    CPU_SSE3,
    CPU_SSSE3,
    CPU_SSE41,
    CPU_SSE42,
    CPU_AVX,
    CPU_FMA,
    CPU_AVX2,
    CPU_AVX512F,
    CPU_AVX512CD,
    CPU_AVX512BW,
    CPU_AVX512DQ,
    CPU_AVX512VL,
    CPU_AVX512_BF16,
    CPU_AMX_BF16,
    CPU_AMX_TILE,
    CPU_OS_YMM,
    CPU_OS_ZMM,
    CPU_OS_AMX,
    CPU_NFEATURES
} cpu_feature;
#define CPU_HAS(f) (1u << (f))

typedef struct {
    const char *key;  /* "avx512_bf16": JSON keys, /proc/cpuinfo's spelling where it has one */
    const char *name; /* "AVX512_BF16": messages */
} cpu_feature_info;
extern const cpu_feature_info cpu_features[CPU_NFEATURES];

typedef struct {
    char vendor[13];             /* "GenuineIntel", "AuthenticAMD", ...; "" if unknown */
    int family, model, stepping; /* with the extended family and model fields folded in */
    unsigned features;           /* CPU_HAS bits */
} blas_cpu;

/* This CPU (zeroed on a machine without cpuid). */
void blas_cpu_detect(blas_cpu *cpu);

/* "GenuineIntel family 6 model 106, AVX-512": vendor, model and the widest vector extension. */
void blas_cpu_describe(const blas_cpu *cpu, char *buf, size_t size);

/* "auto" and the kernels s2s chooses among, weakest first: the --blas-core choices. */
extern const char *const blas_core_choices[];

/* The tier of any kernel name OpenBLAS reports (case-insensitive): kernels of one tier use the
 * same vector extension and run sgemm alike; -1 for a name s2s does not know. */
int blas_core_tier(const char *name);

/* The features among those a choosable kernel needs that cpu lacks (0: it runs there). */
unsigned blas_core_missing(const char *name, const blas_cpu *cpu);

/* The best kernel for cpu (a blas_core_choices entry), or NULL if it runs none of them. */
const char *blas_core_best(const blas_cpu *cpu);

/* The choosable kernels cpu runs, weakest first, into names[0..max); returns how many. */
int blas_core_runnable(const blas_cpu *cpu, const char **names, int max);

typedef struct {
    blas_cpu cpu;
    const char *running;   /* the kernels OpenBLAS runs now (openblas_get_corename) */
    char version[32];      /* "OpenBLAS 0.3.21", for messages ("": "OpenBLAS") */
    bool dynamic;          /* a DYNAMIC_ARCH build: OPENBLAS_CORETYPE is obeyed */
    const char *coretype;  /* OPENBLAS_CORETYPE as the user set it, or NULL */
    const char *request;   /* --blas-core: NULL or "auto", or a kernel name */
    const char *restarted; /* BLAS_CORE_MARKER: the kernels before s2s restarted, or NULL */
} blas_core_input;

typedef enum { BLAS_KEEP, BLAS_RESTART, BLAS_REFUSE } blas_core_action;

typedef struct {
    blas_core_action action;
    const char *kernel; /* BLAS_RESTART: OPENBLAS_CORETYPE for the new process */
    const char *best;   /* blas_core_best of the CPU */
    char origin[192];   /* BLAS_KEEP: where the kernels in use come from ("--blas-core") */
    char message[640];  /* BLAS_REFUSE: the error; BLAS_KEEP: a line for the user (what the
                         * restart did, or a warning), or ""; without "s2s: " */
} blas_core_decision;

/* The start-up decision for in (rules in the comment at the top). */
void blas_core_decide(const blas_core_input *in, blas_core_decision *d);

/* The inputs of this process: its CPU, the loaded OpenBLAS, the environment, and request
 * (--blas-core, or NULL). The strings point into the environment and OpenBLAS. */
void blas_core_gather(blas_core_input *in, const char *request);

/* What start-up settled on: the kernels in use and where they come from. The strings hold
 * printable characters without quotes or backslashes, so JSON needs no escaping of them. */
typedef struct {
    char kernel[32];  /* openblas_get_corename() */
    char origin[192]; /* "OpenBLAS's own choice", "--blas-core", "OPENBLAS_CORETYPE", ... */
    const char *best; /* the best kernel for this CPU, or NULL */
    bool below_best;  /* kernel's tier is below best's */
    char cpu[96];     /* blas_cpu_describe */
    char version[32]; /* "OpenBLAS 0.3.21" */
    char config[256]; /* openblas_get_config() */
} blas_core_state;

/* Start-up records the kernels it kept: those of `in` (blas_core_gather of this process),
 * their origin (d->origin, or its own words). */
void blas_core_record(const blas_core_input *in, const char *origin);

/* The state recorded at start-up; without a start-up (unit tests, other programs) the same
 * figures from this process, the origin as blas_core_decide would give it. */
const blas_core_state *blas_core_get(void);

#endif
