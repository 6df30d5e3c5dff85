/* formats.c - the names that the files' readers and writers share (include/s2s/formats.h). */
#include "s2s/formats.h"

const char *const split_names[] = {SPLIT_CHOICES(CHOICE_NAME) NULL};
