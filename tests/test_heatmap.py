"""Arrays too large to print legibly are drawn as heatmaps: a grid of cells coloured from
the array itself, symmetric around zero, with the scale beside it."""

import re

import numpy as np
import pytest

import graphviz_bp as bp
from graphviz_bp.dot import to_dot
from graphviz_bp.drawing import draw
from graphviz_bp.heatmap import MAX_CELLS_PER_SIDE, NAN_COLOR, PALETTE, heatmap

# a grid's cells are square; the legend's swatches are not
CELL = re.compile(r'<TD BGCOLOR="(#[0-9a-f]{6})" WIDTH="([0-9.]+)" HEIGHT="\2"></TD>')


def cells(label: str) -> list[str]:
    """The colours of the heatmap cells in a label, row by row."""
    return [colour for colour, _ in CELL.findall(label)]


def test_a_16_by_12_matrix_is_a_heatmap_by_default():
    rng = np.random.default_rng(0)
    W = bp.param("W", rng.normal(size=(16, 12)))
    x = bp.data("x", rng.normal(size=(12, 1)))
    g = bp.Graph(0.5 * bp.sumsq(W @ x))
    source = to_dot(g)
    edge = next(line for line in source.splitlines() if line.lstrip().startswith("W ->"))
    assert "16×12" in edge and len(cells(edge)) == 2 * 16 * 12  # the value and its gradient
    label = edge.split("label=<", 1)[1].split("> ", 1)[0]
    assert "&#91;" not in label  # no numbers on the edge: [ is written &#91;
    numbers = to_dot(g, values="numbers")
    assert "16×12 &#91;" in numbers and "BGCOLOR" not in numbers


def test_colours_are_symmetric_around_zero_and_say_the_scale():
    array = np.array([[-2.0, 0.0], [1.0, 2.0]])
    label = heatmap(array, "", "#000000")
    assert cells(label) == [PALETTE[0], PALETTE[10], PALETTE[15], PALETTE[20]]
    assert PALETTE[10] == "#f7f7f7" and "−2" in label and ">2<" in label.replace(" ", "")


def test_a_large_array_is_shown_by_block_means_and_non_finite_blocks_stay_marked():
    array = np.ones((100, 70))
    array[5, 5] = np.nan
    label = heatmap(array, "", "#000000")
    grid = cells(label)
    assert "means of 4×3 blocks" in label
    assert len(grid) == 25 * 24 and max(25, 24) <= MAX_CELLS_PER_SIDE
    assert grid.count(NAN_COLOR) == 1 and grid[(5 // 4) * 24 + 5 // 3] == NAN_COLOR


def test_an_image_batch_is_drawn_as_rows_of_its_leading_axes():
    label = heatmap(np.arange(24.0).reshape(2, 3, 2, 2) - 12, "", "#000000")
    assert "rows: 2×3×2" in label and len(cells(label)) == 24


@pytest.mark.parametrize("mode", ["auto", "heatmap", "numbers", "summary"])
def test_labels_are_never_coloured(mode):
    S = bp.param("S", np.random.default_rng(0).normal(size=(40, 3)))
    y = bp.const("y", np.random.default_rng(1).integers(3, size=40))
    source = to_dot(bp.Graph(bp.softmax_ce(S, y)), values=mode)
    edge = next(line for line in source.splitlines() if line.lstrip().startswith("y ->"))
    assert "BGCOLOR" not in edge and "40 &#91;0, 2&#93;" in edge


def test_every_mode_draws():
    g = bp.Graph(bp.sumsq(bp.param("W", np.random.default_rng(0).normal(size=(20, 20)))))
    for mode, coloured in (("auto", True), ("heatmap", True), ("numbers", False),
                           ("summary", False)):
        svg = draw(to_dot(g, values=mode), "svg")
        assert (svg.count(b"<polygon") > 400) == coloured, mode
    with pytest.raises(bp.RenderError, match="values"):
        to_dot(g, values="colours")


# ---------------------------------------------------------------- which sums are highlighted


from graphviz_bp import losses  # noqa: E402
from graphviz_bp.dot import STYLE  # noqa: E402


def node_line(source: str, name: str) -> str:
    return next(line for line in source.splitlines() if line.lstrip().startswith(f"{name} [label"))


def test_highlight_params_singles_out_parameters_only():
    g = losses.gplvm()
    everything, params = to_dot(g), to_dot(g, highlight="params")
    assert "multipath" in node_line(everything, "Y") and "multipath" in node_line(everything, "K")
    assert "multipath" not in node_line(params, "Y") and "multipath" not in node_line(params, "K")
    assert "multipath" in node_line(params, "X") and "∇X = ① + ②" in params
    assert params.count("multipath-path") == 2 < everything.count("multipath-path")
    with pytest.raises(bp.RenderError, match="highlight"):
        to_dot(g, highlight="data")


def test_paths_differ_in_colour_and_in_line_style_for_greyscale_print():
    source = to_dot(losses.autoencoder())
    first = next(line for line in source.splitlines() if "① ∇" in line)
    second = next(line for line in source.splitlines() if "② ∇" in line)
    assert STYLE["path_colors"][0] in first and STYLE["path_colors"][1] in second
    assert "style=dashed" in second and "style=dashed" not in first


def test_a_scalar_product_is_drawn_as_a_textbook_does():
    x = bp.param("x", np.array([1.0, 2.0]))
    y = bp.param("y", np.array([3.0, 4.0]))
    source = to_dot(bp.Graph(bp.sum(0.5 * (x * y))))
    symbols = [line.split('POINT-SIZE="15">')[1].split("<")[0] for line in source.splitlines()
               if 'POINT-SIZE="15">' in line and 'class="op mul' in line]
    assert sorted(symbols) == ["0.5 ·", "⊙"]  # 0.5 · (…), x ⊙ y


def test_unnamed_ops_of_named_arguments_are_captioned_as_printed():
    source = to_dot(losses.autoencoder())
    captions = [line.split('POINT-SIZE="11" COLOR="#777777">')[1].split("<")[0]
                for line in source.splitlines() if 'POINT-SIZE="11" COLOR="#777777">' in line]
    assert sorted(captions) == sorted(["W x", "Wᵀ", "‖r‖²"])


def test_a_number_given_to_a_named_function_is_written_as_its_argument():
    source = to_dot(losses.svm())
    assert ">maximum(0, ·)<" in source and ">1 −<" in source and ">+ 1<" in source
