#!/usr/bin/env bash
# Runs a command under mpirun with the flags this machine needs:
# -q (no banners: errors stay one readable line), --allow-run-as-root only
# as root, --oversubscribe only when ranks exceed cores.
# Usage: scripts/mpirun.sh NP COMMAND [ARGS...]
set -euo pipefail
np=${1:?usage: scripts/mpirun.sh NP COMMAND [ARGS...]}
shift
args=(-q -np "$np")
[ "$(id -u)" -eq 0 ] && args+=(--allow-run-as-root)
[ "$np" -gt "$(nproc)" ] && args+=(--oversubscribe)
# Ranks on this one machine need no munge credentials; where munge is
# installed (Slurm's packages bring it) but its daemon is not running,
# PMIx would retry its socket for over two seconds on every start.
export PMIX_MCA_psec=${PMIX_MCA_psec:-native}
exec mpirun "${args[@]}" "$@"
