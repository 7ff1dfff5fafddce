"""Figures draw in every common viewer: the SVG is well-formed, its tooltips are <title>s
(no link without a target, inside which MuPDF draws nothing), and MuPDF and librsvg draw
the autoencoder's figure, not a blank page."""

import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from graphviz_bp import losses
from graphviz_bp.dot import to_dot
from graphviz_bp.drawing import draw, portable_svg

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def figure(tmp_path_factory):
    path = tmp_path_factory.mktemp("viewers") / "autoencoder.svg"
    path.write_bytes(draw(to_dot(losses.autoencoder()), "svg"))
    return path


def test_tooltips_are_titles_and_nothing_hides_in_a_link(figure):
    root = ET.parse(figure).getroot()
    assert not list(root.iter(f"{SVG}a"))
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g")}
    title = groups["a_node-W"].find(f"{SVG}title").text
    assert title.startswith("W (param, shape 2×3)") and "∇ (total) =" in title
    assert groups["a_node-W"][0].tag == f"{SVG}title"  # first: the tooltip of its group
    shapes = [child.tag for child in groups["a_node-W"]]
    assert f"{SVG}path" in shapes or f"{SVG}polygon" in shapes


def test_the_rewrite_keeps_everything_but_the_link():
    svg = (b'<g id="a_node-x"><a xlink:title="x (param)&#10;value =">\n'
           b'<ellipse cx="1"/>\n<text>x</text>\n</a>\n</g>\n')
    assert portable_svg(svg) == (b'<g id="a_node-x"><title>x (param)&#10;value =</title>\n'
                                 b'<ellipse cx="1"/>\n<text>x</text>\n</g>\n')


def dark_fraction(pgm: bytes) -> float:
    """The share of pixels darker than light grey in a binary PGM (P5) image."""
    magic, size, depth, pixels = pgm.split(b"\n", 3)
    assert magic == b"P5" and depth == b"255"
    return sum(1 for b in pixels if b < 200) / len(pixels)


@pytest.mark.skipif(shutil.which("mutool") is None, reason="MuPDF's mutool is not installed")
def test_mupdf_draws_the_figure(figure, tmp_path):
    out = tmp_path / "mupdf.pgm"
    subprocess.run(["mutool", "draw", "-F", "pgm", "-o", str(out), str(figure)], check=True,
                   capture_output=True)
    assert dark_fraction(out.read_bytes()) > 0.01


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="librsvg's rsvg-convert is not installed")
def test_librsvg_draws_the_figure(figure, tmp_path):
    png = subprocess.run(["rsvg-convert", str(figure)], check=True, capture_output=True).stdout
    assert png.startswith(b"\x89PNG") and len(png) > 20_000


# ---------------------------------------------------------------- resolution and size


from graphviz_bp.drawing import DEFAULT_DPI, parse_size, png_size, scaled_note  # noqa: E402
from graphviz_bp.errors import RenderError  # noqa: E402


def test_dpi_scales_a_png_and_leaves_vectors_alone():
    source = to_dot(losses.autoencoder())
    default = png_size(draw(source, "png"))
    sharp = png_size(draw(source, "png", dpi=300))
    assert 2.9 < sharp[0] / default[0] < 3.3 and 2.9 < sharp[1] / default[1] < 3.3
    assert draw(source, "svg", dpi=300) == draw(source, "svg")


@pytest.mark.parametrize("size, inches", [("page", (6.5, 9)), ("3x3", (3, 3)),
                                          ("16cmx9cm", (16 / 2.54, 9 / 2.54))])
def test_size_fits_the_figure_to_a_box(size, inches):
    width, height = png_size(draw(to_dot(losses.gplvm()), "png", size=size))
    assert width <= inches[0] * DEFAULT_DPI + 2 and height <= inches[1] * DEFAULT_DPI + 2
    assert width >= inches[0] * DEFAULT_DPI - 2 or height >= inches[1] * DEFAULT_DPI - 2


@pytest.mark.parametrize("bad", ["3y3", "0x4", "6x", "6x4x2", "page2"])
def test_a_size_that_is_not_one_is_refused(bad):
    with pytest.raises(RenderError, match="size must look like 6x4"):
        parse_size(bad)


def test_a_pdf_embeds_its_fonts():
    pdf = draw(to_dot(losses.autoencoder()), "pdf")
    assert b"/FontFile" in pdf


def test_a_png_at_cairos_limit_is_said():
    assert scaled_note(draw(to_dot(losses.autoencoder()), "png"), "png") is None
    huge = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + (2045).to_bytes(4, "big") + (32767).to_bytes(4, "big")
    assert "scaled down to 2045×32767 pixels" in scaled_note(huge, "png")
