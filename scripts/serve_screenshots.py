"""Screenshots of ``gencor serve`` for the README: the upload form, and a finished deblur of the
bundled photo with its before/after slider, taken in headless Chromium.

Run from the repository root: ``python scripts/serve_screenshots.py``. Writes
``docs/serve_form.png`` and ``docs/serve_result.png``. Needs the ``serve`` extra, Playwright
(``pip install playwright``) and a Chromium (``apt-get install chromium``; Playwright's own browser
download is not used).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from playwright.sync_api import ViewportSize, sync_playwright

from gencor.serve.app import create_app
from gencor.serve.server import in_thread

PHOTO = Path("src/gencor/data/astronaut_blurred.jpg")
OUT = Path("docs")
#: Browser window: the screenshots are this wide.
VIEWPORT: ViewportSize = {"width": 1200, "height": 900}
#: The deblur of the bundled photo takes about 15 s on a laptop; leave room for a slow machine.
DEBLUR_TIMEOUT_MS = 300_000
#: Where the before/after split is left for the picture (percent from the left): through the face.
SPLIT = 44
#: Space kept under the footer of the form's screenshot (px).
MARGIN = 16


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").is_file():
        found = "/usr/bin/chromium"
    if found is None:
        raise SystemExit("no chromium found: apt-get install chromium")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder of the screenshots (default {OUT})")
    parser.add_argument("--chromium", default=None, help="Chromium executable (default: found on PATH)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with in_thread(create_app(workers=1)) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium or chromium(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
            page.goto(url)
            page.wait_for_selector("body[data-state=ready]")
            page.set_input_files("#file", str(PHOTO))
            # The form alone is short: cut the window to it rather than leave a blank lower half.
            height = page.evaluate("Math.ceil(document.querySelector('footer').getBoundingClientRect().bottom)") + MARGIN
            page.set_viewport_size({"width": VIEWPORT["width"], "height": min(height, VIEWPORT["height"])})
            page.screenshot(path=str(args.out / "serve_form.png"), full_page=True)

            page.set_viewport_size(VIEWPORT)
            page.click("#submit")
            page.wait_for_selector("body[data-state=done]", timeout=DEBLUR_TIMEOUT_MS)
            page.wait_for_function(
                "['before', 'after', 'kernel', 'psi'].every(id => document.getElementById(id).complete && document.getElementById(id).naturalWidth > 0)"
            )
            page.locator("#slider").fill(str(SPLIT))
            page.screenshot(path=str(args.out / "serve_result.png"), full_page=True)
            print(
                f"wrote {args.out / 'serve_form.png'}, {args.out / 'serve_result.png'} (confidence {page.inner_text('#confidence')}, "
                f"{page.inner_text('#decision')})"
            )
        finally:
            browser.close()


if __name__ == "__main__":
    main()
