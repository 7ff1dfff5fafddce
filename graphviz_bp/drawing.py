"""Drawing DOT with Graphviz (the bundled engine or the system's ``dot``), and writing files.

Two engines draw: ``"bundled"`` (default), the Graphviz inside pygraphviz's wheels,
in-process with no system package; and ``"system"``, the ``dot`` on PATH, as a process.
Files are written whole or not at all, with the permissions a new file gets from the
umask, or those of the file replaced; only regular files are written (through a symbolic
link, its target), never a device, pipe or socket.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import tempfile
import threading
import warnings
from contextlib import contextmanager, suppress
from pathlib import Path

from .dot import to_dot
from .engine import Graph
from .graph import Expr
from .errors import EngineNotFoundError, RenderError, check_choice

__all__ = ["draw", "render", "write_atomically", "format_of", "svg_of", "FORMATS", "ENGINES",
           "SUFFIXES", "RenderWarning", "PAGE_SIZES", "DEFAULT_DPI", "parse_size", "png_size",
           "scaled_note", "layout", "WRITERS", "check_dpi", "graph_of"]

FORMATS = ("svg", "pdf", "png", "dot", "tex", "html")
ENGINES = ("bundled", "system")
SUFFIXES = {".svg": "svg", ".pdf": "pdf", ".png": "png", ".gv": "dot", ".dot": "dot",
            ".tex": "tex", ".html": "html", ".htm": "html"}


class RenderWarning(UserWarning):
    """A message Graphviz printed while drawing (not shown on the terminal)."""


#: File descriptor 2 is the process's, and the bundled Graphviz keeps global state: one
#: drawing at a time, or a thread would restore another's capture file as stderr.
_BUNDLED = threading.Lock()


@contextmanager
def _captured_stderr():
    """Capture what C libraries write to file descriptor 2 (fontconfig complains there),
    holding :data:`_BUNDLED` throughout.

    Yields a function that returns what was written so far.
    """
    with _BUNDLED, tempfile.TemporaryFile(mode="w+b") as sink:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr at all
            yield lambda: ""
            return

        def printed() -> str:
            sink.seek(0)
            return sink.read().decode(errors="replace")

        try:
            os.dup2(sink.fileno(), 2)  # inside the try: a Ctrl-C here still restores fd 2
            yield printed
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()] or ["no message"]
    more = f" (and {len(lines) - 1} more lines)" if len(lines) > 1 else ""
    return lines[0] + more


def _system_draw(source: bytes, fmt: str) -> bytes:
    try:
        # communicate() writes the input and reads both pipes at once: a `dot` that stops
        # reading (it rejected the input) ends with its exit status and message, not a
        # broken pipe.
        done = subprocess.run(["dot", f"-T{fmt}"], input=source, capture_output=True)
    except FileNotFoundError:
        raise EngineNotFoundError(
            "the system engine needs Graphviz's `dot` on PATH: install Graphviz "
            "(apt-get install graphviz, brew install graphviz, …) or use the bundled engine"
        ) from None
    except OSError as err:  # not executable, or a pipe that broke all the same
        raise RenderError(f"cannot run the system engine `dot`: {err.strerror or err}") from None
    message = done.stderr.decode(errors="replace")
    if done.returncode < 0:
        try:
            killer = signal.Signals(-done.returncode).name
        except ValueError:
            killer = f"signal {-done.returncode}"
        raise RenderError(f"dot was killed by {killer}"
                          + (f": {_first_line(message)}" if message.strip() else ""))
    if done.returncode != 0:
        raise RenderError(f"dot failed: {_first_line(message)}")
    for line in message.splitlines():
        if line.strip():
            warnings.warn(line, RenderWarning, stacklevel=3)
    return done.stdout


#: Formats written from the graph itself rather than drawn from DOT: format → function of
#: (g, title=…, show=…, compact=…, values=…, highlight=…, engine=…) giving the file's text,
#: using the options that apply to it. The TikZ module adds "tex" when imported, the
#: explorer "html".
WRITERS: dict = {}

#: Sizes a figure can be fitted to, in inches: a page's text block (A4 and letter), a
#: 16:9 slide less its margins, a column of a two-column paper.
PAGE_SIZES = {"page": (6.5, 9.0), "slide": (12.0, 6.5), "column": (3.3, 9.0)}
#: Pixels per inch of a PNG unless asked: a figure's points at 1:1 on a laptop's screen.
DEFAULT_DPI = 96
#: The largest side Cairo draws a PNG at; Graphviz scales a larger figure down to it.
CAIRO_LIMIT = 32767


def parse_size(text) -> tuple[float, float]:
    """``"6x4"`` (inches), ``"16cmx9cm"``, or a name of :data:`PAGE_SIZES` → (width, height)
    in inches."""
    if text in PAGE_SIZES:
        return PAGE_SIZES[text]
    parts = str(text).lower().replace("×", "x").split("x")

    def inches(part: str) -> float:
        unit = 2.54 if part.endswith("cm") else 1.0
        try:
            value = float(part.removesuffix("cm").removesuffix("in")) / unit
        except ValueError:
            value = float("nan")
        if not 0.5 <= value <= 200:
            raise ValueError
        return value

    try:
        if len(parts) != 2:
            raise ValueError
        return inches(parts[0]), inches(parts[1])
    except ValueError:
        raise RenderError(f"size must look like 6x4 (inches), 16cmx9cm, or one of "
                          f"{', '.join(PAGE_SIZES)}, each side 0.5 to 200 inches; got {text!r}") from None


def check_dpi(dpi) -> None:
    """Refuse a PNG resolution that is not a whole number from 10 to 2400 (None: the default)."""
    if dpi is not None and (isinstance(dpi, bool) or not isinstance(dpi, int)
                            or not 10 <= dpi <= 2400):
        raise RenderError(f"dpi must be a whole number from 10 to 2400, got {dpi!r}")


def _with_layout(source: str, fmt: str, dpi, size) -> str:
    """The DOT source with the figure's size and resolution set on its graph."""
    attributes = []
    if size is not None:
        width, height = parse_size(size)
        attributes.append(f'size="{width:g},{height:g}!"')  # ! scales up as well as down
    if fmt == "png":
        check_dpi(dpi)
        attributes.append(f"dpi={dpi or DEFAULT_DPI}")
    if not attributes:
        return source
    head, brace, rest = source.partition("{")
    return f"{head}{brace}\n\tgraph [{' '.join(attributes)}]{rest}"


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels of a PNG."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def scaled_note(data: bytes, fmt: str) -> str | None:
    """A note when Graphviz scaled a PNG down to Cairo's limit, else None."""
    if fmt != "png" or max(png_size(data)) < CAIRO_LIMIT:
        return None
    width, height = png_size(data)
    return (f"the PNG was scaled down to {width}×{height} pixels, Cairo's limit being "
            f"{CAIRO_LIMIT}: SVG or PDF keep every detail")


def draw(source: str, fmt: str = "svg", engine: str = "bundled", *, dpi: int | None = None,
         size=None) -> bytes:
    """Lay out DOT ``source`` and draw it as ``fmt`` (svg, pdf, png) with ``engine``.

    ``size`` fits the figure to a box (see :func:`parse_size`): scaled down or up until
    it touches a side. ``dpi`` is a PNG's resolution (default :data:`DEFAULT_DPI`; 192 for
    a HiDPI screen, 300 for print).
    """
    check_choice("format", fmt, FORMATS, RenderError)
    check_choice("engine", engine, ENGINES, RenderError)
    if fmt in ("tex", "html"):
        raise RenderError(f"{'TikZ' if fmt == 'tex' else 'the explorer page'} is written from "
                          "the graph, not from DOT: use render()")
    source = _with_layout(source, fmt, dpi, size)
    try:
        data = source.encode()
    except UnicodeEncodeError as err:
        raise RenderError(f"the DOT source holds {err.object[err.start]!r} at position "
                          f"{err.start}, a lone surrogate, which UTF-8 cannot encode") from None
    if fmt == "dot":
        return data
    if engine == "system":
        drawn = _system_draw(data, fmt)
    else:
        drawn = _bundled_draw(source, fmt)
    if not drawn:  # Graphviz said nothing but drew nothing: never a silent empty file
        raise RenderError(f"the {engine} engine drew nothing (an empty {fmt} file)")
    return portable_svg(drawn) if fmt == "svg" else drawn


#: A tooltip as Graphviz writes it: a link without a target around what it explains.
_TOOLTIP_LINK = re.compile(rb'<a xlink:title="([^"]*)">\n?(.*?)</a>\n?', re.S)


def portable_svg(svg: bytes) -> bytes:
    """Graphviz's SVG with each tooltip as a ``<title>`` rather than a link.

    Graphviz wraps every node and edge that has a tooltip in ``<a xlink:title="…">``; MuPDF
    (``mutool``) draws nothing inside a link without a target, so the whole figure came out
    blank there. A ``<title>`` first in the group is the tooltip every viewer knows, and
    browsers show it on hover as before. Graphviz never nests these links.
    """
    return _TOOLTIP_LINK.sub(rb"<title>\1</title>\n\2", svg)


def _bundled_draw(source: str, fmt: str) -> bytes:
    try:
        import pygraphviz
    except ImportError:
        raise EngineNotFoundError(
            "the bundled engine needs pygraphviz>=2: pip install 'pygraphviz>=2' "
            "(or the system engine, with Graphviz installed)"
        ) from None
    with _captured_stderr() as printed:
        try:
            graph = pygraphviz.AGraph(string=source)
            data = graph.draw(format=fmt, prog="dot")
        except Exception as err:  # pygraphviz raises bare exceptions for layout failures
            # Graphviz printed the reason (pygraphviz's own message is "Invalid Input").
            said = _graphviz_lines(printed())
            reason = _first_line("\n".join(said)) if said else str(err)
            raise RenderError(f"Graphviz failed to draw the figure: {reason}") from None
        messages = _graphviz_lines(printed())
    for line in messages:
        warnings.warn(line, RenderWarning, stacklevel=3)
    return data


def layout(source: str) -> tuple[dict, list]:
    """Graphviz's layout of DOT ``source``, in points with y upwards: nodes by id attribute
    (``node-W``) → (x, y, width, height), and edges as (id attribute, spline points, arrow
    tip); the points are a start and Bézier control triples, as Graphviz gives them."""
    try:
        import pygraphviz
    except ImportError:
        raise EngineNotFoundError("a layout needs pygraphviz>=2: pip install 'pygraphviz>=2'") from None
    with _captured_stderr():
        graph = pygraphviz.AGraph(string=source)
        graph.layout(prog="dot")
    nodes = {}
    for node in graph.nodes():
        x, y = map(float, node.attr["pos"].split(","))
        nodes[node.attr["id"]] = (x, y, 72 * float(node.attr["width"]), 72 * float(node.attr["height"]))
    edges = []
    for edge in graph.edges():
        points, tip = [], None
        for part in edge.attr["pos"].split():
            if part.startswith("e,"):
                tip = tuple(map(float, part[2:].split(",")))
            elif not part.startswith("s,"):
                points.append(tuple(map(float, part.split(","))))
        edges.append((edge.attr["id"], points, tip))
    return nodes, edges


def _graphviz_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and "Fontconfig" not in line]


def format_of(path, fmt: str | None = None) -> str:
    """The output format: ``fmt`` if given, else from the suffix of ``path``."""
    if fmt is not None:
        check_choice("format", fmt, FORMATS, RenderError)
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise RenderError(f"cannot tell the format from {str(path)!r}: use a suffix "
                          f"({', '.join(SUFFIXES)}) or give the format")
    return SUFFIXES[suffix]


def _mode_for(path: Path) -> int:
    """The permissions of the file at ``path`` if there is one, else those a new file gets."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)  # reading the umask means setting it; it is put back at once
        os.umask(umask)
        return 0o666 & ~umask


_SPECIAL = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
            (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"))


def _destination(path: Path) -> Path:
    """The regular file that writing ``path`` replaces or makes: ``path`` itself, or the
    file a symbolic link leads to (so the link stays a link)."""
    try:
        found = path.stat()
    except (FileNotFoundError, NotADirectoryError):  # a new file (its folder is checked next)
        found = None
    except OSError as err:  # a loop of links, a folder we may not search, …
        raise RenderError(f"cannot write {str(path)!r}: {err.strerror}") from None
    except ValueError:  # os.stat refuses it before the system sees it
        raise RenderError(f"cannot write {str(path)!r}: a path cannot hold a NUL character") from None
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise RenderError(f"cannot write {str(path)!r}: it is a folder; name a file to write")
    if found is not None and not stat.S_ISREG(found.st_mode):
        kind = next((name for test, name in _SPECIAL if test(found.st_mode)), "a special file")
        raise RenderError(f"cannot write {str(path)!r}: it is {kind}, not a regular file; "
                          f"figures are written to regular files only")
    if path.is_symlink():  # a link to a file, or to where one will be: write there
        return Path(os.path.realpath(path))
    return path


def check_writable(path) -> None:
    """Refuse, before any work, a path :func:`write_atomically` could not write: one
    ending in a slash, a folder, or one in a folder that does not exist."""
    text = str(path)
    if text.endswith(("/", os.sep)):
        raise RenderError(f"cannot write {text!r}: it names a folder; name a file")
    target = _destination(Path(path))
    if target.is_dir():
        raise RenderError(f"cannot write {text!r}: it is a folder; name a file")
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise RenderError(f"cannot write {text!r}: folder {str(folder)!r} does not exist")


def write_atomically(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: readers see the
    old file or the new one, never half of one. A new file gets the permissions the umask
    gives; a replaced file keeps its own. Through a symbolic link, the file it leads to is
    written; anything but a regular file (a folder, device, pipe or socket) is refused."""
    path = Path(path)
    target = _destination(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise RenderError(f"cannot write {str(path)!r}: folder {str(folder)!r} does not exist")
    mode = _mode_for(target)
    try:
        # The name cut short: a name near the system's limit must not fail for its temporary.
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{target.name[:100]}.", suffix=".tmp")
    except OSError as err:
        raise RenderError(f"cannot write {str(path)!r}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), mode)  # mkstemp makes the file 0600
            out.write(data)
        os.replace(temporary, target)
    except BaseException as err:  # Ctrl-C too: no temporary file is left behind
        with suppress(OSError):
            os.unlink(temporary)
        if isinstance(err, OSError):  # a full disk, a file size limit, …
            raise RenderError(f"cannot write {str(path)!r}: {err.strerror or err}") from None
        raise


def render(g, path, *, show: str = "all", engine: str = "bundled", format: str | None = None,
           compact: bool | None = None, dpi: int | None = None, size=None, values: str = "auto",
           highlight: str = "all", title: str | None = None) -> Path:
    """Draw evaluated graph ``g`` into ``path``; the format comes from the suffix.

    ``.html`` writes the explorer, an interactive page of the figure (see
    :mod:`graphviz_bp.explorer`) named ``title`` (by default the file's name).

    >>> from graphviz_bp import losses, render
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "autoencoder.svg"
    >>> render(losses.autoencoder(), out).read_text().count('class="node')
    8
    """
    fmt = format_of(path, format)
    g = graph_of(g)
    if fmt in WRITERS:
        data = WRITERS[fmt](g, title=Path(path).stem if title is None else title, show=show,
                            compact=compact, values=values, highlight=highlight,
                            engine=engine).encode()
    else:
        data = draw(to_dot(g, show=show, compact=compact, values=values, highlight=highlight),
                    fmt, engine, dpi=dpi, size=size)
    write_atomically(path, data)
    return Path(path)


def graph_of(g) -> Graph:
    """``g`` itself, or the evaluated graph of a loss :class:`~graphviz_bp.graph.Expr`."""
    if isinstance(g, Expr):
        return Graph(g)
    if not isinstance(g, Graph):
        raise RenderError(f"a figure is drawn of a Graph (or of a loss built with "
                          f"graphviz_bp), not of {type(g).__name__}")
    return g


def svg_of(g: Graph) -> str:
    """The figure of ``g`` as SVG text: how a notebook shows an evaluated graph."""
    return draw(to_dot(g), "svg").decode()


Graph.display = svg_of  # the engine's notebook hook (the engine itself draws nothing)
