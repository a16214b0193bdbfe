#!/usr/bin/env bash
# One entry point that does all set-up on a fresh machine, then runs something:
#   bash run.sh app     start the explorer (Streamlit) with the shipped models, and the training-job
#                       scheduler with it (jobs resume when the server restarts, before any page view)
#   bash run.sh test    run the test suite
#   bash run.sh setup   only install
#   bash run.sh cli ... run `latent-explorer ...` inside the project's environment
# Set-up is idempotent and quick when nothing changed: Debian packages (when root and missing),
# a virtual environment in .venv, and the package with pinned dependencies (constraints.txt).
set -euo pipefail
cd "$(dirname "$0")"
APT_PACKAGES="dataset-fashion-mnist fonts-noto-color-emoji fonts-dejavu-core unicode-data chromium potrace"
VENV="${LATENT_EXPLORER_VENV:-.venv}"

setup_apt() {
  local missing=""
  for p in $APT_PACKAGES; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages:$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "warning: missing Debian packages:$missing (install them with apt-get; some tests will skip)" >&2
  fi
}

setup_python() {
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  local stamp="$VENV/.installed"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q -c constraints.txt -e ".[test]"
    touch "$stamp"
  fi
}

cmd="${1:-app}"; shift || true
setup_apt
setup_python
case "$cmd" in
  setup) ;;
  app)  exec "$VENV/bin/python" -m explorer.ui.serve --server.headless true "$@" ;;   # scheduler starts with the server
  test) exec "$VENV/bin/python" -m pytest "$@" ;;
  cli)  exec "$VENV/bin/latent-explorer" "$@" ;;
  *) echo "usage: bash run.sh [app|test|setup|cli ...]" >&2; exit 2 ;;
esac
