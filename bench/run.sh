#!/usr/bin/env bash
# bench/run.sh: the benchmark harness behind `make bench`.
# Runs every bench/*.sh except itself (each compares evac with a peer tool on the test servers)
# and prints their ratio lines: a benchmark reports by printing lines that start with "RATIO ",
# e.g. "RATIO sync-1k-small evac/rclone=0.62 (lower is better)". Output of each run is kept in bench/out/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p bench/out
ROOT=$PWD
shopt -s nullglob
benches=()
for b in bench/*.sh; do [[ $(basename "$b") == run.sh ]] || benches+=("$b"); done
if ((${#benches[@]} == 0)); then echo "no benchmarks yet (add bench/<name>.sh printing RATIO lines)"; exit 0; fi
# Peers: rclone and s5cmd (Go, in GOPATH/bin), pt-table-checksum, mydumper/myloader, sysbench (Debian).
export PATH="$(go env GOPATH)/bin:$PATH"
missing=()
for p in rclone s5cmd pt-table-checksum mydumper myloader sysbench mariadb-dump; do command -v "$p" >/dev/null || missing+=("$p"); done
if ((${#missing[@]})); then
	installer="$ROOT/../shared/bench/install-peers.sh"
	if [[ -f $installer ]]; then
		echo "installing benchmark peers (${missing[*]}) with $installer" >&2
		bash "$installer" all >&2
	else
		echo "bench: missing peer tools: ${missing[*]}; install them (rclone v1.76.0 and s5cmd v2.3.0 with go, the rest with apt-get install percona-toolkit mydumper sysbench mariadb-client)" >&2
		exit 1
	fi
fi
if [[ -z ${EVAC_TEST_SOURCE_DSN:-} ]]; then
	scripts/testenv up >&2
	set -a; . "${EVAC_TESTENV_DIR:-$ROOT/.testenv}/env"; set +a
fi
ran=0 failed=0 ratios=""
for b in "${benches[@]}"; do
	name=$(basename "$b" .sh); out="bench/out/$name.log"; t=$(date +%s)
	echo "==> $name"
	if bash "$b" >"$out" 2>&1; then
		echo "<== $name: $(($(date +%s) - t))s (log $out)"
	else
		echo "<== $name: FAILED after $(($(date +%s) - t))s (log $out)"; tail -n 20 "$out"; failed=$((failed + 1))
	fi
	ratios+=$(grep -E '^RATIO ' "$out" || true)$'\n'
	ran=$((ran + 1))
done
echo "== ratios"
printf '%s' "$ratios" | sed '/^$/d'
((failed == 0)) || { echo "$failed benchmark(s) failed"; exit 1; }
