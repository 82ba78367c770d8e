#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for tests and for trying the slurm profile.
#
#   scripts/slurm_local_cluster.sh start    install slurm-wlm + munge if missing (root), configure, start, wait
#   scripts/slurm_local_cluster.sh status   daemons, pids and `sinfo`
#   scripts/slurm_local_cluster.sh stop     stop exactly the daemons `start` started (by their pid files)
#   scripts/slurm_local_cluster.sh env      print `export SLURM_CONF=...` (eval it to use sbatch/squeue by hand)
#
# Hermetic: everything lives in one state directory, fresh per cluster: slurm.conf, the munge key and socket,
# pid files, logs, spool, controller state, and bin/ with wrappers of the SLURM client commands (sbatch, srun,
# squeue, ...) that set SLURM_CONF to this cluster's slurm.conf. Nothing outside it is written (no /etc/slurm):
# clients find the cluster through SLURM_CONF, and job steps through the wrappers on PATH (the Snakemake job
# step drops SLURM_CONF before its inner `srun`, but keeps PATH). The daemons listen on two free ports chosen at
# start, with their own munge socket, so several clusters (two users, two CI runs) and a system SLURM or munge
# on the same machine do not collide.
#
#   start prints the state dir; `eval "$(MUSCLECOG_SLURM_DIR=<dir> scripts/slurm_local_cluster.sh env)"` then
#   points this shell at the cluster (SLURM_CONF and PATH).
#
# Cluster layout: one node (this host: its short hostname, nproc CPUs, its total memory (`free -m`) minus a
# reserve), one partition `debug` (default, no time limit), cons_tres with CPU+memory as consumable resources,
# proctrack/linuxproc, task/none, no accounting (use `--slurm-status-command squeue --slurm-no-account` with
# the Snakemake SLURM executor). Memory limits are enforced: a job step that uses more than its --mem is killed
# (JobAcctGatherParams=OverMemoryKill), as on a production cluster.
#
# Environment: MUSCLECOG_SLURM_DIR (state dir; `start` creates a fresh one with mktemp when unset; the other
# commands need it), MUSCLECOG_SLURM_PORT (controller port; default: a free port pair found at start, slurmd
# uses port+1), MUSCLECOG_SLURM_TIMEOUT (seconds to wait for the node to become idle, default 90),
# MUSCLECOG_SLURM_RESERVE_MB (memory kept back from the node, default 512).
set -euo pipefail

if [[ -z "${MUSCLECOG_SLURM_DIR:-}" ]]; then
    if [[ "${1:-}" == "start" ]]; then
        MUSCLECOG_SLURM_DIR="$(mktemp -d "${TMPDIR:-/tmp}/musclecog-slurm.XXXXXX")"
    elif [[ -n "${1:-}" ]]; then
        echo "slurm_local_cluster: ERROR: set MUSCLECOG_SLURM_DIR to the state dir that \`start\` printed" >&2
        exit 2
    fi
fi
STATE_DIR="${MUSCLECOG_SLURM_DIR:-}"
PORT="${MUSCLECOG_SLURM_PORT:-}"
TIMEOUT="${MUSCLECOG_SLURM_TIMEOUT:-90}"
RESERVE_MB="${MUSCLECOG_SLURM_RESERVE_MB:-512}"
PARTITION="debug"
CONF="$STATE_DIR/slurm.conf"
MUNGE_DIR="$STATE_DIR/munge"
MUNGE_SOCKET="$MUNGE_DIR/munge.socket"
BIN_DIR="$STATE_DIR/bin"
MARKER="# written by musclecog scripts/slurm_local_cluster.sh"
CLIENTS=(sbatch srun squeue sinfo scontrol scancel salloc sacct)

# daemon name -> pid file, log file, expected /proc/<pid>/comm
pid_file() { echo "$STATE_DIR/run/$1.pid"; }
log_file() { echo "$STATE_DIR/log/$1.log"; }

die() {
    echo "slurm_local_cluster: ERROR: $*" >&2
    exit 1
}

show_logs() {
    echo "slurm_local_cluster: daemon log lines (state dir $STATE_DIR):" >&2
    local name
    for name in munged slurmctld slurmd; do
        local log
        log="$(log_file "$name")"
        echo "----- $log (last 40 lines) -----" >&2
        if [[ -s "$log" ]]; then
            tail -n 40 "$log" >&2
        else
            echo "(missing or empty)" >&2
        fi
    done
}

# A start that failed: show why, then stop whatever part of the cluster did start (by pid file).
fail_with_logs() {
    echo "slurm_local_cluster: ERROR: $*" >&2
    show_logs
    cmd_stop quiet
    echo "slurm_local_cluster: ERROR: the cluster did not start ($*); see the log lines above" >&2
    exit 1
}

# The pid in a pid file, if that process is alive and is the daemon we expect (guards against reused pids).
running_pid() {
    local name="$1" file pid comm
    file="$(pid_file "$name")"
    [[ -s "$file" ]] || return 1
    pid="$(tr -dc '0-9' <"$file")"
    [[ -n "$pid" && -d "/proc/$pid" ]] || return 1
    comm="$(cat "/proc/$pid/comm" 2>/dev/null || true)"
    [[ "$comm" == "$name" ]] || return 1
    echo "$pid"
}

install_packages() {
    local missing=()
    local bin
    for bin in munged mungekey slurmctld slurmd sbatch squeue sinfo scontrol; do
        command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    if [[ "$(id -u)" -ne 0 ]]; then
        die "SLURM is not installed (missing: ${missing[*]}). Install it as root:" \
            "apt-get install slurm-wlm munge (Debian/Ubuntu), or run this script as root."
    fi
    command -v apt-get >/dev/null 2>&1 ||
        die "SLURM is not installed (missing: ${missing[*]}) and apt-get is not available to install it."
    echo "slurm_local_cluster: installing slurm-wlm and munge (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -o DPkg::Lock::Timeout=600 -qq ||
        die "apt-get update failed; cannot install slurm-wlm and munge"
    apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends slurm-wlm munge >/dev/null ||
        die "apt-get install slurm-wlm munge failed"
    for bin in "${missing[@]}"; do
        command -v "$bin" >/dev/null 2>&1 || die "after installing slurm-wlm and munge, $bin is still missing"
    done
}

write_config() {
    local host cpus mem_total mem
    host="$(hostname -s)"
    cpus="$(nproc)"
    # what `free -m` reports as total, read where free reads it (procps is not in every container)
    mem_total="$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)"
    mem=$((mem_total - RESERVE_MB))
    [[ "$mem" -gt 256 ]] || mem="$mem_total"
    if [[ -z "$PORT" ]]; then
        PORT="$(free_port_pair)" || die "could not find two free ports; set MUSCLECOG_SLURM_PORT"
    fi
    mkdir -p "$STATE_DIR"/{run,log,spool,state} "$MUNGE_DIR"
    chmod 700 "$MUNGE_DIR"
    cat >"$CONF" <<EOF
$MARKER
# A single-node cluster on host $host: $cpus CPUs, ${mem} MB for jobs. State dir: $STATE_DIR
ClusterName=musclecog
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
StateSaveLocation=$STATE_DIR/state
SlurmdSpoolDir=$STATE_DIR/spool
SlurmctldPidFile=$(pid_file slurmctld)
SlurmdPidFile=$(pid_file slurmd)
SlurmctldLogFile=$(log_file slurmctld)
SlurmdLogFile=$(log_file slurmd)
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
# no accounting database: status queries use squeue, so finished jobs must stay visible for a while
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MinJobAge=600
# enforce --mem: a job step above its memory request is killed (state OUT_OF_MEMORY), as on real clusters
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=2
JobAcctGatherParams=OverMemoryKill
KillWait=5
InactiveLimit=0
SlurmctldTimeout=60
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    write_wrappers
}

# Client wrappers: each sets SLURM_CONF to this cluster's configuration and runs the real command. Job steps
# inherit PATH (not SLURM_CONF), so a job's inner `srun` reaches this cluster and no other.
write_wrappers() {
    mkdir -p "$BIN_DIR"
    local name real
    for name in "${CLIENTS[@]}"; do
        real="$(command -v "$name" 2>/dev/null || true)"
        [[ -n "$real" && "$real" != "$BIN_DIR/$name" ]] || continue
        printf '#!/bin/sh\n%s\nexport SLURM_CONF="%s"\nexec "%s" "$@"\n' "$MARKER" "$CONF" "$real" >"$BIN_DIR/$name"
        chmod 755 "$BIN_DIR/$name"
    done
}

# Two consecutive free TCP ports on 127.0.0.1 (controller, slurmd), unless MUSCLECOG_SLURM_PORT is set.
free_port_pair() {
    python3 - <<'PY'
import random, socket
for _ in range(200):
    port = random.randint(20000, 60000)
    try:
        with socket.socket() as a, socket.socket() as b:
            a.bind(("", port)); b.bind(("", port + 1))
    except OSError:
        continue
    print(port)
    break
else:
    raise SystemExit("no two free consecutive ports found")
PY
}

start_munge() {
    if running_pid munged >/dev/null; then
        return 0
    fi
    if [[ ! -s "$MUNGE_DIR/munge.key" ]]; then
        mungekey --create --keyfile="$MUNGE_DIR/munge.key" >/dev/null 2>&1 ||
            dd if=/dev/urandom of="$MUNGE_DIR/munge.key" bs=1 count=1024 status=none
        chmod 600 "$MUNGE_DIR/munge.key"
    fi
    munged --force --socket="$MUNGE_SOCKET" --key-file="$MUNGE_DIR/munge.key" \
        --pid-file="$(pid_file munged)" --log-file="$(log_file munged)" \
        --seed-file="$MUNGE_DIR/munge.seed" >>"$(log_file munged)" 2>&1 ||
        fail_with_logs "munged did not start"
    local i
    for i in $(seq 1 50); do
        [[ -S "$MUNGE_SOCKET" ]] && running_pid munged >/dev/null && return 0
        sleep 0.1
    done
    fail_with_logs "munged did not create its socket $MUNGE_SOCKET"
}

cmd_start() {
    install_packages
    if running_pid slurmctld >/dev/null && running_pid slurmd >/dev/null && running_pid munged >/dev/null; then
        echo "slurm_local_cluster: already running (state dir $STATE_DIR)"
    else
        # a half-started cluster from an earlier run: stop what is left, start fresh
        cmd_stop quiet
        # interrupted while starting: stop whatever did start
        trap 'cmd_stop quiet; exit 130' INT TERM
        local name
        for name in munged slurmctld slurmd; do
            [[ -f "$(log_file "$name")" ]] && mv -f "$(log_file "$name")" "$(log_file "$name").old"
        done
        write_config
        start_munge
        export SLURM_CONF="$CONF"
        # -c: clear saved jobs/state from an earlier run; -i: ignore state files that cannot be read
        slurmctld -c -i -f "$CONF" >>"$(log_file slurmctld)" 2>&1 || fail_with_logs "slurmctld did not start"
        slurmd -f "$CONF" >>"$(log_file slurmd)" 2>&1 || fail_with_logs "slurmd did not start"
    fi
    export SLURM_CONF="$CONF"
    local deadline state=""
    deadline=$((SECONDS + TIMEOUT))
    while ((SECONDS < deadline)); do
        running_pid slurmctld >/dev/null || { sleep 0.5; running_pid slurmctld >/dev/null ||
            fail_with_logs "slurmctld exited"; }
        state="$(sinfo -h -N -p "$PARTITION" -o '%t' 2>/dev/null | head -n 1 || true)"
        if [[ "$state" == "idle" || "$state" == "mix" || "$state" == "alloc" ]]; then
            trap - INT TERM
            echo "slurm_local_cluster: node $(hostname -s) is $state in partition $PARTITION" \
                "($(nproc) CPUs), ports $(awk -F= '/^SlurmctldPort=/ {print $2}' "$CONF")+1;" \
                "state dir $STATE_DIR; SLURM_CONF=$CONF"
            echo "slurm_local_cluster: use it with: eval \"\$(MUSCLECOG_SLURM_DIR=$STATE_DIR $0 env)\""
            return 0
        fi
        # a node left drained/down by an earlier run comes back when told to
        if [[ "$state" == drain* || "$state" == "down"* ]]; then
            scontrol update NodeName="$(hostname -s)" State=RESUME >/dev/null 2>&1 || true
        fi
        sleep 1
    done
    echo "slurm_local_cluster: sinfo says: ${state:-<no answer>}" >&2
    sinfo -N -l 2>&1 | sed 's/^/  /' >&2 || true
    scontrol show node 2>&1 | sed 's/^/  /' >&2 || true
    fail_with_logs "the node did not become idle within ${TIMEOUT}s"
}

cmd_stop() {
    local quiet="${1:-}" name pid i stopped=0
    # jobs still queued or running on this cluster: cancel them so their job steps end with them
    if running_pid slurmctld >/dev/null && [[ -f "$CONF" ]]; then
        SLURM_CONF="$CONF" scancel --quiet --user="$(id -un)" >/dev/null 2>&1 || true
        for i in $(seq 1 50); do
            [[ -z "$(SLURM_CONF="$CONF" squeue -h -t PENDING,RUNNING,COMPLETING -o %i 2>/dev/null)" ]] && break
            sleep 0.2
        done
    fi
    for name in slurmd slurmctld munged; do
        if pid="$(running_pid "$name")"; then
            kill -TERM "$pid" 2>/dev/null || true
            for i in $(seq 1 100); do
                [[ -d "/proc/$pid" ]] || break
                sleep 0.1
            done
            if [[ -d "/proc/$pid" ]]; then
                kill -KILL "$pid" 2>/dev/null || true
            fi
            stopped=$((stopped + 1))
            [[ -n "$quiet" ]] || echo "slurm_local_cluster: stopped $name (pid $pid)"
        fi
        rm -f "$(pid_file "$name")"
    done
    rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
    [[ -n "$quiet" || $stopped -gt 0 ]] || echo "slurm_local_cluster: nothing to stop (state dir $STATE_DIR)"
}

cmd_status() {
    local name pid rc=0
    for name in munged slurmctld slurmd; do
        if pid="$(running_pid "$name")"; then
            echo "$name: running (pid $pid)"
        else
            echo "$name: not running"
            rc=3
        fi
    done
    if [[ $rc -eq 0 ]]; then
        SLURM_CONF="$CONF" sinfo -N -l || rc=3
    fi
    return $rc
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
env) echo "export SLURM_CONF=$CONF PATH=$BIN_DIR:\$PATH" ;;
logs) show_logs 2>&1 ;;
*)
    echo "usage: $0 start|stop|status|env|logs" >&2
    exit 2
    ;;
esac
