"""Try new evidence on the real photos, from the kernels that ``gencor bench real`` saved: the
kernel's extent and the sharpening (mean gradient on the input's strongest edges, output over
input), each added to the shipped features in a real-only logistic fit, five folds of whole photos.

    python scripts/experiments/real_evidence_cv.py --reports docs/bench/real --photos ../shared/data/real_lai16/blurry \
        --labels docs/bench/real_labels.csv
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from gencor.assess import BIAS, WEIGHTS, Evidence, _grad_mag
from gencor.bench.calibrate import FOLDS, fit_logistic, photo_folds, real_decision_line
from gencor.io import read_image
from gencor.kernels.size import kernel_extent
from gencor.layout import luminance
from gencor.tasks.deblur import ESTIMATION_WINDOW, MAX_AUTO_SIZE, _largest_size, best_window
from gencor.tasks.deconv import deconvolve

#: The input's strongest edges: this top share of its gradient magnitudes.
EDGE_SHARE = 0.1
KINDS = ("base", "base+extent", "base+sharpening", "base+extent+sharpening")


def measure(report: dict, kernels: dict[str, np.ndarray], photo: Path) -> dict[str, dict[str, float]]:
    """Extent and sharpening of every candidate, on the window the pipeline scores it on."""
    pic = read_image(photo)
    gray = luminance(pic.pixels) if pic.is_color else pic.pixels
    y = gray[best_window(gray, max(ESTIMATION_WINDOW, 4 * _largest_size(gray.shape, MAX_AUTO_SIZE)))]
    g_in = _grad_mag(y)
    edges = g_in >= np.quantile(g_in, 1 - EDGE_SHARE)
    out = {}
    for name, cand in report["candidates"].items():
        k = kernels[name.removesuffix(" conservative")]
        g_out = _grad_mag(deconvolve(y, k, lam=cand["lam"], method="hyper-laplacian").image)
        out[name] = {"extent": kernel_extent(k), "sharpening": float(g_out[edges].mean() / max(g_in[edges].mean(), 1e-6))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=Path, required=True)
    ap.add_argument("--photos", type=Path, required=True)
    ap.add_argument("--labels", type=Path, required=True)
    args = ap.parse_args()
    with args.labels.open(newline="") as fh:
        verdict = {(r["photo"], r["candidate"]): r["verdict"] for r in csv.DictReader(fh)}
    rows = []
    for path in sorted(args.reports.glob("*.json")):
        report = json.loads(path.read_text())
        npz = path.with_name(f"{path.stem}_kernels.npz")
        kernels = dict(np.load(npz)) if npz.exists() else {n: np.array(k) for n, k in report.get("kernels", {}).items()}
        if not kernels:
            continue
        extra = measure(report, kernels, args.photos / f"{path.stem}.jpg")
        for name, more in extra.items():
            if (path.stem, name) not in verdict:
                continue
            rows.append(
                {
                    "case": f"real:{path.stem}#0",
                    "verdict": verdict[(path.stem, name)],
                    "withheld": report.get("withheld", ""),
                    "base": Evidence.from_dict(report["candidates"][name]).vector(),
                    "extent": np.log(more["extent"]),
                    "sharpening": np.log(more["sharpening"]),
                }
            )
    print(f"{len(rows)} candidates of {len({r['case'] for r in rows})} photos")
    y = np.array([r["verdict"] == "better" for r in rows], dtype=float)
    folds = photo_folds([str(r["case"]) for r in rows], FOLDS)
    base = np.array([r["base"] for r in rows])
    shipped = 1 / (1 + np.exp(-(base @ np.array(WEIGHTS) + BIAS)))
    print("| fit | threshold | better | same | worse | unchanged | missed gains | possible |\n|---|---|---|---|---|---|---|---|")
    for t in (0.5, 0.6, 0.7):
        print(real_decision_line(t, shipped, rows, "shipped model"))
    for kind in KINDS:
        cols = [base] + [np.array([[r[name]] for r in rows]) for name in ("extent", "sharpening") if name in kind]
        x = np.hstack(cols)
        held = np.empty(len(rows))
        for f in range(FOLDS):
            w, b = fit_logistic(x[folds != f], y[folds != f])
            held[folds == f] = 1 / (1 + np.exp(-(x[folds == f] @ w + b)))
        for t in (0.4, 0.5, 0.6, 0.7):
            print(real_decision_line(t, held, rows, f"{kind}, real only, held out"))


if __name__ == "__main__":
    main()
