/* scratch.h - scratch directories and small file helpers for tests that write files. */
#ifndef S2S_SCRATCH_H
#define S2S_SCRATCH_H

#include <stddef.h>

/* Creates /tmp/s2s_<tag>_XXXXXX into dir (n bytes); 0 or -1. */
int scratch_make(char *dir, size_t n, const char *tag);

/* Removes the files of dir, its empty subdirectories, and dir itself. */
void scratch_remove(const char *dir);

/* dir/name into buf; returns buf. */
char *scratch_path(char *buf, size_t n, const char *dir, const char *name);

/* Writes text to path (replacing it); 0 or -1. */
int scratch_write(const char *path, const char *text);

/* The whole file, NUL-terminated, its size in *n (NULL allowed); NULL if unreadable. Free it. */
char *scratch_read(const char *path, size_t *n);

/* Entries of dir whose name contains `part` ("" counts every entry but . and ..). */
int scratch_count(const char *dir, const char *part);

/* Seals the s2s file at path again, with the kind its (now stale) integrity record names
 * (include/s2s/seal.h), after a test changed it through HDF5: the record would otherwise refuse
 * any change before the reader's own checks, which are what such tests are about (they stand
 * for a file damaged before it was sealed, or sealed again by another hand). 0 or -1. */
int scratch_reseal(const char *path);

#endif
