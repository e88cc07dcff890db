#!/usr/bin/env bash
# Copies the console screenshots the browser tests took (conformance/console/screenshots/, made by
# `npm test` here) into docs/console/, for the documentation. Run the tests first; commit the PNGs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
src="$here/screenshots"
dest="$root/docs/console"
names=(signin members user-group why-allowed why-everything token-created sso audit-log)
missing=0
for n in "${names[@]}"; do
  if [ ! -f "$src/$n.png" ]; then
    echo "missing $src/$n.png (run: cd conformance/console && npm test)" >&2
    missing=1
  fi
done
[ "$missing" -eq 0 ] || exit 1
mkdir -p "$dest"
for n in "${names[@]}"; do
  cp "$src/$n.png" "$dest/$n.png"
  echo "docs/console/$n.png"
done
