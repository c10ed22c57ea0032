#!/usr/bin/env bash
# Starts a one-node Slurm on this machine (loopback only) for testing simba's
# batch scripts: munged, slurmctld and slurmd with a configuration of their
# own in a state folder. Prints the SLURM_CONF to export. Needs root and
# Debian's slurm-wlm and munge (installed when missing).
# Usage: scripts/slurm-local.sh start|stop [STATE_DIR]
set -euo pipefail
action=${1:-start}
state=${2:-/tmp/simba-slurm}
conf=$state/slurm.conf

stop() {
    local pids=()
    for daemon in slurmd slurmctld; do
        [ -f "$state/$daemon.pid" ] && pids+=("$(cat "$state/$daemon.pid")")
    done
    [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null
    pkill -x slurmd 2>/dev/null || true
    pkill -x slurmctld 2>/dev/null || true
    # Wait until they are gone (slurmctld saves its state on the way out).
    for _ in $(seq 1 40); do
        pgrep -x slurmd >/dev/null || pgrep -x slurmctld >/dev/null || break
        sleep 0.25
    done
}

if [ "$action" = stop ]; then stop; exit 0; fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

# munge: a key, and the daemon running as its own user.
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge && chown munge:munge /run/munge
pgrep -x munged >/dev/null || runuser -u munge -- /usr/sbin/munged

stop
rm -rf "$state" && mkdir -p "$state/spool" "$state/ctld"
node=$(hostname -s)
cpus=$(nproc)
memory=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
cat > "$conf" <<CONF
ClusterName=simba-local
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$conf
/usr/sbin/slurmctld -i
/usr/sbin/slurmd
for _ in $(seq 1 30); do
    sinfo -h -o %t 2>/dev/null | grep -qE "idle|mix" && break
    sleep 1
done
sinfo -h -o %t | grep -qE "idle|mix" || { echo "slurm-local: the node did not come up; see $state/*.log" >&2; exit 1; }
echo "export SLURM_CONF=$conf"
