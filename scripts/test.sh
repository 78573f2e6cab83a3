#!/usr/bin/env bash
# The project's one test command.
#
#   ./scripts/test.sh                 everything: vet, race tests, benchmark smoke, bench/, openfeature/,
#                                     otel/ and examples/openfeature/ modules
#   ./scripts/test.sh ./client/       arguments pass through to `go test` (the other modules are then skipped)
#
# It installs what is missing (Debian redis-server, dynalite from npm into
# .tools/), starts a Redis server, a three-master Redis Cluster and dynalite on
# free loopback ports, runs gofmt and go vet, runs `go test -race` with the
# servers' addresses in environment variables (and DAEMONFLAG_REQUIRE_BACKENDS=1,
# so a missing backend fails instead of skipping), runs every benchmark once so
# none rots, runs every fuzz target for a few seconds, fails if a ...NoAlloc
# benchmark allocates, and stops every server
# it started by PID, also when a step fails or the run is interrupted.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
export PATH="$PATH:/usr/local/go/bin"
export DAEMONFLAG_RUN_DIR="${DAEMONFLAG_RUN_DIR:-$repo/.run}"
mkdir -p "$DAEMONFLAG_RUN_DIR"

if [[ -z "${DAEMONFLAG_CONFORMANCE_DIR:-}" && -d "$repo/../shared/conformance/server-side-eval" ]]; then
	DAEMONFLAG_CONFORMANCE_DIR="$(cd "$repo/../shared/conformance/server-side-eval" && pwd)"
	export DAEMONFLAG_CONFORMANCE_DIR
fi

stop_servers() {
	"$repo/scripts/redis.sh" stop >&2 || true
	"$repo/scripts/dynalite.sh" stop >&2 || true
}
trap stop_servers EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step() { printf '\n==> %s\n' "$*" >&2; }

# start_backend NAME: runs scripts/NAME.sh start and exports what it prints.
# `eval "$(NAME.sh start)"` would ignore a failed start even under set -e (and
# then run minutes of failing tests); a failed start stops here, after the
# backend's own error on stderr.
start_backend() {
	local out
	if ! out=$("$repo/scripts/$1.sh" start); then
		echo "test.sh: $1.sh start failed (its error is above); stopping" >&2
		exit 1
	fi
	eval "$out"
}

step "starting backends"
start_backend redis
start_backend dynalite
export DAEMONFLAG_REQUIRE_BACKENDS=1
env | grep '^DAEMONFLAG_' | sort >&2

# Packages named on the command line (arguments that are not flags); default ./...
pkgs=()
for a in "$@"; do [[ "$a" == -* ]] || pkgs+=("$a"); done
((${#pkgs[@]})) || pkgs=(./...)
args=("$@")
((${#args[@]})) || args=(./...)

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*'))
if [[ -n "$unformatted" ]]; then
	echo "gofmt would change:" >&2
	echo "$unformatted" >&2
	exit 1
fi

step "go vet"
go vet "${pkgs[@]}"

step "go test -race"
go test -race -count=1 "${args[@]}"

# Every fuzz target for a moment (DAEMONFLAG_FUZZTIME, default 10000x; 0
# skips), so that a target that fails at once is noticed. Only packages
# whose test files declare one are compiled for the listing.
# A count, not a duration: a duration-based -fuzztime can fail with a bare
# "context deadline exceeded" and no failing input on a loaded machine (a race
# in Go's fuzzing coordinator, go.dev/issue/75804, fixed in Go 1.27).
fuzztime="${DAEMONFLAG_FUZZTIME:-10000x}"
if [[ "$fuzztime" != 0 ]]; then
	step "fuzz targets ($fuzztime each)"
	nfuzz=0
	while read -r pkg dir; do
		grep -qs '^func Fuzz' "$dir"/*_test.go || continue
		for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
			echo "fuzz $pkg $target" >&2
			go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg" >"$DAEMONFLAG_RUN_DIR/fuzz.txt" 2>&1 || {
				cat "$DAEMONFLAG_RUN_DIR/fuzz.txt" >&2
				echo "test.sh: fuzz target $target of $pkg failed" >&2
				exit 1
			}
			nfuzz=$((nfuzz + 1))
		done
	done < <(go list -f '{{.ImportPath}} {{.Dir}}' "${pkgs[@]}")
	echo "fuzz targets run: $nfuzz" >&2
fi

step "benchmark smoke (-benchtime=1x)"
go test -run='^$' -bench=. -benchtime=1x -benchmem "${pkgs[@]}" >"$DAEMONFLAG_RUN_DIR/bench-smoke.txt" 2>&1 || {
	cat "$DAEMONFLAG_RUN_DIR/bench-smoke.txt" >&2
	exit 1
}
grep -cE '^Benchmark' "$DAEMONFLAG_RUN_DIR/bench-smoke.txt" | sed 's/^/benchmarks run: /' >&2

if ((!$#)); then
	# bench/ is its own module (LaunchDarkly's SDK stays out of the main
	# go.mod): its interop and differential tests, and its benchmarks once.
	step "bench/: go vet, go test -race, benchmark smoke"
	(
		cd "$repo/bench"
		go vet ./...
		go test -race -count=1 ./...
		go test -run='^$' -bench=. -benchtime=1x -benchmem ./... >"$DAEMONFLAG_RUN_DIR/bench-module-smoke.txt" 2>&1 || {
			cat "$DAEMONFLAG_RUN_DIR/bench-module-smoke.txt" >&2
			exit 1
		}
		grep -cE '^Benchmark' "$DAEMONFLAG_RUN_DIR/bench-module-smoke.txt" | sed 's/^/bench module benchmarks run: /' >&2
	)
	# The integrations are modules of their own too (the OpenFeature and
	# OpenTelemetry SDKs stay out of the main go.mod): vet, race tests, every
	# benchmark once, and their NoAlloc benchmarks must not allocate.
	for mod in openfeature otel examples/openfeature; do
		[[ -f "$repo/$mod/go.mod" ]] || continue
		step "$mod/: go vet, go test -race, benchmark smoke, NoAlloc"
		(
			cd "$repo/$mod"
			log="$DAEMONFLAG_RUN_DIR/module-${mod//\//-}"
			go vet ./...
			go test -race -count=1 ./...
			go test -run='^$' -bench=. -benchtime=1x -benchmem ./... >"$log-smoke.txt" 2>&1 || {
				cat "$log-smoke.txt" >&2
				exit 1
			}
			go test -run='^$' -bench='NoAlloc' -benchtime=2000x -benchmem ./... >"$log-noalloc.txt" 2>&1 || {
				cat "$log-noalloc.txt" >&2
				exit 1
			}
			bad=$(awk '/^Benchmark.*NoAlloc/ { for (i = 1; i < NF; i++) if ($(i+1) == "allocs/op" && $i != "0") print $1, $i, "allocs/op" }' "$log-noalloc.txt")
			if [[ -n "$bad" ]]; then
				echo "NoAlloc benchmarks that allocate in $mod:" >&2
				echo "$bad" >&2
				exit 1
			fi
		)
	done
	step "deploy/: systemd units (systemd-analyze verify), static build"
	"$repo/deploy/check.sh"
fi

step "NoAlloc benchmarks must not allocate"
go test -run='^$' -bench='NoAlloc' -benchtime=2000x -benchmem "${pkgs[@]}" | tee "$DAEMONFLAG_RUN_DIR/bench-noalloc.txt" | grep -E '^(Benchmark|ok|FAIL|---)' >&2
allocating=$(awk '/^Benchmark.*NoAlloc/ { for (i = 1; i < NF; i++) if ($(i+1) == "allocs/op" && $i != "0") print $1, $i, "allocs/op" }' "$DAEMONFLAG_RUN_DIR/bench-noalloc.txt")
if [[ -n "$allocating" ]]; then
	echo "NoAlloc benchmarks that allocate:" >&2
	echo "$allocating" >&2
	exit 1
fi
noalloc=$(grep -cE '^Benchmark.*NoAlloc' "$DAEMONFLAG_RUN_DIR/bench-noalloc.txt" || true)
echo "NoAlloc benchmarks: $noalloc, all at 0 allocs/op" >&2
