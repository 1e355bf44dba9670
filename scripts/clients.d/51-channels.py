"""Drives the web client's channel panel in headless Chromium (run by
51-channels.sh), with the telnet player, browser and page helpers of
50-browser.py. Every wait is for something to appear, with a deadline."""

import argparse
import importlib.util
import pathlib
import sys

from selenium.webdriver.common.by import By

spec = importlib.util.spec_from_file_location("browser_check", pathlib.Path(__file__).with_name("50-browser.py"))
check = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--telnet-port", type=int, required=True)
    parser.add_argument("--profile", required=True)
    parser.add_argument("--screenshot", required=True)
    args = parser.parse_args()

    telly = check.Telnet(args.telnet_port)
    telly.expect("Account: ")
    telly.send(f"create Telly {check.PASSWORD}")
    telly.expect("Character: ")
    telly.send("1")
    telly.expect("Exits:")

    driver = check.browser(args.profile)
    try:
        page = check.Page(driver)
        driver.get(args.url)
        page.expect("Account: ")
        page.type(f"create Browsa {check.PASSWORD}")
        page.expect("Character: ")
        page.type("1")
        page.expect("Exits:")
        channels = lambda: driver.find_element(By.ID, "channels")
        page.wait("ooc and newbie in the panel", lambda: [b.text for b in channels().find_elements(By.TAG_NAME, "button")] == ["ooc", "newbie"])
        if "admin" in channels().text:
            raise RuntimeError("a player's panel lists the admin channel")

        telly.send("ooc Evening! Anyone for the lamplighters' quiz?")
        page.expect("[ooc] Telly: Evening! Anyone for the lamplighters' quiz?")
        page.wait("the latest ooc line in the panel", lambda: "[ooc] Telly: Evening!" in channels().text)

        channels().find_element(By.TAG_NAME, "button").click()
        field = driver.find_element(By.ID, "input")
        page.wait("the input readied for ooc", lambda: field.get_attribute("value") == "ooc ")
        field.send_keys("Count me in.", check.Keys.ENTER)
        telly.expect("[ooc] Browsa: Count me in.")
        page.wait("the browser's own line in the panel", lambda: "[ooc] Browsa: Count me in." in channels().text)
        page.type("newbie Where do I find a lamp?")
        telly.expect("[newbie] Browsa: Where do I find a lamp?")
        page.wait("the newbie line in the panel", lambda: "Where do I find a lamp?" in channels().text)

        page.type("ooc off")
        page.expect("You turn ooc off.")
        page.wait("ooc gone from the panel", lambda: [b.text for b in channels().find_elements(By.TAG_NAME, "button")] == ["newbie"])
        page.type("ooc on")
        page.expect("You turn ooc on.")
        page.wait("ooc back in the panel", lambda: [b.text for b in channels().find_elements(By.TAG_NAME, "button")] == ["ooc", "newbie"])
        telly.send("ooc Splendid. Eight o'clock at the Crooked Pipe.")
        page.wait("the telnet player's answer in the panel", lambda: "Eight o'clock" in channels().text)
        driver.save_screenshot(args.screenshot)
        print(f"channels listed and used; screenshot {args.screenshot}")
    finally:
        driver.quit()


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as err:
        print(f"FAIL: {err}", file=sys.stderr)
        sys.exit(1)
