#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for tests and for trying the slurm profile.
#
#   scripts/slurm_local_cluster.sh start    install slurm-wlm + munge if missing (root), configure, start, wait
#   scripts/slurm_local_cluster.sh status   daemons, pids and `sinfo`
#   scripts/slurm_local_cluster.sh stop     stop exactly the daemons `start` started (by their pid files)
#   scripts/slurm_local_cluster.sh env      print `export SLURM_CONF=...` (eval it to use sbatch/squeue by hand)
#
# Everything lives in one state directory (MUSCLECOG_SLURM_DIR, default /tmp/musclecog-slurm): slurm.conf,
# the munge key and socket, pid files, logs, spool and controller state. The daemons use their own ports and
# their own munge socket, so they do not collide with a system SLURM or munge. Clients find the cluster through
# SLURM_CONF=<state dir>/slurm.conf and through /etc/slurm/slurm.conf, which `start` links to it (the Snakemake
# job step drops SLURM_CONF before its inner srun, so jobs need the default path) and `stop` removes again; a
# machine that has its own /etc/slurm/slurm.conf is refused, and only one such cluster runs at a time.
#
# Cluster layout: one node (this host: its short hostname, nproc CPUs, its total memory (`free -m`) minus a
# reserve), one partition `debug` (default, no time limit), cons_tres with CPU+memory as consumable resources,
# proctrack/linuxproc, task/none, no accounting (use `--slurm-status-command squeue --slurm-no-account` with
# the Snakemake SLURM executor). Memory limits are enforced: a job step that uses more than its --mem is killed
# (JobAcctGatherParams=OverMemoryKill), as on a production cluster.
#
# Environment: MUSCLECOG_SLURM_DIR (state dir), MUSCLECOG_SLURM_PORT (controller port, default 16817; slurmd uses
# port+1), MUSCLECOG_SLURM_TIMEOUT (seconds to wait for the node to become idle, default 90),
# MUSCLECOG_SLURM_RESERVE_MB (memory kept back from the node, default 512).
set -euo pipefail

STATE_DIR="${MUSCLECOG_SLURM_DIR:-/tmp/musclecog-slurm}"
PORT="${MUSCLECOG_SLURM_PORT:-16817}"
TIMEOUT="${MUSCLECOG_SLURM_TIMEOUT:-90}"
RESERVE_MB="${MUSCLECOG_SLURM_RESERVE_MB:-512}"
PARTITION="debug"
CONF="$STATE_DIR/slurm.conf"
MUNGE_DIR="$STATE_DIR/munge"
MUNGE_SOCKET="$MUNGE_DIR/munge.socket"
SYSTEM_CONF="/etc/slurm/slurm.conf"
MARKER="# written by musclecog scripts/slurm_local_cluster.sh"

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
    link_system_conf
}

# Jobs find the controller through /etc/slurm/slurm.conf: the Snakemake SLURM job step removes SLURM_CONF
# from the environment of its inner `srun`. So this cluster owns that path while it runs (a symlink to its
# slurm.conf), and a machine with its own SLURM configuration there is refused.
link_system_conf() {
    if [[ -L "$SYSTEM_CONF" ]]; then
        local target other
        target="$(readlink "$SYSTEM_CONF")"
        if [[ "$target" != "$CONF" ]]; then
            other="$(dirname "$target")"
            if [[ -f "$target" ]] && grep -qF "$MARKER" "$target" &&
                MUSCLECOG_SLURM_DIR="$other" "$0" status >/dev/null 2>&1; then
                die "another local cluster is running from $other (it owns $SYSTEM_CONF). Stop it with" \
                    "MUSCLECOG_SLURM_DIR=$other $0 stop, or use it: MUSCLECOG_SLURM_DIR=$other $0 start"
            fi
            rm -f "$SYSTEM_CONF"
        fi
    elif [[ -e "$SYSTEM_CONF" ]]; then
        die "$SYSTEM_CONF exists: this machine has its own SLURM configuration. Use that cluster" \
            "(sinfo, and the profile profiles/slurm) instead of a local test cluster."
    fi
    if [[ ! -L "$SYSTEM_CONF" ]]; then
        mkdir -p "$(dirname "$SYSTEM_CONF")" 2>/dev/null || true
        ln -s "$CONF" "$SYSTEM_CONF" 2>/dev/null ||
            die "cannot create $SYSTEM_CONF (run as root): jobs find the controller through it"
    fi
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
        link_system_conf
    else
        # a half-started cluster from an earlier run: stop what is left, start fresh
        cmd_stop quiet
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
            echo "slurm_local_cluster: node $(hostname -s) is $state in partition $PARTITION" \
                "($(nproc) CPUs); SLURM_CONF=$CONF"
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
    # jobs started by slurmd run in slurmstepd processes we spawned; they end with their steps
    if [[ -L "$SYSTEM_CONF" && "$(readlink "$SYSTEM_CONF")" == "$CONF" ]]; then
        rm -f "$SYSTEM_CONF"
    fi
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
env) echo "export SLURM_CONF=$CONF" ;;
logs) show_logs 2>&1 ;;
*)
    echo "usage: $0 start|stop|status|env|logs" >&2
    exit 2
    ;;
esac
