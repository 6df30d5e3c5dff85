/* fsutil.h - files that appear complete or not at all: a temporary file beside the target,
 * renamed over it once written and synced, with the directory synced after the rename; and
 * reading a text file whole. */
#ifndef S2S_FSUTIL_H
#define S2S_FSUTIL_H

#include <stddef.h>

/* Creates a new file beside `path` (same directory, so the rename stays within one file
 * system) with the mode a new target would get (0666 less the umask), named
 * PATH.tmp.HOST.PID.UNIQUE (HOST: fs_temp_host()); its name goes to tmp (n bytes). First it
 * removes the files of that pattern in the directory whose writer was on this host and pid
 * namespace and is dead (its pid gives ESRCH), with a note on stderr for each: temporaries of
 * killed writers. Returns the open descriptor, or -1 with errno set. */
int fs_create_temp(const char *path, char *tmp, size_t n);

/* This host's key in temporary names: 12 hex digits of a hash of the host name and the pid
 * namespace, in which a writer's pid says whether it lives. */
const char *fs_temp_host(void);

/* fsync of the directory that holds `path`, so that a rename in it is durable; 0 or -1/errno. */
int fs_sync_dir_of(const char *path);

/* Renames the written and synced file tmp over path and syncs the directory. On failure tmp is
 * removed and S2S_EIO is returned with a message naming path. */
int fs_commit(const char *tmp, const char *path);

/* The whole file at path ("-": standard input) as *size malloc'ed bytes, a NUL after them.
 * S2S_EIO if it cannot be opened or read, S2S_ENOMEM. */
int fs_read_file(const char *path, char **bytes, size_t *size);

/* The whole file at path ("-": standard input) as one NUL-terminated malloc'ed string of *size
 * bytes. S2S_EIO if it cannot be opened or read, S2S_EFORMAT if it holds a NUL byte (then *text
 * is still set and must be freed), S2S_ENOMEM. */
int fs_read_text(const char *path, char **text, size_t *size);

#endif
