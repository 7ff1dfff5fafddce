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
