"""Lineage's result for a reader: what fine-tuning changed, in lines, and the per-block drift figure.

Owns ``rows_line`` and ``flag_lines`` (the text embedding's new rows and the flags of the
comparison with the nearest base, one line each) and ``plot_drift`` (the relative change per
block against each base, with the verdict bar). Apart from ``f5lab.compat.lineage`` because
it only renders a finished ``Lineage`` (for the CLI and notebook 02) and is where matplotlib
is reached; the comparison and the verdict never need it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from f5lab.compat.lineage import MAX_DISTANCE, UNRELATED, Lineage, RowReport, _g, block_rank


# -- in words ---------------------------------------------------------------------------------------------
def rows_line(rows: RowReport) -> str:
    """The text embedding's new rows, in one line."""
    if not rows.new:
        return (f"text embedding: {rows.shared} rows compared by {rows.by}, no new token"
                + (f"; {rows.dropped} of the base's tokens dropped" if rows.dropped else ""))
    parts = [f"{rows.new_trained} trained (their direction changed)" if rows.new_trained else "",
             f"{rows.new_untrained} untrained ({rows.new_at_init} exactly f5-tts's initialisation, "
             f"{rows.new_rescaled} only shrunk by weight decay)" if rows.new_untrained else "",
             f"{rows.new_unknown} not recognisably f5-tts's initialisation (torch.randn, seed 666): trained far, "
             "or initialised another way" if rows.new_unknown else ""]
    median = (f"; median change {100 * rows.new_median_change:.2g}% of their norm, shared rows "
              f"{100 * (rows.shared_median_change or 0):.2g}%" if rows.new_median_change is not None else "")
    return (f"text embedding: {rows.new} new rows (tokens the base lacks, matched by {rows.by}): "
            + ", ".join(p for p in parts if p) + median)


def flag_lines(lin: Lineage) -> list[str]:
    """What the comparison with the nearest base says about the fine-tuning, one line each."""
    near, f = lin.nearest, lin.flags
    if near is None:
        return []
    out = []
    if f.get("identical"):
        how = ("every tensor equal" if near.unchanged == near.tensors
               else f"relative distance {near.distance:.1g}, rounding, not training")
        out.append(f"this file is the base: identical to {near.name} ({how}): nothing was fine-tuned")
    elif near.frozen:
        from f5lab.files.keys import group_keys

        where = "in the raw weights" if near.raw is not None else "in the weights"
        out.append(f"{len(near.frozen)} of {near.tensors} tensors did not move at all {where} (frozen): "
                   + ", ".join(group_keys(near.frozen)[:4]))
    if f.get("ema_equals_base") or f.get("ema_equals_init"):
        out.append(f"the EMA still equals the base ({near.name}; relative distance {_g(near.distance)}) while the raw "
                   f"weights moved (distance {_g(near.raw['distance'] if near.raw else None)}): inference (EMA) runs "
                   "the base: export the raw weights or train past f5-tts's EMA warm-up")
    elif f.get("ema_equals_raw"):
        out.append("the EMA weights equal the raw weights: the EMA was still copying them (f5-tts's EMA copies "
                   "until its update 100) or was never kept apart")
    elif f.get("ema_progress") is not None and f["ema_progress"] < 0.25:
        out.append(f"the EMA weights moved {100 * f['ema_progress']:.2g}% as far from the base as the raw weights: "
                   "inference (EMA) runs mostly the base")
    if near.rows is not None and (near.rows.new or near.rows.dropped or near.rows.by == "index"):
        out.append(rows_line(near.rows))
    return out


DRIFT_FLOOR = 1e-7  # where an unchanged block (distance 0) is drawn on the log axis


def plot_drift(lin: Lineage) -> Any:
    """The relative change per block, blocks on the x axis (data-flow order), one line per base, on a
    log axis with the verdict bar and the distance of unrelated weights drawn across."""
    from matplotlib.figure import Figure

    blocks = sorted({row["block"] for b in lin.bases for row in b.blocks}, key=block_rank)
    labels = [f"block {blk.split('.')[1]}" if blk.split(".")[-1].isdigit() else blk for blk in blocks]
    fig = Figure(figsize=(max(6.0, 0.32 * len(blocks) + 3), 4.4))
    ax = fig.add_subplot()
    x = list(range(len(blocks)))
    zero = False
    for b in lin.bases:
        by = {row["block"]: row["distance"] for row in b.blocks}
        ys = [by.get(blk) for blk in blocks]
        zero = zero or any(y == 0 for y in ys)
        ax.plot(x, [math.nan if y is None else max(y, DRIFT_FLOOR) for y in ys], marker="o", ms=3,
                label=f"{b.name} ({b.config or '?'}): {_g(b.distance)} over the model")
    ax.set_yscale("log")
    for level, text, style in ((UNRELATED, f"unrelated weights of the same scale ({UNRELATED:.2f})", ":"),
                               (MAX_DISTANCE, f"verdict bar: the nearest base at most {MAX_DISTANCE:g}", "--")):
        ax.axhline(level, color="grey", ls=style, lw=1, label=text)
    ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("relative distance ||a-b|| / ||b||", fontsize=8)
    ax.set_title(f"what changed, per block: {Path(lin.path).name} against each base"
                 + (f" (0 drawn at {DRIFT_FLOOR:g})" if zero else ""), fontsize=9)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.14, 1, 1))  # the legend below the block names
    return fig
