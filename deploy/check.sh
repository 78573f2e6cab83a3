#!/usr/bin/env bash
# Checks deploy/: the systemd units with systemd-analyze verify (where
# systemd-analyze exists), against a freshly built static binary that stands
# in for /usr/local/bin/daemonflag. scripts/test.sh runs it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PATH="$PATH:/usr/local/go/bin"
if ! command -v systemd-analyze >/dev/null; then
	echo "deploy/check.sh: systemd-analyze not installed; systemd units not verified" >&2
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$here/.." && CGO_ENABLED=0 go build -trimpath -o "$tmp/daemonflag" ./cmd/daemonflag)
if command -v file >/dev/null && ! file "$tmp/daemonflag" | grep -q 'statically linked'; then
	echo "deploy/check.sh: the CGO_ENABLED=0 build is not static: $(file "$tmp/daemonflag")" >&2
	exit 1
fi
for unit in "$here"/systemd/*.service; do
	sed "s|/usr/local/bin/daemonflag|$tmp/daemonflag|g" "$unit" >"$tmp/$(basename "$unit")"
done
# verify prints problems and exits non-zero on errors; warnings about the
# host (such as a missing daemonflag user) are not the units' fault, so the
# output is checked for lines about the units themselves.
out=$(cd "$tmp" && systemd-analyze verify ./*.service 2>&1) || {
	echo "$out" >&2
	exit 1
}
if [[ -n "$out" ]]; then
	echo "$out" >&2
	if grep -E 'daemonflag-(sync|relay)\.service' <<<"$out" >&2; then
		exit 1
	fi
fi
echo "deploy/check.sh: systemd units verified; static binary built" >&2
