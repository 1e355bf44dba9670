#!/usr/bin/env bash
# The bundled web client in a real browser (SPEC §8a): headless Chromium driven
# by Selenium opens the page, registers (checking the password field is
# masked), walks by clicking an exit in the side panel, says a line that a
# telnet player on a raw socket receives, and receives that player's reply;
# axe-core (npm) checks the page's accessibility logged out and in the game.
# A screenshot is saved as target/browser-client.png.
source "$(dirname "$0")/lib.sh"
need_apt chromium chromium-driver
need_pip selenium
need_npm axe-core@4
AXE="$NPM_DIR/node_modules/axe-core/axe.min.js"
[[ -f "$AXE" ]] || fail "npm did not install axe-core ($AXE is missing)"

WEB_PORT="$(free_port)"
start_server --web-bind "127.0.0.1:$WEB_PORT"
wait_port "$WEB_PORT"
profile="$(mktemp -d)"
trap 'stop_server; rm -rf "$profile"' EXIT

mkdir -p "$CLIENTS_ROOT/target"
python3 "$(dirname "$0")/50-browser.py" \
    --url "http://127.0.0.1:$WEB_PORT/" \
    --telnet-port "$PORT" \
    --profile "$profile" \
    --screenshot "$CLIENTS_ROOT/target/browser-client.png" \
    --axe "$AXE" \
    || fail "the browser check failed"

grep -q 'transport=websocket' "$SERVER_DIR/log" || fail "no WebSocket session in the log"
echo "Chromium registered, walked by an exit, and talked with a telnet player over /ws"
