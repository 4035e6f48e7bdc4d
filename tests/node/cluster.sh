# Sourced by the end-to-end tests: a 3-node cluster of the real binary on loopback ports.
# Needs $node_bin. Provides: start N, client N ARGS..., leader_of N, wait_for CMD..., fail MSG,
# finish [N] (stops everything; fails on a sanitizer report), and $dir for files.
dir=$(mktemp -d)
# Six ports from 20000..32759: below Linux's ephemeral range (32768 and up), where an outgoing
# connection of any process may hold a port for a while and make a node's bind fail.
base=$((20000 + ($$ % 1270) * 10))
pids=""
fail() {
    echo "e2e: FAILED: $*"
    for f in "$dir"/*.log; do echo "--- $f"; tail -n 20 "$f"; done
    for p in $pids; do kill "$p" 2>/dev/null; done
    rm -rf "$dir"
    exit 1
}
for i in 1 2 3; do
    {
        echo "[node]"; echo "id = $i"; echo "data_dir = $dir/data/n$i"; echo "tick_ms = 10"
        echo "[peers]"
        for j in 1 2 3; do echo "$j = 127.0.0.1:$((base + j))"; done
        echo "[clients]"
        for j in 1 2 3; do echo "$j = 127.0.0.1:$((base + 3 + j))"; done
        echo "[workflows]"; echo "failover_grace_ms = 500"
    } >"$dir/n$i.ini"
done
start() {
    "$node_bin" --config "$dir/n$1.ini" 2>>"$dir/n$1.log" &
    eval "pid$1=$!"
    pids="$pids $!"
}
client() {
    n=$1
    shift
    "$node_bin" client "127.0.0.1:$((base + 3 + n))" "$@"
}
client_addr() { echo "127.0.0.1:$((base + 3 + $1))"; }
leader_of() { client "$1" STATUS | sed -n 's/.* leader=\([0-9]*\) .*/\1/p'; }
# wait_for TRIES COMMAND...: runs COMMAND every 0.2 s until it succeeds (TRIES times at most).
wait_for() {
    tries=$1
    shift
    for attempt in $(seq 1 "$tries"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    return 1
}
# finish [N]: stops everything with SIGTERM; node N (if given) must have stopped cleanly.
finish() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    if grep -l -E "runtime error|Sanitizer" "$dir"/*.log; then
        fail "a process reported a sanitizer error"
    fi
    if [ $# -gt 0 ] && ! grep -q "stopping" "$dir/n$1.log"; then
        fail "node $1 did not stop cleanly on SIGTERM"
    fi
    rm -rf "$dir"
}
