"""Issue #30, item 5: the shipped confidence against refits, held out (folds of whole photos as in
``gencor bench calibrate``), on the synthetic calibration table and on the 94 real photos judged
by eye, with the decision rule of :mod:`gencor.tasks.deblur.decision` replayed from the evidence.

Models: the shipped weights; a refit on the synthetic cases; a refit on the synthetic cases plus
the real verdicts. Rules: a trust threshold ``T``; a graded band from ``G`` to ``T`` on photos
of noise up to ``GRADED_MAX_NOISE`` (the conservative twin of the most trusted candidate, with a
warning); and, on noisier photos, optionally a band from ``Gn`` (the twin ``twin``: "conservative"
or "base", the plain prior weight). The two errors of the issue are counted: (a) a trusted answer
where every candidate loses, (b) a photo returned unchanged whose most trusted candidate gains
more than 1 dB (what ``--force`` returns), by its reason.

    git show 0e3ea5f:docs/bench/calibration.csv > /tmp/conf/old.csv   # issue #18's table
    python scripts/experiments/confidence_refit.py --table docs/bench/calibration.csv \
        --old-table /tmp/conf/old.csv --labels docs/bench/real_labels.csv --reports docs/bench/real
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import NamedTuple

import numpy as np

from gencor.assess import BIAS, FEATURES, GRADED_MAX_NOISE, GRADED_THRESHOLD, TRUST_THRESHOLD, WEIGHTS
from gencor.bench.calibrate import FOLDS, fit_logistic, labelled_rows, photo_folds, synthetic_rows, withheld_by_rule

#: Error (b): a missed gain of more than this (dB).
MISSED_GAIN = 1.0
SUFFIX = " conservative"


class Rule(NamedTuple):
    """A decision rule: trust threshold, graded threshold on clean photos, and on noisy ones
    (``None``: no graded answer there) with the twin it returns."""

    trust: float = TRUST_THRESHOLD
    graded: float = GRADED_THRESHOLD
    noisy: float | None = None
    twin: str = "conservative"
    #: The trust threshold on noisy photos (``None``: ``trust``).
    noisy_trust: float | None = None

    def name(self) -> str:
        noisy = "none" if self.noisy is None else f"{self.noisy:.2f} {self.twin}"
        tn = "" if self.noisy_trust is None else f", noisy T {self.noisy_trust:.2f}"
        return f"T {self.trust:.2f}, G {self.graded:.2f}, noisy {noisy}{tn}"

    def trusted(self, sigma: float) -> float:
        return self.trust if sigma <= GRADED_MAX_NOISE or self.noisy_trust is None else self.noisy_trust


def sigmoid(z: np.ndarray) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp(-z)))


def groups(cases: list[str]) -> list[list[int]]:
    """Indices of the candidates of each case, in order of first appearance."""
    out: dict[str, list[int]] = {}
    for i, c in enumerate(cases):
        out.setdefault(c, []).append(i)
    return list(out.values())


def twin_of(name: str, twin: str) -> str:
    if twin == "base":
        return name.removesuffix(SUFFIX)
    return name if name.endswith(SUFFIX) else f"{name}{SUFFIX}"


def decide(conf: dict[str, float], sigma: float, rule: Rule) -> tuple[str, str]:
    """(decision, candidate returned): "trusted", "tentative" or "unchanged" ("" returned)."""
    top = max(conf, key=lambda n: conf[n])
    if conf[top] >= rule.trusted(sigma):
        return "trusted", top
    if sigma <= GRADED_MAX_NOISE and conf[top] >= rule.graded:
        return "tentative", twin_of(top, "conservative")
    if sigma > GRADED_MAX_NOISE and rule.noisy is not None and conf[top] >= rule.noisy:
        return "tentative", twin_of(top, rule.twin)
    return "unchanged", ""


class Outcome(NamedTuple):
    """What one synthetic case gets under a rule."""

    gain: float
    decision: str
    #: Every candidate loses (gain <= 0).
    losers: bool
    #: A missed gain of the most trusted candidate: "" (none), "low" (below the graded threshold
    #: or in a band with no answer) or "noisy" (in the band, above ``GRADED_MAX_NOISE``).
    missed: str
    #: Returned unchanged though some candidate gains more than ``MISSED_GAIN``.
    missed_any: bool


def outcomes(rows: list[dict], conf: np.ndarray, rule: Rule) -> list[Outcome]:
    out = []
    for ii in groups([r["case"] for r in rows]):
        names = {rows[i]["candidate"]: i for i in ii}
        c = {n: float(conf[i]) for n, i in names.items()}
        sigma = float(rows[ii[0]]["sigma"])
        decision, chosen = decide(c, sigma, rule)
        top = max(c, key=lambda n: c[n])
        missed = ""
        if decision == "unchanged" and float(rows[names[top]]["gain_db"]) > MISSED_GAIN:
            missed = "noisy" if c[top] >= rule.graded and sigma > GRADED_MAX_NOISE else "low"
        out.append(
            Outcome(
                float(rows[names[chosen]]["gain_db"]) if chosen else 0.0,
                decision,
                all(float(rows[i]["gain_db"]) <= 0 for i in ii),
                missed,
                decision == "unchanged" and max(float(rows[i]["gain_db"]) for i in ii) > MISSED_GAIN,
            )
        )
    return out


def synthetic_line(found: list[Outcome], rule: str, label: str) -> str:
    """Mean gain, improved > 0.25 dB, worse > 0.1 dB (without / with the warning), worst,
    unchanged, and errors (a) and (b) by reason."""
    k = np.array([o.gain for o in found])
    warned = sum(o.decision == "tentative" and o.gain < -0.1 for o in found)
    return (
        f"| {label} | {rule} | {k.mean():+.2f} | {int(np.sum(k > 0.25))} | {int(np.sum(k < -0.1)) - warned} | {warned} | "
        f"{k.min():.2f} | {int(np.sum(k == 0))} | {sum(o.losers and o.decision == 'trusted' for o in found)} | "
        f"{sum(o.losers and o.decision == 'tentative' for o in found)} | {sum(o.missed == 'low' for o in found)} | "
        f"{sum(o.missed == 'noisy' for o in found)} | {sum(o.missed_any for o in found)} |"
    )


def unwarned(found: list[Outcome]) -> int:
    """Cases worse by > 0.1 dB without a warning."""
    return sum(o.gain < -0.1 and o.decision == "trusted" for o in found)


def fold_models(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """The model fitted without each fold."""
    return [fit_logistic(x[folds != f], y[folds != f]) for f in range(FOLDS)]


def nested(rows: list[dict], x: np.ndarray, folds: np.ndarray, fits: list[tuple[np.ndarray, float]], choices: list[Rule]) -> tuple[list[Outcome], list[str]]:
    """The noisy band chosen on the fitted folds (their own confidences) and applied to the held-out
    one: the rule of ``choices`` with the largest mean gain there, among those with no more cases
    worse by > 0.1 dB without a warning than the first (no band) and no lower worst case. ``rows`` are the first rows of ``x`` (the rest,
    real photos, are only fitted on)."""
    found, chosen = [], []
    n = len(rows)
    for f, (w, b) in enumerate(fits):
        syn = folds[:n] == f
        train = [r for r, t in zip(rows, syn, strict=True) if not t]
        fitted = [outcomes(train, sigmoid(x[:n][~syn] @ w + b), rule) for rule in choices]
        limit = (unwarned(fitted[0]), min(o.gain for o in fitted[0]))
        ok = [i for i, res in enumerate(fitted) if unwarned(res) <= limit[0] and min(o.gain for o in res) >= limit[1]]
        best = max(ok, key=lambda i: np.mean([o.gain for o in fitted[i]]))
        chosen.append(choices[best].name())
        found += outcomes([r for r, t in zip(rows, syn, strict=True) if t], sigmoid(x[:n][syn] @ w + b), choices[best])
    return found, chosen


def real_line(eye: list[dict], conf: np.ndarray, rule: Rule, label: str) -> str:
    """What ``scripts/real_verdicts.py`` counts: better, same, worse without / with the warning,
    unchanged, missed gains."""
    counts = dict.fromkeys(("better", "same", "worse", "warned", "unchanged", "missed"), 0)
    for ii in groups([r["case"] for r in eye]):
        names = {eye[i]["candidate"]: i for i in ii}
        c = {n: float(conf[i]) for n, i in names.items()}
        first = eye[ii[0]]
        top = max(c, key=lambda n: c[n])
        decision, out = ("unchanged", "") if withheld_by_rule(first["withheld"]) else decide(c, float(first["sigma"]), rule)
        if decision == "unchanged":
            counts["unchanged"] += 1
            counts["missed"] += eye[names[top]]["verdict"] == "better" and not withheld_by_rule(first["withheld"])
            continue
        verdict = eye[names[out]]["verdict"] if out in names else "?"
        key = "warned" if verdict == "worse" and decision == "tentative" else verdict
        counts[key] = counts.get(key, 0) + 1
    return (
        f"| {label} | {rule.name()} | {counts['better']} | {counts['same']} | {counts['worse']} | {counts['warned']} | "
        f"{counts['unchanged']} | {counts['missed']} |"
    )


def held_out(x: np.ndarray, y: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Each row's confidence from the model fitted without its fold."""
    out = np.empty(len(y))
    for f in range(FOLDS):
        test = folds == f
        w, b = fit_logistic(x[~test], y[~test])
        out[test] = sigmoid(x[test] @ w + b)
    return out


def recipe_held_out(old_table: Path, rows: list[dict], x: np.ndarray) -> np.ndarray:
    """The shipped weights' recipe, held out: refitted on the old table without the fold's photos,
    applied to the new candidates of the fold (the shipped weights saw every photo of the table)."""
    old = synthetic_rows(old_table)
    x_old = np.array([[r[f] for f in FEATURES] for r in old])
    y_old = np.array([float(r["gain_db"]) > 0 for r in old], dtype=float)
    folds_old = photo_folds([str(r["case"]) for r in old], FOLDS)
    folds = photo_folds([str(r["case"]) for r in rows], FOLDS)
    out = np.empty(len(rows))
    for f in range(FOLDS):
        w, b = fit_logistic(x_old[folds_old != f], y_old[folds_old != f])
        out[folds == f] = sigmoid(x[folds == f] @ w + b)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--table", type=Path, required=True)
    ap.add_argument("--labels", type=Path, required=True)
    ap.add_argument("--reports", type=Path, required=True)
    ap.add_argument("--old-table", type=Path, default=None, help="the table the shipped weights were fitted on: their recipe, held out")
    ap.add_argument("--rules", default="", help="extra rules T:G[:Gn:twin], comma separated")
    args = ap.parse_args()
    rows = [dict(r) for r in synthetic_rows(args.table)]
    eye = [dict(r) for r in labelled_rows(args.reports, args.labels)]
    sigma = {p.stem: json.loads(p.read_text())["noise_sigma"] for p in args.reports.glob("*.json")}
    for r in eye:
        r["sigma"] = sigma[str(r["case"]).removeprefix("real:").split("#")[0]]
    xs = np.array([[r[f] for f in FEATURES] for r in rows])
    ys = np.array([float(r["gain_db"]) > 0 for r in rows], dtype=float)
    xe = np.array([[r[f] for f in FEATURES] for r in eye])
    ye = np.array([r["verdict"] == "better" for r in eye], dtype=float)
    n_int = len({r["case"] for r in rows if r["candidate"] == "intensity"})
    print(f"{len({r['case'] for r in rows})} synthetic cases, {len(rows)} candidates, {n_int} cases with an intensity candidate\n")

    shipped = (np.array(WEIGHTS), BIAS)
    w_s, b_s = fit_logistic(xs, ys)
    x_all, y_all = np.vstack([xs, xe]), np.concatenate([ys, ye])
    w_b, b_b = fit_logistic(x_all, y_all)
    for label, (w, b) in (("synthetic refit", (w_s, b_s)), ("synthetic + real refit", (w_b, b_b))):
        print(f"{label}: WEIGHTS = ({', '.join(f'{v:.3f}' for v in w)}), BIAS = {b:.3f}")
    folds_both = photo_folds([str(r["case"]) for r in rows + eye], FOLDS)
    held_both = held_out(x_all, y_all, folds_both)
    models = {
        "shipped": (sigmoid(xs @ shipped[0] + shipped[1]), sigmoid(xe @ shipped[0] + shipped[1])),
        "synthetic refit": (held_out(xs, ys, photo_folds([str(r["case"]) for r in rows], FOLDS)), sigmoid(xe @ w_s + b_s)),
        "synthetic + real refit": (held_both[: len(rows)], held_both[len(rows) :]),
    }
    if args.old_table is not None:
        models["shipped recipe, held out"] = (recipe_held_out(args.old_table, rows, xs), models["shipped"][1])
    rules = [Rule(t, g) for t in (0.6, 0.65, 0.7, 0.75) for g in (0.45, 0.5, 0.55, 0.6) if g <= t]
    rules += [Rule(0.7, 0.5, gn, twin) for gn in (0.5, 0.55, 0.6, 0.65) for twin in ("conservative", "base")]
    rules += [Rule(0.7, 0.5, gn, "base", tn) for tn in (0.75, 0.8) for gn in (0.55, 0.6, 0.65)]
    for spec in filter(None, args.rules.split(",")):
        p = spec.split(":")
        rules.append(Rule(float(p[0]), float(p[1]), float(p[2]) if len(p) > 2 else None, p[3] if len(p) > 3 else "conservative"))
    print(
        "\nSynthetic, held out (the shipped model as shipped):\n\n| model | rule | mean gain (dB) | improved > 0.25 dB | worse > 0.1 dB, no warning | "
        "worse > 0.1 dB, warned | worst (dB) | unchanged | (a) all lose, trusted | all lose, tentative | (b) missed > 1 dB, below G | "
        "(b) missed > 1 dB, noisy band | unchanged, any candidate > 1 dB |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    for label, (cs, _) in models.items():
        for rule in rules:
            print(synthetic_line(outcomes(rows, cs, rule), rule.name(), label))
    choices = [Rule(), *(Rule(noisy=gn, twin=twin) for gn in (0.5, 0.55, 0.6, 0.65) for twin in ("conservative", "base"))]
    choices += [Rule(noisy=gn, twin=twin, noisy_trust=tn) for tn in (0.75, 0.8, 0.85) for gn in (0.5, 0.55, 0.6, 0.65) for twin in ("conservative", "base")]
    chosen: dict[str, list[str]] = {}
    folds_syn = photo_folds([str(r["case"]) for r in rows], FOLDS)
    nests = [
        ("synthetic refit", xs, folds_syn, fold_models(xs, ys, folds_syn)),
        ("synthetic + real refit", x_all, folds_both, fold_models(x_all, y_all, folds_both)),
    ]
    if args.old_table is not None:
        old = synthetic_rows(args.old_table)
        x_old = np.array([[r[f] for f in FEATURES] for r in old])
        y_old = np.array([float(r["gain_db"]) > 0 for r in old], dtype=float)
        nests.append(("shipped recipe, held out", xs, folds_syn, fold_models(x_old, y_old, photo_folds([str(r["case"]) for r in old], FOLDS))))
    for label, x, folds, fits in nests:
        found, chosen[label] = nested(rows, x, folds, fits, choices)
        print(synthetic_line(found, "T 0.70, G 0.50, noisy band chosen on the fitted folds", label))
    for label, names in chosen.items():
        print(f"\n{label}, noisy band chosen per fold: {'; '.join(names)}")
    print(
        "\nReal photos, held out (94 photos, verdicts by eye):\n\n| model | rule | better | same | worse, no warning | worse, warned | "
        "unchanged | missed gains |\n|---|---|---|---|---|---|---|---|"
    )
    for label, (_, ce) in models.items():
        for rule in rules:
            if rule.noisy is None:
                print(real_line(eye, ce, rule, label))


if __name__ == "__main__":
    main()
