/* choice.h - named choice lists: an enum and the names of its values from one table.
 *
 * Every list of alternatives (cells, attention kinds, optimizers, schedules, tokenizers,
 * metrics, ...) is one X-macro in the header of the module that implements them, rows
 * X(ENUM_VALUE, "name") in enum order:
 *
 *     #define CELL_CHOICES(X) X(CELL_RNN, "rnn") X(CELL_GRU, "gru") X(CELL_LSTM, "lstm")
 *     typedef enum { CELL_CHOICES(CHOICE_ENUM) CELL_COUNT } cell_type;
 *     extern const char *const cell_names[];     (NULL-terminated, indexed by cell_type)
 *
 * and that module's .c file holds the one definition of the names:
 *
 *     const char *const cell_names[] = {CELL_CHOICES(CHOICE_NAME) NULL};
 *
 * The option tables (OPT_CHOICE entries take the names array), the configuration and
 * checkpoint readers (which go through the same tables), `s2s info` and the help text all read
 * that array, so adding a value is one row here plus its implementation. */
#ifndef S2S_CHOICE_H
#define S2S_CHOICE_H

#include <stddef.h> /* NULL, which ends every names array */

#define CHOICE_ENUM(value, name) value,
#define CHOICE_NAME(value, name) name,

/* Index of `name` in the NULL-terminated `names`, or -1; no message. */
int choice_find(const char *const *names, const char *name);

/* Index of `name`, or S2S_EINVAL with "unknown <what> '<name>' (expected a, b or c)". */
int choice_parse(const char *what, const char *const *names, const char *name);

/* names[k], or "?" when k is not an index of the list. */
const char *choice_name(const char *const *names, int k);

/* The number of names. */
int choice_count(const char *const *names);

#endif
