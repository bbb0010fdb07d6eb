#!/usr/bin/env bash
# Emulated MPI hosts on one machine: network namespaces sslh1..N (N = $HOSTS, default 3) joined by a bridge in
# sslhsw (which is also the head node where mpirun runs), TCP between 10.77.0.1-N, no route out of 10.77.0.0/24.
#   multihost.sh check            exit 0 if this machine can run it, else print why and exit 77
#   multihost.sh up               create the namespaces
#   multihost.sh shape GBIT       limit every host's link to GBIT Gbit/s each way (tc tbf; kernels without sch_netem
#                                 cannot add delay, so the latency is the veth's own)
#   multihost.sh run ARGS...      mpirun -np N ARGS over the N hosts, one rank each
#   multihost.sh fault ARGS...    start that job, kill every process of host 2 once training is under
#                                 way, and report the exit code, the time to exit and leftovers
#   multihost.sh down             end everything in the namespaces and delete them
set -u
N=${HOSTS:-3}
here=$(cd "$(dirname "$0")" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
hosts=$(seq -s, -f '10.77.0.%g' 1 $N)
MPIARGS=(--host "$hosts" --mca plm_rsh_agent "$here/nsagent"
  --mca btl tcp,self --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24
  --mca oob_tcp_keepalive_time 2 --mca oob_tcp_keepalive_intvl 1 --mca oob_tcp_keepalive_probes 3
  --mca odls_base_sigkill_timeout 0 --timeout 240 -np $N)

namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^sslh(sw|[0-9]+)$'; }

head_mpirun() {  # mpirun in the head node's namespace, with its own hostname
  local cmd; cmd=$(printf '%q ' mpirun "${MPIARGS[@]}" "$@")
  timeout -k 10 300 ip netns exec sslhsw unshare --uts sh -c "hostname sslhsw; exec $cmd"
}

case "${1:-}" in
  check)
    [ "$(id -u)" = 0 ] || { echo "multihost: skipped: needs root to create network namespaces"; exit 77; }
    command -v ip >/dev/null || { echo "multihost: skipped: ip (iproute2) not found"; exit 77; }
    command -v unshare >/dev/null || { echo "multihost: skipped: unshare not found"; exit 77; }
    ip netns add sslhprobe 2>/dev/null || { echo "multihost: skipped: cannot create a network namespace here"; exit 77; }
    ip netns del sslhprobe
    ;;
  up)
    "$0" down
    set -e
    ip netns add sslhsw; ip -n sslhsw link set lo up
    ip -n sslhsw link add br0 type bridge; ip -n sslhsw link set br0 up
    ip -n sslhsw addr add 10.77.0.254/24 dev br0
    for i in $(seq 1 $N); do
      ns=sslh$i
      ip netns add $ns; ip -n $ns link set lo up
      ip link add eth0 netns $ns type veth peer name sw$i netns sslhsw
      ip -n sslhsw link set sw$i master br0; ip -n sslhsw link set sw$i up
      ip -n $ns addr add 10.77.0.$i/24 dev eth0; ip -n $ns link set eth0 up
    done
    ;;
  shape)
    # A token bucket on each host's side of its veth (what it sends) and on the switch's side (what it receives),
    # with a burst of 1 ms at the rate.
    rate=$2; burst=$(( rate * 125000 ))
    for i in $(seq 1 $N); do
      ip netns exec sslh$i tc qdisc replace dev eth0 root tbf rate ${rate}gbit burst $burst latency 50ms
      ip netns exec sslhsw tc qdisc replace dev sw$i root tbf rate ${rate}gbit burst $burst latency 50ms
    done
    ;;
  run)
    shift; head_mpirun "$@"
    ;;
  fault)
    shift
    log=$(mktemp)
    head_mpirun "$@" > "$log" 2>&1 &
    job=$!
    # Block until the job prints its first epoch line (training is under way), at most 120 s.
    timeout 120 grep -m1 -q '^epoch' <(tail -f "$log") || { echo "fault: the job never started training"; cat "$log"; kill $job; exit 1; }
    victims=$(ip netns pids sslh2)
    t0=$(date +%s%N)
    kill -9 $victims
    wait $job; rc=$?
    t1=$(date +%s%N)
    # Processes left in the emulated hosts once mpirun has exited (they get 5 s to finish exiting).
    left=""
    for i in $(seq 1 50); do
      left=$(for ns in $(seq -f "sslh%g" 1 $N); do ip netns pids $ns; done | tr '\n' ' ')
      [ -z "${left// /}" ] && break
      sleep 0.1
    done
    echo "fault: killed host sslh2 (pids $(echo $victims | tr '\n' ' ')); mpirun exit $rc after $(( (t1 - t0) / 1000000 )) ms; leftover pids: ${left:-none}"
    echo "---- job output ----"; cat "$log"; rm -f "$log"
    ;;
  down)
    for ns in $(namespaces); do
      pids=$(ip netns pids "$ns"); [ -n "$pids" ] && kill -9 $pids 2>/dev/null
      ip netns del "$ns"
    done
    true
    ;;
  *) echo "usage: $0 check|up|run ARGS...|fault ARGS...|down" >&2; exit 2 ;;
esac
