#!/usr/bin/env bash
# A real Slurm test: starts a one-node Slurm on this machine
# (scripts/slurm-local.sh), submits `simba selftest` on 2 tasks launched both
# by srun (PMIx) and by mpirun inside the allocation, waits, checks the
# output, and stops Slurm again.
# Usage: scripts/test-slurm.sh SIMBA_BINARY
set -euo pipefail
simba=${1:?usage: scripts/test-slurm.sh SIMBA_BINARY}
state=$(mktemp -d /tmp/simba-slurm-XXXX)
trap 'scripts/slurm-local.sh stop "$state"' EXIT
eval "$(scripts/slurm-local.sh start "$state")"

passed=0 failed=0
for launcher in "srun --mpi=pmix" "mpirun -q --allow-run-as-root"; do
    out="$state/selftest-${launcher%% *}.out"
    job=$(sbatch --parsable --ntasks=2 --time=00:05:00 --output="$out" \
        --wrap="$launcher $simba selftest --scratch $state")
    for _ in $(seq 1 120); do
        status=$(scontrol show job "$job" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
        case "$status" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) break ;; esac
        sleep 1
    done
    if [ "$status" = COMPLETED ] && grep -q "selftest on 2 ranks: .* 0 failed" "$out"; then
        echo "ok   sbatch + $launcher: $(tail -1 "$out")"
        passed=$((passed + 1))
    else
        echo "FAIL sbatch + $launcher: job $job ended $status"; cat "$out"
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
