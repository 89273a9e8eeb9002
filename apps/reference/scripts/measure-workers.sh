#!/usr/bin/env bash
# One worker, three workers, and three workers of which one is SIGKILLed mid-way, on the same
# 16-run sequential sweep against a PostgreSQL database (URL in $NARROWNET_PG; the sweeps are
# named m2-*, so use a database without such sweeps). Needs the built CLI and psql.
set -u
cd "$(dirname "$0")/../../.."
U="${NARROWNET_PG:-postgres://narrownet:narrownet@127.0.0.1:5432/narrownet_test}"
LOG="${TMPDIR:-/tmp}"
C="node apps/reference/dist/cli.js"
ARGS="run synthetic --widths 20 --radii 0.1,1000 --steps 1000 --eval-every 100 --checkpoint-every 200 --sequential --job-timeout 45"
W="worker --store $U --until-empty --engine onnx --device cpu --threads 1 --maintenance-every 2"
echo "== uptime: $(uptime)"
$C $ARGS --store $U --name m2-one
t0=$(date +%s.%N)
$C $W > $LOG/narrownet-measure-one.log 2>&1
t1=$(date +%s.%N)
echo "== one worker: $(echo "$t1 - $t0" | bc) s"
echo "== uptime: $(uptime)"
$C $ARGS --store $U --name m2-three-nokill
t0=$(date +%s.%N)
$C $W > $LOG/narrownet-measure-n1.log 2>&1 & q1=$!
$C $W > $LOG/narrownet-measure-n2.log 2>&1 & q2=$!
$C $W > $LOG/narrownet-measure-n3.log 2>&1 & q3=$!
wait $q1 $q2 $q3
t1=$(date +%s.%N)
echo "== three workers (none killed): $(echo "$t1 - $t0" | bc) s"
echo "== uptime: $(uptime)"
$C $ARGS --store $U --name m2-three
t0=$(date +%s.%N)
$C $W > $LOG/narrownet-measure-w1.log 2>&1 & p1=$!
$C $W > $LOG/narrownet-measure-w2.log 2>&1 & p2=$!
$C $W > $LOG/narrownet-measure-w3.log 2>&1 & p3=$!
# kill worker 1 once 6 of 16 runs are stored
while [ "$(psql -qtA "$U" -c "SELECT count(*) FROM narrownet.result WHERE sweep = 'm2-three'")" -lt 6 ]; do sleep 0.5; done
echo "== status before the kill:"; $C status $U --name m2-three
kill -9 $p1; echo "== SIGKILL worker 1 (pid $p1) at $(echo "$(date +%s.%N) - $t0" | bc) s"
wait $p2 $p3
t1=$(date +%s.%N)
echo "== three workers (one killed): $(echo "$t1 - $t0" | bc) s"
echo "== uptime: $(uptime)"
$C status $U --name m2-three
psql -qA "$U" -c "SELECT sweep, count(*) AS rows, count(DISTINCT id) AS runs, sum((record->>'resumedFrom' IS NOT NULL)::int) AS resumed FROM narrownet.result WHERE sweep LIKE 'm2-%' GROUP BY sweep ORDER BY sweep"
psql -qA "$U" -c "SELECT id, worker, record->>'resumedFrom' AS resumed_from, record->>'finalLoss' AS final_loss FROM narrownet.result WHERE sweep = 'm2-three' AND record->>'resumedFrom' IS NOT NULL"
psql -qA "$U" -c "SELECT count(*) AS differing FROM narrownet.result a JOIN narrownet.result b ON a.id = b.id WHERE a.sweep = 'm2-one' AND b.sweep = 'm2-three' AND (a.record->'finalLoss' IS DISTINCT FROM b.record->'finalLoss' OR a.record->'curve' IS DISTINCT FROM b.record->'curve')"
