"""The explorer's pages: size, and time to open in headless Chromium beside the plain SVG
figure of the same loss (what a user would open instead), in one run.

    python bench/explorer.py            # every built-in, and deep fc-nets
    python bench/explorer.py --quick    # fewer repetitions

Needs Chromium on PATH and Playwright for Python. "Open" is from the start of navigation
to the page's script having run (``body[data-ready]``): parsing, layout of the SVG, the
panel and the step list built. The SVG's is to its load event.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from playwright.sync_api import sync_playwright  # noqa: E402

from graphviz_bp import losses, render  # noqa: E402
from graphviz_bp.sources import builtin_source  # noqa: E402

DEEP = (30, 100, 200)
STEPS = (60, 150)


def opened_in(page, path: Path, ready: bool) -> float:
    start = time.perf_counter()
    page.goto(path.as_uri())
    if ready:
        page.wait_for_selector("body[data-ready=true]", state="attached", timeout=120_000)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    repeat = 3 if args.quick else 7
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        sys.exit("bench/explorer.py: needs Chromium on PATH")
    sources = [(name, builtin_source(name)) for name in losses.BUILTINS]
    sources += [(f"fc-net, {n} layers", builtin_source("fc-net", ["hidden_dims=" + ",".join(["4"] * n)]))
                for n in DEEP]
    sources += [(f"rnn, T={t}", builtin_source("rnn", [f"T={t}"])) for t in STEPS]
    print("| loss | nodes | page | SVG | page opens in | SVG opens in | ratio | page written in | SVG written in |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium,
                                             args=["--no-sandbox", "--disable-gpu"])
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        for name, source in sources:
            g = source.build(0)
            html, svg = Path(folder) / "page.html", Path(folder) / "figure.svg"
            start = time.perf_counter()
            render(g, html, title=source.name)
            written = time.perf_counter() - start
            start = time.perf_counter()
            render(g, svg)
            svg_written = time.perf_counter() - start
            times = {"page": [], "svg": []}
            for _ in range(repeat):  # in turns, so drift touches both alike
                times["page"].append(opened_in(tab, html, True))
                times["svg"].append(opened_in(tab, svg, False))
            page_s, svg_s = (statistics.median(times[k]) for k in ("page", "svg"))
            print(f"| {name} | {g.nx.number_of_nodes()} | {html.stat().st_size / 1024:.0f} KB "
                  f"| {svg.stat().st_size / 1024:.0f} KB | {page_s * 1000:.0f} ms "
                  f"| {svg_s * 1000:.0f} ms | {page_s / svg_s:.1f}× | {written:.2f} s | {svg_written:.2f} s |")
        browser.close()


if __name__ == "__main__":
    main()
