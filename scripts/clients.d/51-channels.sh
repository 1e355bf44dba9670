#!/usr/bin/env bash
# The web client's channels (issue 17): headless Chromium registers through the
# page, which lists the channels it hears in the side panel (GMCP
# Comm.Channel.List); a telnet player's ooc line shows in the scrollback and as
# the channel's latest line; clicking the channel's name readies the input line,
# and the browser's reply reaches the telnet player. A screenshot is saved as
# target/browser-channels.png.
source "$(dirname "$0")/lib.sh"
need_apt chromium chromium-driver
need_pip selenium

WEB_PORT="$(free_port)"
start_server --web-bind "127.0.0.1:$WEB_PORT"
wait_port "$WEB_PORT"
profile="$(mktemp -d)"
trap 'stop_server; rm -rf "$profile"' EXIT

mkdir -p "$CLIENTS_ROOT/target"
python3 "$(dirname "$0")/51-channels.py" \
    --url "http://127.0.0.1:$WEB_PORT/" \
    --telnet-port "$PORT" \
    --profile "$profile" \
    --screenshot "$CLIENTS_ROOT/target/browser-channels.png" \
    || fail "the browser's channels check failed"
echo "Chromium listed the channels, showed an ooc line in the panel and spoke on ooc"
