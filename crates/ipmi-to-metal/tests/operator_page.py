"""The operator's page in Debian's chromium, driven by Playwright (tests/operator_page.rs starts
the server and runs this). Environment: PAGE_URL (the admin server's root), ADMIN_TOKEN,
VIEWER_TOKEN, BMCS (the names, comma-separated; every one a sim that is on), SCREENSHOTS (the
directory the screenshots go to). Exits non-zero (an AssertionError or a Playwright timeout
with its message) at the first thing that is not as it should be.
"""

import os
import re

from playwright.sync_api import expect, sync_playwright

URL = os.environ["PAGE_URL"]
TOKEN = os.environ["ADMIN_TOKEN"]
VIEWER = os.environ["VIEWER_TOKEN"]
NAMES = os.environ["BMCS"].split(",")
SHOTS = os.environ["SCREENSHOTS"]
SLOW = 20_000


def step(what):
    print("step:", what, flush=True)


def new_page(browser, width, height, token):
    """A tab of its own (its own sessionStorage) at width x height, logged in with `token`
    through the address's fragment; it records every URL it asks for and every script error."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    page = ctx.new_page()
    page.sent = []
    page.errors = []
    page.on("request", lambda r: page.sent.append(r.url))
    page.on("websocket", lambda ws: page.sent.append(ws.url))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(URL + "#token=" + token)
    return page


def row(page, name):
    return page.locator(f'#bmcs tr[data-bmc="{name}"]')


def every_power_state_shown(page):
    for name in NAMES:
        power = row(page, name).locator("td.power")
        expect(power).to_have_class(re.compile(r"\bpower-on\b"), timeout=SLOW)
        expect(power).to_contain_text(re.compile(r"^on · \d+ s$"))


def no_horizontal_scroll(page):
    wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    culprits = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"
    )
    assert wide <= 0, f"the page is {wide} px wider than the window: {culprits}"


def confirm(page, name, action):
    expect(page.locator("#confirm")).to_be_visible()
    expect(page.locator("#confirm-text")).to_have_text(f"Power {action} {name}?")
    page.click("#confirm-ok")


def terminal_text(page):
    return page.locator("#terminal .xterm-rows")


def main():
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        page = new_page(browser, 1280, 800, TOKEN)

        step("every BMC's power state shown, with its age, without any IPMI client asking")
        every_power_state_shown(page)
        expect(page.locator("#summary")).to_contain_text(f"{len(NAMES)} BMCs")
        no_horizontal_scroll(page)
        page.screenshot(path=f"{SHOTS}/fleet-1280x800.png")

        step("the filter and the sort")
        page.fill("#filter", NAMES[1].upper())
        expect(page.locator("#bmcs tbody tr:not([hidden])")).to_have_count(1)
        expect(row(page, NAMES[1])).to_be_visible()
        expect(page.locator("#summary")).to_contain_text(f"{len(NAMES)} BMCs, 1 shown")
        page.fill("#filter", "")
        expect(page.locator("#bmcs tbody tr:not([hidden])")).to_have_count(len(NAMES))
        page.click('#bmcs th[data-key="name"]')
        order = page.eval_on_selector_all("#bmcs tbody tr", "rs => rs.map(r => r.dataset.bmc)")
        assert order == sorted(NAMES, reverse=True), order
        page.click('#bmcs th[data-key="name"]')
        order = page.eval_on_selector_all("#bmcs tbody tr", "rs => rs.map(r => r.dataset.bmc)")
        assert order == sorted(NAMES), order

        name = NAMES[0]
        step(f"the details of {name}: the live console, read-only at first")
        row(page, name).locator("td.name button").click()
        expect(page.locator("#details")).to_be_visible()
        expect(page.locator("#details-name")).to_have_text(name)
        expect(page.locator("#term-status")).to_have_text("read-only", timeout=SLOW)
        expect(page.locator("#sensors tbody")).to_contain_text("RPM", timeout=SLOW)

        step("a power cycle from the table, confirmed, reaches the machine")
        row(page, name).locator("td.act select").select_option("cycle")
        confirm(page, name, "cycle")
        expect(page.locator("#details-error")).to_have_text(f"power cycle {name}: done", timeout=SLOW)
        expect(page.locator("#sel")).to_contain_text("Power Unit: Power cycle", timeout=SLOW)
        expect(page.locator("#audit")).to_contain_text("power cycle", timeout=SLOW)
        expect(page.locator("#audit")).to_contain_text("admin-api from 127.0.0.1:")

        # The cycle boots the machine: its login prompt comes, then the terminal is cleared, so
        # that the boot text looked for next is the reset's.
        expect(terminal_text(page)).to_contain_text(f"{name} login:", timeout=SLOW)
        page.evaluate("term.clear()")
        expect(terminal_text(page)).not_to_contain_text("Booting from")

        step("a reset from the details view: the sim's boot text in the live console")
        page.click('#details-actions button[data-action="reset"]')
        confirm(page, name, "reset")
        expect(page.locator("#details-error")).to_have_text(f"power reset {name}: done", timeout=SLOW)
        expect(terminal_text(page)).to_contain_text("Booting from", timeout=SLOW)
        expect(terminal_text(page)).to_contain_text(f"{name} login:", timeout=SLOW)
        expect(page.locator("#sel")).to_contain_text("Initiated by hard reset", timeout=SLOW)

        step("typing, allowed for this token: the console echoes it")
        expect(page.locator("#term-type")).to_be_visible()
        page.click("#term-type")
        expect(page.locator("#term-status")).to_have_text(re.compile("^typing"), timeout=SLOW)
        page.click("#terminal")
        page.keyboard.type("typedfromthepage")
        expect(terminal_text(page)).to_contain_text("typedfromthepage", timeout=SLOW)
        expect(page.locator("#audit")).to_contain_text("keyboard taken", timeout=SLOW)
        page.screenshot(path=f"{SHOTS}/details-1280x800.png", full_page=True)
        page.click("#term-type")
        expect(page.locator("#term-status")).to_have_text("read-only", timeout=SLOW)
        assert not page.errors, page.errors

        step("a phone-width window: usable, no horizontal scroll")
        phone = new_page(browser, 390, 844, TOKEN)
        every_power_state_shown(phone)
        phone.screenshot(path=f"{SHOTS}/fleet-390x844.png")
        no_horizontal_scroll(phone)
        expect(row(phone, name).locator("td.act select")).to_be_visible()
        row(phone, name).locator("td.name button").click()
        expect(phone.locator("#term-status")).to_have_text("read-only", timeout=SLOW)
        expect(terminal_text(phone)).to_contain_text("login:", timeout=SLOW)
        no_horizontal_scroll(phone)
        phone.screenshot(path=f"{SHOTS}/details-390x844.png", full_page=True)

        step("the viewer token: no action offered, typing refused")
        viewer = new_page(browser, 1280, 800, VIEWER)
        every_power_state_shown(viewer)
        expect(row(viewer, name).locator("td.act")).to_be_hidden()
        row(viewer, name).locator("td.name button").click()
        expect(viewer.locator("#term-status")).to_have_text("read-only", timeout=SLOW)
        expect(viewer.locator("#term-type")).to_be_hidden()
        expect(viewer.locator("#details-actions button")).to_have_count(0)
        # Asked anyway, through the page's own socket: refused.
        viewer.evaluate("ws.send(JSON.stringify({type: 'take'}))")
        expect(viewer.locator("#term-status")).to_contain_text("typing is not allowed", timeout=SLOW)
        viewer.click("#terminal")
        viewer.keyboard.type("viewertyped")
        viewer.wait_for_timeout(1000)
        expect(terminal_text(viewer)).not_to_contain_text("viewertyped")

        step("no token in any address sent")
        for p_ in (page, phone, viewer):
            leaked = [u for u in p_.sent if TOKEN in u or VIEWER in u]
            assert not leaked, leaked
            assert not p_.errors, p_.errors
        browser.close()
    print("operator page: all checks passed", flush=True)


main()
