#!/usr/bin/env bash
# bench/sync.sh: evac sync against rclone, s5cmd and raw curl PUTs on the
# loopback versitygw of the test environment, same run, same data:
#   (a) SMALL_N x 4 KiB files          (default 20,000)
#   (b) LARGE_N x LARGE_MIB MiB files  (default 8 x 256 MiB)
#   (c) unchanged resync of (a)
#   (d) the diff over DIFF_N synthetic keys (default 10,000,000): time, peak heap
# Each tool writes to its own fresh bucket. Wall time and peak RSS come from
# /usr/bin/time. Prints "RATIO ..." lines (bench/run.sh collects them).
# Scale down: SMALL_N=2000 LARGE_N=4 LARGE_MIB=128 DIFF_N=1000000 bench/sync.sh
#
# PRIVATE_VGW=1 (default) runs the benchmark against a private versitygw
# (same binary and flags as the test environment's, on a free port), so
# other users of the shared server do not land in the numbers, and reports
# the server's CPU seconds per run (on one machine client and server share
# the cores). KEEP_ALIVE=1 adds --keep-alive (versitygw's default closes the
# connection after every request). PRIVATE_VGW=0 uses EVAC_TEST_S3_ENDPOINT.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
SMALL_N=${SMALL_N:-20000}
LARGE_N=${LARGE_N:-8}
LARGE_MIB=${LARGE_MIB:-256}
DIFF_N=${DIFF_N:-10000000}
WORKERS=${WORKERS:-64}
PEERS=${PEERS:-/root/go/bin}
PRIVATE_VGW=${PRIVATE_VGW:-1}
KEEP_ALIVE=${KEEP_ALIVE:-0}
: "${EVAC_TEST_S3_ENDPOINT:?load the test environment: set -a; . .testenv/env; set +a}"
E=$EVAC_TEST_S3_ENDPOINT
S3ROOT=$EVAC_TEST_S3_ROOT
export AWS_ACCESS_KEY_ID=$EVAC_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$EVAC_TEST_S3_SECRET_KEY AWS_REGION=${EVAC_TEST_S3_REGION:-us-east-1}
WORK=$(mktemp -d /tmp/evac-bench-sync.XXXXXX)
VGW_PID=""
if [[ $PRIVATE_VGW == 1 ]]; then
	: "${EVAC_TEST_VERSITYGW_BIN:?load the test environment (EVAC_TEST_VERSITYGW_BIN)}"
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	S3ROOT=$WORK/s3root
	mkdir -p "$S3ROOT"
	ka=()
	[[ $KEEP_ALIVE == 1 ]] && ka=(--keep-alive)
	ROOT_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID ROOT_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY "$EVAC_TEST_VERSITYGW_BIN" \
		--port "127.0.0.1:$port" --region "$AWS_REGION" --quiet "${ka[@]}" posix "$S3ROOT" </dev/null >"$WORK/versitygw.log" 2>&1 &
	VGW_PID=$!
	E=http://127.0.0.1:$port
	for _ in $(seq 1 100); do curl -s -o /dev/null "$E/" && break; sleep 0.1; done
	echo "== private versitygw on $E (pid $VGW_PID, keep-alive $KEEP_ALIVE)"
fi
export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other RCLONE_CONFIG_BENCH_ENDPOINT=$E \
	RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY \
	RCLONE_CONFIG_BENCH_REGION=$AWS_REGION RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true
BUCKETS=()
cleanup() {
	if [[ -n $VGW_PID ]]; then kill "$VGW_PID" 2>/dev/null; wait "$VGW_PID" 2>/dev/null || true; fi
	for b in "${BUCKETS[@]}"; do rm -rf "${S3ROOT:?}/$b"; done
	rm -rf "$WORK"
}
trap cleanup EXIT

go build -o "$WORK/evac" ./cmd/evac
go build -o "$WORK/diffheap" ./bench/diffheap
S5="$PEERS/s5cmd --endpoint-url $E"

newbucket() { # newbucket NAME: creates bench-NAME-<random> as $b, remembered for cleanup
	b="bench-$1-$RANDOM$RANDOM"
	$S5 mb "s3://$b" >/dev/null
	BUCKETS+=("$b")
}

# vgwcpu: CPU seconds the private versitygw used so far ("" if shared).
vgwcpu() {
	if [[ -n $VGW_PID ]]; then awk -v t="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$VGW_PID/stat"; fi
}

# measure LABEL CMD...: runs CMD, records seconds and peak RSS (KiB) in $WORK/LABEL.
measure() {
	local label=$1; shift
	sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
	local c0; c0=$(vgwcpu)
	/usr/bin/time -f "%e %M %U %S" -o "$WORK/$label.time" "$@" >"$WORK/$label.out" 2>"$WORK/$label.err" || {
		echo "FAILED: $label: $*"; tail -5 "$WORK/$label.err"; return 1; }
	read -r secs rss usr sys <"$WORK/$label.time"
	local server=""
	[[ -z $VGW_PID ]] || server=$(awk -v a="$c0" -v b="$(vgwcpu)" 'BEGIN { printf "  server CPU %.2f s", b - a }')
	printf '%-28s %8.2f s  %8d KiB peak RSS  client CPU %.2f s%s\n' "$label" "$secs" "$rss" "$(awk -v u="$usr" -v s="$sys" 'BEGIN { print u + s }')" "$server"
}
secs() { cut -d' ' -f1 "$WORK/$1.time"; }
rss() { cut -d' ' -f2 "$WORK/$1.time"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

echo "== $(date -u +%FT%TZ) load: $(uptime | sed 's/.*load average/load average/')"
echo "== data: $SMALL_N x 4 KiB, $LARGE_N x $LARGE_MIB MiB ($WORK)"
mkdir -p "$WORK/small" "$WORK/large"
python3 - "$WORK/small" "$SMALL_N" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%02d" % (i % 100))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d" % i), "wb") as f:
        f.write(os.urandom(4096))
PY
for ((i = 0; i < LARGE_N; i++)); do head -c $((LARGE_MIB << 20)) /dev/urandom >"$WORK/large/l$i.bin"; done
touch -d '1 hour ago' "$WORK"/small/*/* "$WORK"/large/*

echo "== (a) $SMALL_N x 4 KiB"
newbucket evac-a
bev=$b
measure evac-a "$WORK/evac" sync "$WORK/small" "s3://$b/a" --target-endpoint "$E" --journal-dir "$WORK/j-a" --workers "$WORKERS" --json
newbucket s5-a
measure s5cmd-a $S5 --numworkers "$WORKERS" cp "$WORK/small/*" "s3://$b/a/"
b5=$b
newbucket rc-a
measure rclone-a "$PEERS/rclone" copy "$WORK/small" "bench:$b/a" --transfers "$WORKERS" --checkers "$WORKERS"
brc=$b

echo "== (c) unchanged resync of (a)"
measure evac-c "$WORK/evac" sync "$WORK/small" "s3://$bev/a" --target-endpoint "$E" --journal-dir "$WORK/j-a" --workers "$WORKERS" --json
measure s5cmd-c $S5 --numworkers "$WORKERS" sync "$WORK/small/" "s3://$b5/a/"
measure rclone-c "$PEERS/rclone" copy "$WORK/small" "bench:$brc/a" --transfers "$WORKERS" --checkers "$WORKERS"
grep -o '"requests":{[^}]*}' "$WORK/evac-c.out" | sed 's/^/evac resync /'

echo "== (b) $LARGE_N x $LARGE_MIB MiB"
newbucket evac-b
measure evac-b "$WORK/evac" sync "$WORK/large" "s3://$b/b" --target-endpoint "$E" --journal-dir "$WORK/j-b" --workers "$WORKERS" --json
newbucket s5-b
measure s5cmd-b $S5 --numworkers "$WORKERS" cp "$WORK/large/*" "s3://$b/b/"
newbucket rc-b
measure rclone-b "$PEERS/rclone" copy "$WORK/large" "bench:$b/b" --transfers "$WORKERS" --checkers "$WORKERS"
newbucket curl-b
measure curl-b bash -c "ls '$WORK/large' | xargs -P $LARGE_N -I{} curl -sf --aws-sigv4 'aws:amz:$AWS_REGION:s3' \
	--user '$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY' -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' \
	-T '$WORK/large/{}' '$E/$b/b/{}'"

echo "== (d) diff over $DIFF_N synthetic keys"
measure diff-d "$WORK/diffheap" -n "$DIFF_N"
cat "$WORK/diff-d.out"

fast_a=$(awk -v x="$(secs s5cmd-a)" -v y="$(secs rclone-a)" 'BEGIN { print (x < y) ? x : y }')
fast_c=$(awk -v x="$(secs s5cmd-c)" -v y="$(secs rclone-c)" 'BEGIN { print (x < y) ? x : y }')
mb=$((LARGE_N * LARGE_MIB))
echo "== $(date -u +%FT%TZ) load: $(uptime | sed 's/.*load average/load average/')"
echo "== results (MiB/s for (b): evac $(ratio $mb "$(secs evac-b)"), curl $(ratio $mb "$(secs curl-b)"), s5cmd $(ratio $mb "$(secs s5cmd-b)"), rclone $(ratio $mb "$(secs rclone-b)"))"
echo "RATIO sync-a-small faster-peer/evac=$(ratio "$fast_a" "$(secs evac-a)") (higher is better; goal >= 1.5)"
echo "RATIO sync-c-resync faster-peer/evac=$(ratio "$fast_c" "$(secs evac-c)") (higher is better; goal >= 1.5)"
echo "RATIO sync-b-large evac-throughput/raw-curl=$(ratio "$(secs curl-b)" "$(secs evac-b)") (higher is better; goal >= 0.80)"
echo "RATIO sync-a-rss evac/min-peer=$(ratio "$(rss evac-a)" "$(awk -v x="$(rss s5cmd-a)" -v y="$(rss rclone-a)" 'BEGIN { print (x < y) ? x : y }')") (lower is better; goal < 1)"
echo "RATIO sync-b-rss evac/min-peer=$(ratio "$(rss evac-b)" "$(awk -v x="$(rss s5cmd-b)" -v y="$(rss rclone-b)" 'BEGIN { print (x < y) ? x : y }')") (lower is better; goal < 1)"
echo "RATIO sync-d-diff-heap peak_heap_MiB=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^peak_heap_bytes=/) { split($i, a, "="); printf "%.1f", a[2] / 1048576 } }' "$WORK/diff-d.out") keys=$DIFF_N"
