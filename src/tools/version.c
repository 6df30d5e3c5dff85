/* version.c - `s2s --version`: this program's version (CMake's project version) and the
 * versions of the libraries it runs with, as they report themselves at run time (the ones a
 * bug report needs: a different Open MPI, HDF5 or OpenBLAS changes behaviour or speed). */
#include "s2s/info.h"

#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include <cblas.h>

#ifndef S2S_VERSION
#error "S2S_VERSION is defined by CMakeLists.txt"
#endif

void s2s_print_version(FILE *out)
{
    char mpi[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int len = 0;
    /* One of the few MPI calls allowed before MPI_Init; its first line names the library. */
    if (MPI_Get_library_version(mpi, &len) != MPI_SUCCESS)
        snprintf(mpi, sizeof mpi, "unknown MPI");
    mpi[strcspn(mpi, "\n,")] = '\0';
    unsigned major = 0, minor = 0, release = 0;
    H5get_libversion(&major, &minor, &release);
    const char *blas = openblas_get_config();
    fprintf(out, "s2s %s\n", S2S_VERSION);
    fprintf(out, "MPI: %s\nHDF5: %u.%u.%u\nOpenBLAS: %s\n", mpi, major, minor, release,
            blas ? blas : "unknown");
}
