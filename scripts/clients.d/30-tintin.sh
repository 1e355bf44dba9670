#!/usr/bin/env bash
# TinTin++ (Debian `tintin++`, binary tt++) in tmux, with MCCP2 and GMCP on:
# it logs in, and an `#event {IAC SB GMCP Room.Info IAC SE}` prints the room
# number GMCP reports. After a move the script checks that number against
# the one computed independently here (31-bit FNV-1a of world:zone:room).
# Then the server upgrades in place (SIGUSR2, to its own binary): TinTin++
# stays connected, sees "Upgrade complete.", inflates the fresh MCCP2 stream
# and still gets Room.Info for the package it asked for, after another walk.
source "$(dirname "$0")/lib.sh"
need_apt tintin++ tmux

start_server --log-level debug
session="gaslamp-tintin-$$"
script="$SERVER_DIR/gaslamp.tin"
trap 'tmux kill-session -t "$session" 2>/dev/null || true; stop_server' EXIT

# The room number a client's map must see for a room (SPEC §8).
room_number() {
    python3 -c '
import sys
h = 0x811C9DC5
for b in sys.argv[1].encode():
    h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
print((h & 0x7FFFFFFF) or 1)' "$1"
}

cat >"$script" <<TIN
#config {MCCP} {ON}
#event {IAC WILL GMCP}
{
    #send {\xFF\xFD\xC9};
    #send {\xFF\xFA\xC9Core.Hello {"client": "TinTin++", "version": "2"}\xFF\xF0};
    #send {\xFF\xFA\xC9Core.Supports.Set ["Room 1"]\xFF\xF0}
}
#event {IAC SB GMCP Room.Info IAC SE}
{
    #variable {room} {%0};
    #showme {GMCP-ROOM num=\$room[num] id=\$room[id]}
}
#session gaslamp 127.0.0.1 $PORT
TIN

tmux new-session -d -s "$session" -x 160 -y 50 "tt++ $script"
tmux_wait "$session" "Account:"
tmux send-keys -t "$session" "create Tinny correct horse battery" Enter
tmux_wait "$session" "Character:"
tmux send-keys -t "$session" "1" Enter
square="$(room_number lanternfall:old_town:lantern_square)"
tmux_wait "$session" "GMCP-ROOM num=$square id=old_town:lantern_square"
tmux send-keys -t "$session" "south" Enter
gate="$(room_number lanternfall:quayside:harbour_gate)"
tmux_wait "$session" "GMCP-ROOM num=$gate id=quayside:harbour_gate"
tmux_wait "$session" "The Harbour Gate"

grep -q "MCCP2 compression starts" "$SERVER_DIR/log" || fail "TinTin++ did not turn MCCP2 on"

# Across an upgrade: the same process, the same connection, nothing asked again.
kill -USR2 "$SERVER_PID"
tmux_wait "$session" "Upgrade complete."
grep -q "upgraded: taking over from the old binary" "$SERVER_DIR/log" || fail "the server did not upgrade"
kill -0 "$SERVER_PID" || fail "the upgraded server is not the process that was started"
tmux send-keys -t "$session" "north" Enter
tmux send-keys -t "$session" "north" Enter
row="$(room_number lanternfall:old_town:chandlers_row)"
tmux_wait "$session" "GMCP-ROOM num=$row id=old_town:chandlers_row"
tmux send-keys -t "$session" "say after the upgrade" Enter
tmux_wait "$session" 'You say, "after the upgrade"'
client="$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("select client_type from sessions").fetchone()[0])' "$SERVER_DIR/g.db")"
[[ "$client" == "TinTin++ 2" ]] || fail "the session row names the client \"$client\""
tmux capture-pane -p -t "$session" | grep -E "GMCP-ROOM|Harbour Gate|Lantern Square" | head -6
echo "TinTin++ over MCCP2 saw GMCP room $square, then $gate after walking south, then $row two rooms on after an upgrade"
