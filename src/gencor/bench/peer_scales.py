"""Per-scale dumps of ``gencor bench peers --dump-scales DIR``: where gencor's kernel leaves the peer's.

Per case: ``PHOTO.png``, a strip of every program's kernel at every scale of its pyramid (each
scaled to its own maximum), with the true kernel at the end; ``PHOTO_scales.csv``, for each gencor
program and peer, at each of gencor's scales, the similarity of the two kernels (both resampled to
the larger of their sizes; the peer's scale of the nearest kernel size), each one's similarity to
the true kernel resampled to that size, and their supports. ``scales.md`` then lists, on the cases
where a peer's final kernel is closer to the truth than gencor's, the first scale where gencor's
kernel leaves the peer's (similarity under :data:`LEAVES`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from gencor.bench.common import Row, markdown_table, save_figure, write_csv
from gencor.bench.partial import existing_rows
from gencor.bench.peer_cases import odd_extent
from gencor.io import write_text
from gencor.kernels.estimate import resize_kernel
from gencor.metrics import kernel_similarity

if TYPE_CHECKING:
    from gencor.bench.peer_cases import PeerCase
    from gencor.bench.peers import Outcome

#: Two kernels of one scale whose similarity falls under this have parted.
LEAVES = 0.7
#: gencor's kernel is behind the peer's at a scale where its similarity to the truth is lower by more than this.
BEHIND = 0.05
#: Taps at or above this share of the kernel's maximum make its support.
SUPPORT_SHARE = 0.05
#: Side of each kernel's panel in the strip, in inches, and the strip's resolution.
PANEL = 0.9
STRIP_DPI = 80
SCALE_COLUMNS = [
    "photo",
    "gencor",
    "peer",
    "scale",
    "gencor_size",
    "peer_size",
    "similarity",
    "gencor_vs_truth",
    "peer_vs_truth",
    "gencor_support",
    "peer_support",
    "gencor_zero_share",
]
PEER_NAMES = ("ipol", "hn")


def file_stem(photo: str) -> str:
    """A case's name as a file name."""
    return photo.replace("/", "_")


def support(k: np.ndarray) -> int:
    """The side of the support of ``k``: taps at or above ``SUPPORT_SHARE`` of its maximum."""
    ys, xs = np.nonzero(k >= SUPPORT_SHARE * k.max()) if k.max() > 0 else (np.zeros(1), np.zeros(1))
    return int(max(np.ptp(ys), np.ptp(xs)) + 1)


def truth_window(kernel: np.ndarray, size: int) -> np.ndarray:
    """The true kernel in a ``size x size`` window around the centre of its support (the window
    every program estimated on)."""
    ys, xs = np.nonzero(kernel > 0)
    cy, cx = (ys.min() + ys.max()) // 2, (xs.min() + xs.max()) // 2
    padded = np.pad(kernel, size)
    top, left = cy + size - size // 2, cx + size - size // 2
    return padded[top : top + size, left : left + size]


def scale_rows(case: PeerCase, gencor: str, gscales: Sequence[np.ndarray], peer: str, pscales: Sequence[np.ndarray], size: int) -> list[Row]:
    """One row per scale of gencor's pyramid against the peer's scale of the nearest size."""
    truth = truth_window(case.kernel, size)
    sizes = np.array([k.shape[0] for k in pscales])
    rows = []
    for i, kg in enumerate(gscales):
        kp = pscales[int(np.argmin(np.abs(sizes - kg.shape[0])))]
        m = max(kg.shape[0], kp.shape[0])
        rows.append(
            {
                "photo": case.photo,
                "gencor": gencor,
                "peer": peer,
                "scale": i,
                "gencor_size": kg.shape[0],
                "peer_size": kp.shape[0],
                "similarity": kernel_similarity(resize_kernel(kg, m), resize_kernel(kp, m)),
                "gencor_vs_truth": kernel_similarity(kg, resize_kernel(truth, kg.shape[0])),
                "peer_vs_truth": kernel_similarity(kp, resize_kernel(truth, kp.shape[0])),
                "gencor_support": support(kg),
                "peer_support": support(kp),
                "gencor_zero_share": float(np.mean(kg <= 0)),
            }
        )
    return rows


def dump_case(folder: Path, case: PeerCase, outcomes: dict[str, Outcome]) -> None:
    """Write the strip and the per-scale CSV of one case."""
    with_scales = {name: out.scales for name, out in outcomes.items() if out.scales}
    if not with_scales:
        return
    _, size = odd_extent(case.kernel)
    _strip(folder / f"{file_stem(case.photo)}.png", case, with_scales, size)
    rows = [
        row
        for g, gs in with_scales.items()
        if g not in PEER_NAMES
        for p, ps in with_scales.items()
        if p in PEER_NAMES
        for row in scale_rows(case, g, gs, p, ps, size)
    ]
    write_csv(folder, f"{file_stem(case.photo)}_scales", rows, SCALE_COLUMNS)


def _strip(path: Path, case: PeerCase, scales: dict[str, list[np.ndarray]], size: int) -> None:
    cols = max(len(s) for s in scales.values())
    fig = Figure(figsize=(PANEL * cols + 1.2, PANEL * (len(scales) + 1)))
    axes = fig.subplots(len(scales) + 1, cols, squeeze=False)
    panels = [*scales.items(), ("truth", [truth_window(case.kernel, size)])]
    for r, (name, kernels) in enumerate(panels):
        for c in range(cols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(kernels):
                ax.imshow(kernels[c] / max(kernels[c].max(), 1e-12), cmap="gray", interpolation="nearest")
                ax.set_title(f"{kernels[c].shape[0]} px", fontsize=6)
            else:
                ax.axis("off")
        axes[r][0].set_ylabel(name, fontsize=7)
    fig.suptitle(case.photo, fontsize=8)
    save_figure(path, fig, dpi=STRIP_DPI)


def first_departure(scale_table: Sequence[Row]) -> Row | None:
    """The first scale whose similarity falls under ``LEAVES`` (``None``: the two never part)."""
    return next((r for r in sorted(scale_table, key=lambda r: r["scale"]) if r["similarity"] < LEAVES), None)


def first_behind(scale_table: Sequence[Row]) -> Row | None:
    """The first scale from which gencor's kernel stays farther from the truth than the peer's by
    more than ``BEHIND`` (``None``: it never falls behind for good)."""
    ordered = sorted(scale_table, key=lambda r: r["scale"])
    behind = [r["peer_vs_truth"] - r["gencor_vs_truth"] > BEHIND for r in ordered]
    return next((r for i, r in enumerate(ordered) if all(behind[i:])), None)


def _pair_row(photo: str, g: str, p: str, sg: float, sp: float, pair: list[Row]) -> Row:
    pair = sorted(pair, key=lambda t: t["scale"])
    first, behind, last = first_departure(pair), first_behind(pair), pair[-1]
    return {
        "photo": photo,
        "gencor": g,
        "peer": p,
        "final_gencor": sg,
        "final_peer": sp,
        "sizes_coarsest": f"{pair[0]['gencor_size']}/{pair[0]['peer_size']}",
        "scales": len(pair),
        "parts_at": "never" if first is None else f"{first['scale']} ({first['gencor_size']}/{first['peer_size']})",
        "similarity_there": "" if first is None else first["similarity"],
        "behind_from": "never" if behind is None else f"{behind['scale']} ({behind['gencor_size']}/{behind['peer_size']})",
        "support_final": f"{last['gencor_support']}/{last['peer_support']}",
        "zero_share_final": last["gencor_zero_share"],
    }


SUMMARY_COLUMNS = [
    "photo",
    "gencor",
    "peer",
    "final_gencor",
    "final_peer",
    "sizes_coarsest",
    "scales",
    "parts_at",
    "similarity_there",
    "behind_from",
    "support_final",
    "zero_share_final",
]


def scale_summary(folder: Path, rows: Sequence[Row]) -> str:
    """``scales.md``: on the cases where a peer's final kernel beats a gencor program's, where
    they part, from which scale gencor's kernel stays farther from the truth, and the supports of
    both final kernels."""
    final = {(r["photo"], r["program"]): r.get("similarity") for r in rows}
    found = []
    for photo in dict.fromkeys(r["photo"] for r in rows):
        table = existing_rows(folder, f"{file_stem(photo)}_scales", SCALE_COLUMNS)
        for g, p in dict.fromkeys((t["gencor"], t["peer"]) for t in table):
            sg, sp = final.get((photo, g)), final.get((photo, p))
            if isinstance(sg, float) and isinstance(sp, float) and sp > sg:
                found.append(_pair_row(photo, g, p, sg, sp, [t for t in table if (t["gencor"], t["peer"]) == (g, p)]))
    lines = []
    for g, p in dict.fromkeys((f["gencor"], f["peer"]) for f in found):
        cases = [f for f in found if (f["gencor"], f["peer"]) == (g, p)]
        parts = [f["parts_at"].split(" ")[0] for f in cases]
        from_finest = [f["scales"] - 1 - int(x) for f, x in zip(cases, parts, strict=True) if x != "never"]
        ratio = [int(a) / max(int(b), 1) for a, b in (f["support_final"].split("/") for f in cases)]
        lines.append(
            f"- {g} against {p}: {len(cases)} cases where {p} is closer to the truth. They part at the coarsest scale in "
            f"{parts.count('0')}, never in {parts.count('never')}; scales before the finest where they part: median "
            f"{np.median(from_finest) if from_finest else float('nan'):.1f}. gencor's final support / the peer's: median {np.median(ratio):.2f}, "
            f"under 0.8 in {sum(r < 0.8 for r in ratio)}; gencor's final kernel is zero on a median {np.median([f['zero_share_final'] for f in cases]):.2f} "
            "of its taps."
        )
    text = (
        "# Where gencor's kernel leaves the peer's\n\nCases where the peer's final kernel is closer to the truth than gencor's. "
        f"Scale 0 is the coarsest; sizes are gencor/peer. parts_at: the first scale where the two kernels' similarity (both resampled to the "
        f"larger size) falls under {LEAVES}; behind_from: the scale from which gencor's kernel stays farther from the truth (resampled to its "
        f"size) than the peer's by more than {BEHIND}; support: side of the taps >= {SUPPORT_SHARE} of the maximum; zero share: gencor's "
        "exactly-zero taps. The per-scale tables are the PHOTO_scales.csv files beside this one, the kernels the PHOTO.png strips.\n\n"
        + "\n".join(lines)
        + "\n\n"
        + markdown_table(found, SUMMARY_COLUMNS)
    )
    write_text(folder / "scales.md", text)
    return text
