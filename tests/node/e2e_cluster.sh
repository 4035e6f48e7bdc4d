#!/bin/sh
# End to end: a 3-node cluster of the real binary on loopback; writes, reads, a leader killed
# (the survivors elect a new one and keep the data), a restart from disk that catches up, and a
# clean stop. usage: e2e_cluster.sh PATH/TO/flowraft-node
set -u
node_bin="$1"
. "$(dirname "$0")/cluster.sh"
for i in 1 2 3; do start "$i"; done

# A write through any node reaches the leader (REDIRECTs are followed).
put_greeting() { [ "$(client 1 PUT greeting "hello world")" = "OK" ]; }
wait_for 50 put_greeting || fail "no leader accepted a write within 10 s"
[ "$(client 2 GET greeting)" = 'OK "hello world"' ] || fail "read after write"
[ "$(client 3 CAS greeting nope x)" = 'MISMATCH "hello world"' ] || fail "cas mismatch"
[ "$(client 3 CAS greeting "hello world" x)" = "OK" ] || fail "cas"
session=$(client 1 REGISTER | sed -n 's/^OK //p')
[ -n "$session" ] || fail "register"
[ "$(client 1 AS "$session" 1 PUT counter one)" = "OK" ] || fail "session put"
[ "$(client 2 AS "$session" 1 PUT counter two)" = "OK" ] || fail "session retry answer"
[ "$(client 2 GET counter)" = 'OK "one"' ] || fail "a session retry was applied twice"

# Kill the leader: the others elect a new one and still have every acknowledged write.
leader=$(leader_of 1)
[ -n "$leader" ] && [ "$leader" != 0 ] || fail "no leader in STATUS"
eval "kill -9 \$pid$leader" # a crash, not a clean stop
survivor=$((leader % 3 + 1))
read_x() { [ "$(client "$survivor" GET greeting)" = 'OK "x"' ]; }
wait_for 50 read_x || fail "no new leader served the acknowledged write after the old one died"
[ "$(client "$survivor" PUT after failover)" = "OK" ] || fail "write after failover"

# Restart the old leader from its disk: it recovers and catches up.
start "$leader"
caught_up() {
    applied=$(client "$leader" STATUS | sed -n 's/.* applied=\([0-9]*\) .*/\1/p')
    commit=$(client "$survivor" STATUS | sed -n 's/.* commit=\([0-9]*\) .*/\1/p')
    [ -n "$applied" ] && [ "$applied" = "$commit" ]
}
wait_for 50 caught_up || fail "the restarted node did not catch up"

finish "$survivor"
echo "e2e: 3-node cluster: writes, reads, sessions, failover, restart and catch-up OK"
