/* spm_store.h - the SentencePiece models of a dataset or checkpoint in its HDF5 file: the group
 * /spm (docs/formats.md) that `s2s prep` writes into datasets, `s2s train` copies into every
 * checkpoint, and training, translate, eval and info read back.
 *
 *   /spm/src   uint8 [bytes]: the serialized model of the source side, or the joint model
 *   /spm/tgt   uint8 [bytes]: the target side's model; absent when /spm/src serves both
 *
 * A file without /spm has no model (its tokenizer is another one): reading it gives none.
 * Internal to the library; include it only from code that also includes <hdf5.h>. */
#ifndef S2S_SPM_STORE_H
#define S2S_SPM_STORE_H

#include <hdf5.h>

#include "s2s/h5limits.h"
#include "s2s/spm.h"

/* The most bytes a stored model may have: 64 times a 1M-piece model (~16 MiB). */
#define SPM_MODEL_MAX ((size_t)1 << 30)

/* Writes m's models under file's /spm (nothing when m has none). S2S_EINVAL for a target model
 * without a source one; S2S_EIO naming path and the object. */
int spm_models_write(hid_t file, const char *path, const spm_models *m);

/* Reads /spm of file into *m (zeroed first; left empty when the file has no /spm). Each model is
 * a one-dimensional dataset of 1-byte integers, checked with h5l_check_storage against b (NULL:
 * against its own storage only) before it is read, and at most SPM_MODEL_MAX bytes; /spm/tgt
 * without /spm/src is refused. The bytes are not parsed here (spm_load does that where they are
 * used). S2S_EFORMAT naming path and the object; S2S_ENOMEM. */
int spm_models_read(hid_t file, const char *path, h5l_budget *b, spm_models *m);

#endif
