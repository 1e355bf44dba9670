# Shared helpers for the real-client checks in scripts/clients.d/*.sh.
# Sourced, not run. Each check starts its own server from the debug binary on a
# free loopback port with a fresh database, drives a real client, and stops it.

set -euo pipefail

CLIENTS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GASLAMP="${GASLAMP:-$CLIENTS_ROOT/target/debug/gaslamp}"
VENV="$CLIENTS_ROOT/target/clients-venv"
NPM_DIR="$CLIENTS_ROOT/target/clients-npm"
PATH="$PATH:/usr/games"

# need_apt pkg...: installs the Debian packages that are missing.
need_apt() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    echo "installing ${missing[*]}"
    if [[ ! -f /tmp/.gaslamp-apt-updated ]]; then
        apt-get update -qq && touch /tmp/.gaslamp-apt-updated
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# need_pip pkg...: installs PyPI packages into a venv under target/ and puts it first on PATH.
need_pip() {
    if [[ ! -x "$VENV/bin/python" ]]; then
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/pip" install -q "$@"
    PATH="$VENV/bin:$PATH"
}

# need_npm pkg...: installs npm packages under target/clients-npm (npm itself
# from Debian if missing); their files are then in $NPM_DIR/node_modules/.
need_npm() {
    command -v npm >/dev/null 2>&1 || need_apt npm
    mkdir -p "$NPM_DIR"
    npm install --prefix "$NPM_DIR" --no-audit --no-fund --silent "$@" >/dev/null
}

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port port: waits (up to 30 s) until something accepts on 127.0.0.1:port.
wait_port() {
    for _ in $(seq 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}

# start_server [flags of `gaslamp run`...]: a server on a free port with a fresh
# database; sets PORT, SERVER_PID and SERVER_DIR (its log is $SERVER_DIR/log).
# The web listener is off unless a part passes --web-bind (its default port,
# 4080, would collide between servers).
start_server() {
    SERVER_DIR="$(mktemp -d)"
    PORT="$(free_port)"
    GASLAMP_WEB_BIND="${GASLAMP_WEB_BIND:-off}" "$GASLAMP" --db "$SERVER_DIR/g.db" --worlds "$CLIENTS_ROOT/worlds" --bcrypt-cost 4 \
        run --bind "127.0.0.1:$PORT" "$@" >"$SERVER_DIR/log" 2>&1 &
    SERVER_PID=$!
    wait_port "$PORT"
}

# stop_server: SIGTERM, and waits for the clean exit.
stop_server() {
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
}

# fail message: prints it (and the server's log) and exits non-zero.
fail() {
    echo "FAIL: $*" >&2
    if [[ -n "${SERVER_DIR:-}" && -f "$SERVER_DIR/log" ]]; then
        echo "--- server log" >&2
        tail -n 40 "$SERVER_DIR/log" >&2
    fi
    exit 1
}

# tmux_wait session text: waits (up to 20 s) until the pane shows `text`.
tmux_wait() {
    for _ in $(seq 200); do
        if tmux capture-pane -p -t "$1" | grep -qF -- "$2"; then
            return 0
        fi
        sleep 0.1
    done
    echo "--- pane of $1:" >&2
    tmux capture-pane -p -t "$1" >&2
    fail "the pane of $1 never showed: $2"
}
