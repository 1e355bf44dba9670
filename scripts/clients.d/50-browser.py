"""Drives gaslamp's web client in headless Chromium (run by 50-browser.sh).

A browser player registers through the page, walks by clicking an exit in the
side panel (GMCP Room.Info) and back, and talks with a telnet player on a raw
socket; quits and connects again with the status bar's button; then the
window shrinks to a phone's and the input line must still be on screen. On
the way it checks what issue 22 found: no lone ">" line after each incoming
line, the side panel emptied after `quit`, a map that fills its box, text the
server leaves unwrapped for the browser to re-flow (so a resize never wraps
it twice) with a table's rows hanging under their last column, and axe-core
finding no serious or critical accessibility violation, logged out and in the
game. Every wait is for something to appear, with a deadline; a missed one
fails with what the page showed.
"""

import argparse
import json
import socket
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

PASSWORD = "correct horse battery"
PATIENCE = 20


class Telnet:
    """A telnet player on a raw socket: refuses every option, reads text."""

    IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
        self.text = b""
        self.seen = 0

    def _read(self):
        data = self.sock.recv(65536)
        if not data:
            raise RuntimeError("the telnet connection closed; it saw:\n" + self.text.decode(errors="replace"))
        i = 0
        while i < len(data):
            b = data[i]
            if b == self.IAC and i + 1 < len(data):
                verb = data[i + 1]
                if verb in (self.WILL, self.WONT, self.DO, self.DONT) and i + 2 < len(data):
                    option = data[i + 2]
                    if verb == self.WILL:
                        self.sock.sendall(bytes([self.IAC, self.DONT, option]))
                    elif verb == self.DO:
                        self.sock.sendall(bytes([self.IAC, self.WONT, option]))
                    i += 3
                    continue
                if verb == self.SB:
                    end = data.find(bytes([self.IAC, self.SE]), i)
                    i = len(data) if end < 0 else end + 2
                    continue
                i += 2
                continue
            self.text += bytes([b])
            i += 1

    def expect(self, needle):
        deadline = time.monotonic() + PATIENCE
        needle = needle.encode()
        while True:
            at = self.text.find(needle, self.seen)
            if at >= 0:
                self.seen = at + len(needle)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"telnet never saw {needle!r}; it saw:\n" + self.text.decode(errors="replace"))
            self._read()

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")


def browser(profile):
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        "--window-size=1100,720",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


class Page:
    def __init__(self, driver):
        self.d = driver
        # What earlier waits consumed: a line, how far into it, and what that
        # part said (the line being written may be rewritten: a stale prompt
        # makes way for other people's text).
        self.seen = (0, 0, "")

    def output(self):
        return self.d.find_element(By.ID, "output").text

    def lines(self):
        return self.d.execute_script(
            "return [...document.querySelectorAll('#output .line')].map(l => l.textContent);")

    def wait(self, what, condition):
        try:
            return WebDriverWait(self.d, PATIENCE).until(lambda d: condition())
        except TimeoutException:
            raise RuntimeError(f"the page never showed {what}; its output:\n{self.output()}") from None

    def expect(self, needle):
        """Waits for `needle` in the output after what earlier waits consumed."""

        def found():
            lines = self.lines()
            line, offset, said = self.seen
            if line >= len(lines) or not lines[line].startswith(said):
                offset = 0
            text = "\n".join(lines[line:])
            at = text.find(needle, offset)
            if at < 0:
                return False
            end = at + len(needle)
            while line < len(lines) - 1 and end > len(lines[line]):
                end -= len(lines[line]) + 1
                line += 1
            self.seen = (line, end, lines[line][:end])
            return True

        self.wait(repr(needle), found)

    def type(self, line):
        field = self.d.find_element(By.ID, "input")
        field.send_keys(line, Keys.ENTER)

    def input_type(self):
        return self.d.find_element(By.ID, "input").get_attribute("type")

    def room(self):
        element = self.d.find_element(By.ID, "room-name")
        return element.get_attribute("data-num"), element.text

    def exit_buttons(self):
        return self.d.find_elements(By.CSS_SELECTOR, "#exits button[data-exit]")

    def lone_prompts(self):
        """Finished lines that hold nothing but a prompt's ">"."""
        return [n for n, line in enumerate(self.lines()[:-1]) if line.strip() == ">"]

    def map_fill(self):
        """How much of the map's box its rooms take, in the larger direction."""
        return self.d.execute_script(
            "const svg = document.getElementById('map').getBoundingClientRect();"
            "const rooms = [...document.querySelectorAll('#map rect')].map(r => r.getBoundingClientRect());"
            "if (!rooms.length || !svg.width) return 0;"
            "const w = Math.max(...rooms.map(r => r.right)) - Math.min(...rooms.map(r => r.left));"
            "const h = Math.max(...rooms.map(r => r.bottom)) - Math.min(...rooms.map(r => r.top));"
            "return Math.max(w, h) / svg.width;")


def check_accessibility(driver, axe_script, when):
    """Runs axe-core on the page; fails on any serious or critical violation."""
    driver.execute_script(axe_script)
    driver.set_script_timeout(60)
    found = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))))"
        ".catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));")
    grave = [v for v in found if v["impact"] in ("serious", "critical")]
    for v in found:
        if v not in grave:
            print(f"axe ({when}), {v['impact']}: {v['id']}: {v['help']} {v['nodes']}")
    if grave:
        raise RuntimeError(f"axe-core found serious or critical violations {when}:\n"
                           + json.dumps(grave, indent=2))
    print(f"axe-core: no serious or critical violations {when} ({len(found)} lesser)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--telnet-port", type=int, required=True)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--axe", required=True, help="axe-core's axe.min.js")
    args = parser.parse_args()
    with open(args.axe, encoding="utf-8") as f:
        axe_script = f.read()

    telly = Telnet(args.telnet_port)
    telly.expect("Account: ")
    telly.send(f"create Telly {PASSWORD}")
    telly.expect("Character: ")
    telly.send("1")
    telly.expect("Exits:")

    driver = browser(args.profile)
    try:
        page = Page(driver)
        driver.get(args.url)
        page.wait("the Connected status", lambda: driver.find_element(By.ID, "status").text == "Connected")
        page.expect("Account: ")
        check_accessibility(driver, axe_script, "logged out")
        page.type("new")
        page.expect("New account name: ")
        page.type("Browsa")
        page.expect("Password: ")
        # ECHO on: the input is a password field until the password is in.
        page.wait("a masked password field", lambda: page.input_type() == "password")
        page.type(PASSWORD)
        page.expect("Repeat password: ")
        if page.input_type() != "password":
            raise RuntimeError("the repeated password was typed into a visible field")
        page.type(PASSWORD)
        page.expect("Account Browsa created.")
        page.expect("Character: ")
        page.wait("the input visible again", lambda: page.input_type() == "text")
        if PASSWORD in page.output():
            raise RuntimeError("the password appeared in the scrollback")
        page.type("1")
        page.expect("Exits:")
        telly.expect("Browsa arrives.")

        # The server leaves the text unwrapped for the browser (NAWS width 0):
        # a paragraph longer than any width it would wrap at is one line here.
        paragraph = ("A broad square of rain-dark cobbles gathered around the Great Lantern, an iron "
                     "post three storeys high whose flame has not gone out in living memory.")
        if not any(paragraph in line for line in page.lines()):
            raise RuntimeError("the room's description was wrapped by the server:\n" + page.output())

        # Walk by clicking an exit, then come back the same way.
        page.wait("the room from GMCP Room.Info", lambda: page.room()[0] is not None and page.exit_buttons())
        home, home_name = page.room()
        first = page.exit_buttons()[0]
        first.click()
        page.wait("a new room after the click", lambda: page.room()[0] not in (None, home))
        there, there_name = page.room()
        telly.expect("Browsa leaves")
        page.expect(there_name)
        back = [b for b in page.exit_buttons() if b.get_attribute("data-to") == home]
        if not back:
            raise RuntimeError(f"no exit leads back from {there_name} to {home_name}")
        back[0].click()
        page.wait("the way back", lambda: page.room()[0] == home)
        # Walking back through a compass exit, the room hears where from.
        telly.expect("Browsa arrives from the ")
        page.wait("Telly in the side panel", lambda: "Telly" in driver.find_element(By.ID, "people").text)

        # Talk both ways.
        page.type("say hello from the browser")
        telly.expect('Browsa says, "hello from the browser"')
        telly.send("say hello from the terminal")
        page.expect('Telly says, "hello from the terminal"')
        telly.send("emote waves.")
        page.expect("Telly waves.")
        telly.send("say and once more")
        page.expect('Telly says, "and once more"')
        if page.lone_prompts():
            raise RuntimeError(f"lone '>' lines at {page.lone_prompts()}:\n" + "\n".join(page.lines()))

        # Two rooms visited: the map's rooms fill a good part of its box.
        fill = page.map_fill()
        if fill < 0.7:
            raise RuntimeError(f"the map's rooms take only {fill:.0%} of its box")
        print(f"the map's rooms take {fill:.0%} of its box")

        # A table's rows go on under their last column when the browser wraps them.
        page.type("help")
        page.expect("Your account:")
        rows = driver.execute_script(
            "return [...document.querySelectorAll('#output .line')]"
            ".filter(l => l.textContent.startsWith('  look [thing]')).map(l => l.style.paddingLeft);")
        if not rows or rows[-1] != "33ch":
            raise RuntimeError(f"help's rows do not hang under their column: {rows}")
        check_accessibility(driver, axe_script, "in the game")

        # ↑ brings the last line back.
        field = driver.find_element(By.ID, "input")
        field.send_keys(Keys.ARROW_UP)
        page.wait("the last line recalled", lambda: field.get_attribute("value") == "help")
        field.clear()

        driver.save_screenshot(args.screenshot)

        # `quit` ends the connection without a reconnect; the button brings
        # the login back.
        page.type("quit")
        page.expect("Goodbye.")
        status = driver.find_element(By.ID, "status")
        page.wait("the Disconnected status", lambda: status.text.startswith("Disconnected"))
        # Out of the game, the side panel shows no room.
        if page.room() != (None, "Not in the game"):
            raise RuntimeError(f"the side panel still shows a room after quit: {page.room()}")
        exits = driver.find_element(By.ID, "exits").text
        if page.exit_buttons() or "None known yet" not in exits:
            raise RuntimeError(f"the side panel still shows exits after quit: {exits!r}")
        again = driver.find_element(By.ID, "reconnect")
        if not again.is_displayed():
            raise RuntimeError("no Connect again button after quit")
        again.click()
        page.wait("the Connected status again", lambda: status.text == "Connected")
        page.expect("Account: ")

        # A phone-sized window: the input line and the exits stay on screen.
        driver.set_window_size(390, 844)
        page.wait("the phone layout", lambda: driver.execute_script(
            "const i = document.getElementById('input').getBoundingClientRect();"
            "const p = document.querySelector('.panel').getBoundingClientRect();"
            "return i.bottom <= window.innerHeight && i.width > 150 && p.bottom < i.top;"))
        # The text received at the wide size re-flows: the paragraph is still
        # one line, now wrapped by the browser, and nothing runs off the side.
        wrapped = driver.execute_script(
            "const o = document.getElementById('output');"
            "const l = [...o.querySelectorAll('.line')].find(l => l.textContent.includes(arguments[0]));"
            "return l ? [l.getBoundingClientRect().height / parseFloat(getComputedStyle(l).lineHeight),"
            " o.scrollWidth <= o.clientWidth] : null;", paragraph)
        if not wrapped or wrapped[0] < 2 or not wrapped[1]:
            raise RuntimeError(f"the paragraph did not re-flow on the phone: {wrapped}")
        # Too narrow for help's column: its rows go on four columns in instead.
        page.wait("help's rows re-flowed for the phone", lambda: driver.execute_script(
            "return [...document.querySelectorAll('#output .line')]"
            ".filter(l => l.textContent.startsWith('  look [thing]'))"
            ".every(l => l.style.paddingLeft === '4ch');"))
        phone = args.screenshot.replace(".png", "-phone.png")
        driver.save_screenshot(phone)
        print(f"walked {home_name} -> {there_name} -> {home_name}; screenshots {args.screenshot}, {phone}")
    finally:
        driver.quit()


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as err:
        print(f"FAIL: {err}", file=sys.stderr)
        sys.exit(1)
