#!/usr/bin/env bash
# Builds FerretDB (a MongoDB-wire server on SQLite, reports MongoDB 7.0) for the MongoDB test suites,
# from the Go module proxy with the machine's Go, into .cache/ferretdb/bin/ferretdb.
#
# Idempotent: a binary that already answers `--version` is kept. Needs only the Go module proxy.
#
# Why not `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`: the module does not ship
# build/version/version.txt, and a binary built without it panics at start. So the module's source is
# copied to a writable directory (the module cache is read-only), the file is written, and it is built there.
set -euo pipefail

FERRETDB_VERSION="v1.24.2"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="$REPO_ROOT/.cache/ferretdb"
SRC_DIR="$CACHE_DIR/src"
BIN="$CACHE_DIR/bin/ferretdb"

if [[ -x "$BIN" ]] && "$BIN" --version >/dev/null 2>&1; then
  echo "build-ferretdb: $BIN is present ($("$BIN" --version 2>/dev/null | head -n 1))"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "build-ferretdb: Go is not installed; install Go >= 1.24 to build FerretDB $FERRETDB_VERSION" >&2
  exit 1
fi

# FerretDB v1.24.2 needs Go >= 1.24; never let Go fetch another toolchain on its own.
export GOTOOLCHAIN=local
go_version="$(go env GOVERSION)"
if ! printf '%s\n' "$go_version" | grep -Eq '^go(1\.(2[4-9]|[3-9][0-9])|[2-9])'; then
  echo "build-ferretdb: FerretDB $FERRETDB_VERSION needs Go >= 1.24, found $go_version" >&2
  exit 1
fi
# The copied source lives inside this repository's git work tree; its VCS state is not FerretDB's.
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-buildvcs=false"
# modernc.org/sqlite is pure Go: a static binary, no C toolchain needed.
export CGO_ENABLED=0

mkdir -p "$CACHE_DIR"
# Two builds at once would share the source directory: the second waits, then finds the binary.
exec 9>"$CACHE_DIR/.build.lock"
flock 9
if [[ -x "$BIN" ]] && "$BIN" --version >/dev/null 2>&1; then
  echo "build-ferretdb: $BIN was built meanwhile"
  exit 0
fi

started=$(date +%s)

# Run from / (no go.mod there): a plain module download, which prints the module's Dir in the cache.
module_json="$(cd / && GOWORK=off go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION")"
module_dir="$(printf '%s\n' "$module_json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
if [[ -z "$module_dir" || ! -d "$module_dir" ]]; then
  echo "build-ferretdb: go mod download gave no module directory:" >&2
  printf '%s\n' "$module_json" >&2
  exit 1
fi

rm -rf "$SRC_DIR"
mkdir -p "$SRC_DIR" "$(dirname "$BIN")"
cp -R "$module_dir/." "$SRC_DIR/"
chmod -R u+w "$SRC_DIR"
printf '%s\n' "$FERRETDB_VERSION" >"$SRC_DIR/build/version/version.txt"

# ferretdb_no_postgresql: only the SQLite handler is used; leaving pgx out shortens the build.
# No ferretdb_debug: a release-like (non-debug) build, as production FerretDB is.
(cd "$SRC_DIR" && go build -trimpath -tags ferretdb_no_postgresql -o "$BIN.tmp" ./cmd/ferretdb)
mv "$BIN.tmp" "$BIN"

"$BIN" --version >/dev/null
echo "build-ferretdb: built $BIN ($FERRETDB_VERSION) in $(($(date +%s) - started))s"
