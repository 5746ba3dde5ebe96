"""``gencor bench calibrate``: fit the confidence model of :mod:`gencor.assess`.

Synthetic cases from scikit-image's sample photos (never evaluation data): random crops, our
camera-shake trajectories up to 75 px, noise from 0.002 to 0.02, a third with clipped lights,
8 bit. Every candidate kernel of the pipeline is applied to the whole crop and scored against the
sharp crop; the label is "better than the input by a clear margin". A logistic regression on the
measures of :class:`gencor.assess.Evidence` gives the weights that ``assess`` ships.
"""

from __future__ import annotations

import csv
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from gencor.assess import BIAS, FEATURES, TRUST_THRESHOLD, WEIGHTS, Evidence
from gencor.bench.common import Row, run_pool, write_tables
from gencor.bench.synthetic import VALIDATION_PHOTOS, Case, make_case
from gencor.metrics import image_scores, kernel_similarity
from gencor.tasks.deblur import deblur
from gencor.tasks.deconv import deconvolve

#: A candidate counts as good when it beats the input by this much (PSNR, dB).
GOOD_GAIN = 0.0
#: On real photos (``--real``), a candidate counts as good when its kernel matches the published
#: estimate this well (Lai et al.'s preferred method; not ground truth, but a fair guide).
REAL_GOOD_SIMILARITY = 0.6
#: Ridge weight of the logistic fit (features are of order 1).
RIDGE = 0.01
SIGMAS = (0.002, 0.005, 0.01, 0.02)
MAX_KERNELS = (31, 51, 75)
COLUMNS = ["case", "sigma", "max_kernel", "saturate", "candidate", "chosen_size", "kernel_extent", "kernel_similarity", "gain_db", *FEATURES]


def calibration_cases(*, seed: int, per_photo: int, photos: list[Path] | None = None) -> list[Case]:
    """``per_photo`` cases of each scikit-image sample photo, then one of each of ``photos``."""
    rng = np.random.default_rng(seed)
    cases = []
    for i, name in enumerate(VALIDATION_PHOTOS):
        for j in range(per_photo):
            cases.append(
                Case(
                    f"{name}#{j}",
                    f"skimage:{name}",
                    seed * 10000 + 100 * i + j,
                    float(rng.choice(SIGMAS)),
                    int(rng.choice(MAX_KERNELS)),
                    320,
                    "random",
                    bool(rng.uniform() < 1 / 3),
                )
            )
    for path in photos or []:
        sigma, size = float(rng.choice(SIGMAS)), int(rng.choice(MAX_KERNELS))
        cases.append(Case(f"{path.stem}#0", str(path), int(rng.integers(2**31)), sigma, size, 320, "random", bool(rng.uniform() < 1 / 3)))
    return cases


def _one(case: Case) -> list[Row]:
    sharp, blurred, k = make_case(case)
    result = deblur(blurred, force=True)
    before = image_scores(blurred, sharp)["psnr"]
    ys, xs = np.nonzero(k)
    rows = []
    for name, kernel in result.candidates.items():
        measures = result.report.candidates[name]
        ev = Evidence.from_dict(measures)
        gain = image_scores(deconvolve(blurred, kernel, lam=measures["lam"], method="hyper-laplacian").image, sharp)["psnr"] - before
        row: Row = {
            "case": case.name,
            "sigma": case.sigma,
            "max_kernel": case.max_kernel,
            "saturate": case.saturate,
            "candidate": name,
            "chosen_size": result.report.kernel_size,
            "kernel_extent": int(max(np.ptp(ys), np.ptp(xs)) + 1),
            "kernel_similarity": kernel_similarity(kernel, k),
            "gain_db": gain,
        }
        row.update(dict(zip(FEATURES, ev.vector().tolist(), strict=True)))
        rows.append(row)
    return rows


#: Folds of the cross-validation; each holds whole photos.
FOLDS = 5


def photo_folds(cases: list[str], folds: int) -> np.ndarray:
    """Fold of each case, by its photo (the name before ``#``): every crop of a photo lands in the
    same fold, so a held-out fold never shares a photo with the fitted ones."""
    photos = sorted({c.split("#")[0] for c in cases})
    index = {p: i % folds for i, p in enumerate(photos)}
    return np.array([index[c.split("#")[0]] for c in cases])


def _decision_line(t: float, gains: np.ndarray, conf: np.ndarray, rows: list[Row], fit: str) -> str:
    """What the pipeline does at threshold ``t``: the most trusted candidate of each case, or the
    input unchanged when even that one is below ``t``."""
    by_case: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_case.setdefault(str(r["case"]), []).append(i)
    kept = np.array([gains[j] if conf[j] >= t else 0.0 for j in (max(ii, key=lambda i: conf[i]) for ii in by_case.values())])
    return f"| {fit} | {t:.1f} | {np.mean(kept):.2f} | {int(np.sum(kept > 0.25))} | {int(np.sum(kept < -0.1))} | {kept.min():.2f} | {int(np.sum(kept == 0))} |"


def fit_logistic(x: np.ndarray, y: np.ndarray, ridge: float = RIDGE) -> tuple[np.ndarray, float]:
    """Weights and bias of a ridge-penalised logistic regression (BFGS on the mean log-loss), fitted
    on standardised features so the ridge treats them alike, returned for the raw features."""
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-12
    x = (x - mu) / sd

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ theta[1:] + theta[0]
        p = 1 / (1 + np.exp(-z))
        eps = 1e-9
        value = -np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)) + ridge * np.sum(theta[1:] ** 2)
        g = p - y
        grad = np.concatenate([[np.mean(g)], x.T @ g / len(y) + 2 * ridge * theta[1:]])
        return float(value), grad

    res = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="BFGS")
    w = res.x[1:] / sd
    return w, float(res.x[0] - np.dot(w, mu))


def _reports(folder: Path) -> list[tuple[Path, dict[str, Any], dict[str, Evidence]]]:
    """Each report of ``gencor bench real`` in ``folder`` (``*.json``), with the evidence of its
    candidates; a one-line error naming a file that is not such a report."""
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            report = json.loads(path.read_text())
            evidence = {name: Evidence.from_dict(cand) for name, cand in report["candidates"].items()}
        except (ValueError, TypeError, KeyError, AttributeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a report of 'gencor bench real' ({type(exc).__name__}: {exc})") from None
        found.append((path, report, evidence))
    if not found:
        raise ValueError(f"no reports (*.json) of 'gencor bench real' in {folder}")
    return found


def real_rows(folder: Path) -> list[Row]:
    """Candidates of ``gencor bench real`` reports that have a published kernel to compare with."""
    rows = []
    for path, report, evidence in _reports(folder):
        for name, cand in report["candidates"].items():
            if "published_similarity" in cand:
                ev = evidence[name]
                row: Row = {"case": f"real:{path.stem}", "candidate": name, "kernel_similarity": cand["published_similarity"]}
                row.update(dict(zip(FEATURES, ev.vector().tolist(), strict=True)))
                rows.append(row)
    return rows


#: Verdicts by eye of a real-photo candidate against the input (``docs/bench/real_labels.csv``).
VERDICTS = ("better", "same", "worse")


#: The columns of the file of verdicts by eye (``--real-labels``).
LABEL_COLUMNS = ("photo", "candidate", "verdict")


def read_table(path: Path, needed: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows of the CSV file ``path``, which must have the columns ``needed``; a one-line error
    naming the file otherwise (an empty file, another table, a file that is not text)."""
    try:
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in needed if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path}: not a table with the columns {', '.join(needed)} (missing {', '.join(missing)})")
            return [r for r in reader if None not in r.values()]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{path}: not a CSV table ({exc})") from None


def labelled_rows(reports: Path, labels: Path) -> list[Row]:
    """Candidates of ``gencor bench real`` reports (``DIR/*.json``) with a verdict by eye from the
    CSV ``labels`` (columns ``photo, candidate, verdict``); a candidate is good when it is
    "better" than the input. Candidates without a verdict are left out."""
    verdicts = {(r["photo"], r["candidate"]): r["verdict"].strip() for r in read_table(labels, LABEL_COLUMNS)}
    bad = sorted({v for v in verdicts.values() if v not in VERDICTS})
    if bad:
        raise ValueError(f"{labels}: unknown verdicts {bad}; use one of {', '.join(VERDICTS)}")
    rows = []
    for path, report, evidence in _reports(reports):
        for name in report["candidates"]:
            verdict = verdicts.get((path.stem, name))
            if verdict is None:
                continue
            row: Row = {"case": f"real:{path.stem}#0", "candidate": name, "verdict": verdict, "withheld": report.get("withheld", "")}
            row.update(dict(zip(FEATURES, evidence[name].vector().tolist(), strict=True)))
            rows.append(row)
    return rows


def synthetic_rows(table: Path) -> list[Row]:
    """The synthetic candidates of an earlier run (its ``calibration.csv``), to refit without
    rerunning them; valid while the pipeline that made them is unchanged."""
    rows: list[Row] = []
    for r in read_table(table, ("case", "gain_db", *FEATURES)):
        row: Row = {k: r[k] for k in COLUMNS if k in r}
        try:
            row.update({k: float(r[k]) for k in ("gain_db", *FEATURES)})
        except ValueError as exc:
            raise ValueError(f"{table}, case {r['case']}: {exc}") from None
        rows.append(row)
    if not rows:
        raise ValueError(f"{table}: no candidates in the table")
    return rows


def withheld_by_rule(reason: object) -> bool:
    """Whether a report's ``withheld`` reason is one no confidence overrides (a cut kernel, no
    blur, too much noise)."""
    return reason not in ("", "confidence")


def real_decision_line(t: float, conf: np.ndarray, rows: list[Row], fit: str) -> str:
    """What the pipeline does on the real photos at threshold ``t``, judged by eye: the most trusted
    candidate of each photo if it reaches ``t`` (and no rule withheld the photo), else the input.
    A missed gain is a photo returned unchanged whose most trusted candidate was better."""
    by_photo: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        by_photo.setdefault(str(r["case"]), []).append(i)
    counts = dict.fromkeys(("better", "same", "worse", "unchanged", "missed", "possible"), 0)
    for ii in by_photo.values():
        top = max(ii, key=lambda i: conf[i])
        counts["possible"] += any(rows[i]["verdict"] == "better" for i in ii)
        if conf[top] >= t and not withheld_by_rule(rows[top]["withheld"]):
            counts[str(rows[top]["verdict"])] += 1
        else:
            counts["unchanged"] += 1
            counts["missed"] += rows[top]["verdict"] == "better" and not withheld_by_rule(rows[top]["withheld"])
    n = len(by_photo)
    return (
        f"| {fit} | {t:.2f} | {counts['better']} ({counts['better'] / n:.0%}) | {counts['same']} | {counts['worse']} | "
        f"{counts['unchanged']} | {counts['missed']} | {counts['possible']} |"
    )


def run_calibrate(
    *,
    out_dir: Path,
    seed: int,
    per_photo: int,
    jobs: int,
    quiet: bool,
    real: Path | None = None,
    photos: list[Path] | None = None,
    real_labels: Path | None = None,
    real_reports: Path | None = None,
    from_table: Path | None = None,
) -> tuple[np.ndarray, float]:
    # What is read from files is read first, so that a bad file stops the run before the cases.
    extra = real_rows(real) if real is not None else []
    eye = labelled_rows(real_reports, real_labels) if real_labels is not None and real_reports is not None else []
    if from_table is not None:
        rows = synthetic_rows(from_table)
        n_cases = len({r["case"] for r in rows})
    else:
        cases = calibration_cases(seed=seed, per_photo=per_photo, photos=photos)
        rows = [r for group in run_pool(_one, cases, jobs=jobs, quiet=quiet, desc="calibrate") for r in group]
        n_cases = len(cases)
    n = len(rows)
    x = np.array([[r[f] for f in FEATURES] for r in rows + eye + extra])
    y = np.array(
        [r["gain_db"] > GOOD_GAIN for r in rows] + [r["verdict"] == "better" for r in eye] + [r["kernel_similarity"] >= REAL_GOOD_SIMILARITY for r in extra],
        dtype=float,
    )
    w, b = fit_logistic(x, y)
    # Held-out confidences: the model refitted without the photo's fold (folds are whole photos,
    # so no crop of a held-out photo is ever fitted on; a real photo is a photo of its own).
    folds = np.concatenate([photo_folds([str(r["case"]) for r in rows + eye], FOLDS), np.full(len(extra), -1)])
    held = np.empty(len(y))
    for f in range(FOLDS):
        test = folds == f
        wf, bf = fit_logistic(x[~test], y[~test])
        held[test] = 1 / (1 + np.exp(-(x[test] @ wf + bf)))
    conf_all = 1 / (1 + np.exp(-(x @ w + b)))
    conf, held_syn = conf_all[:n], held[:n]
    gains = np.array([r["gain_db"] for r in rows])
    for r, c, h in zip(rows + eye, conf_all, held, strict=False):
        r["confidence"] = float(c)
        r["held_out"] = float(h)
    thresholds = (0.5, 0.6, 0.7, 0.8)
    lines = [_decision_line(t, gains, conf, rows, "all photos") for t in thresholds]
    lines += [_decision_line(t, gains, held_syn, rows, "held-out folds") for t in thresholds]
    labels = gains > GOOD_GAIN
    agree = float(np.mean((held_syn >= TRUST_THRESHOLD) == labels))
    real_table = ""
    if eye:
        held_eye = held[n : n + len(eye)]
        # The shipped model has never seen a real photo: its decisions on them are held out as they are.
        x_eye = np.array([[r[f] for f in FEATURES] for r in eye])
        shipped = 1 / (1 + np.exp(-(x_eye @ np.array(WEIGHTS) + BIAS)))
        grid = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
        real_lines = [real_decision_line(t, shipped, eye, "shipped model (gencor.assess)") for t in grid]
        real_lines += [real_decision_line(t, held_eye, eye, "this fit, held-out folds") for t in grid]
        real_table = (
            f"\n\nReal photos, by eye ({len({r['case'] for r in eye})} photos of `gencor bench real`, {len(eye)} candidates labelled "
            f"in `{real_labels}`): what the pipeline returns at each threshold, with the confidence of the folds that did not see the "
            "photo. A photo that a rule withholds (a cut kernel, no blur, too much noise) stays unchanged at every threshold; "
            "'possible' counts the photos with at least one candidate better than the input.\n\n"
            "| fit | threshold | better | same | worse | unchanged | missed gains | possible |\n|---|---|---|---|---|---|---|---|\n" + "\n".join(real_lines)
        )
    header = (
        f"# Confidence calibration\n\n`gencor bench calibrate{'' if from_table else f' --seed {seed} --per-photo {per_photo}'}"
        f"{f' --photos {photos[0].parent} --max-photos {len(photos)}' if photos else ''}"
        f"{f' --from-table {from_table}' if from_table else ''}"
        f"{f' --real-labels {real_labels} --real-reports {real_reports}' if eye else ''}` on {platform.machine()}: "
        f"{n_cases} synthetic cases (scikit-image photos{f' and {len(photos)} training photos' if photos else ''}, "
        f"up to 320x320 random crops, shake up to {max(MAX_KERNELS)} px, "
        f"noise {', '.join(map(str, SIGMAS))}, a third with clipped lights, 8 bit), {len(rows)} candidate kernels; "
        f"label: gain > {GOOD_GAIN} dB; plus {len(extra)} candidates of real photos with a published kernel"
        f" (label: similarity >= {REAL_GOOD_SIMILARITY}); {int(y.sum())} good of {len(y)}.\n\n"
        "Fitted model (paste into `gencor/assess.py`):\n\n"
        f"    FEATURES = {FEATURES}\n    WEIGHTS = ({', '.join(f'{v:.3f}' for v in w)})\n    BIAS = {b:.3f}\n\n"
        f"Held out ({FOLDS} folds of whole photos): the confidence at {TRUST_THRESHOLD} agrees with the label on "
        f"{agree:.0%} of the candidates.\n\n"
        f"| fit | threshold | mean gain (dB) | improved by > 0.25 dB | worse by > 0.1 dB | worst (dB) | unchanged |\n|---|---|---|---|---|---|---|\n"
        + "\n".join(lines)
        + real_table
    )
    print(write_tables(out_dir, "calibration", rows, [*COLUMNS, "confidence", "held_out"], header))
    return w, b
