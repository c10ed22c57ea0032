#!/usr/bin/env bash
# A real Slurm test: starts a one-node Slurm on this machine
# (scripts/slurm-local.sh) and submits, on 2 tasks each:
#   - `simba selftest`, launched by srun (PMIx) and by mpirun inside the allocation;
#   - slurm/simba-run.sbatch on the tiny preset, uninterrupted (mpirun): exit 0,
#     summary.json and report.html;
#   - the requeue test (srun): the same experiment, sent SIGUSR1 as Slurm's
#     `--signal=B:USR1@300` would (to the batch shell) once its first
#     checkpoint exists; it must stop at a safe point (75), requeue itself,
#     resume and end with parameters bitwise identical to the uninterrupted run;
#   - the time-limit path (mpirun): the same experiment with a 2-minute limit
#     and Slurm's own warning 70 s before it: requeued, resumed, bitwise;
#   - slurm/simba-sweep.sbatch as a 2-task array (prevalence 0.5, 0.9 on the
#     tiny preset, 1 rank each; task 0 warned, requeued and resumed) and the
#     merge job after it (afterok): sweep.csv.
# Prints one ok/FAIL line per check, stops Slurm again, exits non-zero on any
# failure. About 5 minutes on 2 shared cores.
# Usage: scripts/test-slurm.sh SIMBA_BINARY
set -uo pipefail
cd "$(dirname "$0")/.."
simba=$(realpath "${1:?usage: scripts/test-slurm.sh SIMBA_BINARY}")
python=/usr/bin/python3  # Debian's, with python3-h5py
# One Slurm per machine (fixed ports, and slurm-local.sh stops any Slurm
# daemons it finds): runs from other worktrees wait for each other.
exec 9>/tmp/simba-test-slurm.lock
if ! flock -n 9; then
    echo "test-slurm: another scripts/test-slurm.sh is running on this machine; waiting for it"
    flock -w 1800 9 || { echo "FAIL test-slurm: the lock /tmp/simba-test-slurm.lock stayed taken for 30 minutes"; exit 1; }
fi
state=$(mktemp -d /tmp/simba-slurm-XXXX)
passed=0 failed=0
finish() {
    scripts/slurm-local.sh stop "$state"
    if [ "$failed" -eq 0 ]; then rm -rf "$state"; else echo "(files and Slurm logs kept in $state)"; fi
}
trap finish EXIT
eval "$(scripts/slurm-local.sh start "$state" 9>&-)" || exit 1  # the daemons must not hold the lock
export SIMBA=$simba  # sbatch passes the environment on to the batch scripts

ok() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }
field() { scontrol show job "$1" 2>/dev/null | grep -o "$2=[^ ]*" | head -1 | cut -d= -f2; }

# A requeued job waits for a begin time 2 minutes on (Slurm's requeue
# delay); the test lets it start after 3 s instead. Not at once: slurmd
# revokes the job's credentials when it is requeued, at a resolution of one
# second, and refuses a start within that second ("Job credential revoked").
# Call once a second.
declare -A held=()
release_requeued() {
    local job=$1
    if [ "$(field "$job" JobState)" = PENDING ] && [ "$(field "$job" Reason)" = BeginTime ]; then
        held[$job]=$(( ${held[$job]:-0} + 1 ))
        if [ "${held[$job]}" -ge 3 ]; then scontrol update JobId="$job" StartTime=now; held[$job]=0; fi
    else
        held[$job]=0
    fi
}

# Waits for a job to end (at most $2 seconds) and prints its final state.
wait_job() {
    local job=$1 limit=$2 status=
    for _ in $(seq 1 "$limit"); do
        status=$(field "$job" JobState)
        case $status in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE) break ;; esac
        release_requeued "$job"
        sleep 1
    done
    echo "$status"
}

show_log() { echo "--- $1"; tail -n "${2:-25}" "$1" | sed 's/^/    /'; }

# Compares the final parameters of every arm of two experiments, bit for bit.
same_parameters() {
    "$python" - "$1" "$2" <<'PY' 2>&1
import sys, h5py, numpy as np
reference, other = sys.argv[1:]
arms = []
for arm in ("biased", "twin"):
    with h5py.File(f"{reference}/run-{arm}.h5", "r") as a, h5py.File(f"{other}/run-{arm}.h5", "r") as b:
        pa = a["/checkpoints/latest/parameters"][()]
        pb = b["/checkpoints/latest/parameters"][()]
        ea = a["/checkpoints/latest"].attrs["epochs_done"]
        eb = b["/checkpoints/latest"].attrs["epochs_done"]
        if pa.dtype != pb.dtype or pa.shape != pb.shape or pa.tobytes() != pb.tobytes():
            sys.exit(f"{arm}: parameters differ (max |Δ| {np.abs(pa.astype(float) - pb.astype(float)).max():.3g})")
        if ea != eb:
            sys.exit(f"{arm}: {ea} epochs uninterrupted, {eb} interrupted")
        latest = a["/checkpoints"].get("latest", getlink=True).path.rsplit("/", 1)[-1]
        earlier = [k for k in a["/checkpoints"] if k.startswith("epoch_") and k != latest]
        if earlier and all(np.array_equal(pa, a[f"/checkpoints/{k}/parameters"][()]) for k in earlier):
            sys.exit(f"{arm}: the parameters did not change after {earlier}: the comparison would prove nothing")
        arms.append(f"{arm} {pa.size} parameters after {ea} epochs")
print("; ".join(arms))
PY
}

# The batch scripts refuse a bad command line before anything starts.
for script in slurm/simba-run.sbatch slurm/simba-sweep.sbatch; do
    bash "$script" >/dev/null 2>&1; a=$?
    bash "$script" "$state/x" --preset tiny --resume >/dev/null 2>&1; b=$?
    if [ "$a" = 64 ] && [ "$b" = 64 ] && [ ! -e "$state/x" ]; then
        ok "$script refuses a bad command line (64)"
    else
        fail "$script with no arguments exited $a, with --resume $b (want 64, 64)"
    fi
done

# simba selftest, launched by srun and by mpirun.
for launcher in "srun --mpi=pmix" "mpirun -q --allow-run-as-root"; do
    out="$state/selftest-${launcher%% *}.out"
    started=$SECONDS
    job=$(sbatch --parsable --ntasks=2 --time=00:05:00 --output="$out" \
        --wrap="$launcher $simba selftest --scratch $state")
    status=$(wait_job "$job" 120)
    if [ "$status" = COMPLETED ] && grep -q "selftest on 2 ranks: .* 0 failed" "$out"; then
        ok "sbatch + $launcher: $(tail -1 "$out") ($((SECONDS - started)) s)"
    else
        fail "sbatch + $launcher: job $job ended $status"; show_log "$out"
    fi
done

# One experiment, uninterrupted: the reference for the requeue test.
experiment=(--preset tiny --epochs 12)
reference=$state/reference
started=$SECONDS
job=$(SIMBA_LAUNCHER=mpirun sbatch --parsable --ntasks=2 --output="$state/reference.out" \
    slurm/simba-run.sbatch "$reference" "${experiment[@]}")
status=$(wait_job "$job" 420)
if [ "$status" = COMPLETED ] && [ "$(field "$job" ExitCode)" = 0:0 ] && [ "$(field "$job" Restarts)" = 0 ] \
    && [ -s "$reference/summary.json" ] && [ -s "$reference/report.html" ]; then
    ok "simba-run.sbatch (mpirun) ${experiment[*]}: exit 0, summary.json, report.html ($((SECONDS - started)) s)"
else
    fail "simba-run.sbatch ${experiment[*]}: job $job ended $status, exit $(field "$job" ExitCode)"
    show_log "$state/reference.out"
fi

# A new submission onto a folder that holds an experiment: refused without
# SIMBA_RESUME=1 (so a mistaken OUTDIR is not continued), nothing changed.
before=$(stat -c %Y "$reference/summary.json" 2>/dev/null)
job=$(sbatch --parsable --ntasks=2 --output="$state/again.out" slurm/simba-run.sbatch "$reference" "${experiment[@]}")
status=$(wait_job "$job" 120)
if [ "$status" = FAILED ] && [ "$(field "$job" ExitCode)" = 1:0 ] && grep -q 'holds an experiment already' "$state/again.out" \
    && grep -q 'SIMBA_RESUME=1' "$state/again.out" && [ "$(stat -c %Y "$reference/summary.json" 2>/dev/null)" = "$before" ]; then
    ok "simba-run.sbatch onto a finished experiment without SIMBA_RESUME=1: refused (exit 1), untouched"
else
    fail "resubmission onto $reference: job $job ended $status, exit $(field "$job" ExitCode)"; show_log "$state/again.out"
fi

# The requeue test: the same experiment, warned once its first checkpoint
# exists. `scancel --signal=USR1 --batch` signals the batch shell alone, as
# `--signal=B:USR1@300` does near the time limit.
requeued=$state/requeued
log=$state/requeued.out
started=$SECONDS
job=$(sbatch --parsable --ntasks=2 --output="$log" slurm/simba-run.sbatch "$requeued" "${experiment[@]}")
for _ in $(seq 1 1200); do
    grep -q '^biased: 1/' "$log" 2>/dev/null && break  # printed after epoch 1's checkpoint
    case $(field "$job" JobState) in PENDING|RUNNING|CONFIGURING|"") ;; *) break ;; esac  # "": no answer this time
    sleep 0.25
done
scancel --signal=USR1 --batch "$job"
status=$(wait_job "$job" 420)
restarts=$(field "$job" Restarts)
if [ "$status" = COMPLETED ] && [ "$(field "$job" ExitCode)" = 0:0 ] && [ "$restarts" = 1 ] \
    && grep -q 'simba: stopped by SIGUSR1 at a safe point' "$log" && grep -q 'requeued' "$log" \
    && grep -q 'resuming the experiment' "$log" && [ -s "$requeued/summary.json" ]; then
    ok "simba-run.sbatch (srun) warned with SIGUSR1 after epoch 1: stopped (75), requeued, resumed, exit 0 ($((SECONDS - started)) s)"
else
    fail "requeue: job $job ended $status, exit $(field "$job" ExitCode), $restarts restarts"; show_log "$log" 40
fi
if comparison=$(same_parameters "$reference" "$requeued"); then
    ok "requeued run's final parameters are bitwise those of the uninterrupted run: $comparison"
else
    fail "requeued run vs uninterrupted: $comparison"
fi

# The time-limit path itself: a 2-minute limit with Slurm's own warning 70 s
# before it, mpirun this time. slurmctld looks every 30 s and sends the
# warning when it is due before its next look, so it comes 20 to 50 s into
# each start (with 100 s it came 1 s in, before simba had installed its
# handlers). Every start that is warned stops, requeues and resumes until
# the experiment ends, as the uninterrupted run does. Each epoch is made to
# last at least 9 s (SIMBA_TEST_EPOCH_SECONDS: waiting, which changes no
# result), so the first arm trains for more than 50 s and the warning lands
# in training on any machine (a fast one used to finish first: a skip).
timed=$state/timelimit
log=$state/timelimit.out
started=$SECONDS
job=$(SIMBA_LAUNCHER=mpirun SIMBA_TEST_EPOCH_SECONDS=9 sbatch --parsable --ntasks=2 --time=2 --signal=B:USR1@70 \
    --output="$log" slurm/simba-run.sbatch "$timed" "${experiment[@]}")
status=$(wait_job "$job" 900)
restarts=$(field "$job" Restarts)
if [ "$status" = COMPLETED ] && [ "$(field "$job" ExitCode)" = 0:0 ] && [ "${restarts:-0}" -ge 1 ] \
    && grep -q 'simba: stopped by SIGUSR1 at a safe point' "$log" \
    && comparison=$(same_parameters "$reference" "$timed"); then
    ok "simba-run.sbatch (mpirun) --time=2 --signal=B:USR1@70: warned by Slurm, requeued $restarts×, resumed, exit 0, parameters bitwise those of the uninterrupted run ($((SECONDS - started)) s)"
else
    fail "time-limit path: job $job ended $status, exit $(field "$job" ExitCode), ${restarts:-?} restarts; ${comparison:-}"
    show_log "$log" 40
fi

# A sweep as a job array (one experiment per task, 1 rank each) and the
# merge after it; task 0 is warned after its first epoch, so it requeues
# itself and resumes, and the merge must still wait for it (afterok).
sweep=$state/sweep
arguments=("$sweep" --preset tiny --epochs 12 --factor prevalence --values 0.5,0.9)
started=$SECONDS
array=$(sbatch --parsable --array=0-1 --ntasks=1 --output="$state/sweep-%A_%a.out" \
    slurm/simba-sweep.sbatch "${arguments[@]}")
merge=$(sbatch --parsable --dependency=afterok:"$array" --ntasks=1 --output="$state/sweep-merge.out" \
    slurm/simba-sweep.sbatch "${arguments[@]}" --merge)
for _ in $(seq 1 1200); do
    grep -q '^\[01-prevalence-0.5\] biased: 1/' "$state/sweep-${array}_0.out" 2>/dev/null && break
    case $(field "${array}_0" JobState) in PENDING|RUNNING|CONFIGURING|"") ;; *) break ;; esac  # "": no answer this time
    sleep 0.25
done
scancel --signal=USR1 --batch "${array}_0"
for _ in $(seq 1 420); do
    # the merge waits on the array: let task 0 start again soon once requeued
    release_requeued "${array}_0"
    # (an empty state: scontrol did not answer this time; ask again)
    case $(field "$merge" JobState) in PENDING|RUNNING|CONFIGURING|COMPLETING|"") sleep 1 ;; *) break ;; esac
done
status=$(field "$merge" JobState)
tasks=$(for task in 0 1; do field "${array}_$task" JobState; done | tr '\n' ' ')
if [ "$status" = COMPLETED ] && [ "$tasks" = "COMPLETED COMPLETED " ] && [ "$(field "${array}_0" Restarts)" = 1 ] \
    && grep -q 'requeued' "$state/sweep-${array}_0.out" && [ -s "$sweep/sweep.csv" ] \
    && [ "$(cut -d, -f2 "$sweep/sweep.csv" | tail -n +2 | sort -u | tr '\n' ' ')" = "0.5 0.9 " ] \
    && grep -q 'ΔΔTPR' "$sweep/sweep.csv"; then
    ok "simba-sweep.sbatch: array $array (prevalence 0.5, 0.9; task 0 warned, requeued, resumed) then merge $merge (afterok): sweep.csv with both ($((SECONDS - started)) s)"
else
    fail "sweep: array tasks ended $tasks (task 0: $(field "${array}_0" Restarts) restarts), merge $merge ended $status"
    for out in "$state"/sweep-*.out; do show_log "$out"; done
fi

echo "$passed passed, $failed failed ($SECONDS s)"
[ "$failed" -eq 0 ]
