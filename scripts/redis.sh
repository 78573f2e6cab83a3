#!/usr/bin/env bash
# redis.sh start|stop|env: a Redis server and a three-master Redis Cluster on loopback, for tests.
#
#   eval "$(scripts/redis.sh start)"   # installs redis-server if needed, starts (or reuses) the
#                                       # servers, exports DAEMONFLAG_REDIS_URL and
#                                       # DAEMONFLAG_REDIS_CLUSTER_ADDRS
#   scripts/redis.sh stop              # stops every server started here (TERM, then KILL)
#   scripts/redis.sh env               # prints the export lines of live servers, if any
#
# Every redis-server listens on 127.0.0.1 only, on a free port, with persistence off
# (--save "" --appendonly no). PIDs, logs, data directories and the env file (redis.env) live
# under ${DAEMONFLAG_RUN_DIR:-$REPO/.run}/redis. start prints only the export lines on stdout;
# progress and errors go to stderr. A second start while the servers answer reuses them; a
# half-dead set is stopped and started afresh.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="${DAEMONFLAG_RUN_DIR:-$REPO/.run}"
STATE_DIR="$RUN_DIR/redis"
ENV_FILE="$RUN_DIR/redis.env"
LOCK_FILE="$RUN_DIR/redis.lock"
CLUSTER_NODES=3
START_TIMEOUT_S=15   # per server, and again for the cluster to reach cluster_state:ok
STOP_TIMEOUT_S=10    # TERM, then KILL

log() { echo "redis.sh: $*" >&2; }
die() {
	log "$*"
	exit 1
}

usage() {
	echo "usage: $0 start|stop|env" >&2
	exit 2
}

# lock serialises start and stop of concurrent callers (a test script and a developer).
lock() {
	mkdir -p "$RUN_DIR"
	if command -v flock >/dev/null; then
		exec 9>"$LOCK_FILE"
		flock -w 120 9 || die "another redis.sh holds $LOCK_FILE"
	fi
}

install() {
	if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
		return
	fi
	command -v apt-get >/dev/null || die "redis-server is missing and apt-get is not available: install Redis 7"
	local sudo=()
	if [[ "$(id -u)" != 0 ]]; then
		command -v sudo >/dev/null || die "redis-server is missing: run as root or install the redis-server package"
		sudo=(sudo)
	fi
	log "installing redis-server with apt-get (waiting up to 5 minutes for the apt lock, often held on a fresh machine)"
	# DPkg::Lock::Timeout waits for the lock instead of failing at once.
	local apt=(apt-get -o DPkg::Lock::Timeout=300)
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive "${apt[@]}" update -qq >&2 || die "apt-get update failed (see above)"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends \
		redis-server redis-tools >&2
	command -v redis-server >/dev/null || die "apt-get install redis-server finished but redis-server is missing"
}

# is_ours PID: the process is alive and is a redis-server (guards against PID reuse).
is_ours() {
	local pid="$1"
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	[[ -r "/proc/$pid/cmdline" ]] || return 0 # no procfs: trust kill -0
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'redis-server'
}

# listening PORT: something listens on TCP PORT on this host (any address).
listening() {
	local port="$1" hex
	if command -v ss >/dev/null; then
		[[ -n "$(ss -Htln "sport = :$port" 2>/dev/null)" ]]
		return
	fi
	printf -v hex '%04X' "$port"
	# Field 2 is local_address:port in hex, field 4 the state (0A = LISTEN).
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
		awk -v p=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }'
}

# free_port prints a random port in 20000-39999 (below Linux's ephemeral range) that nothing
# listens on and that this shell has not chosen before (a server's port and its cluster bus
# port are chosen together, before either listens). The caller still checks that the server
# really bound it, because another process may take the port meanwhile.
CHOSEN_PORTS=" "
free_port() {
	local tries port
	for tries in $(seq 1 200); do
		port=$((20000 + (RANDOM * 32768 + RANDOM) % 20000))
		[[ "$CHOSEN_PORTS" == *" $port "* ]] && continue
		listening "$port" && continue
		CHOSEN_PORTS+="$port "
		echo "$port"
		return
	done
	die "no free port found in 20000-39999 after $tries tries"
}

ping() { # ping PORT: the server on PORT answers PONG
	[[ "$(redis-cli -h 127.0.0.1 -p "$1" --no-auth-warning ping 2>/dev/null)" == "PONG" ]]
}

# start_server NAME [extra redis-server args...]: starts one redis-server on a free port,
# retrying with another port when it fails to bind. Prints the port.
start_server() {
	local name="$1"
	shift
	local dir="$STATE_DIR/$name" attempt port pid i extra=()
	mkdir -p "$dir"
	for attempt in 1 2 3 4 5; do
		port="$(free_port)"
		extra=()
		if [[ " $* " == *" --cluster-enabled yes "* ]]; then
			extra=(--cluster-port "$(free_port)" --cluster-config-file "$dir/nodes.conf")
			rm -f "$dir/nodes.conf"
		fi
		# The server's output goes to its log, never to our stdout, so that
		# $(redis.sh start) does not wait for it; fd 9 (the lock) is not inherited.
		redis-server --port "$port" --bind 127.0.0.1 --protected-mode yes \
			--save "" --appendonly no --daemonize no --dir "$dir" \
			--pidfile "$dir/redis.pid" --logfile "" "$@" "${extra[@]}" \
			</dev/null >"$dir/redis.log" 2>&1 9>&- &
		pid=$!
		echo "$pid" >"$dir/pid"
		for i in $(seq 1 $((START_TIMEOUT_S * 10))); do
			kill -0 "$pid" 2>/dev/null || break
			if ping "$port"; then
				echo "$port" >"$dir/port"
				log "$name: redis-server pid $pid on 127.0.0.1:$port"
				echo "$port"
				return
			fi
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			kill -KILL "$pid" 2>/dev/null || true
			die "$name: redis-server (pid $pid) did not answer on port $port within ${START_TIMEOUT_S}s; log: $dir/redis.log"
		fi
		wait "$pid" 2>/dev/null || true
		if grep -qi 'address already in use' "$dir/redis.log"; then
			log "$name: port $port was taken meanwhile, trying another (attempt $attempt)"
			continue
		fi
		tail -n 20 "$dir/redis.log" >&2 || true
		die "$name: redis-server exited at startup; log: $dir/redis.log"
	done
	die "$name: could not bind a free port after 5 attempts"
}

cluster_ok() { # cluster_ok PORT...: every node reports cluster_state:ok and sees 3 masters
	local port info
	for port in "$@"; do
		info="$(redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null | tr -d '\r')" || return 1
		grep -q '^cluster_state:ok$' <<<"$info" || return 1
		grep -q "^cluster_size:$CLUSTER_NODES\$" <<<"$info" || return 1
		grep -q '^cluster_slots_ok:16384$' <<<"$info" || return 1
	done
}

export_lines() { # export_lines SINGLE_PORT CLUSTER_PORT...
	local single="$1"
	shift
	local addrs="" p
	for p in "$@"; do
		addrs+="${addrs:+,}127.0.0.1:$p"
	done
	printf "export DAEMONFLAG_REDIS_URL='redis://127.0.0.1:%s'\n" "$single"
	printf "export DAEMONFLAG_REDIS_CLUSTER_ADDRS='%s'\n" "$addrs"
}

# server_names lists the servers this script manages.
server_names() {
	echo single
	local i
	for i in $(seq 1 "$CLUSTER_NODES"); do echo "cluster$i"; done
}

# live_env prints the export lines when every recorded server is ours and answers.
live_env() {
	[[ -f "$ENV_FILE" ]] || return 1
	local name dir ports=()
	while read -r name; do
		dir="$STATE_DIR/$name"
		[[ -f "$dir/pid" && -f "$dir/port" ]] || return 1
		is_ours "$(cat "$dir/pid")" || return 1
		ping "$(cat "$dir/port")" || return 1
		ports+=("$(cat "$dir/port")")
	done < <(server_names)
	cluster_ok "${ports[@]:1}" || return 1
	export_lines "${ports[@]}"
}

stop_pid() { # stop_pid PID NAME: TERM, wait, then KILL
	local pid="$1" name="$2" i
	is_ours "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for i in $(seq 1 $((STOP_TIMEOUT_S * 10))); do
		is_ours "$pid" || {
			log "$name: stopped pid $pid"
			return 0
		}
		sleep 0.1
	done
	log "$name: pid $pid ignored TERM for ${STOP_TIMEOUT_S}s, sending KILL"
	kill -KILL "$pid" 2>/dev/null || true
}

stop_all() {
	local name dir
	if [[ -d "$STATE_DIR" ]]; then
		while read -r name; do
			dir="$STATE_DIR/$name"
			[[ -f "$dir/pid" ]] && stop_pid "$(cat "$dir/pid")" "$name"
			# The server's own pidfile, in case it differs from the one we recorded.
			[[ -f "$dir/redis.pid" ]] && stop_pid "$(cat "$dir/redis.pid")" "$name"
		done < <(server_names)
		rm -rf "$STATE_DIR"
	fi
	rm -f "$ENV_FILE"
}

start() {
	lock
	if live_env; then
		log "reusing the running servers ($ENV_FILE)"
		return
	fi
	install
	stop_all # whatever is left of an earlier, broken start
	mkdir -p "$STATE_DIR"
	# A failed start leaves nothing running.
	trap '[[ -f "$ENV_FILE" ]] || stop_all' EXIT

	local single ports=() i
	single="$(start_server single)"
	for i in $(seq 1 "$CLUSTER_NODES"); do
		ports+=("$(start_server "cluster$i" --cluster-enabled yes --cluster-node-timeout 5000)")
	done
	local nodes=()
	for i in "${ports[@]}"; do nodes+=("127.0.0.1:$i"); done
	log "creating the cluster of ${nodes[*]}"
	if ! redis-cli --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes \
		</dev/null >"$STATE_DIR/cluster-create.log" 2>&1; then
		cat "$STATE_DIR/cluster-create.log" >&2
		die "redis-cli --cluster create failed"
	fi
	for i in $(seq 1 $((START_TIMEOUT_S * 10))); do
		if cluster_ok "${ports[@]}"; then
			export_lines "$single" "${ports[@]}" | tee "$ENV_FILE"
			return
		fi
		sleep 0.1
	done
	for i in "${ports[@]}"; do redis-cli -h 127.0.0.1 -p "$i" cluster info >&2 || true; done
	die "the cluster did not reach cluster_state:ok within ${START_TIMEOUT_S}s"
}

stop() {
	lock
	stop_all
}

case "${1:-}" in
start) start ;;
stop) stop ;;
env) live_env || die "no live servers (run: $0 start)" ;;
*) usage ;;
esac
