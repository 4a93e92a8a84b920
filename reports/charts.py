"""The report's plots: small matplotlib figures rendered to inline SVG (no script, no network,
readable without hover: every line's last value is written at its end)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
                     "axes.spines.right": False})  # fmt: skip
SIZE = (6.4, 2.6)


def to_svg(figure) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight")
    plt.close(figure)
    svg = out.getvalue()
    return svg[svg.index("<svg") :]  # inline: no XML prolog or doctype


def lines_over_nights(
    title: str, nights: Sequence[date], series: Mapping[str, Mapping[date, float]], fmt: str
) -> str:
    """One line per series over the nights (gaps where a night has no value)."""
    figure, ax = plt.subplots(figsize=SIZE)
    for name, values in series.items():
        ys = [values.get(d, np.nan) for d in nights]
        ax.plot(nights, ys, marker="o", markersize=3, label=name)
        known = [(d, v) for d, v in values.items() if d in set(nights)]
        if known:
            last_day, last = max(known)
            ax.annotate(format(last, fmt), (last_day, last), textcoords="offset points",
                        xytext=(4, 0), va="center", fontsize=8)  # fmt: skip
    by_night(ax, nights)
    finish(figure, ax, title, legend=len(series) > 1)
    return to_svg(figure)


def by_night(ax, nights: Sequence[date]) -> None:
    """An x axis of whole nights, month-day labels, the same span on every plot."""
    half = timedelta(hours=12)  # a date minus 12 hours is the same date: take midnights
    ax.set_xlim(
        datetime.combine(nights[0], time()) - half, datetime.combine(nights[-1], time()) + half
    )
    ax.xaxis.set_major_locator(mdates.DayLocator(interval=max(1, len(nights) // 10)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m-%d"))


def stacked_bars(
    title: str, nights: Sequence[date], series: Mapping[str, Mapping[date, float]]
) -> str:
    """One bar per night, stacked by series (e.g. rejected records by reason)."""
    figure, ax = plt.subplots(figsize=SIZE)
    bottom = np.zeros(len(nights))
    for name, values in series.items():
        heights = np.array([values.get(d, 0) for d in nights], dtype=float)
        ax.bar(nights, heights, bottom=bottom, label=name, width=0.8)
        bottom += heights
    for d, total in zip(nights, bottom, strict=True):
        if total:
            ax.annotate(f"{total:,.0f}", (d, total), ha="center", va="bottom", fontsize=7)
    by_night(ax, nights)
    finish(figure, ax, title, legend=bool(series))
    return to_svg(figure)


def histogram(title: str, values: np.ndarray, xlabel: str, bins: int = 30) -> str:
    figure, ax = plt.subplots(figsize=SIZE)
    ax.hist(values, bins=bins, color="#4c72b0")
    ax.axvline(float(np.median(values)), color="#c44e52", linestyle="--")
    ax.annotate(f"median {np.median(values):.3f} ({len(values):,} users)",
                (float(np.median(values)), 0), xytext=(4, 4), textcoords="offset points",
                ha="left", va="bottom", fontsize=8, color="#c44e52")  # fmt: skip
    ax.set_xlabel(xlabel)
    finish(figure, ax, title, legend=False)
    return to_svg(figure)


def per_epoch(title: str, history: Sequence[Mapping[str, float]], keys: Sequence[str]) -> str:
    """Training curves: each key per epoch, in its own panel (they have different scales)."""
    figure, axes = plt.subplots(1, len(keys), figsize=SIZE)
    for ax, key in zip(np.atleast_1d(axes), keys, strict=True):
        epochs = [r["epoch"] for r in history]
        values = [r[key] for r in history]
        ax.plot(epochs, values, marker="o", markersize=3)
        ax.set_title(key, fontsize=9)
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        if values:
            ax.annotate(f"{values[-1]:.4f}", (epochs[-1], values[-1]), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=8)  # fmt: skip
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return to_svg(figure)


def finish(figure, ax, title: str, legend: bool) -> None:
    ax.set_title(title, fontsize=10)
    if legend:
        ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.1, 1.0))
    figure.autofmt_xdate()
