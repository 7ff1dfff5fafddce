"""Drawing DOT with Graphviz (the bundled engine or the system's ``dot``), and writing files.

Two engines draw: ``"bundled"`` (default), the Graphviz inside pygraphviz's wheels,
in-process with no system package; and ``"system"``, the ``dot`` on PATH through the
``graphviz`` package. Files are written whole or not at all, with the permissions a
new file gets from the umask, or those of the file replaced.
"""

from __future__ import annotations

import os
import stat
import tempfile
import warnings
from contextlib import contextmanager
from pathlib import Path

import graphviz

from .dot import to_dot
from .engine import Graph
from .errors import EngineNotFoundError, RenderError, check_choice

__all__ = ["draw", "render", "write_atomically", "format_of", "svg_of", "FORMATS", "ENGINES",
           "SUFFIXES", "RenderWarning"]

FORMATS = ("svg", "pdf", "png", "dot")
ENGINES = ("bundled", "system")
SUFFIXES = {".svg": "svg", ".pdf": "pdf", ".png": "png", ".gv": "dot", ".dot": "dot"}


class RenderWarning(UserWarning):
    """A message Graphviz printed while drawing (not shown on the terminal)."""


@contextmanager
def _captured_stderr():
    """Capture what C libraries write to file descriptor 2 (fontconfig complains there).

    Yields a function that returns what was written so far.
    """
    with tempfile.TemporaryFile(mode="w+b") as sink:
        try:
            saved = os.dup(2)
        except OSError:  # no stderr at all
            yield lambda: ""
            return

        def printed() -> str:
            sink.seek(0)
            return sink.read().decode(errors="replace")

        os.dup2(sink.fileno(), 2)
        try:
            yield printed
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def draw(source: str, fmt: str = "svg", engine: str = "bundled") -> bytes:
    """Lay out DOT ``source`` and draw it as ``fmt`` (svg, pdf, png) with ``engine``."""
    check_choice("format", fmt, FORMATS, RenderError)
    check_choice("engine", engine, ENGINES, RenderError)
    if fmt == "dot":
        return source.encode()
    if engine == "system":
        try:
            return graphviz.Source(source).pipe(format=fmt)
        except graphviz.ExecutableNotFound:
            raise EngineNotFoundError(
                "the system engine needs Graphviz's `dot` on PATH: install Graphviz "
                "(apt-get install graphviz, brew install graphviz, …) or use the bundled engine"
            ) from None
        except graphviz.CalledProcessError as err:
            lines = err.stderr.decode(errors="replace").strip().splitlines() or ["no message"]
            more = f" (and {len(lines) - 1} more lines)" if len(lines) > 1 else ""
            raise RenderError(f"dot failed: {lines[0].strip()}{more}") from None
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
            raise RenderError(f"Graphviz failed to draw the figure: {err}") from None
        messages = [line for line in printed().splitlines()
                    if line.strip() and "Fontconfig" not in line]
    for line in messages:
        warnings.warn(line, RenderWarning, stacklevel=2)
    return data


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


def write_atomically(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename: readers see the
    old file or the new one, never half of one. A new file gets the permissions the umask
    gives; a replaced file keeps its own."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise RenderError(f"cannot write {str(path)!r}: folder {str(folder)!r} does not exist")
    mode = _mode_for(path)
    try:
        fd, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as err:
        raise RenderError(f"cannot write {str(path)!r}: {err.strerror}") from None
    try:
        os.fchmod(fd, mode)  # mkstemp makes the file 0600
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def render(g, path, *, show: str = "all", engine: str = "bundled", format: str | None = None,
           compact: bool | None = None) -> Path:
    """Draw evaluated graph ``g`` into ``path``; the format comes from the suffix.

    >>> from graphviz_bp import losses, render
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "autoencoder.svg"
    >>> render(losses.autoencoder(), out).read_text().count('class="node')
    9
    """
    fmt = format_of(path, format)
    data = draw(to_dot(g, show=show, compact=compact), fmt, engine)
    write_atomically(path, data)
    return Path(path)


def svg_of(g: Graph) -> str:
    """The figure of ``g`` as SVG text: how a notebook shows an evaluated graph."""
    return draw(to_dot(g), "svg").decode()


Graph.display = svg_of  # the engine's notebook hook (the engine itself draws nothing)
