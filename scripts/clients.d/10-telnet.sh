#!/usr/bin/env bash
# Plain `telnet` (inetutils), as the README tells a newcomer to connect: it must
# stay in line mode (no `^M`, `^?` or `^H` on the screen), hide the password,
# and let the player register, fix a typo with backspace, enter and talk.
source "$(dirname "$0")/lib.sh"
need_apt telnet tmux

start_server
session="gaslamp-telnet-$$"
trap 'tmux kill-session -t "$session" 2>/dev/null || true; stop_server' EXIT
tmux new-session -d -s "$session" -x 120 -y 40 "telnet 127.0.0.1 $PORT"

tmux_wait "$session" "Account:"
tmux send-keys -t "$session" "new" Enter
tmux_wait "$session" "New account name:"
# A typo, mended with backspace before Enter.
tmux send-keys -t "$session" "Lampwrighx" BSpace "t" Enter
tmux_wait "$session" "Password:"
tmux send-keys -t "$session" "correct horse battery" Enter
tmux_wait "$session" "Repeat password:"
tmux send-keys -t "$session" "correct horse battery" Enter
tmux_wait "$session" "Account Lampwright created."
tmux_wait "$session" "Character:"
tmux send-keys -t "$session" "1" Enter
tmux_wait "$session" "Exits:"
tmux send-keys -t "$session" "say good evening" Enter
tmux_wait "$session" 'You say, "good evening"'

screen="$(tmux capture-pane -p -S - -t "$session")"
for bad in '^M' '^?' '^H'; do
    if grep -qF -- "$bad" <<<"$screen"; then
        echo "$screen"
        fail "telnet shows $bad: it was put into character mode"
    fi
done
if grep -qF "correct horse battery" <<<"$screen"; then
    echo "$screen"
    fail "the password was echoed on the screen"
fi
echo "telnet stayed in line mode; the password was hidden; backspace mended the name"
