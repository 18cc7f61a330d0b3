"""A small PNG chart of a series' history, attached to figure alerts (email, json).

matplotlib is imported lazily (it costs ~0.3 s) and always with the Agg backend, so the daemon
starts fast and never needs a display. The caller owns the returned file; `chart_file` deletes it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

MAX_POINTS = 24
_lock = threading.Lock()  # pyplot's state machine is not thread-safe; the OO API plus a lock is


def render_chart(points: Sequence[tuple[str, float | None]], title: str = "", unit: str | None = None) -> bytes | None:
    """PNG bytes of a bar chart of (period label, value); None when fewer than 2 values exist."""
    values = [(label, float(v)) for label, v in points if v is not None][-MAX_POINTS:]
    if len(values) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    import io

    with _lock:
        fig = Figure(figsize=(6, 3), dpi=80)
        ax = fig.subplots()
        labels = [label for label, _ in values]
        ax.bar(range(len(values)), [v for _, v in values], color="#3b6ea5")
        ax.set_xticks(range(len(values)), labels, rotation=45, ha="right", fontsize=7)
        ax.set_title(title[:80], fontsize=9)
        if unit:
            ax.set_ylabel(unit, fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()


@contextlib.contextmanager
def chart_file(points: Sequence[tuple[str, float | None]], title: str = "", unit: str | None = None) -> Iterator[Path | None]:
    """A temporary PNG file of the chart (None when there is nothing to plot), removed on exit."""
    png = render_chart(points, title, unit)
    if png is None:
        yield None
        return
    fd, name = tempfile.mkstemp(prefix="soe-chart-", suffix=".png")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(png)
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
