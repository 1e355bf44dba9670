"""Drives gaslamp's web client in headless Chromium (run by 50-browser.sh).

A browser player registers through the page, walks by clicking an exit in the
side panel (GMCP Room.Info) and back, and talks with a telnet player on a raw
socket; quits and connects again with the status bar's button; then the
window shrinks to a phone's and the input line must still be on screen. Every wait is for something to appear, with a deadline; a missed one
fails with what the page showed.
"""

import argparse
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
        self.seen = 0

    def output(self):
        return self.d.find_element(By.ID, "output").text

    def wait(self, what, condition):
        try:
            return WebDriverWait(self.d, PATIENCE).until(lambda d: condition())
        except TimeoutException:
            raise RuntimeError(f"the page never showed {what}; its output:\n{self.output()}") from None

    def expect(self, needle):
        """Waits for `needle` in the output after what earlier waits consumed."""

        def found():
            at = self.output().find(needle, self.seen)
            if at >= 0:
                self.seen = at + len(needle)
                return True
            return False

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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--telnet-port", type=int, required=True)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--screenshot", required=True)
    args = parser.parse_args()

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

        # ↑ brings the last line back.
        field = driver.find_element(By.ID, "input")
        field.send_keys(Keys.ARROW_UP)
        page.wait("the last line recalled", lambda: field.get_attribute("value") == "say hello from the browser")
        field.clear()

        driver.save_screenshot(args.screenshot)

        # `quit` ends the connection without a reconnect; the button brings
        # the login back.
        page.type("quit")
        page.expect("Goodbye.")
        status = driver.find_element(By.ID, "status")
        page.wait("the Disconnected status", lambda: status.text.startswith("Disconnected"))
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
