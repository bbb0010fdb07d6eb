#!/usr/bin/env bash
# make test-slurm: deploy/slurm.sbatch under a real Slurm on this machine (Debian 12: Slurm 22.05, munge).
# Starts munged, slurmctld and slurmd with a one-node, 2-CPU configuration written here, then checks that
#   1. the script's mpi-check and a short training job complete with exit 0 and a checkpoint;
#   2. scancel --signal=TERM makes every rank checkpoint and exit 0, and the requeued job resumes from `latest` and
#      ends with the same parameters, bit for bit, as the same job run without interruption.
# Every daemon it started is stopped by PID on the way out. Needs root (the daemons, and jobs as root).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$PWD/.build/release/ssl-dist
[ "$(id -u)" = 0 ] || { echo "test-slurm: needs root (it starts munged, slurmctld and slurmd)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "test-slurm: build first (make build)" >&2; exit 1; }
DIGITS=/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz
WORK=$(mktemp -d /tmp/ssl-slurm.XXXXXX)
chmod 755 "$WORK"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done; kill -9 "$pid" 2>/dev/null || true; done
  echo "test-slurm: stopped munged, slurmctld and slurmd (pids ${PIDS[*]:-none}); logs were in $WORK"
  if pgrep -f "$WORK" > /dev/null; then echo "test-slurm: processes left behind: $(pgrep -af "$WORK")" >&2; exit 1; fi
}
trap cleanup EXIT
fail() { echo "test-slurm: FAILED: $*" >&2; tail -n 30 "$WORK"/*.log "$WORK"/job-*.out 2>/dev/null >&2 || true; exit 1; }

# munge: its own key and socket.
mkdir -p "$WORK/munge" && chmod 700 "$WORK/munge"
dd if=/dev/urandom of="$WORK/munge/munge.key" bs=1k count=1 2>/dev/null && chmod 400 "$WORK/munge/munge.key"
munged -F -f --socket="$WORK/munge.sock" --key-file="$WORK/munge/munge.key" --pid-file="$WORK/munged.pid" \
  --log-file="$WORK/munged.log" --seed-file="$WORK/munge/seed" > "$WORK/munged.out" 2>&1 &
PIDS+=($!)

# Slurm: one node with this machine's name and 2 CPUs; ports away from the defaults.
HOST=$(hostname -s)
PORT=$((17000 + RANDOM % 2000))
cat > "$WORK/slurm.conf" <<CONF
ClusterName=ssltest
SlurmctldHost=$HOST
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$WORK/munge.sock
CredType=cred/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobRequeue=1
ReturnToService=2
MinJobAge=3600
NodeName=$HOST CPUs=2 Boards=1 Sockets=1 CoresPerSocket=2 ThreadsPerCore=1 State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
mkdir -p "$WORK/state" "$WORK/spool"
export SLURM_CONF=$WORK/slurm.conf
for _ in $(seq 50); do [ -S "$WORK/munge.sock" ] && break; sleep 0.1; done
slurmctld -D -f "$SLURM_CONF" >> "$WORK/slurmctld.log" 2>&1 &
PIDS+=($!)
slurmd -D -f "$SLURM_CONF" >> "$WORK/slurmd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break; sleep 0.2; done
[ "$(sinfo -h -o %T)" = idle ] || fail "the node did not come up"
echo "test-slurm: Slurm $(sinfo -V | cut -d' ' -f2) up on $HOST (1 node, 2 CPUs), MPI plugins: $(srun --mpi=list 2>&1 | tr -s ' \n\t' ' ')"

# sbatch deploy/slurm.sbatch on this one node: 2 ranks, with the paths and a short digits run from the environment.
TRAIN="train --model m2 --data csv:$DIGITS --labels-per-class 3 --labelled-batch-size 30 --batch-size 50 --hidden 64 --latent 8 --seed 3 --checkpoint-every 50 --validate-every 1000"
submit() {  # submit RUN_DIR STEPS -> job id
  sbatch --parsable --nodes=1 --ntasks-per-node=2 --time=10 --output="$WORK/job-%j.out" \
    --export=ALL,SSL_DIST_BIN="$BIN",SSL_DIST_RUN_DIR="$1",SSL_DIST_ARGS="$TRAIN --steps $2" deploy/slurm.sbatch
}
state() { scontrol show job "$1" | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
exitcode() { scontrol show job "$1" | sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p'; }
wait_done() {  # wait_done JOB [SECONDS]
  for _ in $(seq $((${2:-300} * 5))); do
    case $(state "$1") in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) return 0 ;; esac
    sleep 0.2
  done
  fail "job $1 still $(state "$1")"
}

# 1. mpi-check and a short training job.
START=$(date +%s)
J=$(submit "$WORK/run-short" 60)
wait_done "$J"
[ "$(state "$J")" = COMPLETED ] && [ "$(exitcode "$J")" = 0:0 ] || fail "job $J: $(state "$J") exit $(exitcode "$J")"
grep -q "mpi-check: 2 rank(s).*all ok" "$WORK/job-$J.out" || fail "job $J: no mpi-check line"
grep -q "world size 2" "$WORK/job-$J.out" || fail "job $J: not 2 ranks"
[ -s "$WORK/run-short/checkpoints/latest" ] || fail "job $J: no checkpoint"
echo "test-slurm: job $J (mpi-check, 60 steps on 2 ranks via srun --mpi=pmix): COMPLETED, exit 0:0, checkpoint $(cat "$WORK/run-short/checkpoints/latest"), $(($(date +%s) - START)) s"

# 2. Preemption: the same 800-step job straight, and stopped by SIGTERM mid-run, then requeued.
START=$(date +%s)
S=$(submit "$WORK/run-straight" 800)
P=$(submit "$WORK/run-preempted" 800)
for _ in $(seq 1500); do grep -q "step [0-9]*/800" "$WORK/job-$P.out" 2>/dev/null && break; sleep 0.2; done
grep -q "step [0-9]*/800" "$WORK/job-$P.out" || fail "job $P never started training"
scancel --signal=TERM "$P"
wait_done "$P"
[ "$(state "$P")" = COMPLETED ] && [ "$(exitcode "$P")" = 0:0 ] || fail "preempted job $P: $(state "$P") exit $(exitcode "$P")"
STOPPED=$(sed -n 's/.*stopped at step \([0-9]*\) by a signal.*/\1/p' "$WORK/job-$P.out")
[ -n "$STOPPED" ] && [ "$STOPPED" -lt 800 ] || fail "job $P did not stop on SIGTERM"
[ ! -e "$WORK/run-preempted/results.json" ] || fail "job $P finished instead of stopping"
cp "$WORK/job-$P.out" "$WORK/job-$P-first.out"
scontrol requeue "$P"
wait_done "$P"
wait_done "$S"
[ "$(state "$P")" = COMPLETED ] && [ "$(exitcode "$P")" = 0:0 ] || fail "requeued job $P: $(state "$P") exit $(exitcode "$P")"
grep -q "resuming from step $STOPPED" "$WORK/job-$P.out" || fail "requeued job $P did not resume from step $STOPPED"
cmp -s "$WORK/run-straight/parameters.f32" "$WORK/run-preempted/parameters.f32" \
  || fail "the requeued run's parameters differ from the straight run's"
echo "test-slurm: job $P stopped by SIGTERM at step $STOPPED (every rank checkpointed, exit 0:0), requeued, resumed from step $STOPPED; its parameters equal the uninterrupted job $S bit for bit; $(($(date +%s) - START)) s"
echo "test-slurm: all checks passed"
