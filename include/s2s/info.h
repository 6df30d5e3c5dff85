/* info.h - `s2s info FILE [--json]`: what an s2s file holds, without a model or MPI.
 *
 * The kind of file is recognized by its root attribute `format`:
 *   "s2s-checkpoint"  (include/s2s/ckpt.h)      configuration (model shape options first),
 *   "s2s-params"      (include/s2s/paramfile.h) vocabulary sizes, every parameter tensor with
 *                                               its shape and the total parameter count; for a
 *                                               checkpoint also the training state (step, epoch,
 *                                               tokens, time, world size, skipped steps, best
 *                                               validation loss), the optimizer moments, whether
 *                                               the checksum is valid and the last rows of the
 *                                               validation history (ckpt_read_summary);
 *   "s2s-dataset"     (include/s2s/dataset.h)   opened and validated with ds_open: per split the
 *                                               pairs, token counts and mean/max length per side,
 *                                               vocabulary sizes, and what `s2s prep` stored
 *                                               (its report, options and input checksums).
 * Any other file is one error naming the file and what it is instead (missing, a directory,
 * not HDF5, an HDF5 file without or with another `format`). `s2s info --system` describes
 * this machine's CPU and OpenBLAS kernels instead (info_write_system). A checkpoint also says
 * which OpenBLAS kernels the run that wrote it used (absent in older files).
 *
 * Text output is aligned for reading; --json prints one JSON object with the same content
 * (strings escaped, numbers as numbers, non-finite numbers as null). A damaged checkpoint
 * whose checksum does not match is described, with the checksum reported invalid; one whose
 * training state or history cannot be read is described without them (null in JSON), with
 * the reason as the checksum's error; either way the status is S2S_EFORMAT (`s2s info` exits
 * 1) after the description. A file that cannot be read as its kind is an error.
 *
 * The sources: src/tools/info.c (these entry points and the command line), info_read.c
 * (opening a file, its kind, what is read of it), info_text.c and info_json.c (the two
 * renderings), info_system.c (--system), sharing src/tools/info_internal.h. */
#ifndef S2S_INFO_H
#define S2S_INFO_H

#include <stdbool.h>
#include <stdio.h>

/* Rows of a checkpoint's /history shown by default (the last ones). */
#define INFO_HISTORY_ROWS 5

/* `s2s info`: argv without the program and command names. PATH is the one positional argument
 * (anywhere; after `--` everything is positional); options --json, --history N, --config FILE,
 * --help. Prints to stdout. 0, or a negative S2S_* status with the message set (S2S_EUSAGE for
 * a bad command line). */
int info_command(int argc, char **argv);

/* Describes path on out as text or JSON, with the last history_rows rows of a checkpoint's
 * history (all of them if history_rows < 0). Everything is read before anything is written,
 * so on error nothing is written, except for a checkpoint whose checksum is invalid (or whose
 * state cannot be read): it is described in full and then S2S_EFORMAT is returned, with the
 * message "PATH: the checkpoint is invalid: REASON". S2S_EIO (missing, unreadable, write error
 * on out), S2S_EFORMAT (not an s2s file, damaged), S2S_ENOMEM. */
int info_write_rows(const char *path, bool json, int history_rows, FILE *out);

/* `s2s info --system`: this machine's CPU (vendor, model, the features OpenBLAS's kernels
 * need), the loaded OpenBLAS (its config string), the kernels it runs in this process and
 * where they come from, the best kernels for the CPU, the kernels s2s knows and those the CPU
 * runs (JSON key "runnable"), and what train, bench, translate and eval would do at start-up
 * (include/s2s/blas_core.h). S2S_EIO on a write error. */
int info_write_system(bool json, FILE *out);

/* info_write_rows with INFO_HISTORY_ROWS. */
int info_write(const char *path, bool json, FILE *out);

/* `s2s --version` (src/tools/version.c): "s2s X.Y.Z", then the MPI, HDF5 and OpenBLAS this
 * process runs with, one line each. Needs no MPI_Init. */
void s2s_print_version(FILE *out);

#endif
