"""The figures of every built-in loss, as committed in ``figures/``."""

from __future__ import annotations

from pathlib import Path

from . import losses
from .dot import to_dot
from .drawing import draw, write_atomically
from .errors import RenderError

__all__ = ["write_figures", "gallery_sources", "VARIANTS", "GALLERY"]


#: The figures of each built-in: file stem suffix → what it shows.
VARIANTS = {"": "all", "-formulas": "values,formulas"}

#: The README's gallery, one figure per view: file stem → (built-in, its sizes, options
#: of :func:`~graphviz_bp.dot.to_dot`).
GALLERY = {
    "gallery-heatmap": ("autoencoder", {"m": 16, "n": 12}, {}),
    "gallery-summary": ("autoencoder", {"m": 16, "n": 12}, {"values": "summary"}),
    "gallery-structure": ("gplvm", {}, {"show": "structure"}),
    "gallery-params": ("gplvm", {}, {"highlight": "params"}),
    "gallery-folded": ("fc-net", {"hidden_dims": (4,) * 30}, {}),
}


def write_figures(out_dir="figures", *, engine: str = "bundled", formats=("svg",)) -> list[Path]:
    """Write ``<name>.gv`` and ``<name>.<format>`` for every built-in loss at its defaults,
    ``<name>-formulas.*`` with each edge's gradient as a formula beside its values, and
    the gallery's figures (:data:`GALLERY`).

    Returns the paths written, in the order of :data:`graphviz_bp.losses.BUILTINS`.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise RenderError(f"cannot write the figures into {str(out)!r}: it is a file, "
                          f"not a folder; name a folder (it is made if missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # no permission, a file where a parent folder should be, …
        raise RenderError(f"cannot make the folder {str(out)!r}: {err.strerror}") from None
    written = []

    def write(stem: str, source: str) -> None:
        write_atomically(out / f"{stem}.gv", source.encode())
        written.append(out / f"{stem}.gv")
        for fmt in formats:
            path = out / f"{stem}.{fmt}"
            write_atomically(path, draw(source, fmt, engine))
            written.append(path)

    for name, build in losses.BUILTINS.items():
        g = build()
        for suffix, show in VARIANTS.items():
            write(f"{name}{suffix}", to_dot(g, show=show))
    for stem, source in gallery_sources().items():
        write(stem, source)
    return written


def gallery_sources() -> dict[str, str]:
    """The DOT source of each figure of :data:`GALLERY`."""
    return {stem: to_dot(losses.BUILTINS[name](**sizes), **options)
            for stem, (name, sizes, options) in GALLERY.items()}
