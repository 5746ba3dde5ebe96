"""Two runs of ``gencor bench real`` side by side: the photos whose decision, chosen candidate or
candidate kernels changed, so that only those need new verdicts by eye (docs/bench/real.md).

A candidate's kernel counts as changed when its similarity to the old one is under
``--same`` (``gencor.metrics.kernel_similarity``, which is blind to padding and shifts).

    python scripts/experiments/real_compare.py docs/bench/real /tmp/real_new/real
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from gencor.metrics import kernel_similarity


def changes(old: Path, new: Path, photo: str, same: float) -> tuple[str, list[str]]:
    """The decision of ``photo`` in both runs, and its candidates whose kernels differ."""
    before, after = json.loads((old / f"{photo}.json").read_text()), json.loads((new / f"{photo}.json").read_text())
    k_old, k_new = np.load(old / f"{photo}_kernels.npz"), np.load(new / f"{photo}_kernels.npz")
    diffs = []
    for name in k_new.files:
        if name not in k_old.files:
            diffs.append(f"{name}: new")
            continue
        sim = kernel_similarity(k_old[name], k_new[name])
        if sim < same:
            diffs.append(f"{name}: {k_old[name].shape[0]} -> {k_new[name].shape[0]} px, similarity {sim:.3f}")
    decision = " -> ".join(f"{r['decision']} ({r['candidate']}, {r['confidence']:.2f})" for r in (before, after))
    if (before["decision"], before["candidate"]) != (after["decision"], after["candidate"]):
        diffs.insert(0, "decision")
    return decision, diffs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path, help="folder of the earlier run's reports (NAME.json, NAME_kernels.npz)")
    ap.add_argument("new", type=Path, help="folder of the new run's reports")
    ap.add_argument("--same", type=float, default=0.98, help="kernels at least this similar count as the same (default 0.98)")
    args = ap.parse_args()
    photos = sorted((p.stem for p in args.new.glob("*.json")), key=str.lower)
    changed = 0
    for photo in photos:
        decision, diffs = changes(args.old, args.new, photo, args.same)
        if diffs:
            changed += 1
            print(f"{photo}: {decision}; " + "; ".join(diffs))
    print(f"{changed} of {len(photos)} photos changed")


if __name__ == "__main__":
    main()
