#!/bin/sh
# The README's two commands, from a fresh clone with only Python 3.11+:
#   ./desk.sh up     install what is needed, then run the whole product (desk up; flags pass through)
#   ./desk.sh test   install what is needed, then run every test (pytest; arguments pass through)
# Anything else is handed to the `desk` command after the install (./desk.sh worker, ./desk.sh submit …).
# Installing = finding uv (installing it with pip into .tools/ when missing) and `uv sync --frozen` into .venv.
set -eu

cd "$(dirname "$0")"

say() { printf '%s\n' "desk.sh: $*" >&2; }

find_python() {
    for candidate in ${PYTHON:-} python3 python3.13 python3.12 python3.11 python; do
        if command -v "$candidate" >/dev/null 2>&1 &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    say "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11 if it is not on PATH)"
    exit 1
}

find_uv() {
    if [ -n "${UV:-}" ]; then echo "$UV"; return 0; fi
    if command -v uv >/dev/null 2>&1; then command -v uv; return 0; fi
    if [ -x .tools/bin/uv ]; then echo "$PWD/.tools/bin/uv"; return 0; fi
    say "uv not found: installing it with pip into .tools/"
    if "$PY" -m venv .tools >/dev/null 2>&1 && [ -x .tools/bin/pip ]; then
        .tools/bin/pip install --quiet --disable-pip-version-check uv >&2
    else  # no venv module (e.g. Debian without python3-venv): a plain target directory
        rm -rf .tools
        "$PY" -m pip install --quiet --disable-pip-version-check --target .tools/lib uv >&2
        mkdir -p .tools/bin
        ln -sf "$PWD/.tools/lib/bin/uv" .tools/bin/uv
    fi
    echo "$PWD/.tools/bin/uv"
}

install() {
    # One install at a time per checkout: two `uv sync` into one .venv break it. flock (util-linux) holds
    # .desk.lock until the sync is done; the lock is closed before exec so `desk up` does not keep it.
    exec 9>.desk.lock
    if command -v flock >/dev/null 2>&1; then
        if ! flock -n 9; then
            say "another ./desk.sh is installing; waiting for it"
            flock 9
        fi
    else
        say "flock not found: installing without a lock (do not start two ./desk.sh at once)"
    fi
    PY=$(find_python)
    UV_BIN=$(find_uv)
    # Only the package index is reachable: never let uv fetch a Python, use the one we found.
    UV_PYTHON_DOWNLOADS=never "$UV_BIN" sync --frozen --python "$PY" --quiet
    exec 9>&-
}

command=${1:-}
[ $# -gt 0 ] && shift

case "$command" in
    up)
        install
        exec .venv/bin/desk up "$@"
        ;;
    test)
        install
        exec .venv/bin/python -m pytest "$@"
        ;;
    install)
        install
        say "installed: .venv/bin/desk is ready"
        ;;
    "" | -h | --help | help)
        sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
        ;;
    *)
        install
        exec .venv/bin/desk "$command" "$@"
        ;;
esac
