#!/usr/bin/env bash
# telnetlib3 (PyPI, in a venv): a Python telnet client that negotiates NAWS,
# TTYPE and CHARSET by itself. Its script (telnetlib3_client.py) checks the
# wrapping at its 60 columns, colour for its xterm-256color terminal and UTF-8
# text; here the server's side is checked: the log saw the window size and
# UTF-8 agreed, and the session row names the terminal type.
source "$(dirname "$0")/lib.sh"
need_pip telnetlib3

start_server --log-level debug
trap 'stop_server' EXIT
python "$(dirname "$0")/telnetlib3_client.py" "$PORT" || fail "the telnetlib3 client saw something wrong"

grep -q "client window size width=60 height=24" "$SERVER_DIR/log" || fail "no NAWS 60x24 in the log"
grep -q 'character set agreed charset="UTF-8"' "$SERVER_DIR/log" || fail "CHARSET UTF-8 was not agreed"
grep -qi 'terminal type answer=xterm-256color' "$SERVER_DIR/log" || fail "TTYPE did not name the terminal"
echo "telnetlib3 negotiated NAWS 60x24, TTYPE xterm-256color and CHARSET UTF-8"
