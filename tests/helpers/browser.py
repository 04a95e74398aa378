"""A real browser for the console tests: Debian's headless Chromium (``/usr/bin/chromium``,
driven through ``/usr/bin/chromedriver`` by Selenium; tools/install-system-deps.sh installs
both, and nothing is downloaded), pointed at a console URL as a user would open it. What the
screen says is read back from the canvas's pixels, cell by cell in the VGA BIOS's own font
(helpers/vga_text.py), as exactly as a user reads it."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from helpers.vga_text import read_screen

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

# The canvas's pixels, summed up in the page: how many differ from the first one, and how
# many distinct colours a sample of them has (a blank screen has one).
_CANVAS_STATS = """
const canvas = document.querySelector('#screen canvas') || document.querySelector('canvas');
if (!canvas || canvas.width === 0 || canvas.height === 0) { return null; }
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
let differing = 0; const colours = new Set();
for (let i = 0; i < data.length; i += 4) {
  if (data[i] !== data[0] || data[i + 1] !== data[1] || data[i + 2] !== data[2]) differing++;
  if (i % 64 === 0) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
}
return {width: canvas.width, height: canvas.height, differing: differing,
        colours: colours.size};
"""


# The canvas's pixels as they are (RGBA, row by row, base64), for the VGA text reader.
_CANVAS_PIXELS = """
const canvas = document.querySelector('#screen canvas') || document.querySelector('canvas');
if (!canvas || canvas.width === 0 || canvas.height === 0) { return null; }
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
let binary = '';
for (let i = 0; i < data.length; i += 0x8000) {
  binary += String.fromCharCode.apply(null, data.subarray(i, i + 0x8000));
}
return {width: canvas.width, height: canvas.height, rgba: btoa(binary)};
"""


# A websocket opened by the page itself, as a browser serial terminal would: sends a
# carriage return every 2 s until ``expect`` arrives, and returns what came back.
_SERIAL_SESSION = """
const [url, expect, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
const decoder = new TextDecoder();
let text = '', timer = null, finished = false;
const finish = (why) => { if (!finished) { finished = true; clearInterval(timer);
                                           done(text + why); } };
const ws = new WebSocket(url, ['binary']);
ws.binaryType = 'arraybuffer';
ws.onopen = () => { ws.send('\\r'); timer = setInterval(() => ws.send('\\r'), 2000); };
ws.onmessage = (event) => { text += decoder.decode(event.data);
                            if (text.includes(expect)) { ws.close(); finish(''); } };
ws.onclose = (event) => finish(`[closed ${event.code}]`);
setTimeout(() => finish('[timeout]'), 25000);
"""


@dataclass(frozen=True)
class Screen:
    status: str                    # noVNC's status line ("Connected (unencrypted) to: ...")
    width: int
    height: int
    differing: int                 # pixels unlike the first one
    colours: int                   # distinct colours in a sample
    png: bytes                     # the canvas, as the browser shows it
    text: str = ""                 # what the canvas says (VGA text mode)
    serial: str = ""               # what a serial websocket the page opened received


def canvas_text(canvas: dict[str, Any] | None) -> str:
    """What a VGA text-mode screen on the canvas says (helpers/vga_text.py), or "" when
    there is no canvas yet or it shows a graphics mode."""
    if not canvas:
        return ""
    try:
        return read_screen(int(canvas["width"]), int(canvas["height"]),
                           base64.b64decode(canvas["rgba"]), channels=4)
    except ValueError:
        return ""


@contextmanager
def chromium() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def novnc_screen(url: str, *, serial_url: str = "", expect: str = "",
                 expect_on_screen: str = "", timeout: float = 60.0,
                 settle: float = 1.0) -> Screen:
    """Open a noVNC console URL and return what its canvas shows once noVNC says it is
    connected and the screen is not blank (or, at ``timeout``, whatever it shows); with
    ``expect_on_screen``, once the screen's text (read from its VGA text cells) shows it.
    With ``serial_url``, the page then opens that serial console's websocket too (an Origin
    of the noVNC proxy's page) and waits for ``expect`` on it."""
    from selenium.webdriver.common.by import By

    with chromium() as driver:
        driver.get(url)
        deadline = time.monotonic() + timeout
        status, stats = "", None
        while time.monotonic() < deadline:
            status = str(driver.execute_script(
                "const s = document.getElementById('status'); return s ? s.textContent : ''"))
            stats = driver.execute_script(_CANVAS_STATS)
            if "Connected" in status and stats and stats["differing"] > 0:
                time.sleep(settle)           # let the first full frame land
                stats = driver.execute_script(_CANVAS_STATS)
                break
            time.sleep(0.5)
        text = ""
        while True:
            canvas = driver.find_elements(By.CSS_SELECTOR, "canvas")
            png = canvas[0].screenshot_as_png if canvas else driver.get_screenshot_as_png()
            if not expect_on_screen:
                break
            text = canvas_text(driver.execute_script(_CANVAS_PIXELS))
            if expect_on_screen in text or time.monotonic() >= deadline:
                break
            time.sleep(0.5)
        stats = stats or {"width": 0, "height": 0, "differing": 0, "colours": 0}
        serial = ""
        if serial_url:
            driver.set_script_timeout(30)
            serial = str(driver.execute_async_script(_SERIAL_SESSION, serial_url, expect))
        return Screen(status=status, width=int(stats["width"]), height=int(stats["height"]),
                      differing=int(stats["differing"]), colours=int(stats["colours"]),
                      png=png, text=text, serial=serial)
