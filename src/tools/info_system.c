/* info_system.c - `s2s info --system`: this machine's CPU and its features, the loaded OpenBLAS
 * and the kernels it runs, the kernels s2s knows and those this CPU runs, and what the
 * computing commands would do at start-up (include/s2s/blas_core.h decides; this file only
 * gathers and shows it), as text or JSON. */
#include "tools/info_internal.h"

#include <string.h>

#include "s2s/json.h"

void info_system_gather(info_system *s)
{
    memset(s, 0, sizeof *s);
    blas_core_gather(&s->in, NULL);
    blas_core_decide(&s->in, &s->startup);
    s->now = blas_core_get();
}

/* ---- text ----------------------------------------------------------------------------------- */

/* The names of the CPU's features that are (has) or are not there, space-separated. */
static void feature_keys(const blas_cpu *cpu, bool has, char *buf, size_t n)
{
    buf[0] = '\0';
    for (int f = 0; f < CPU_NFEATURES; f++)
        if (!(cpu->features & CPU_HAS(f)) == !has) {
            size_t len = strlen(buf);
            snprintf(buf + len, n - len, "%s%s", len ? " " : "", cpu_features[f].key);
        }
    if (!buf[0])
        snprintf(buf, n, "none");
}

/* The choosable kernels this CPU runs (runnable) or does not, space-separated. */
static void kernel_names(const info_system *s, bool runnable, char *buf, size_t n)
{
    buf[0] = '\0';
    for (int k = 1; blas_core_choices[k]; k++) {
        if (!blas_core_missing(blas_core_choices[k], &s->in.cpu) != runnable)
            continue;
        size_t len = strlen(buf);
        snprintf(buf + len, n - len, "%s%s", len ? " " : "", blas_core_choices[k]);
    }
    if (!buf[0])
        snprintf(buf, n, "none");
}

static void text_startup(const info_system *s, FILE *out)
{
    const blas_core_decision *d = &s->startup;
    info_text_row(out, 0, "start-up", "train, bench, translate and eval ");
    if (d->action == BLAS_RESTART)
        fprintf(out, "restart with %s=%s\n", BLAS_CORE_ENV, d->kernel);
    else if (d->action == BLAS_REFUSE)
        fprintf(out, "refuse to start: %s\n", d->message);
    else
        fprintf(out, "keep the %s kernels (%s)%s%s\n", s->now->kernel, d->origin,
                d->message[0] ? ": " : "", d->message);
}

void info_system_text(const info_system *s, FILE *out)
{
    const blas_core_state *now = s->now;
    char cpu[96], list[512];
    blas_cpu_describe(&s->in.cpu, cpu, sizeof cpu);
    info_text_row(out, 0, "cpu", "%s (stepping %d)\n", cpu, s->in.cpu.stepping);
    feature_keys(&s->in.cpu, true, list, sizeof list);
    info_text_row(out, 2, "features", "%s\n", list);
    feature_keys(&s->in.cpu, false, list, sizeof list);
    info_text_row(out, 2, "lacks", "%s\n", list);
    info_text_row(out, 0, "openblas", "%s\n", now->config);
    info_text_row(out, 2, "kernels now", "%s (%s)\n", now->kernel, now->origin);
    info_text_row(out, 2, "best for this CPU", "%s\n",
                  s->startup.best ? s->startup.best : "none known");
    kernel_names(s, true, list, sizeof list);
    info_text_row(out, 2, "runnable", "%s\n", list);
    kernel_names(s, false, list, sizeof list);
    info_text_row(out, 2, "not runnable", "%s\n", list);
    text_startup(s, out);
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static void json_cpu(const info_system *s, json_writer *w)
{
    char cpu[96];
    blas_cpu_describe(&s->in.cpu, cpu, sizeof cpu);
    json_open_object(w);
    json_kstr(w, "vendor", s->in.cpu.vendor);
    json_kint(w, "family", s->in.cpu.family);
    json_kint(w, "model", s->in.cpu.model);
    json_kint(w, "stepping", s->in.cpu.stepping);
    json_kstr(w, "description", cpu);
    json_key(w, "features");
    json_open_object(w);
    for (int f = 0; f < CPU_NFEATURES; f++)
        json_kbool(w, cpu_features[f].key, s->in.cpu.features & CPU_HAS(f));
    json_close_object(w);
    json_close_object(w);
}

/* The kernels s2s knows, and those this CPU runs. */
static void json_kernels(const info_system *s, json_writer *w)
{
    json_key(w, "known");
    json_open_array(w);
    for (int k = 1; blas_core_choices[k]; k++)
        json_str(w, blas_core_choices[k]);
    json_close_array(w);
    json_key(w, "runnable");
    json_open_array(w);
    const char *names[16];
    int n = blas_core_runnable(&s->in.cpu, names, 16);
    for (int k = 0; k < n; k++)
        json_str(w, names[k]);
    json_close_array(w);
}

static void json_startup(const info_system *s, json_writer *w)
{
    static const char *const ACTIONS[] = {
        [BLAS_KEEP] = "keep", [BLAS_RESTART] = "restart", [BLAS_REFUSE] = "refuse"};
    const blas_core_decision *d = &s->startup;
    json_open_object(w);
    json_kstr(w, "action", ACTIONS[d->action]);
    json_kstr(w, "kernel",
              d->action == BLAS_RESTART ? d->kernel
              : d->action == BLAS_KEEP  ? s->now->kernel
                                        : NULL);
    json_kstr(w, "origin", d->action == BLAS_KEEP ? d->origin : NULL);
    json_kstr(w, "message", d->message[0] ? d->message : NULL);
    json_close_object(w);
}

void info_system_json(const info_system *s, json_writer *w)
{
    const blas_core_state *now = s->now;
    json_kstr(w, "kind", "system");
    json_key(w, "cpu");
    json_cpu(s, w);
    json_kstr(w, "openblas", now->config);
    json_kbool(w, "dynamic_arch", s->in.dynamic);
    json_kstr(w, "blas_core", now->kernel);
    json_kstr(w, "blas_core_origin", now->origin);
    json_kstr(w, "blas_core_best", s->startup.best);
    json_kernels(s, w);
    json_key(w, "startup");
    json_startup(s, w);
}
