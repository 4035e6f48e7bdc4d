#!/bin/sh
# End to end: workflows on a 3-node cluster with two worker processes. A DAG with a real program
# runs to completion; the leader is killed (SIGKILL) while a task runs; its worker reports to the
# new leader, which granted the running attempt a grace period, so it is not retried; the
# workflow completes, the replicated history shows every attempt, and the side effect saw the
# task's stable idempotency key.
# usage: e2e_workflow.sh PATH/TO/flowraft-node
set -u
node_bin="$1"
. "$(dirname "$0")/cluster.sh"
for i in 1 2 3; do start "$i"; done
for w in 1 2; do
    "$node_bin" worker --id "$w" "$(client_addr 1)" "$(client_addr 2)" "$(client_addr 3)" \
        2>>"$dir/w$w.log" &
    pids="$pids $!"
done

effects="$dir/effects.txt"
definition='{"id":"pipeline","defaults":{"lease_timeout_ms":3000,"retry":{"max_attempts":4,'\
'"initial_backoff_ms":100}},"tasks":[{"id":"fetch","kind":"sleep","params":{"ms":200}},'\
'{"id":"check","kind":"sleep","params":{"ms":1500},"deps":["fetch"]},'\
'{"id":"lint","kind":"noop","deps":["fetch"]},'\
'{"id":"release","kind":"exec","params":{"argv":["sh","-c",'\
'"echo $FLOWRAFT_IDEMPOTENCY_KEY >> '"$effects"'"]},"deps":["check","lint"]}]}'

submit() { client 1 SUBMIT "$definition" | grep -q '^OK'; }
wait_for 50 submit || fail "no leader accepted the workflow"
# Resubmitting the same definition is idempotent.
client 2 SUBMIT "$definition" | grep -q '^OK' || fail "an identical resubmit was refused"

# While "check" runs (1.5 s), kill the leader.
check_running() { client 1 SHOW pipeline | grep -q "task 1 check .*state=Running"; }
wait_for 50 check_running || fail "the check task never started"
leader=$(leader_of 1)
[ -n "$leader" ] && [ "$leader" != 0 ] || fail "no leader in STATUS"
eval "kill -9 \$pid$leader"
survivor=$((leader % 3 + 1))

completed() { client "$survivor" LIST | grep -q "^pipeline Completed tasks_completed=4/4"; }
wait_for 100 completed || fail "the workflow did not complete after the leader died"
history=$(client "$survivor" SHOW pipeline)
echo "$history" | grep -q "task 3 release kind=exec state=Completed" || fail "release: $history"
# The attempt that was running when the leader died was not retried: its worker reported to the
# new leader, which granted it a grace period instead of expiring its lease at once.
echo "$history" | grep -q "task 1 check kind=sleep state=Completed attempts=1/" ||
    fail "the running attempt was retried after the failover: $history"
# Every effect carried the stable key of its task.
[ -s "$effects" ] || fail "the release task's program never ran"
[ "$(sort -u "$effects")" = "pipeline/release" ] || fail "unexpected keys: $(cat "$effects")"
# A stale report (an attempt that is not open) is refused and counted, never applied.
stale=$(client "$survivor" DONE pipeline 0 1)
case "$stale" in ERR\ reject_stale*|ERR\ *stale*) ;; *) fail "stale report answered: $stale" ;; esac

finish "$survivor"
echo "e2e: workflow DAG with workers across a leader crash completes; history and keys OK"
