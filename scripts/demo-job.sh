#!/usr/bin/env bash
# The demo's job: a real backup of a sample directory into a local-disk
# repository, a restore elsewhere and a byte-for-byte check, each a Temporal
# workflow run by a real worker. Run from the project root after the build.
set -euo pipefail

demo=.data/demo
source_dir="$demo/source"
repo="$PWD/$demo/repo"
target="$PWD/$demo/restore-$(date +%Y%m%dT%H%M%S)"
password_file="$demo/password"
mkdir -p "$demo"

# A demo-only repository password, generated once and kept 0600: it reaches
# the worker and the CLI by file, never on a command line or in a workflow.
if [[ ! -s "$password_file" ]]; then
  (umask 077; head -c 24 /dev/urandom | base64 > "$password_file")
fi
export COFFER_PASSWORD_FILE="$PWD/$password_file"

# A sample tree: text, a compressible log, random bytes, a duplicate, a symlink.
if [[ ! -d "$source_dir" ]]; then
  mkdir -p "$source_dir/etc" "$source_dir/var/log" "$source_dir/srv/data"
  printf 'listen 127.0.0.1:8080\nworkers 4\n' > "$source_dir/etc/app.conf"
  for i in $(seq 1 2000); do echo "$(date -u +%FT%TZ) host=demo level=info request=$i path=/api/items/$((i % 37)) status=200"; done > "$source_dir/var/log/app.log"
  head -c 8388608 /dev/urandom > "$source_dir/srv/data/blob.bin"
  cp "$source_dir/srv/data/blob.bin" "$source_dir/srv/data/blob-copy.bin"
  for i in $(seq 1 200); do echo "note $i" > "$source_dir/srv/data/note-$i.txt"; done
  ln -s ../etc/app.conf "$source_dir/srv/config-link"
fi

coffer() { node dist/clients/cli.js --password-file "$COFFER_PASSWORD_FILE" "$@"; }

worker_log=.data/logs/demo-worker.log
mkdir -p .data/logs
node dist/workers/main.js > "$worker_log" 2>&1 &
worker_pid=$!
trap 'kill -TERM "$worker_pid" 2>/dev/null || true; wait "$worker_pid" 2>/dev/null || true' EXIT

# The worker bundles its workflows before it polls; wait until Temporal sees
# it polling the host queue (the CLI refuses to start jobs nobody will run).
address="$(sed -n 's/^TEMPORAL_ADDRESS=//p' .data/stack.env)"
for _ in $(seq 1 120); do
  kill -0 "$worker_pid" 2>/dev/null || { echo "demo: the worker exited; see $worker_log" >&2; tail -20 "$worker_log" >&2; exit 1; }
  if .tools/bin/temporal task-queue describe --address "$address" --task-queue "coffer@$(hostname)" 2>/dev/null | grep -q "$(hostname)"; then
    break
  fi
  sleep 1
done
echo "-- worker polling coffer@$(hostname) (log: $worker_log)"

if [[ ! -e "$repo/config" ]]; then
  echo "-- coffer init --repo $repo"
  coffer init --repo "$repo"
fi
echo "-- coffer backup --repo $repo $source_dir"
coffer backup --repo "$repo" "$PWD/$source_dir"
echo "-- coffer snapshots --repo $repo"
coffer snapshots --repo "$repo"
echo "-- coffer restore --repo $repo latest --target $target"
coffer restore --repo "$repo" latest --target "$target"

# An independent byte-for-byte check, outside Coffer: every file's SHA-256 and
# every symlink's target must match between the source and the restore.
manifest() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum; find . -type l -printf '%p -> %l\n' | sort); }
# Each source path is stored under its base name at the snapshot's root.
restored_root="$target/$(basename "$source_dir")"
if ! diff <(manifest "$PWD/$source_dir") <(manifest "$restored_root") > "$demo/manifest.diff"; then
  echo "demo: the restored tree differs from the source (see $demo/manifest.diff)" >&2
  exit 1
fi
files=$(find "$PWD/$source_dir" -type f | wc -l)
echo "-- independent check: $files files byte-identical (sha256), symlinks identical"
echo "-- coffer verify --repo $repo --read-data"
coffer verify --repo "$repo" --read-data
echo
echo "demo: backup -> restore -> verify completed as Temporal workflows; restored copy in $target"
