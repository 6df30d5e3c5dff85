/* choice.c - looking up the names of a choice list (include/s2s/choice.h). */
#include "s2s/choice.h"

#include <stdio.h>
#include <string.h>

#include "s2s/status.h"

int choice_count(const char *const *names)
{
    int n = 0;
    while (names[n])
        n++;
    return n;
}

int choice_find(const char *const *names, const char *name)
{
    for (int k = 0; names[k]; k++)
        if (strcmp(name, names[k]) == 0)
            return k;
    return -1;
}

int choice_parse(const char *what, const char *const *names, const char *name)
{
    int k = choice_find(names, name);
    if (k >= 0)
        return k;
    char list[256] = "";
    int n = choice_count(names);
    for (int i = 0; i < n; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i == 0 ? "" : i == n - 1 ? " or " : ", ",
                 names[i]);
    }
    return s2s_fail(S2S_EINVAL, "unknown %s '%s' (expected %s)", what, name, list);
}

const char *choice_name(const char *const *names, int k)
{
    return k >= 0 && k < choice_count(names) ? names[k] : "?";
}
