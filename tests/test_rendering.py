"""Figures: exact DOT fragments, the SVG parsed as XML, both engines, files written safely."""

import os
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import graphviz_bp as bp
from graphviz_bp import losses
from graphviz_bp.figures import write_figures
from graphviz_bp.dot import to_dot
from graphviz_bp.drawing import draw

ROOT = Path(__file__).resolve().parent.parent
SVG = "{http://www.w3.org/2000/svg}"
HAS_DOT = shutil.which("dot") is not None


def short(x: float, digits: int = 3) -> str:
    """A number as figures print it: `digits` significant digits, a true minus sign."""
    text = f"{x:.{digits}g}"
    return "0" if text == "-0" else text.replace("-", "−")


def svg_of(g, engine="bundled", **options) -> ET.Element:
    return ET.fromstring(draw(to_dot(g, **options), "svg", engine))


def group(root: ET.Element, element_id: str) -> ET.Element:
    found = [e for e in root.iter(f"{SVG}g") if e.get("id") == element_id]
    assert len(found) == 1, element_id
    return found[0]


def texts(element: ET.Element) -> str:
    return " ".join(t.text or "" for t in element.iter(f"{SVG}text"))


def titles(element: ET.Element) -> str:
    """The tooltips within ``element``: the <title> of each inner group a_…"""
    return " ".join(g.find(f"{SVG}title").text or "" for g in element.iter(f"{SVG}g")
                    if (g.get("id") or "").startswith("a_"))


# ---------------------------------------------------------------- DOT source


def test_dot_source_is_byte_identical_across_builds():
    for name, build in losses.BUILTINS.items():
        assert to_dot(build(seed=4)) == to_dot(build(seed=4)), name
    assert to_dot(losses.autoencoder(seed=4)) != to_dot(losses.autoencoder(seed=5))


def test_dot_fragments_of_the_autoencoder():
    source = to_dot(losses.autoencoder())
    assert "digraph backprop {" in source and "rankdir=TB" in source
    # W: a parameter reached along two paths, its gradient shown as their sum.
    w_line = next(line for line in source.splitlines() if line.lstrip().startswith("W ["))
    assert 'class="leaf param multipath"' in w_line and 'id="node-W"' in w_line
    assert "∇W = ① + ②" in w_line and 'penwidth=2.6' in w_line
    # One edge per argument slot, each with an id and classes.
    assert 'W -> transpose_2 [' in source and 'id="edge-W-transpose_2-0"' in source
    assert 'class="path multipath-path"' in source
    assert 'L [' in source and "peripheries=2" in source


# A number as figures write it, not a digit inside a name (W2, matmul_3) or a colour (#3a6ea5).
NUMBER = re.compile(r"(?<![\w#.])[−-]?\d+(?:\.\d+)?(?:e[+−-]?\d+)?(?![\w.])")


def last_digit(token: str) -> float:
    """The value of one unit in the last printed digit of a number: 0.0125 → 1e-4."""
    mantissa, _, exponent = token.replace("−", "-").partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def assert_same_figure(committed: str, made: str, where: str) -> None:
    """The same DOT source up to the last printed digit of each number: other CPUs and BLAS
    builds may round a number to the other side, and nothing else may differ."""
    def skeleton(text):
        return re.sub(r"[ \u00a0]+", " ", NUMBER.sub("#", text))

    assert skeleton(committed) == skeleton(made), f"{where}: the figure's text differs"
    for a, b in zip(NUMBER.findall(committed), NUMBER.findall(made)):
        slack = 1.5 * min(last_digit(a), last_digit(b))
        assert abs(float(a.replace("−", "-")) - float(b.replace("−", "-"))) <= slack, (where, a, b)


def test_committed_dot_sources_match_the_code():
    from graphviz_bp.figures import VARIANTS

    for name, build in losses.BUILTINS.items():
        for suffix, show in VARIANTS.items():
            committed = ROOT / "figures" / f"{name}{suffix}.gv"
            assert committed.exists(), f"{committed.name} is missing: run `python -m graphviz_bp figures`"
            assert_same_figure(committed.read_text(encoding="utf-8"), to_dot(build(), show=show),
                               f"figures/{committed.name} is stale: run `python -m graphviz_bp figures`")
            assert committed.with_suffix(".svg").exists()
    from graphviz_bp.figures import gallery_sources

    for stem, source in gallery_sources().items():
        committed = ROOT / "figures" / f"{stem}.gv"
        assert committed.exists(), f"{committed.name} is missing: run `python -m graphviz_bp figures`"
        assert_same_figure(committed.read_text(encoding="utf-8"), source,
                           f"figures/{committed.name} is stale: run `python -m graphviz_bp figures`")


def test_the_golden_comparison_tolerates_rounding_and_nothing_else():
    assert_same_figure('x [label="0.0999" tooltip="1.25  W2"]', 'x [label="0.1" tooltip="1.25 W2"]', "")
    for changed in ('x [label="0.0997" tooltip="1.25  W2"]', 'x [label="0.0999" tooltip="1.25  W3"]',
                    'x [label="0.0999" tooltip="1.25  W2" color=red]'):
        with pytest.raises(AssertionError):
            assert_same_figure('x [label="0.0999" tooltip="1.25  W2"]', changed, "")


def test_figures_write_no_digit_that_another_cpu_could_change():
    # Numbers differ across CPUs and BLAS builds around 1e-15 of an array's largest entry;
    # figures round far above that: 3–4 digits on labels, 10 in tooltips, 0 for noise.
    from graphviz_bp.quoting import TOOLTIP_DIGITS

    for name, build in losses.BUILTINS.items():
        source = to_dot(build())
        for token in NUMBER.findall(source):
            digits = token.replace("−", "-").lstrip("-").partition("e")[0].replace(".", "").lstrip("0")
            assert len(digits) <= TOOLTIP_DIGITS, (name, token)



def test_show_structure_values_gradients():
    from graphviz_bp.captions import inlined

    g = losses.autoencoder()
    edges = [e for e in g.nx.edges(keys=True) if e[0] not in inlined(g.nx)]

    def edge_texts(show):
        root = svg_of(g, show=show)
        return [texts(group(root, f"edge-{u}-{v}-{k}")).strip() for u, v, k in edges]

    assert all(t == "" for t in edge_texts("structure"))
    values = edge_texts("values")
    assert all("∇" not in t for t in values) and sum(bool(t) for t in values) == len(edges)
    flows = [g.nx.edges[e]["grad"] is not None for e in edges]
    assert [t.count("∇") for t in edge_texts("gradients")] == flows  # gradients only
    assert [t.count("∇") for t in edge_texts("all")] == flows
    structure = texts(svg_of(g, show="structure"))
    assert "∇" not in structure and "1.189" not in structure


def test_unknown_show_is_a_clear_error():
    with pytest.raises(bp.RenderError, match=r"unknown show: 'everything' \(must be one of values, gradients, formulas"):
        to_dot(losses.autoencoder(), show="everything")


# ---------------------------------------------------------------- the SVG


@pytest.mark.parametrize("name", sorted(losses.BUILTINS))
def test_every_edge_shows_its_value_and_gradient(name):
    from graphviz_bp.captions import inlined

    g = losses.BUILTINS[name]()
    root = svg_of(g)
    inline = inlined(g.nx)
    for u, v, k, e in g.nx.edges(keys=True, data=True):
        if u in inline:  # an unnamed number, written inside the op that takes it
            assert short(float(e["value"]), 4) in texts(group(root, f"node-{v}"))
            continue
        edge = group(root, f"edge-{u}-{v}-{k}")
        text = texts(edge)
        value = np.asarray(e["value"])
        if g.nx.nodes[u]["kind"] == "const" and value.ndim == 0:
            assert "value =" in titles(edge)  # the number is on the node itself
        elif value.size <= 30 and value.ndim <= 2:  # beyond: its shape and range
            assert short(float(value.flat[0]), 4 if value.ndim == 0 else 3) in text, (u, v, text)
        else:
            assert "×".join(map(str, value.shape)) in text
        if e["grad"] is None:
            assert "∇" not in text and "no-grad" in edge.get("class")
        else:
            grad = np.asarray(e["grad"])
            assert "∇" in text
            if grad.size <= 30 and grad.ndim <= 2:
                assert short(float(grad.flat[0]), 4 if grad.ndim == 0 else 3) in text, (u, v, text)
            else:
                assert "∇ " + "×".join(map(str, grad.shape)) in text, (u, v, text)


@pytest.mark.parametrize("build, node", [(losses.autoencoder, "W"), (losses.gplvm, "X"),
                                         (losses.gplvm_l1, "X")])
def test_multipath_nodes_carry_the_class_and_the_sum(build, node):
    g = build()
    root = svg_of(g)
    marked = {e.get("id") for e in root.iter(f"{SVG}g") if "multipath" in (e.get("class") or "").split()}
    assert f"node-{node}" in marked
    assert marked == {f"node-{n}" for n, d in g.nx.nodes(data=True) if d["multipath"]}
    assert f"∇{node} = ① + ②" in texts(group(root, f"node-{node}"))
    path_edges = [e for e in root.iter(f"{SVG}g") if "multipath-path" in (e.get("class") or "")]
    assert len(path_edges) == sum(g.nx.out_degree(n) for n, d in g.nx.nodes(data=True)
                                  if d["multipath"] and g.nx.nodes[n]["kind"] != "const")


def tooltip_numbers(tip: str) -> list[float]:
    return [float(t) for t in re.findall(r"-?\d+\.?\d*(?:e[+-]?\d+)?", tip.split("=", 1)[1])]


def test_tooltips_hold_every_entry_to_ten_digits():
    g = losses.autoencoder()
    root = svg_of(g)
    W, grad = g.value("W"), g.grad("W")
    node_tip = titles(group(root, "node-W"))
    value_part, grad_part = node_tip.split("∇ (total)")
    np.testing.assert_allclose(tooltip_numbers(value_part), W.ravel(), rtol=0,
                               atol=0.51e-9 * np.abs(W).max())
    np.testing.assert_allclose(tooltip_numbers("=" + grad_part.split("=", 1)[1]), grad.ravel(),
                               rtol=0, atol=0.51e-9 * np.abs(grad).max())
    u, v, k, e = next((u, v, k, e) for u, v, k, e in g.nx.edges(keys=True, data=True)
                      if u == "W" and g.nx.nodes[v]["op"] == "transpose")
    edge_tip = titles(group(root, f"edge-{u}-{v}-{k}"))
    along = edge_tip.split("∇ along this edge")[1]
    np.testing.assert_allclose(tooltip_numbers(along)[:e["grad"].size], e["grad"].ravel(), rtol=0,
                               atol=0.51e-9 * np.abs(e["grad"]).max())


def test_large_values_are_heatmaps_or_summaries_on_edges_and_bounded_in_tooltips():
    g = losses.two_layer_net(N=60, D=40, H=30, C=10)
    (target,) = g.nx.successors("X")
    root = svg_of(g)
    assert "60×40, means of 2×2 blocks" in texts(group(root, f"edge-X-{target}-0"))
    root = ET.fromstring(draw(to_dot(g, values="numbers"), "svg"))
    assert "60×40 [" in texts(group(root, f"edge-X-{target}-0"))  # shape and range
    source = to_dot(g, values="summary")
    assert "60×40" in source and len(source) < 400_000


def test_labels_with_markup_characters_and_unicode_are_escaped():
    tricky = 'a<b>&"c\'é→ש'
    x = bp.data("x", np.array([1.0, 2.0]), label=tricky)
    y = bp.param("y", 3.0, label="\\n<script>alert(1)</script>")
    g = bp.Graph((bp.sum(x * y)).named("total", label="Σ & <loss>"))
    root = svg_of(g)  # parses: the SVG is well-formed
    assert tricky in texts(group(root, "node-x"))
    assert "<script>alert(1)</script>" in texts(group(root, "node-y"))
    assert not list(root.iter(f"{SVG}script"))
    assert "Σ & <loss>" in texts(group(root, "node-total"))


def test_named_scalar_constants_show_their_value():
    root = svg_of(losses.gplvm())
    assert "α = 1" in texts(group(root, "node-alpha"))
    assert "β = 2" in texts(group(root, "node-beta"))


# ---------------------------------------------------------------- files and engines


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".pdf", b"%PDF"),
                                           (".png", b"\x89PNG"), (".gv", b"digraph")])
def test_render_writes_each_format(tmp_path, suffix, magic):
    out = bp.render(losses.autoencoder(), tmp_path / f"ae{suffix}")
    assert out.read_bytes().startswith(magic)
    assert [p.name for p in tmp_path.iterdir()] == [f"ae{suffix}"]  # no temporary left


def test_written_files_respect_the_umask_and_keep_an_existing_mode(tmp_path):
    g = losses.autoencoder()
    old = os.umask(0o022)
    try:
        fresh = bp.render(g, tmp_path / "fresh.svg")
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        os.umask(0o077)
        assert stat.S_IMODE(bp.render(g, tmp_path / "private.gv").stat().st_mode) == 0o600
        shared = tmp_path / "shared.svg"
        shared.write_text("old")
        shared.chmod(0o664)
        bp.render(g, shared)  # replaced, with its mode kept despite the umask
        assert stat.S_IMODE(shared.stat().st_mode) == 0o664 and shared.read_text() != "old"
    finally:
        os.umask(old)


def test_a_failed_render_leaves_an_existing_file_untouched(tmp_path, monkeypatch):
    out = tmp_path / "ae.svg"
    out.write_text("old")
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    with pytest.raises(bp.EngineNotFoundError, match="install Graphviz"):
        bp.render(losses.autoencoder(), out, engine="system")
    assert out.read_text() == "old" and len(list(tmp_path.iterdir())) == 1


def test_bad_paths_and_formats_are_clear_errors(tmp_path):
    g = losses.autoencoder()
    with pytest.raises(bp.RenderError, match="does not exist"):
        bp.render(g, tmp_path / "missing" / "ae.svg")
    with pytest.raises(bp.RenderError, match="cannot tell the format"):
        bp.render(g, tmp_path / "ae.txt")
    with pytest.raises(bp.RenderError, match="unknown engine: 'neato'"):
        bp.render(g, tmp_path / "ae.svg", engine="neato")


def test_bundled_engine_needs_no_dot_and_prints_nothing(tmp_path):
    # A fresh process with an empty PATH: no `dot` anywhere, and nothing on stderr
    # (the bundled fontconfig would otherwise complain when drawing PNG and PDF).
    env = {**os.environ, "PATH": str(tmp_path)}
    for suffix in ("svg", "png", "pdf"):
        out = tmp_path / f"ae.{suffix}"
        run = subprocess.run([sys.executable, "-m", "graphviz_bp", "render", "autoencoder",
                              "-o", str(out)], env=env, capture_output=True, text=True, cwd=ROOT)
        assert run.returncode == 0, run.stderr
        assert run.stderr.strip() == str(out)
        assert out.stat().st_size > 1000
    ET.parse(tmp_path / "ae.svg")


def test_figures_writes_every_builtin(tmp_path):
    written = write_figures(tmp_path)
    from graphviz_bp.figures import GALLERY

    assert sorted(p.name for p in written) == sorted(
        [f"{n}{v}.{s}" for n in losses.BUILTINS for v in ("", "-formulas") for s in ("gv", "svg")]
        + [f"{stem}.{s}" for stem in GALLERY for s in ("gv", "svg")])
    for p in written:
        if p.suffix == ".svg":
            ET.parse(p)


def test_notebook_display_is_the_svg():
    svg = losses.autoencoder()._repr_svg_()
    assert ET.fromstring(svg.encode()).tag == f"{SVG}svg"


@pytest.mark.system_dot
@pytest.mark.skipif(not HAS_DOT, reason="the system Graphviz `dot` is not installed")
@pytest.mark.parametrize("name", ["autoencoder", "gplvm"])
def test_system_engine_draws_the_same_figure(name):
    g = losses.BUILTINS[name]()
    root = svg_of(g, engine="system")
    node = "W" if name == "autoencoder" else "X"
    assert "multipath" in group(root, f"node-{node}").get("class")
    for u, v, k, e in g.nx.edges(keys=True, data=True):
        if e["grad"] is not None:
            assert "∇" in texts(group(root, f"edge-{u}-{v}-{k}"))


# ---------------------------------------------------------------- large graphs

def ids(svg: bytes, kind: str) -> set:
    return {e.get("id") for e in ET.fromstring(svg).iter(f"{SVG}g")
            if (e.get("class") or "").split()[:1] == [kind]}


def test_compact_figures_draw_the_same_graph_with_the_numbers_in_tooltips():
    g = losses.fc_net(hidden_dims=(4, 4, 4))
    full, compact = (draw(to_dot(g, compact=c), "svg") for c in (False, True))
    assert ids(full, "node") == ids(compact, "node") and ids(full, "edge") == ids(compact, "edge")
    assert {e.get("id") for e in ET.fromstring(compact).iter(f"{SVG}g")
            if "multipath" in (e.get("class") or "").split()} == {"node-W1", "node-W2", "node-W3", "node-W4"}
    root = ET.fromstring(compact)
    (consumer,) = g.nx.successors("X")
    edge = group(root, f"edge-X-{consumer}-0")
    assert texts(edge).strip() == "" and "∇ along this edge" in titles(edge)
    assert "nslimit=2" in to_dot(g, compact=True) and "nslimit" not in to_dot(g)


def test_a_deep_net_goes_compact_by_itself_and_says_so(tmp_path):
    from graphviz_bp.folding import COMPACT_NODES, compact_note

    g = losses.fc_net(hidden_dims=[4] * 200)
    assert g.nx.number_of_nodes() > COMPACT_NODES
    note = compact_note(g)
    assert "1413 nodes" in note and "layers 3–199 folded into one box" in note
    assert compact_note(losses.fc_net()) is None
    out = bp.render(g, tmp_path / "deep.svg")
    drawn = ids(out.read_bytes(), "node")
    assert {"node-W1", "node-W2", "node-W200", "node-W201", "node-fold-3-199"} <= drawn
    assert "node-W3" not in drawn and "node-Z100" not in drawn


def test_a_net_of_fifty_layers_folds_but_keeps_its_numbers_and_says_so():
    from graphviz_bp.folding import COMPACT_NODES, FOLD_NODES, compact_note

    g = losses.fc_net(hidden_dims=[4] * 50)
    assert FOLD_NODES < g.nx.number_of_nodes() <= COMPACT_NODES
    assert compact_note(g) == "363 nodes: layers 3–49 folded into one box (more than 150 nodes)"
    svg = draw(to_dot(g), "svg")
    assert {"node-W2", "node-W50", "node-fold-3-49"} <= ids(svg, "node")
    assert "node-W3" not in ids(svg, "node")
    edge = group(ET.fromstring(svg), "edge-X-matmul_1-0")  # numbers still on the edges
    assert "∇" in texts(edge)
    assert compact_note(g, compact=False) is None
    assert "node-W3" in ids(draw(to_dot(g, compact=False), "svg"), "node")


def test_folding_changes_the_drawing_only():
    from graphviz_bp.folding import folds, layers

    g = losses.fc_net(hidden_dims=[4] * 8)
    before = {n: np.copy(d["grad"]) for n, d in g.nx.nodes(data=True) if d["grad"] is not None}
    assert sorted(set(layers(g.nx).values())) == list(range(1, 10))
    folded = folds(g.nx)
    assert {box.id for box in folded.values()} == {"fold-3-7"}
    assert {n for n in folded if g.nx.nodes[n]["named"]} == {
        f"{stem}{k}" for stem in ("W", "b", "Z", "H") for k in range(3, 8)}
    from graphviz_bp.captions import inlined

    svg = draw(to_dot(g, compact=True), "svg")
    drawn_nodes, drawn_edges = ids(svg, "node"), ids(svg, "edge")
    kept = set(g.nx) - set(folded) - inlined(g.nx)
    assert drawn_nodes == {f"node-{n}" for n in kept} | {"node-fold-3-7"}
    for u, v, k in g.nx.edges(keys=True):  # every edge drawn, or stood for by one to the box
        if u in inlined(g.nx):
            continue
        if u in kept and v in kept:
            assert f"edge-{u}-{v}-{k}" in drawn_edges
        elif (u in kept) != (v in kept):
            ends = (u, "fold-3-7") if u in kept else ("fold-3-7", v)
            assert f"edge-{ends[0]}-{ends[1]}-fold" in drawn_edges
    for n, grad in before.items():  # the graph itself is untouched
        np.testing.assert_array_equal(g.grad(n), grad)


def test_layers_are_found_by_the_last_number_in_their_names():
    from graphviz_bp.folding import folds, layers

    rng = np.random.default_rng(0)
    h = bp.data("X", rng.normal(size=(2, 3)))
    for i in range(1, 9):  # names as a module-style net would give them
        W = bp.param(f"layer{i}_W", rng.normal(size=(3, 3)))
        h = bp.tanh(h @ W).named(f"layer{i}_out")
    g = bp.Graph(bp.sumsq(h))
    assert layers(g.nx)["layer5_W"] == 5 and layers(g.nx)["layer5_out"] == 5
    assert {box.id for box in folds(g.nx).values()} == {"fold-2-6"}  # layer 8 holds the loss


def test_a_fold_box_cannot_merge_with_a_node_of_the_same_name():
    from graphviz_bp.folding import folds

    rng = np.random.default_rng(0)
    h = bp.data("X", rng.normal(size=(2, 3)))
    for i in range(1, 9):
        h = bp.tanh(h @ bp.param(f"W{i}", rng.normal(size=(3, 3)))).named(f"H{i}")
    decoy = bp.param("fold_2_6", np.ones((2, 3)))  # the box's id in earlier versions
    g = bp.Graph(bp.sumsq(h) + bp.sum(decoy))
    (box,) = set(folds(g.nx).values())
    svg = draw(to_dot(g, compact=True), "svg")
    assert {f"node-{box.id}", "node-fold_2_6"} <= ids(svg, "node")
    assert box.id not in g.nx


def test_nothing_folds_without_a_run_of_alike_layers():
    from graphviz_bp.folding import folds

    for build in losses.BUILTINS.values():
        assert folds(build().nx) == {}
    assert folds(losses.fc_net(hidden_dims=[4, 5, 4, 5, 4]).nx) == {}


def test_unnamed_repeated_structure_folds_too():
    # an RNN written as a Python loop names none of its steps
    from graphviz_bp.folding import folds

    rng = np.random.default_rng(0)
    W = bp.param("W", rng.normal(size=(4, 4)) / 2)
    U = bp.param("U", rng.normal(size=(4, 3)) / 2)
    x = bp.data("x", rng.normal(size=(3, 30)))
    h = bp.const("h0", np.zeros((4, 1)))
    for t in range(30):
        h = bp.tanh(W @ h + U @ x[:, t:t + 1])
    g = bp.Graph(bp.sumsq(h))
    (box,) = set(folds(g.nx).values())
    assert not box.named and box.count >= 20
    source = to_dot(g)
    assert "alike blocks" in source and "∇W = ① + ② + ③ + … (30 paths)" in source
    drawn = [line for line in source.splitlines() if 'class="op tanh"' in line]
    assert len(drawn) < 10  # the steps inside the box are not drawn


def test_a_large_graph_with_nothing_to_fold_is_laid_out_level_by_level(monkeypatch):
    from graphviz_bp import dot as dot_module
    from graphviz_bp import folding

    monkeypatch.setattr(dot_module, "LAYERED_NODES", 20)
    monkeypatch.setattr(folding, "LAYERED_NODES", 20)
    rng = np.random.default_rng(0)
    total = None
    for i, name in enumerate("abcdefghijkl"):
        term = bp.sumsq(bp.tanh(bp.param(f"w_{name}", rng.normal(size=i + 1))))
        total = term if total is None else total + term
    g = bp.Graph(total)
    source = to_dot(g, compact=True)
    assert "layout=nop2" in source and source.count('pos="') == g.nx.number_of_nodes()
    ys = [float(line.split('pos="')[1].split('"')[0].rstrip("!").split(",")[1])
          for line in source.splitlines() if 'pos="' in line]
    root = ET.fromstring(draw(source, "svg"))  # Graphviz draws it at those places
    assert len(list(root.iter(f"{SVG}ellipse"))) > 12
    assert "laid out level by level" in folding.compact_note(g, True)
    assert min(ys) == 0.0 and max(ys) > 12 * 60  # the loss at the bottom, a level per term
