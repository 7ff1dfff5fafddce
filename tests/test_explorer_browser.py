"""The explorer used as a person would, in headless Chromium (Debian's, driven by Playwright
with ``executable_path``): click, hover, search, step through both passes, expand a fold.

Every number the page shows is compared with the ``inspect --json`` document. The page
loads nothing but itself: every request the browser makes is recorded.
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import graphviz_bp as bp
from graphviz_bp import losses
from graphviz_bp.report import inspect_data
from graphviz_bp.sources import builtin_source

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM,
                                              args=["--no-sandbox", "--disable-gpu"])
        yield chromium
        chromium.close()


class Opened:
    """A page opened from a file, with every request and script error it caused."""

    def __init__(self, browser, path: Path):
        self.path = path
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.requests, self.errors = [], []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-ready=true]", state="attached", timeout=20_000)

    def numbers(self, selector: str) -> list[float]:
        return [float(x) for x in self.page.eval_on_selector_all(
            selector, "els => els.flatMap(e => e.dataset.value !== undefined ? [e.dataset.value] : [])")]

    def close(self):
        assert self.errors == [], self.errors
        assert self.requests == [self.path.as_uri()], "the page asked for more than itself"
        self.page.close()


@pytest.fixture
def open_page(browser, tmp_path):
    opened = []

    def open_(g, title="loss", **options):
        path = tmp_path / f"{title}.html"
        bp.render(g, path, title=title, **options)
        opened.append(Opened(browser, path))
        return opened[-1]

    yield open_
    for page in opened:
        page.close()


def flat(value) -> list[float]:
    return [float(x) for x in np.ravel(np.array(value, dtype=object)).tolist()]


def document_of(g, title="loss") -> dict:
    return json.loads(json.dumps(inspect_data(g, title)))


@pytest.mark.parametrize("name", list(losses.BUILTINS))
def test_clicking_a_parameter_shows_its_gradient_and_stepping_visits_both_passes_in_order(name, open_page):
    source = builtin_source(name)
    g = source.build(0)
    document = document_of(g, source.name)
    nodes = {n["id"]: n for n in document["nodes"]}
    shown = open_page(g, source.name)
    page = shown.page

    # Click the first parameter; the panel shows its whole gradient.
    param = next(n for n, node in nodes.items() if node["kind"] == "param")
    page.click(f"[id='node-{param}']")
    assert page.inner_text("#details h2").startswith(nodes[param]["label"] or param)
    gradient = shown.numbers("#details [data-role=gradient]:not(.number) [data-value], "
                             "#details .number[data-role=gradient]")
    assert gradient == flat(nodes[param]["grad"])  # the same doubles: both come from the JSON

    # Step through both passes to the end, recording the current node at each step.
    G = g.nx
    forward, backward, sums = [], [], {}
    steps = int(page.inner_text("#progress").split()[0])
    for _ in range(steps):
        page.keyboard.press("ArrowRight")
        phase = page.get_attribute("#step-panel", "data-phase")
        node = page.get_attribute("#step-panel", "data-node")
        (forward if phase == "forward" else backward).append(node)
        current = page.eval_on_selector_all("#figure .node.current", "els => els.map(e => e.id)")
        assert current == [f"node-{node}"]
        for box in page.query_selector_all("#step-panel .running-sum[data-complete=true]"):
            sums[box.get_attribute("data-node")] = (box.get_attribute("data-equal"),
                                                    json.loads(box.get_attribute("data-sum")))
    assert page.get_attribute("body", "data-step") == str(steps - 1)
    page.keyboard.press("ArrowRight")  # past the end: stays at the last step
    assert page.get_attribute("body", "data-step") == str(steps - 1)

    order = {n: i for i, n in enumerate(forward)}
    assert sorted(forward) == sorted(n for n in G if nodes[n]["kind"] != "const")
    assert all(order[u] < order[v] for u, v in G.edges() if u in order)
    with_gradient = [n for n in G if nodes[n]["grad"] is not None]
    assert sorted(backward) == sorted(with_gradient) and backward[0] == G.graph["loss"]
    position = {n: i for i, n in enumerate(backward)}
    assert all(position[v] < position[u] for u, v in G.edges() if u in position and v in position)

    # Every node reached along several paths showed its sum, equal to its total.
    multipath = {n for n in G if nodes[n]["multipath"] and nodes[n]["grad"] is not None}
    assert set(sums) == multipath
    for n, (equal, total) in sums.items():
        assert equal == "true"
        np.testing.assert_allclose(flat(total), flat(nodes[n]["grad"]), rtol=1e-12, atol=1e-300)

    # Back walks the way it came.
    page.keyboard.press("ArrowLeft")
    assert page.get_attribute("#step-panel", "data-node") == backward[-2]
    page.keyboard.press("Home")
    assert page.is_hidden("#step-panel")


def test_a_backward_step_shows_the_chain_rule_and_the_running_sum_grows(open_page):
    g = losses.autoencoder()
    nodes = {n["id"]: n for n in document_of(g)["nodes"]}
    edges = {(e["source"], e["target"], e["slot"]): e for e in document_of(g)["edges"]}
    shown = open_page(g)
    page = shown.page
    arrivals = []
    while page.get_attribute("body", "data-step") != "-1" or not arrivals:
        page.keyboard.press("ArrowRight")
        if page.get_attribute("#step-panel", "data-phase") != "backward":
            continue
        here = page.get_attribute("#step-panel", "data-node")
        for chain in page.query_selector_all("#step-panel .chain"):
            u, v, k = chain.get_attribute("data-edge").removeprefix("edge-").split("-")
            assert v == here
            upstream = [float(x) for x in chain.eval_on_selector_all(
                "[data-role=upstream] [data-value], .number[data-role=upstream]", "els => els.map(e => e.dataset.value)")]
            contribution = [float(x) for x in chain.eval_on_selector_all(
                "[data-role=contribution] [data-value], .number[data-role=contribution]", "els => els.map(e => e.dataset.value)")]
            assert upstream == flat(nodes[v]["grad"])
            assert contribution == flat(edges[(u, v, int(k))]["grad"])
            assert chain.inner_text().count("local rule") == 1
        for box in page.query_selector_all("#step-panel .running-sum[data-node=W]"):
            arrivals.append(int(box.get_attribute("data-arrived")))
        if here == "W":
            break
    # W's sum: ① alone, then ① + ② (its own step shows the complete sum once more).
    assert arrivals[:2] == [1, 2]
    text = page.inner_text("#step-panel")
    assert "① + ②" in text and "equals the total" in text


def test_hovering_highlights_the_paths_to_the_loss(open_page):
    g = losses.autoencoder()
    page = open_page(g).page
    page.hover("[id='node-x']")
    on = set(page.eval_on_selector_all("#figure .on-path", "els => els.map(e => e.id)"))
    assert {"node-x", "node-r", "node-L", "edge-x-r-1", "edge-x-matmul_3-1"} <= on
    assert "node-W" not in on and "edge-W-transpose_2-0" not in on
    assert page.eval_on_selector("#figure svg", "s => s.classList.contains('dimmed')")
    page.mouse.move(1395, 5)  # off the figure
    assert page.eval_on_selector_all("#figure .on-path", "els => els.length") == 0


def test_search_finds_a_node_by_name(open_page):
    page = open_page(losses.gplvm()).page
    page.fill("#search", "K")
    page.keyboard.press("Enter")
    assert page.inner_text("#details h2").split()[0] == "K"
    assert page.eval_on_selector_all("#figure .selected", "els => els.map(e => e.id)") == ["node-K"]
    page.fill("#search", "no such node")
    page.keyboard.press("Enter")
    assert "not-found" in page.get_attribute("#search", "class")


def test_the_derivation_and_the_figure_point_at_each_other(open_page):
    page = open_page(losses.autoencoder()).page
    page.click("#tab-derivation")
    part = page.query_selector_all("#derivation .part")[-1]
    edge = part.get_attribute("data-edge")
    part.click()
    assert page.eval_on_selector_all("#figure .edge.linked", "els => els.map(e => e.id)") == [edge]
    assert page.is_visible("#derivation")  # the derivation stays open
    page.click("[id='edge-x-r-1'] text >> nth=0")  # its label
    linked = page.eval_on_selector_all("#derivation .part.linked", "els => els.map(e => e.dataset.edge)")
    assert linked == ["edge-x-r-1"]


def test_a_folded_box_expands_on_click_and_folds_again(open_page):
    g = builtin_source("fc-net", ["hidden_dims=" + ",".join(["4"] * 30)]).build(0)
    page = open_page(g, "deep").page
    box = page.eval_on_selector("#figure .node.fold", "e => e.id")
    inside = page.eval_on_selector("#explorer-data", f"e => JSON.parse(e.textContent).folds['{box[5:]}'].nodes")
    assert page.query_selector(f"[id='node-{inside[0]}']") is None
    page.click(f"[id='{box}']")
    assert page.query_selector(f"[id='node-{inside[0]}']") is not None
    assert page.query_selector(f"[id='{box}']") is None
    assert page.eval_on_selector_all("#figure .unfolded-from", "els => els.length") >= len(inside) // 2
    page.click("#fold-again")
    assert page.query_selector(f"[id='{box}']") is not None


def test_non_finite_numbers_are_shown_in_red(open_page):
    x = bp.param("x", np.array([1.0, -1.0, 2.0]))
    page = open_page(bp.Graph(bp.sum(bp.log(x))), "log").page
    assert "NaN or ∞ appears first" in page.inner_text("#details")
    page.click("[id='node-x']")
    cell = page.query_selector("#details [data-role=gradient] td.nonfinite, #details [data-role=value] td.nonfinite")
    if cell is None:  # log's value is NaN at −1: shown on the op's node
        page.click("#figure .node.op")
        cell = page.query_selector("#details [data-role=value] td.nonfinite")
    assert cell is not None and cell.inner_text() == "NaN"
    color = page.eval_on_selector("#details td.nonfinite", "e => getComputedStyle(e).color")
    assert color == "rgb(183, 28, 28)"


def test_play_walks_on_by_itself_and_pauses(open_page):
    page = open_page(losses.mse()).page
    page.click("#play")
    page.wait_for_function("() => Number(document.body.dataset.step) >= 1", timeout=10_000)
    page.click("#play")
    paused = page.get_attribute("body", "data-step")
    page.wait_for_timeout(1500)
    assert page.get_attribute("body", "data-step") == paused
    assert page.inner_text("#play") == "Play"


def test_zoom_and_pan_move_the_view(open_page):
    page = open_page(losses.autoencoder()).page
    before = page.get_attribute("#figure svg", "viewBox")
    page.click("#zoom-in")
    zoomed = page.get_attribute("#figure svg", "viewBox")
    assert float(zoomed.split()[2]) < float(before.split()[2])
    page.mouse.move(300, 500)
    page.mouse.down()
    page.mouse.move(420, 560, steps=5)
    page.mouse.up()
    panned = page.get_attribute("#figure svg", "viewBox")
    assert panned.split()[:2] != zoomed.split()[:2] and panned.split()[2:] == zoomed.split()[2:]
    page.keyboard.press("0")
    assert page.get_attribute("#figure svg", "viewBox").split() == [
        f"{float(x):g}" for x in before.split()] or page.get_attribute("#figure svg", "viewBox") == before


def test_states_recolour_lines_and_outlines_never_the_heatmaps_in_labels(open_page):
    page = open_page(builtin_source("conv-net").build(0), "conv").page
    cells = "els => els.map(e => getComputedStyle(e).fill)"
    label_cells = "#figure g[id$='-label'] polygon"
    before = page.eval_on_selector_all(label_cells, cells)
    assert len(before) > 100  # the conv-net's edges carry heatmaps
    page.keyboard.press("End")
    page.hover("[id='node-w']")
    assert page.eval_on_selector_all(label_cells, cells) == before
    assert page.eval_on_selector_all("#figure g[id$='-label'] .head, #figure g[id$='-label'] .line",
                                     "els => els.length") == 0
    assert page.eval_on_selector_all("#figure .edge.flowed .line", "els => els.length") > 10
