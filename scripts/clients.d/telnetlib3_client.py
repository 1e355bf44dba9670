"""A telnetlib3 client for scripts/clients.d/31-telnetlib3.sh.

It connects with a 60-column window and an xterm-256color terminal, lets
telnetlib3 negotiate what it negotiates by itself (NAWS, TTYPE, CHARSET),
creates an account, enters the game, looks, and checks what it saw: every
line within 60 columns, colour (an xterm announces it), UTF-8 text intact.
It prints the options both sides agreed on; the shell part checks the
server's side in its log and database.
"""

import asyncio
import sys
import unicodedata

import telnetlib3
from telnetlib3.telopt import CHARSET, NAWS, TTYPE

WIDTH = 60


def columns(line):
    """Display columns of a line, escape sequences left out."""
    width, in_escape = 0, False
    for ch in line:
        if in_escape:
            in_escape = not ("@" <= ch <= "~") or ch == "["
            continue
        if ch == "\x1b":
            in_escape = True
            continue
        width += 2 if unicodedata.east_asian_width(ch) in "WF" else 1
    return width


async def read_until(reader, needle, seen):
    while needle not in seen[0]:
        chunk = await asyncio.wait_for(reader.read(4096), 20)
        if not chunk:
            raise SystemExit(f"connection closed before {needle!r}:\n{seen[0]}")
        seen[0] += chunk
    text, _, rest = seen[0].partition(needle)
    seen[0] = rest
    return text + needle


async def main(port):
    reader, writer = await telnetlib3.open_connection(
        "127.0.0.1", port, cols=WIDTH, rows=24, term="xterm-256color",
        encoding="utf8", connect_minwait=0.5,
    )
    seen = [""]
    await read_until(reader, "Account: ", seen)
    writer.write("create Libby correct horse battery\r\n")
    await read_until(reader, "Character: ", seen)
    writer.write("1\r\n")
    await read_until(reader, "\r\n> ", seen)
    writer.write("say café ☕ naïve\r\n")
    said = await read_until(reader, "\r\n> ", seen)
    writer.write("look\r\n")
    room = await read_until(reader, "\r\n> ", seen)
    agreed = {
        "NAWS": writer.local_option.enabled(NAWS),
        "TTYPE": writer.local_option.enabled(TTYPE),
        "CHARSET": writer.local_option.enabled(CHARSET) or writer.remote_option.enabled(CHARSET),
    }
    print("telnetlib3 agreed:", agreed)
    problems = [name for name, on in agreed.items() if not on]
    lines = [l for l in room.split("\r\n") if l and l != "> "]
    too_wide = [l for l in lines if columns(l) > WIDTH]
    if too_wide:
        problems.append(f"lines wider than {WIDTH}: {too_wide}")
    if len(lines) < 6:
        problems.append(f"the room was not wrapped: {lines}")
    if "\x1b[1;33mLantern Square" not in room:
        problems.append("no colour for an xterm-256color terminal")
    if 'You say, "café ☕ naïve"' not in said:
        problems.append(f"UTF-8 text not intact: {said!r}")
    writer.write("quit\r\n")
    await asyncio.wait_for(reader.read(), 20)
    for line in lines:
        print("  |" + line)
    if problems:
        raise SystemExit("; ".join(map(str, problems)))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
