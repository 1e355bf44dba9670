#!/usr/bin/env bash
# Telnet over TLS (SPEC §8a) with real clients, against a certificate made by
# `gaslamp gen-cert`: `openssl s_client` verifies it, reaches `Account:` over
# TLS 1.3 and over TLS 1.2, and logs in; TinTin++'s `#ssl` session reaches the
# login prompt and plays. The plain port is checked to still answer beside it.
source "$(dirname "$0")/lib.sh"
need_apt openssl tintin++ tmux

work="$(mktemp -d)"
"$GASLAMP" gen-cert --host localhost --host 127.0.0.1 --out "$work/tls" >/dev/null
[[ "$(stat -c %a "$work/tls/key.pem")" == 600 ]] || fail "gen-cert left the key readable by others"
TLS_PORT="$(free_port)"
start_server --tls-bind "127.0.0.1:$TLS_PORT" \
    --tls-cert "$work/tls/cert.pem" --tls-key "$work/tls/key.pem"
wait_port "$TLS_PORT"

ssl_session="gaslamp-ssl-$$"
tt_session="gaslamp-tt-$$"
trap 'tmux kill-session -t "$ssl_session" 2>/dev/null || true
      tmux kill-session -t "$tt_session" 2>/dev/null || true
      stop_server; rm -rf "$work"' EXIT

# openssl s_client, trusting only the generated certificate: the handshake must
# verify, and the greeting arrive through it (`quit` is answered and the server
# closes; -ign_eof keeps s_client reading until then).
for version in -tls1_3 -tls1_2; do
    out="$(printf 'quit\r\n' | timeout 20 openssl s_client -connect "127.0.0.1:$TLS_PORT" \
        -servername localhost -CAfile "$work/tls/cert.pem" -verify_return_error -brief \
        -ign_eof "$version" 2>&1 || true)"
    grep -q "Verification: OK" <<<"$out" || { echo "$out"; fail "s_client $version did not verify"; }
    grep -q "Account: " <<<"$out" || { echo "$out"; fail "s_client $version saw no Account: prompt"; }
    grep -q "Goodbye." <<<"$out" || { echo "$out"; fail "s_client $version: quit got no Goodbye."; }
    echo "s_client $version: $(grep -m1 'Protocol version' <<<"$out")"
done

# An interactive s_client logs in and talks (-crlf: lines end in CRLF).
tmux new-session -d -s "$ssl_session" -x 120 -y 40 \
    "openssl s_client -connect 127.0.0.1:$TLS_PORT -servername localhost -CAfile $work/tls/cert.pem -verify_return_error -quiet -crlf"
tmux_wait "$ssl_session" "Account:"
tmux send-keys -t "$ssl_session" "create Sealwright correct horse battery" Enter
tmux_wait "$ssl_session" "Character:"
tmux send-keys -t "$ssl_session" "1" Enter
tmux_wait "$ssl_session" "Exits:"
tmux send-keys -t "$ssl_session" "say sealed and delivered" Enter
tmux_wait "$ssl_session" 'You say, "sealed and delivered"'

# TinTin++ (GnuTLS): an #ssl session, run in the work directory so the
# certificate it saves on first contact lands there.
tmux new-session -d -s "$tt_session" -x 120 -y 40 -c "$work" "HOME=$work tt++"
tmux_wait "$tt_session" "T I N T I N"
tmux send-keys -t "$tt_session" "#ssl {gaslamp} {127.0.0.1} {$TLS_PORT}" Enter
tmux_wait "$tt_session" "Account:"
tmux send-keys -t "$tt_session" "create Tinsmith correct horse battery" Enter
tmux_wait "$tt_session" "Character:"
tmux send-keys -t "$tt_session" "1" Enter
tmux_wait "$tt_session" "Exits:"
tmux send-keys -t "$tt_session" "say hello from tintin" Enter
tmux_wait "$ssl_session" 'Tinsmith says, "hello from tintin"'

# The plain listener still answers beside the TLS one.
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'quit\r\n' >&3
plain="$(timeout 10 cat <&3 | tr -d '\000' || true)"
exec 3<&-
grep -q "Account: " <<<"$plain" || fail "the plain port did not greet"

grep -q 'transport=tls' "$SERVER_DIR/log" || fail "no TLS listener in the log"
echo "s_client verified the generated certificate over TLS 1.3 and 1.2 and logged in; TinTin++ #ssl reached Account: and talked to it"
