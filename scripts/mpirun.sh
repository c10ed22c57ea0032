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
exec mpirun "${args[@]}" "$@"
