// HDF5's type, property-list and flag "constants" are macros that call
// H5open() or cast, which the Swift importer drops. These static inline
// getters expose them. The build refuses a serial HDF5: simba writes its
// files collectively through MPI-IO.
#ifndef SIMBA_CHDF5_SHIM_H
#define SIMBA_CHDF5_SHIM_H
#include <hdf5.h>

#ifndef H5_HAVE_PARALLEL
#error "simba needs a parallel (MPI) build of HDF5: install libhdf5-openmpi-dev (pkg-config name hdf5-openmpi)"
#endif

static inline hid_t simba_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t simba_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t simba_h5t_native_int32(void) { return H5T_NATIVE_INT32; }
static inline hid_t simba_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
static inline hid_t simba_h5t_native_uint8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t simba_h5t_c_s1(void) { return H5T_C_S1; }
static inline hid_t simba_h5t_ieee_f32le(void) { return H5T_IEEE_F32LE; }
static inline hid_t simba_h5t_ieee_f64le(void) { return H5T_IEEE_F64LE; }
static inline hid_t simba_h5t_std_i32le(void) { return H5T_STD_I32LE; }
static inline hid_t simba_h5t_std_i64le(void) { return H5T_STD_I64LE; }
static inline hid_t simba_h5t_std_u8le(void) { return H5T_STD_U8LE; }

static inline hid_t simba_h5p_default(void) { return H5P_DEFAULT; }
static inline hid_t simba_h5p_file_access(void) { return H5P_FILE_ACCESS; }
static inline hid_t simba_h5p_file_create(void) { return H5P_FILE_CREATE; }
static inline hid_t simba_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
static inline hid_t simba_h5p_dataset_xfer(void) { return H5P_DATASET_XFER; }
static inline hid_t simba_h5p_link_create(void) { return H5P_LINK_CREATE; }

static inline hid_t simba_h5e_default(void) { return H5E_DEFAULT; }
static inline hid_t simba_h5s_all(void) { return H5S_ALL; }
static inline hsize_t simba_h5s_unlimited(void) { return H5S_UNLIMITED; }
static inline size_t simba_h5t_variable(void) { return H5T_VARIABLE; }

static inline unsigned simba_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
static inline unsigned simba_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
static inline unsigned simba_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
static inline unsigned simba_h5f_acc_excl(void) { return H5F_ACC_EXCL; }

// MPI-IO file access takes an MPI_Info; hdf5.h has already included mpi.h.
static inline MPI_Info simba_mpi_info_null_for_hdf5(void) { return MPI_INFO_NULL; }

static inline int simba_h5_is_parallel(void) {
#ifdef H5_HAVE_PARALLEL
    return 1;
#else
    return 0;
#endif
}

#endif
