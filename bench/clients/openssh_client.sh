#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# OpenSSH peer "client" for bench/run: ssh / sftp / scp with the same key, the same
# known_hosts file and no ssh_config or agent. Usage as libssh2_client.c.
# The workload process is exec'd, so the measured process is ssh/sftp/scp itself
# (plus /bin/sh start-up); the exec loop is a driver loop over one ControlMaster.
set -u
: "${BENCH_HOST:?}" "${BENCH_PORT:?}" "${BENCH_USER:?}" "${BENCH_KEY:?}" "${BENCH_KNOWN_HOSTS:?}"
OPTS="-F /dev/null -i $BENCH_KEY -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes
 -o UserKnownHostsFile=$BENCH_KNOWN_HOSTS -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes
 -o LogLevel=ERROR"
DEST="$BENCH_USER@$BENCH_HOST"
w=$1
shift

# "XmY.YYYs" fields of `times` -> seconds
cpu_children() {  # `times` must run in this shell, not in a $(...) subshell
    times >"$ctl.times"
    awk 'NR==2 { s = 0; for (i = 1; i <= NF; i++) { split($i, a, "m"); sub("s", "", a[2]); s += a[1] * 60 + a[2] } print s }' "$ctl.times"
}

case "$w" in
echo)
    # shellcheck disable=SC2086
    exec ssh $OPTS ${BENCH_OPENSSH_KEX:+-o KexAlgorithms=$BENCH_OPENSSH_KEX} -p "$BENCH_PORT" "$DEST" "$1" ;;
exec)
    n=$1
    ctl="${BENCH_TMP:-/tmp}/mux-$$"
    # shellcheck disable=SC2086
    ssh $OPTS -p "$BENCH_PORT" -o ControlMaster=yes -o ControlPath="$ctl" -o ControlPersist=no -N "$DEST" &
    mpid=$!
    k=0
    while [ ! -S "$ctl" ]; do
        sleep 0.01
        k=$((k + 1))
        [ $k -gt 1000 ] && { echo "openssh_client: no ControlMaster socket" >&2; exit 1; }
    done
    cpu_children >"$ctl.c0"
    c0=$(cat "$ctl.c0")
    t0=$(date +%s.%N)
    i=0
    ok=0
    while [ $i -lt "$n" ]; do
        # shellcheck disable=SC2086
        out=$(ssh $OPTS -p "$BENCH_PORT" -o ControlMaster=no -o ControlPath="$ctl" "$DEST" "echo $i") &&
            [ "$out" = "$i" ] && ok=$((ok + 1))
        i=$((i + 1))
    done
    t1=$(date +%s.%N)
    # shellcheck disable=SC2086
    ssh $OPTS -o ControlPath="$ctl" -O exit "$DEST" 2>/dev/null
    wait $mpid
    cpu_children >"$ctl.c1"
    c1=$(cat "$ctl.c1")
    rm -f "$ctl.times" "$ctl.c0" "$ctl.c1"
    echo "BENCH ok=$ok loop_s=$(awk "BEGIN { print $t1 - $t0 }") loop_cpu_s=$(awk "BEGIN { print $c1 - $c0 }")" ;;
sftp_get | sftp_put)
    # the transfer is timed between two local `!date` escapes in the batch (connection set-up excluded)
    op="get"
    [ "$w" = sftp_put ] && op="put"
    log="${BENCH_TMP:-/tmp}/sftp-$$.log"
    # shellcheck disable=SC2086
    sftp -q $OPTS -P "$BENCH_PORT" -b - "$DEST" >"$log" <<EOF || { cat "$log" >&2; rm -f "$log"; exit 1; }
!date +T=%s.%N
$op "$1" "$2"
!date +T=%s.%N
EOF
    awk -F= '/^T=/ { t[n++] = $2 } END { if (n == 2) printf "BENCH xfer_s=%.6f\n", t[1] - t[0] }' "$log"
    rm -f "$log" ;;
scp_get | scp_put)
    # one ControlMaster connection first, then `scp -O` over it, timed (connection set-up excluded;
    # CPU includes the master)
    ctl="${BENCH_TMP:-/tmp}/mux-$$"
    # shellcheck disable=SC2086
    ssh $OPTS -p "$BENCH_PORT" -o ControlMaster=yes -o ControlPath="$ctl" -o ControlPersist=no -N "$DEST" &
    mpid=$!
    k=0
    while [ ! -S "$ctl" ]; do
        sleep 0.01
        k=$((k + 1))
        [ $k -gt 1000 ] && { echo "openssh_client: no ControlMaster socket" >&2; exit 1; }
    done
    t0=$(date +%s.%N)
    if [ "$w" = scp_get ]; then
        # shellcheck disable=SC2086
        scp -O -q $OPTS -o ControlMaster=no -o ControlPath="$ctl" -P "$BENCH_PORT" "$DEST:$1" "$2"
    else
        # shellcheck disable=SC2086
        scp -O -q $OPTS -o ControlMaster=no -o ControlPath="$ctl" -P "$BENCH_PORT" "$1" "$DEST:$2"
    fi
    rc=$?
    t1=$(date +%s.%N)
    # shellcheck disable=SC2086
    ssh $OPTS -o ControlPath="$ctl" -O exit "$DEST" 2>/dev/null
    wait $mpid
    [ $rc -eq 0 ] || exit $rc
    echo "BENCH xfer_s=$(awk "BEGIN { print $t1 - $t0 }")" ;;
*)
    echo "openssh_client: unknown workload $w" >&2
    exit 2 ;;
esac
