#!/usr/bin/env bash
# bench/replicate.sh: evac replicate vs mydumper+myloader / mariadb-dump|mariadb (snapshot) and vs
# MariaDB native replication (catch-up apply of a sysbench oltp_write_only backlog).
#
#   snapshot: REPL_TABLES x REPL_ROWS sysbench-style rows (default 8 x 500000) on the source test server,
#             copied to the target test server by each tool (the target database is dropped before each).
#   apply   : a private target server (started here from the test template, replicate_do_db = the bench
#             database) is loaded with the same dump at source position P0; sysbench oltp_write_only
#             runs REPL_APPLY_SECS (default 60) on the source; then the backlog is applied by MariaDB
#             native replication (CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos, single SQL thread) and,
#             after reloading the same starting state, by evac replicate --snapshot never
#             --until-caught-up (single worker). Rows/s = sysbench write statements / apply time.
# Prints "RATIO ..." lines (higher is better for evac; goals: snapshot >= 1.0 x mydumper, apply >= 0.5 x native).
# Needs the test servers (.testenv/env, loaded by bench/run.sh) and mydumper, sysbench.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EVAC=${EVAC_BIN:-bin/evac}
[[ -x $EVAC ]] || go build -o "$EVAC" ./cmd/evac
TABLES=${REPL_TABLES:-8} ROWS=${REPL_ROWS:-500000} SECS=${REPL_APPLY_SECS:-60} THREADS=${REPL_THREADS:-4}
DB=evac_bench_repl
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
mysql_of() { mariadb -N -B -h "$(dsn_part "$1" host)" -P "$(dsn_part "$1" port)" -u "$(dsn_part "$1" user)" -p"$(dsn_part "$1" pass)" "${@:2}"; }
conn_args() { echo "--host=$(dsn_part "$1" host) --port=$(dsn_part "$1" port) --user=$(dsn_part "$1" user) --password=$(dsn_part "$1" pass)"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
SRC=$EVAC_TEST_SOURCE_DSN TGT=$EVAC_TEST_TARGET_DSN
OUT=bench/out/replicate; mkdir -p "$OUT"

load_source() {
	{
		echo "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB;"
		for i in $(seq 1 "$TABLES"); do
			echo "CREATE TABLE $DB.sbtest$i (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL DEFAULT 0,
			  c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', KEY k_$i (k)) ENGINE=InnoDB;"
			echo "INSERT INTO $DB.sbtest$i (id, k, c, pad) SELECT seq, (seq * 7919) % $ROWS,
			  CONCAT_WS('-', MD5(seq), MD5(seq + 1), MD5(seq + 2)), CONCAT_WS('-', MD5(seq + $i), SUBSTR(MD5(seq * 3), 1, 27))
			  FROM $DB.seq_1_to_$ROWS;"
		done
	} | mysql_of "$SRC"
}

reset_target() { # reset_target DSN STREAM
	mysql_of "$1" -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE IF NOT EXISTS evac_meta;
	  DELETE FROM evac_meta.checkpoint WHERE stream_id='$2';" 2>/dev/null || mysql_of "$1" -e "DROP DATABASE IF EXISTS $DB"
	for t in snapshot_chunk snapshot_table schema_history; do
		mysql_of "$1" -e "DELETE FROM evac_meta.$t WHERE stream_id='$2'" 2>/dev/null || true
	done
}

snap_evac() {
	reset_target "$TGT" bench-snap >&2
	local t
	t=$(now)
	"$EVAC" replicate --source "$SRC" --target "$TGT" --databases "$DB" --snapshot only --stream-id bench-snap \
		--snapshot-workers 4 --log-level warn >&2
	since "$t"
}
snap_mydumper() {
	reset_target "$TGT" bench-snap >&2
	rm -rf "$OUT/dump"
	local t
	t=$(now)
	# shellcheck disable=SC2046
	mydumper $(conn_args "$SRC") -B "$DB" -o "$OUT/dump" -t 4 --trx-consistency-only -v 0 >&2
	# shellcheck disable=SC2046
	myloader $(conn_args "$TGT") -d "$OUT/dump" -t 4 -o -v 0 >&2
	since "$t"
}
snap_dump() {
	reset_target "$TGT" bench-snap >&2
	local t
	t=$(now)
	mysql_of "$TGT" -e "CREATE DATABASE $DB"
	# shellcheck disable=SC2046
	mariadb-dump $(conn_args "$SRC") --single-transaction "$DB" | mysql_of "$TGT" "$DB" >&2
	since "$t"
}
fmin() { awk -v a="$1" -v b="$2" 'BEGIN { print (b == "" || a + 0 < b + 0) ? a : b }'; }

# bench_snapshot runs each tool REPL_SNAP_RUNS times (default 2), rotating the order every round (on a
# shared machine the first run after the load and any neighbour's burst skew a single run), and compares
# the best time of each tool.
bench_snapshot() {
	echo "== snapshot: $TABLES x $ROWS rows, ${REPL_SNAP_RUNS:-2} rounds"
	local r e m d be="" bm="" bd=""
	for r in $(seq 1 "${REPL_SNAP_RUNS:-2}"); do
		if ((r % 2)); then
			m=$(snap_mydumper) d=$(snap_dump) e=$(snap_evac)
		else
			e=$(snap_evac) m=$(snap_mydumper) d=$(snap_dump)
		fi
		echo "round $r (load $(cut -d' ' -f1-3 /proc/loadavg)): evac ${e}s; mydumper+myloader ${m}s; mariadb-dump|mariadb ${d}s"
		be=$(fmin "$e" "$be") bm=$(fmin "$m" "$bm") bd=$(fmin "$d" "$bd")
	done
	echo "evac snapshot: ${be}s; mydumper+myloader: ${bm}s; mariadb-dump|mariadb: ${bd}s (best of each)"
	echo "RATIO replicate-snapshot mydumper+myloader/evac=$(ratio "$bm" "$be") (>= 1.0 is the goal)"
	echo "RATIO replicate-snapshot mariadb-dump/evac=$(ratio "$bd" "$be")"
	reset_target "$TGT" bench-snap
}

PRIV_DIR="" PRIV_PID=""
start_private() { # a private target: replicate_do_db=$DB, no binlog
	PRIV_DIR=$(mktemp -d "${EVAC_TEST_DIR:-/tmp}/bench-repl-XXXX")
	cp -a "$EVAC_TEST_MARIADB_TEMPLATE" "$PRIV_DIR/data"
	mkdir -p "$PRIV_DIR/tmp"
	PRIV_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$EVAC_TEST_MARIADBD" --no-defaults --user=root --datadir="$PRIV_DIR/data" --socket="$PRIV_DIR/s.sock" \
		--pid-file="$PRIV_DIR/p.pid" --log-error="$PRIV_DIR/error.log" --tmpdir="$PRIV_DIR/tmp" --port="$PRIV_PORT" \
		--bind-address=127.0.0.1 --skip-name-resolve --innodb-buffer-pool-size=256M --skip-log-bin \
		--server-id=$((4000 + RANDOM % 1000)) --relay-log=relay-bin --replicate-do-db="$DB" --replicate-do-db=evac_meta \
		--character-set-server=utf8mb4 &
	PRIV_PID=$!
	PRIV="root:$EVAC_TEST_MYSQL_PASSWORD@tcp(127.0.0.1:$PRIV_PORT)/"
	for _ in $(seq 1 300); do mysql_of "$PRIV" -e "SELECT 1" >/dev/null 2>&1 && return 0; sleep 0.2; done
	echo "private target did not start: $(tail -5 "$PRIV_DIR/error.log")"; return 1
}
stop_private() { [[ -n $PRIV_PID ]] && kill "$PRIV_PID" 2>/dev/null && wait "$PRIV_PID" 2>/dev/null; rm -rf "$PRIV_DIR"; }
trap stop_private EXIT

load_private() { # the dump taken at P0, into the private target
	mysql_of "$PRIV" -e "DROP DATABASE IF EXISTS $DB; DROP DATABASE IF EXISTS evac_meta"
	# shellcheck disable=SC2046
	myloader $(conn_args "$PRIV") -d "$OUT/p0" -t 4 -o -v 0
}

bench_apply() {
	echo "== apply: sysbench oltp_write_only ${SECS}s backlog, $THREADS threads"
	local p0 p1 writes t native evac user
	p0=$(mysql_of "$SRC" -e "SELECT @@gtid_binlog_pos")
	rm -rf "$OUT/p0"
	# shellcheck disable=SC2046
	mydumper $(conn_args "$SRC") -B "$DB" -o "$OUT/p0" -t 4 -v 0
	start_private
	sysbench oltp_write_only --db-driver=mysql --mysql-host="$(dsn_part "$SRC" host)" --mysql-port="$(dsn_part "$SRC" port)" \
		--mysql-user="$(dsn_part "$SRC" user)" --mysql-password="$(dsn_part "$SRC" pass)" --mysql-db="$DB" \
		--tables="$TABLES" --table-size="$ROWS" --threads="$THREADS" --time="$SECS" --report-interval=0 run >"$OUT/sysbench.log"
	writes=$(awk '/write:/ { print $2 }' "$OUT/sysbench.log")
	p1=$(mysql_of "$SRC" -e "SELECT @@gtid_binlog_pos")
	echo "backlog: $writes row writes, $p0 -> $p1"
	# native replication
	load_private
	user=$(dsn_part "$SRC" user)
	t=$(now)
	mysql_of "$PRIV" -e "SET GLOBAL gtid_slave_pos='$p0'; CHANGE MASTER TO MASTER_HOST='$(dsn_part "$SRC" host)',
	  MASTER_PORT=$(dsn_part "$SRC" port), MASTER_USER='$user', MASTER_PASSWORD='$(dsn_part "$SRC" pass)',
	  MASTER_USE_GTID=slave_pos; START SLAVE; SELECT MASTER_GTID_WAIT('$p1', 3600);" >/dev/null
	native=$(since "$t")
	mysql_of "$PRIV" -e "STOP SLAVE; RESET SLAVE ALL"
	# evac, same starting state, checkpoint at P0
	load_private
	mysql_of "$PRIV" -e "CREATE DATABASE IF NOT EXISTS evac_meta"
	"$EVAC" replicate --source "$SRC" --target "$PRIV" --databases "$DB" --snapshot never --stream-id bench-apply \
		--until-caught-up --no-heartbeat --log-level error >/dev/null 2>&1 || true # creates evac_meta tables
	mysql_of "$PRIV" -e "REPLACE INTO evac_meta.checkpoint (stream_id, position, updated_at) VALUES ('bench-apply', '$p0', UTC_TIMESTAMP(6))"
	load_private_keep_meta
	t=$(now)
	"$EVAC" replicate --source "$SRC" --target "$PRIV" --databases "$DB" --snapshot never --stream-id bench-apply \
		--until-caught-up --no-heartbeat --log-level warn
	evac=$(since "$t")
	local nr er
	nr=$(ratio "$writes" "$native") er=$(ratio "$writes" "$evac")
	echo "native replication: ${native}s (${nr} rows/s); evac (1 worker): ${evac}s (${er} rows/s)"
	echo "RATIO replicate-apply evac/native=$(ratio "$native" "$evac") (>= 0.5 is the goal)"
}

load_private_keep_meta() {
	mysql_of "$PRIV" -e "DROP DATABASE IF EXISTS $DB"
	# shellcheck disable=SC2046
	myloader $(conn_args "$PRIV") -d "$OUT/p0" -t 4 -o -v 0
}

load_source
case ${1:-all} in
snapshot) bench_snapshot ;;
apply) bench_apply ;;
*) bench_snapshot; bench_apply ;;
esac
mysql_of "$SRC" -e "DROP DATABASE IF EXISTS $DB"
