"""The README's screenshot of the explorer: the autoencoder's page, stepped to the backward
step where W x passes its gradient to W and x, both sums half arrived.

Needs Chromium (Debian's ``chromium``) and Playwright for Python (``pip install
'.[test]'``); run ``python examples/explorer_screenshot.py [OUT.png]``.
"""

import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from graphviz_bp import losses, render

STEP_AT = "matmul_3"  # W x


def main(out: str = "docs/explorer.png") -> None:
    browser_path = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser_path is None:
        sys.exit("explorer_screenshot: needs Chromium on PATH (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as folder:
        page_path = render(losses.autoencoder(), Path(folder) / "autoencoder.html",
                           title="autoencoder")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browser_path,
                                                 args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(page_path.as_uri())
            page.wait_for_selector("body[data-ready=true]", state="attached")
            while not (page.get_attribute("#step-panel", "data-phase") == "backward"
                       and page.get_attribute("#step-panel", "data-node") == STEP_AT):
                page.keyboard.press("ArrowRight")
            page.mouse.move(1279, 799)  # no hover
            page.screenshot(path=out)
            browser.close()
    print(out)


if __name__ == "__main__":
    main(*sys.argv[1:])
