"""The package's figure style: sizes, colours and a few axis helpers shared by every plot.

Figures are built on :class:`matplotlib.figure.Figure` with the Agg canvas, never through
``pyplot``, so no global figure state is created and nothing opens a window. Draw inside
:func:`style` (or on axes from :func:`new_axes`) to get large type for slides, a light grid
and the colour-blind safe :data:`PALETTE`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

__all__ = [
    "PALETTE",
    "SLIDE_SIZE_IN",
    "STYLE_RC",
    "TARGET_COLOR",
    "add_note",
    "axes_or_new",
    "date_axis",
    "legend_outside",
    "month_dates",
    "new_axes",
    "new_figure",
    "percent_axis",
    "role_colors",
    "style",
]

SLIDE_SIZE_IN = (11.0, 6.2)
"""Default figure size, inches: about 16:9, readable on a slide at 150 dpi."""

PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # green
    "#CC79A7",  # pink
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#8C6D31",  # brown
    "#332288",  # indigo
    "#999999",  # grey
)
"""Colour-blind safe colours (Okabe-Ito, extended), used in this order everywhere."""

TARGET_COLOR = "#C0392B"
"""Colour of target lines and trajectories."""

STYLE_RC: Mapping[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 13,
    "axes.titlesize": 16,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 12,
    "axes.labelsize": 14,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.8,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 12,
    "legend.frameon": False,
    "lines.linewidth": 2.2,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "svg.fonttype": "path",
    # SVG element ids are salted from this (random when unset): the same figure, the same bytes.
    "svg.hashsalt": "ipcsim",
}
"""matplotlib settings every figure is drawn with (large type for slides, light grid)."""


# --------------------------------------------------------------------------- style
@contextmanager
def style() -> Iterator[None]:
    """Draw inside this context to get the package's figure style (:data:`STYLE_RC`)."""
    with matplotlib.rc_context(dict(STYLE_RC)):  # type: ignore[arg-type]
        yield


def new_figure(figsize: tuple[float, float] = SLIDE_SIZE_IN) -> Figure:
    """A fresh figure on the Agg canvas (no pyplot, no window), in the package style.

    Parameters
    ----------
    figsize
        Figure size, inches.

    Returns
    -------
    Figure
        With constrained layout; save it with ``figure.savefig``.
    """
    with style():
        figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def new_axes(figsize: tuple[float, float] = SLIDE_SIZE_IN) -> Axes:
    """A fresh Axes on its own Agg-backed figure (no pyplot state).

    Parameters
    ----------
    figsize
        Figure size, inches.

    Returns
    -------
    Axes
        The figure's only Axes; ``ax.figure`` can be saved with ``savefig``.
    """
    figure = new_figure(figsize)
    with style():
        return figure.add_subplot()


def axes_or_new(ax: Axes | None, figsize: tuple[float, float] = SLIDE_SIZE_IN) -> Axes:
    """``ax``, or a new Axes of size ``figsize`` (inches) when ``ax`` is ``None``."""
    return new_axes(figsize) if ax is None else ax


def role_colors(roles: Sequence[str]) -> dict[str, str]:
    """A stable colour per role: roles sorted by name take :data:`PALETTE` in order.

    Parameters
    ----------
    roles
        Role names (any order; duplicates ignored).

    Returns
    -------
    dict
        Role -> hex colour; the same role gets the same colour whatever else is in ``roles``
        as long as the sorted set is the same, so every figure of one scenario agrees.
    """
    ordered = sorted(set(roles))
    return {role: PALETTE[i % len(PALETTE)] for i, role in enumerate(ordered)}


def month_dates(values: Sequence[Any] | pd.Series | pd.Index) -> np.ndarray:
    """ISO date strings (or dates) as numpy ``datetime64[D]``."""
    return pd.to_datetime(pd.Series(list(values))).to_numpy(dtype="datetime64[D]")


def date_axis(ax: Axes) -> None:
    """Concise date ticks (4 to 10 of them) on the x axis of ``ax``."""
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def percent_axis(ax: Axes, axis: Literal["x", "y"] = "y") -> None:
    """Tick labels of ``axis`` as whole percentages (values already in percent)."""
    formatter = FuncFormatter(lambda v, _pos: f"{v:.0f}%")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def add_note(ax: Axes, text: str) -> None:
    """A small grey note under the plot area (sources, definitions)."""
    ax.annotate(
        text,
        xy=(0.0, 0.0),
        xycoords="axes fraction",
        xytext=(0, -52),
        textcoords="offset points",
        ha="left",
        va="top",
        fontsize=10.5,
        color="#555555",
        annotation_clip=False,
    )


def legend_outside(ax: Axes, *, wrap: int = 32, **kwargs: Any) -> None:
    """The legend of ``ax`` right of its plotting area, so that it hides no data.

    Parameters
    ----------
    ax
        Axes with labelled artists (on a figure with constrained layout, which makes room).
    wrap
        Labels longer than this many characters are broken over lines, to keep the legend
        narrow and the plotting area wide.
    **kwargs
        Passed to ``ax.legend`` (``title``, ``title_fontsize``...).
    """
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(
        handles,
        [textwrap.fill(label, wrap) for label in labels],
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        borderaxespad=0.0,
        **kwargs,
    )
