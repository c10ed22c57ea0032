// OpenMPI's predefined handles are macros over addresses of globals, which the
// Swift importer drops. These static inline getters expose them to Swift.
#ifndef SIMBA_CMPI_SHIM_H
#define SIMBA_CMPI_SHIM_H
#include <mpi.h>

static inline MPI_Comm simba_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm simba_mpi_comm_self(void) { return MPI_COMM_SELF; }
static inline MPI_Comm simba_mpi_comm_null(void) { return MPI_COMM_NULL; }

static inline MPI_Datatype simba_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype simba_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype simba_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype simba_mpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype simba_mpi_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Datatype simba_mpi_byte(void) { return MPI_BYTE; }

static inline MPI_Op simba_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op simba_mpi_min(void) { return MPI_MIN; }
static inline MPI_Op simba_mpi_max(void) { return MPI_MAX; }

static inline MPI_Info simba_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline void *simba_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *simba_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Errhandler simba_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int simba_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int simba_mpi_max_library_version_string(void) { return MPI_MAX_LIBRARY_VERSION_STRING; }
static inline int simba_mpi_undefined(void) { return MPI_UNDEFINED; }

#endif
