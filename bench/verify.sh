#!/usr/bin/env bash
# bench/verify.sh: evac verify vs pt-table-checksum (tables) and rclone check (objects).
#
#   tables : VERIFY_TABLES x VERIFY_ROWS sysbench-style rows (default 8 x 500000), identical on the
#            source and target test servers. evac verifies BOTH sides; pt-table-checksum runs its
#            pass on the source alone (on a real replica it needs a second pass, so this favours it).
#   objects: VERIFY_OBJECTS x 4 KiB objects (default 20000) in two buckets with identical content.
#            evac verify objects (stored checksums, 0 GET) vs rclone check; --deep vs rclone check --download.
# VERIFY_REPEAT (default 3) alternates the tools that many times on the same data. VERIFY_KEEP=1 keeps
# the tables after the run and reuses them in the next one (compare two builds via EVAC_BIN on one data set).
# Prints "RATIO name peer/evac=X" lines (higher is better for evac; goal >= 1.0 tables, >= 1.5 objects).
# Needs the test servers (.testenv/env loaded by bench/run.sh) and the peers from install-peers.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p bench/out
EVAC=${EVAC_BIN:-bench/out/evac-verify}
[[ -n ${EVAC_BIN:-} ]] || go build -o "$EVAC" ./cmd/evac # always the current tree, never a stale bin/evac
TABLES=${VERIFY_TABLES:-8} ROWS=${VERIFY_ROWS:-500000} OBJECTS=${VERIFY_OBJECTS:-20000}
REPEAT=${VERIFY_REPEAT:-3} # alternating runs of each tool; the median ratio is printed (the machine is shared and noisy)
DB=evac_bench_verify
PATH=$PATH:/root/go/bin
export LC_ALL=C

dsn_part() { # dsn_part DSN user|pass|host|port
	local d=$1
	case $2 in
	user) echo "${d%%:*}" ;;
	pass) local p=${d#*:}; echo "${p%@tcp(*}" ;;
	host) local h=${d#*@tcp(}; h=${h%%)*}; echo "${h%:*}" ;;
	port) local h=${d#*@tcp(}; h=${h%%)*}; echo "${h##*:}" ;;
	esac
}
mysql_of() { local d=$1; shift; mariadb -h "$(dsn_part "$d" host)" -P "$(dsn_part "$d" port)" -u "$(dsn_part "$d" user)" -p"$(dsn_part "$d" pass)" "$@"; }
now() { date +%s.%N; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

load_tables() { # same deterministic content on both servers
	local dsn=$1
	{
		echo "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB;"
		for i in $(seq 1 "$TABLES"); do
			echo "CREATE TABLE $DB.sbtest$i (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL DEFAULT 0,
			  c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', KEY k_$i (k)) ENGINE=InnoDB;"
			echo "INSERT INTO $DB.sbtest$i (id, k, c, pad) SELECT seq, (seq * 7919) % $ROWS,
			  CONCAT_WS('-', MD5(seq), MD5(seq + 1), MD5(seq + 2)), CONCAT_WS('-', MD5(seq + $i), SUBSTR(MD5(seq * 3), 1, 27))
			  FROM $DB.seq_1_to_$ROWS;"
		done
	} | mysql_of "$dsn"
}

bench_tables() {
	echo "== tables: $TABLES x $ROWS rows, $REPEAT alternating runs of each tool"
	if [[ ${VERIFY_KEEP:-} == 1 && $(loaded "$EVAC_TEST_SOURCE_DSN") == "$ROWS" && $(loaded "$EVAC_TEST_TARGET_DSN") == "$ROWS" ]]; then
		echo "reusing the tables of a VERIFY_KEEP=1 run"
	else
		load_tables "$EVAC_TEST_SOURCE_DSN" &
		load_tables "$EVAC_TEST_TARGET_DSN" &
		wait
	fi
	# pt-table-checksum's results table lives outside $DB so evac does not see it.
	echo "DROP DATABASE IF EXISTS evac_bench_pt; CREATE DATABASE evac_bench_pt;" | mysql_of "$EVAC_TEST_SOURCE_DSN"
	local s=$EVAC_TEST_SOURCE_DSN i t0 t1 t2 t3 evac pt ratios=()
	for i in $(seq 1 "$REPEAT"); do
		uptime
		t0=$(now)
		"$EVAC" verify tables --source "$EVAC_TEST_SOURCE_DSN" --target "$EVAC_TEST_TARGET_DSN" --databases "$DB" \
			--rechecks 0 --report bench/out/verify-tables.json >bench/out/verify-tables.txt
		t1=$(now)
		head -1 bench/out/verify-tables.txt
		t2=$(now)
		pt-table-checksum "h=$(dsn_part "$s" host),P=$(dsn_part "$s" port),u=$(dsn_part "$s" user),p=$(dsn_part "$s" pass)" \
			--databases "$DB" --replicate evac_bench_pt.checksums --recursion-method none --no-check-binlog-format \
			--no-check-replication-filters --chunk-time 0.5 >/dev/null || true
		t3=$(now)
		evac=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
		pt=$(awk -v a="$t2" -v b="$t3" 'BEGIN { print b - a }')
		ratios+=("$(ratio "$pt" "$evac")")
		echo "run $i: evac verify tables (both sides): ${evac}s; pt-table-checksum (source only): ${pt}s; ratio ${ratios[-1]}"
	done
	local med
	med=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
	echo "RATIO verify-tables pt-table-checksum/evac=$med (median of ${ratios[*]}; >= 1.0 is the goal; evac checks both sides)"
	echo "DROP DATABASE IF EXISTS evac_bench_pt;" | mysql_of "$EVAC_TEST_SOURCE_DSN"
	[[ ${VERIFY_KEEP:-} == 1 ]] && return # kept for the next run (e.g. another EVAC_BIN on the same data)
	echo "DROP DATABASE IF EXISTS $DB;" | mysql_of "$EVAC_TEST_SOURCE_DSN"
	echo "DROP DATABASE IF EXISTS $DB;" | mysql_of "$EVAC_TEST_TARGET_DSN"
}

loaded() { # rows in the last bench table, or nothing
	echo "SELECT COUNT(*) FROM $DB.sbtest$TABLES;" | mysql_of "$1" -N 2>/dev/null || true
}

bench_objects() {
	echo "== objects: $OBJECTS x 4 KiB"
	local dir b1 b2
	dir=$(mktemp -d)
	b1=evac-bench-verify-a-$$ b2=evac-bench-verify-b-$$
	python3 - "$dir" "$OBJECTS" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    p = os.path.join(d, "d%03d" % (i % 200))
    os.makedirs(p, exist_ok=True)
    with open(os.path.join(p, "f%06d.bin" % i), "wb") as f:
        f.write(os.urandom(4096))
PY
	export AWS_ACCESS_KEY_ID=$EVAC_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$EVAC_TEST_S3_SECRET_KEY AWS_REGION=$EVAC_TEST_S3_REGION
	export RCLONE_CONFIG_VGW_TYPE=s3 RCLONE_CONFIG_VGW_PROVIDER=Other RCLONE_CONFIG_VGW_ENDPOINT=$EVAC_TEST_S3_ENDPOINT \
		RCLONE_CONFIG_VGW_ACCESS_KEY_ID=$EVAC_TEST_S3_ACCESS_KEY RCLONE_CONFIG_VGW_SECRET_ACCESS_KEY=$EVAC_TEST_S3_SECRET_KEY \
		RCLONE_CONFIG_VGW_REGION=$EVAC_TEST_S3_REGION RCLONE_CONFIG_VGW_FORCE_PATH_STYLE=true
	rclone mkdir "vgw:$b1" && rclone mkdir "vgw:$b2"
	local ep=(--source-endpoint "$EVAC_TEST_S3_ENDPOINT" --target-endpoint "$EVAC_TEST_S3_ENDPOINT")
	"$EVAC" sync "$dir" "s3://$b1" --target-endpoint "$EVAC_TEST_S3_ENDPOINT" --json >/dev/null
	"$EVAC" sync "$dir" "s3://$b2" --target-endpoint "$EVAC_TEST_S3_ENDPOINT" --json >/dev/null
	local t0 t1 t2 t3 t4 t5 t6 t7
	t0=$(now); "$EVAC" verify objects "s3://$b1" "s3://$b2" "${ep[@]}" --report bench/out/verify-objects.json; t1=$(now)
	t2=$(now); rclone check "vgw:$b1" "vgw:$b2" --checkers 64 --exclude ".evac/**" -q || true; t3=$(now)
	t4=$(now); "$EVAC" verify objects "s3://$b1" "s3://$b2" "${ep[@]}" --deep >/dev/null; t5=$(now)
	t6=$(now); rclone check "vgw:$b1" "vgw:$b2" --checkers 64 --download --exclude ".evac/**" -q || true; t7=$(now)
	local e r ed rd
	e=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'); r=$(awk -v a="$t2" -v b="$t3" 'BEGIN { print b - a }')
	ed=$(awk -v a="$t4" -v b="$t5" 'BEGIN { print b - a }'); rd=$(awk -v a="$t6" -v b="$t7" 'BEGIN { print b - a }')
	grep -o '"GetObject": *[0-9]*' bench/out/verify-objects.json || echo "GetObject: 0 (not in the request counts)"
	echo "evac verify objects: ${e}s; rclone check: ${r}s; evac --deep: ${ed}s; rclone check --download: ${rd}s"
	echo "RATIO verify-objects rclone-check/evac=$(ratio "$r" "$e") (>= 1.5 is the goal)"
	echo "RATIO verify-objects-deep rclone-check-download/evac-deep=$(ratio "$rd" "$ed") (>= 1.5 is the goal)"
	rclone purge "vgw:$b1" -q || true
	rclone purge "vgw:$b2" -q || true
	rm -rf "$dir"
}

mkdir -p bench/out
case ${1:-all} in
tables) bench_tables ;;
objects) bench_objects ;;
*) bench_tables; bench_objects ;;
esac
