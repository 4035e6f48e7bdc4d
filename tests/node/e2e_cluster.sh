#!/bin/sh
# End to end: a 3-node cluster of the real binary on loopback; writes, reads, a leader killed
# (the survivors elect a new one and keep the data), a restart from disk that catches up, and a
# clean stop. usage: e2e_cluster.sh PATH/TO/flowraft-node
set -u
node_bin="$1"
dir=$(mktemp -d)
base=$((20000 + ($$ % 2000) * 10))
pids=""
fail() {
    echo "e2e: FAILED: $*"
    for i in 1 2 3; do echo "--- node $i log"; tail -n 20 "$dir/n$i.log" 2>/dev/null; done
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
for i in 1 2 3; do start "$i"; done

# A write through any node reaches the leader (REDIRECTs are followed).
ok=""
for attempt in $(seq 1 50); do
    if out=$(client 1 PUT greeting "hello world" 2>/dev/null) && [ "$out" = "OK" ]; then ok=1; break; fi
    sleep 0.2
done
[ -n "$ok" ] || fail "no leader accepted a write within 10 s"
[ "$(client 2 GET greeting)" = 'OK "hello world"' ] || fail "read after write"
[ "$(client 3 CAS greeting nope x)" = 'MISMATCH "hello world"' ] || fail "cas mismatch"
[ "$(client 3 CAS greeting "hello world" x)" = "OK" ] || fail "cas"
session=$(client 1 REGISTER | sed -n 's/^OK //p')
[ -n "$session" ] || fail "register"
[ "$(client 1 AS "$session" 1 PUT counter one)" = "OK" ] || fail "session put"
[ "$(client 2 AS "$session" 1 PUT counter two)" = "OK" ] || fail "session retry answer"
[ "$(client 2 GET counter)" = 'OK "one"' ] || fail "a session retry was applied twice"

# Kill the leader: the others elect a new one and still have every acknowledged write.
leader=$(client 1 STATUS | sed -n 's/.* leader=\([0-9]*\) .*/\1/p')
[ -n "$leader" ] && [ "$leader" != 0 ] || fail "no leader in STATUS"
eval "kill -9 \$pid$leader" # a crash, not a clean stop
survivor=$((leader % 3 + 1))
ok=""
for attempt in $(seq 1 50); do
    if [ "$(client "$survivor" GET greeting 2>/dev/null)" = 'OK "x"' ]; then ok=1; break; fi
    sleep 0.2
done
[ -n "$ok" ] || fail "no new leader served the acknowledged write after the old one died"
[ "$(client "$survivor" PUT after failover)" = "OK" ] || fail "write after failover"

# Restart the old leader from its disk: it recovers and catches up.
start "$leader"
ok=""
for attempt in $(seq 1 50); do
    status=$(client "$leader" STATUS 2>/dev/null)
    applied=$(echo "$status" | sed -n 's/.* applied=\([0-9]*\) .*/\1/p')
    commit=$(client "$survivor" STATUS | sed -n 's/.* commit=\([0-9]*\) .*/\1/p')
    if [ -n "$applied" ] && [ "$applied" = "$commit" ]; then ok=1; break; fi
    sleep 0.2
done
[ -n "$ok" ] || fail "the restarted node did not catch up ($status)"

for p in $pids; do kill "$p" 2>/dev/null; done
wait 2>/dev/null
grep -q "stopping" "$dir/n$survivor.log" || fail "no clean stop on SIGTERM"
if grep -l -E "runtime error|Sanitizer" "$dir"/n*.log; then
    fail "a node reported a sanitizer error"
fi
rm -rf "$dir"
echo "e2e: 3-node cluster: writes, reads, sessions, failover, restart and catch-up OK"
