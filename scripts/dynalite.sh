#!/usr/bin/env bash
# dynalite.sh start|stop|env: a DynamoDB-compatible test server (dynalite) on loopback.
#
#   eval "$(scripts/dynalite.sh start)"   # installs if needed, starts or reuses one, and
#                                          # exports DAEMONFLAG_DYNAMODB_ENDPOINT
#   scripts/dynalite.sh stop              # stops the one started here (TERM, then KILL)
#   scripts/dynalite.sh env               # prints the export line of a live server, if any
#
# dynalite is installed with npm, pinned, into $REPO/.tools/dynalite (ignored by git). The
# server listens on 127.0.0.1 only, on a free port, and keeps its data in memory. Its PID,
# log and env file live in ${DAEMONFLAG_RUN_DIR:-$REPO/.run}. start prints only the export
# line on stdout; progress and errors go to stderr.
set -euo pipefail

DYNALITE_VERSION=4.0.0
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$REPO/.tools/dynalite"
RUN_DIR="${DAEMONFLAG_RUN_DIR:-$REPO/.run}"
PID_FILE="$RUN_DIR/dynalite.pid"
ENV_FILE="$RUN_DIR/dynalite.env"
LOG_FILE="$RUN_DIR/dynalite.log"
CLI="$TOOLS_DIR/node_modules/dynalite/cli.js"
GUARD="$TOOLS_DIR/abort-guard.cjs"

log() { echo "dynalite.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# is_ours PID: the process is alive and is a dynalite server (guards against PID reuse).
is_ours() {
	local pid="$1"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	[[ -r "/proc/$pid/cmdline" ]] || return 0 # no procfs: trust kill -0
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'dynalite'
}

# answers PORT: something accepts TCP connections on 127.0.0.1:PORT.
answers() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

install() {
	local installed=""
	if [[ -f "$TOOLS_DIR/node_modules/dynalite/package.json" ]]; then
		installed="$(node -p "require('$TOOLS_DIR/node_modules/dynalite/package.json').version" 2>/dev/null || true)"
	fi
	if [[ "$installed" == "$DYNALITE_VERSION" ]]; then
		return
	fi
	command -v npm >/dev/null || die "npm not found: install Node.js 20 or later"
	log "installing dynalite@$DYNALITE_VERSION into $TOOLS_DIR"
	mkdir -p "$TOOLS_DIR"
	npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --no-save --loglevel=error \
		"dynalite@$DYNALITE_VERSION" >&2 || die "npm install dynalite@$DYNALITE_VERSION failed"
	[[ -f "$CLI" ]] || die "npm install finished but $CLI is missing"
}

# dynalite rethrows the error of a request whose client disconnected before the
# answer (a canceled context, a timeout), which ends the whole server. This file,
# preloaded with node --require, keeps the server up through such requests and
# still ends it on any other uncaught error.
write_guard() {
	cat >"$GUARD" <<'JS'
'use strict'
process.on('uncaughtException', (err) => {
  if (err && (err.code === 'ECONNRESET' || err.message === 'aborted')) {
    console.error('dynalite.sh guard: ignored a request its client aborted')
    return
  }
  console.error(err)
  process.exit(1)
})
JS
}

free_port() {
	node -e '
const s = require("net").createServer();
s.listen(0, "127.0.0.1", () => { process.stdout.write(String(s.address().port)); s.close(); });'
}

export_line() { echo "export DAEMONFLAG_DYNAMODB_ENDPOINT=http://127.0.0.1:$1"; }

# live_port prints the port of the live server recorded in RUN_DIR, if there is one.
live_port() {
	[[ -f "$PID_FILE" && -f "$ENV_FILE" ]] || return 1
	local pid port
	pid="$(cat "$PID_FILE")"
	is_ours "$pid" || return 1
	port="$(sed -n 's|.*http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$ENV_FILE")"
	[[ -n "$port" ]] && answers "$port" || return 1
	echo "$port"
}

start() {
	mkdir -p "$RUN_DIR"
	local port
	if port="$(live_port)"; then
		log "reusing dynalite (pid $(cat "$PID_FILE")) on 127.0.0.1:$port"
		export_line "$port"
		return
	fi
	install
	write_guard
	local attempt pid
	for attempt in 1 2 3; do
		port="$(free_port)"
		# nohup execs node, so $! is the server's PID. Its output goes to the log, never to our
		# stdout, so that $(dynalite.sh start) does not wait for it.
		nohup node --require "$GUARD" "$CLI" --host 127.0.0.1 --port "$port" \
			--createTableMs 0 --deleteTableMs 0 --updateTableMs 0 \
			</dev/null >"$LOG_FILE" 2>&1 9>&- &
		pid=$!
		echo "$pid" >"$PID_FILE"
		for _ in $(seq 1 100); do # up to 10 s
			if ! kill -0 "$pid" 2>/dev/null; then
				break
			fi
			if answers "$port"; then
				export_line "$port" >"$ENV_FILE"
				log "started dynalite $DYNALITE_VERSION (pid $pid) on 127.0.0.1:$port"
				export_line "$port"
				return
			fi
			sleep 0.1
		done
		# Died (port taken between choosing and binding?) or never answered: clean up and retry.
		stop_pid "$pid"
		log "attempt $attempt failed; log follows"
		sed 's/^/  /' "$LOG_FILE" >&2 || true
	done
	rm -f "$PID_FILE" "$ENV_FILE"
	die "could not start dynalite"
}

# stop_pid PID: TERM, wait up to 5 s, then KILL. Only ever targets a dynalite process.
stop_pid() {
	local pid="$1"
	is_ours "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	log "pid $pid did not stop on TERM; sending KILL"
	kill -KILL "$pid" 2>/dev/null || true
}

stop() {
	if [[ -f "$PID_FILE" ]]; then
		local pid
		pid="$(cat "$PID_FILE")"
		if is_ours "$pid"; then
			stop_pid "$pid"
			log "stopped dynalite (pid $pid)"
		fi
	fi
	rm -f "$PID_FILE" "$ENV_FILE"
}

with_lock() {
	mkdir -p "$RUN_DIR"
	if command -v flock >/dev/null; then
		exec 9>"$RUN_DIR/dynalite.lock"
		flock -w 60 9 || die "timed out waiting for $RUN_DIR/dynalite.lock"
	fi
	"$@"
}

case "${1:-}" in
start) with_lock start ;;
stop) with_lock stop ;;
env)
	port="$(live_port)" || die "no live dynalite recorded in $RUN_DIR"
	export_line "$port"
	;;
*)
	echo "usage: $0 start|stop|env" >&2
	exit 2
	;;
esac
