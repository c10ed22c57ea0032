#!/usr/bin/env bash
# Makes sure simba's system dependencies are present.
# As root with apt: installs what is missing (after apt-get update).
# Otherwise: prints exactly what is missing and how to get it, and fails.
# Usage: scripts/deps.sh [--test]   (--test adds the test suite's oracles)
set -uo pipefail

runtime_packages=(pkg-config libopenmpi-dev openmpi-bin libopenblas-dev libhdf5-openmpi-dev hdf5-tools mricron-data zlib1g-dev libnifti2-dev)
test_packages=(python3-h5py python3-nibabel chromium)
template_dir=${SIMBA_TEMPLATE_DIR:-/usr/share/mricron/templates}

missing=()
check() {  # check DESCRIPTION PACKAGE TEST...
    local description=$1 package=$2
    shift 2
    if ! "$@" >/dev/null 2>&1; then missing+=("$package|$description"); fi
}

probe() {
    missing=()
    check "the pkg-config program" pkg-config command -v pkg-config
    check "OpenMPI headers (pkg-config ompi-c)" libopenmpi-dev pkg-config --exists ompi-c
    check "the mpirun launcher" openmpi-bin command -v mpirun
    check "OpenBLAS (pkg-config openblas)" libopenblas-dev pkg-config --exists openblas
    check "parallel HDF5 (pkg-config hdf5-openmpi)" libhdf5-openmpi-dev pkg-config --exists hdf5-openmpi
    check "h5dump" hdf5-tools command -v h5dump
    check "zlib (pkg-config zlib)" zlib1g-dev pkg-config --exists zlib
    check "the NIfTI-1 header (nifti/nifti1.h)" libnifti2-dev test -r /usr/include/nifti/nifti1.h
    check "the Colin27 template and AAL atlas in $template_dir" mricron-data \
        test -r "$template_dir/ch2bet.nii.gz" -a -r "$template_dir/aal.nii.gz" -a -r "$template_dir/aal.nii.txt"
    if [ "${1:-}" = "--test" ]; then
        check "Debian python3 with h5py (test oracle)" python3-h5py /usr/bin/python3 -c "import h5py"
        check "Debian python3 with nibabel (test oracle)" python3-nibabel /usr/bin/python3 -c "import nibabel"
        check "headless Chromium (renders report.html in a test)" chromium command -v chromium
    fi
}

probe "${1:-}"
[ ${#missing[@]} -eq 0 ] && exit 0

packages=()
for entry in "${missing[@]}"; do packages+=("${entry%%|*}"); done
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "simba: installing ${packages[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null \
        || { echo "simba: apt-get install ${packages[*]} failed" >&2; exit 1; }
    probe "${1:-}"
    [ ${#missing[@]} -eq 0 ] && exit 0
fi

echo "simba: missing system dependencies:" >&2
for entry in "${missing[@]}"; do echo "  - ${entry#*|} (Debian/Ubuntu package ${entry%%|*})" >&2; done
cat >&2 <<HELP
Install them with:
  sudo apt-get install ${packages[*]}
Without root (a cluster): load your site's OpenMPI, parallel HDF5 and OpenBLAS
modules so that pkg-config finds ompi-c, hdf5-openmpi and openblas (see the
README, "On a cluster"), and point SIMBA_TEMPLATE_DIR at a copy of the
Colin27/AAL files (ch2bet.nii.gz, aal.nii.gz, aal.nii.txt).
HELP
exit 1
