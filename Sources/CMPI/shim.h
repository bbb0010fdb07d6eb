// Open MPI (Debian: libopenmpi-dev, pkg-config "ompi-c").
// Open MPI's predefined handles are C macros that expand to addresses of
// global structs; Swift cannot import them, so each gets a static inline getter.
#include <mpi.h>

static inline MPI_Comm ssl_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype ssl_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype ssl_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype ssl_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype ssl_mpi_uint64(void) { return MPI_UINT64_T; }
static inline MPI_Datatype ssl_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op ssl_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op ssl_mpi_min(void) { return MPI_MIN; }
static inline MPI_Op ssl_mpi_max(void) { return MPI_MAX; }
static inline void *ssl_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Errhandler ssl_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline int ssl_mpi_success(void) { return MPI_SUCCESS; }
static inline int ssl_mpi_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
static inline int ssl_mpi_comm_type_shared(void) { return MPI_COMM_TYPE_SHARED; }
static inline MPI_Info ssl_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline MPI_Status *ssl_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline MPI_Request ssl_mpi_request_null(void) { return MPI_REQUEST_NULL; }
