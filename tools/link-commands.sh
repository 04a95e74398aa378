#!/usr/bin/env bash
# Put `ownstack` and `openstack` from the virtualenv on PATH via /usr/local/bin, so that the
# quick start works in any shell. Only links what is absent or already ours; never replaces
# another installation.
set -euo pipefail
bin="$(cd "$1" && pwd)"
[ -w /usr/local/bin ] || { echo "(add $bin to PATH to use ownstack and openstack)"; exit 0; }
for cmd in ownstack openstack; do
  target=/usr/local/bin/$cmd
  if [ -L "$target" ] && [[ "$(readlink "$target")" == */.venv/bin/$cmd ]]; then
    ln -sfn "$bin/$cmd" "$target"
  elif [ ! -e "$target" ]; then
    ln -s "$bin/$cmd" "$target"
  else
    echo "(left $target alone: it is not ours; use $bin/$cmd)"
  fi
done
