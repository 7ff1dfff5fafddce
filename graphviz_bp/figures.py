"""The figures of every built-in loss, as committed in ``figures/``."""

from __future__ import annotations

from pathlib import Path

from . import losses
from .dot import to_dot
from .drawing import draw, write_atomically
from .errors import RenderError

__all__ = ["write_figures", "VARIANTS"]


#: The figures of each built-in: file stem suffix → what it shows.
VARIANTS = {"": "all", "-formulas": "values,formulas"}


def write_figures(out_dir="figures", *, engine: str = "bundled", formats=("svg",)) -> list[Path]:
    """Write ``<name>.gv`` and ``<name>.<format>`` for every built-in loss at its defaults,
    and ``<name>-formulas.*`` with each edge's gradient as a formula beside its values.

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
    for name, build in losses.BUILTINS.items():
        g = build()
        for suffix, show in VARIANTS.items():
            source = to_dot(g, show=show)
            write_atomically(out / f"{name}{suffix}.gv", source.encode())
            written.append(out / f"{name}{suffix}.gv")
            for fmt in formats:
                path = out / f"{name}{suffix}.{fmt}"
                write_atomically(path, draw(source, fmt, engine))
                written.append(path)
    return written
