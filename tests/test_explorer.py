"""The explorer page as a file: self-contained, carrying the inspect --json document and the
figure's layout, written by the library and the command line. How it behaves in a
browser is tested in test_explorer_browser.py."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

import graphviz_bp as bp
from graphviz_bp import losses
from graphviz_bp.cli import main
from graphviz_bp.explorer import explore, page, walk_order
from graphviz_bp.sources import builtin_source


def embedded(text: str, element_id: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', text, re.S)
    assert match, f"no {element_id} in the page"
    return json.loads(match.group(1))


def ids_of(svg_text: str) -> set[str]:
    return {m.replace("&#45;", "-") for m in re.findall(r'<g id="([^"]+)"', svg_text)}


@pytest.mark.parametrize("name", list(losses.BUILTINS))
def test_the_page_carries_the_inspect_document_and_the_figure_of_every_builtin(name, capsys):
    source = builtin_source(name)
    text = page(source.build(0), source.name)
    assert main(["inspect", name, "--json"]) == 0
    assert embedded(text, "graph-data") == json.loads(capsys.readouterr().out)
    figure = text.split('<section id="figure"', 1)[1].split("</section>", 1)[0]
    drawn = ids_of(figure)
    G = source.build(0).nx
    params = [n for n, kind in G.nodes(data="kind") if kind == "param"]
    assert {f"node-{n}" for n in params} <= drawn
    assert f"node-{G.graph['loss']}" in drawn
    extra = embedded(text, "explorer-data")
    assert extra["loss"] == G.graph["loss"] and sorted(extra["order"]) == sorted(G.nodes)


def test_the_page_loads_nothing_from_elsewhere():
    text = page(losses.gplvm(), "gplvm")
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    tags = re.findall(r"<(script|link|img|iframe|object|embed)\b[^>]*>", text)
    assert set(tags) == {"script"}
    assert not re.search(r"<script[^>]*\bsrc=", text)
    # No address to fetch: the only URLs are the SVG namespaces and the doctype's DTD,
    # which the figure's prologue held (it is dropped).
    addresses = set(re.findall(r"https?://[^\s\"')]+", text))
    assert addresses <= {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def test_text_from_the_user_cannot_end_the_embedded_data_or_the_title():
    x = bp.param("x", np.array([1.0, 2.0]))
    g = bp.Graph(bp.sumsq(x))
    title = '</script><script>alert("x")</script><!--'
    text = page(g, title)
    assert text.count("<script") == 3  # the two documents and the page's own script
    assert embedded(text, "graph-data")["source"] == title
    assert "<title>&lt;/script&gt;" in text


def test_render_writes_the_page_from_the_library_and_the_command_line(tmp_path, capsys):
    out = bp.render(losses.autoencoder(), tmp_path / "ae.html")
    assert embedded(out.read_text(), "graph-data")["source"] == "ae"
    assert main(["render", "autoencoder", "-o", str(tmp_path / "cli.html")]) == 0
    text = (tmp_path / "cli.html").read_text()
    assert embedded(text, "graph-data")["source"] == "autoencoder"
    assert main(["render", "autoencoder", "--format", "html", "-o", "-"]) == 0
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")


def test_the_figure_options_apply_to_the_page(tmp_path):
    text = page(losses.autoencoder(), "ae", show="structure")
    figure = text.split('<section id="figure"', 1)[1].split("</section>", 1)[0]
    assert "∇" not in figure  # the structure view has no numbers on its edges
    assert embedded(text, "graph-data")["nodes"]  # the panel still has every number


def test_a_bad_option_is_refused_in_one_line_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "x.html"
    assert main(["render", "autoencoder", "-o", str(out), "--show", "nope"]) == 2
    assert not out.exists()
    with pytest.raises(bp.RenderError, match="highlight"):
        bp.render(losses.autoencoder(), out, highlight="nope")
    assert not out.exists()


def test_a_folded_figure_carries_its_unfolded_drawing_for_the_boxes_to_expand():
    source = builtin_source("fc-net", ["hidden_dims=" + ",".join(["4"] * 30)])
    text = page(source.build(0), source.name)
    figure = text.split('<section id="figure"', 1)[1].split("</section>", 1)[0]
    extra = embedded(text, "explorer-data")
    assert extra["folds"], "30 layers fold"
    box, fold = next(iter(extra["folds"].items()))
    assert f"node-{box}" in ids_of(figure)
    inside = fold["nodes"]
    assert not {f"node-{n}" for n in inside} & ids_of(figure)
    unfolded = text.split('<template id="figure-unfolded">', 1)[1].split("</template>", 1)[0]
    assert {f"node-{n}" for n in inside if extra["nodes"][n]["drawn"]} <= ids_of(unfolded)
    assert all(extra["fold_of"][n] == box for n in inside)


def test_the_derivation_links_each_step_to_its_edge():
    text = page(losses.autoencoder(), "autoencoder")
    extra = embedded(text, "explorer-data")
    edges = {(e["source"], e["target"], e["slot"]): e for e in extra["edges"]}
    steps = {s["node"]: s for s in extra["derivation"]["backward"]}
    parts = [tuple(p["edge"]) for p in steps["W"]["parts"]]
    assert sorted(parts) == sorted(k for k in edges if k[0] == "W")
    # The order of the parts is the order of the paths the figure numbers ① ②.
    G = losses.autoencoder().nx
    assert [G.edges[k]["path"] for k in parts] == [1, 2]
    assert all(edges[k]["rule"] for k in parts)
    assert "W x rᵀ + W r xᵀ" in " ".join(r["text"] for r in extra["derivation"]["result"])


def test_non_finite_numbers_are_carried_as_json_strings():
    x = bp.param("x", np.array([1.0, -1.0]))
    g = bp.Graph(bp.sum(bp.log(x)))
    text = page(g, "log")
    data = embedded(text, "graph-data")
    assert data["nonfinite"]["forward"] is not None
    values = json.dumps([n["value"] for n in data["nodes"]])
    assert '"NaN"' in values


def test_the_notebook_shows_the_page_in_a_frame_of_its_own(tmp_path):
    shown = explore(losses.autoencoder(), "autoencoder")
    frame = shown._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and 'sandbox="allow-scripts"' in frame
    assert "&lt;!DOCTYPE html&gt;" in frame and "<script" not in frame
    assert shown.save(tmp_path / "nb.html").read_text() == shown.html
    assert bp.explore is explore


def test_the_page_is_made_by_a_fresh_interpreter_with_its_assets(tmp_path):
    """The script and style are package data: an installed package must find them."""
    out = tmp_path / "p.html"
    subprocess.run([sys.executable, "-m", "graphviz_bp", "render", "mse", "-o", str(out)],
                   check=True, capture_output=True)
    text = out.read_text()
    assert "function showStep" in text and "#figure" in text
    assert "{" not in text.split("<title>", 1)[1].split("</title>", 1)[0]


@pytest.mark.parametrize("name", list(losses.BUILTINS))
def test_the_walk_computes_each_op_after_its_arguments_and_visits_every_node_once(name):
    G = builtin_source(name).build(0).nx
    order = walk_order(G)
    assert sorted(order) == sorted(G.nodes)
    position = {n: i for i, n in enumerate(order)}
    assert all(position[u] < position[v] for u, v in G.edges())


def test_the_walk_takes_the_arguments_in_slot_order_right_before_their_op():
    assert walk_order(losses.autoencoder().nx) == [
        "const_1", "W", "transpose_2", "x", "matmul_3", "matmul_4", "r", "sumsq_5", "L"]
