"""The real-photo review table of docs/bench/real.md: what the shipped confidence decides on each
photo of ``gencor bench real`` and how the eye judged it, beside the verdicts of issue #8.

The decision is recomputed from each report's evidence with the shipped model
(:mod:`gencor.assess`): the evidence does not depend on the model, so this is what ``gencor
deblur`` returns with the shipped weights. A photo that a rule withheld (a kernel cut by the
largest window, no blur, too much noise) stays unchanged. Between the graded and the trust
threshold the output is the twin of the most trusted candidate that ``tentative_twin`` gives (the
conservative one on a clean photo), with a warning (decision "tentative"); its verdict is that twin's.

    python scripts/real_verdicts.py --reports /tmp/real94/real --labels docs/bench/real_labels.csv \
        --old docs/bench/real.md --notes docs/bench/real_notes.md > /tmp/table.md
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

from gencor.assess import Evidence, confidence, lowest_answered, trusted_from
from gencor.bench.calibrate import withheld_by_rule
from gencor.tasks.deblur.decision import tentative_twin


def old_verdicts(real_md: Path) -> dict[str, tuple[str, str]]:
    """Issue #8's (decision, eye verdict) per photo, from the 'Photo by photo' table."""
    text = real_md.read_text().split("## Photo by photo", 1)[-1]
    out = {}
    for line in text.splitlines():
        m = re.match(r"\| \[([^\]]+)\]\([^)]*\) \| [^|]* \| [^|]* \| ([^|]+) \| ([^|]+) \|", line)
        if m:
            out[m.group(1)] = (m.group(2).strip(), m.group(3).strip())
    return out


def notes(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r"- ([^:]+): (.*)", line)
        if m:
            out[m.group(1).strip()] = m.group(2).strip()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reports", type=Path, required=True)
    ap.add_argument("--labels", type=Path, required=True)
    ap.add_argument("--old", type=Path, required=True)
    ap.add_argument("--notes", type=Path, default=None)
    ap.add_argument("--sheets", default="real", help="folder of the sheets, relative to docs/bench")
    args = ap.parse_args()
    with args.labels.open(newline="") as fh:
        verdict = {(r["photo"], r["candidate"]): r["verdict"] for r in csv.DictReader(fh)}
    old, said = old_verdicts(args.old), notes(args.notes)
    counts = dict.fromkeys(
        ("better", "same", "worse", "unchanged", "missed", "possible", "agree", "old_better", "tentative", "tentative_better", "warned_worse"), 0
    )
    rows = []
    for path in sorted(args.reports.glob("*.json"), key=lambda p: p.stem.lower()):
        photo = path.stem
        report = json.loads(path.read_text())
        conf = {n: confidence(Evidence.from_dict(c)) for n, c in report["candidates"].items()}
        top = max(conf, key=lambda n: conf[n])
        eye = {n: verdict.get((photo, n), "?") for n in conf}
        best = [n for n in conf if eye[n] == "better"]
        counts["possible"] += bool(best)
        rule = withheld_by_rule(report.get("withheld", ""))
        if conf[top] >= trusted_from(report["noise_sigma"]) and not rule:
            decision, output = "deblurred", eye[top]
            counts[output] = counts.get(output, 0) + 1
            agrees = output == "better"
        elif conf[top] >= lowest_answered(report["noise_sigma"]) and not rule:
            twin = tentative_twin(top, report["noise_sigma"])
            decision, output = f"tentative ({twin})", eye[twin]
            counts[output] = counts.get(output, 0) + 1
            counts["tentative"] += 1
            counts["warned_worse"] += output == "worse"
            counts["tentative_better"] += output == "better"
            agrees = output == "better"
        else:
            decision, output = "unchanged" + (f" ({report['withheld']})" if rule else ""), "unchanged"
            counts["unchanged"] += 1
            missed = eye[top] == "better" and not rule
            counts["missed"] += missed
            agrees = not missed
        counts["agree"] += agrees
        old_decision, old_eye = old.get(photo, ("?", "?"))
        counts["old_better"] += old_decision != "unchanged" and old_eye == "better"
        rows.append(
            f"| [{photo}]({args.sheets}/{photo}_sheet.jpg) | {old_decision}, {old_eye} | {decision} ({top}, {conf[top]:.2f}) | "
            f"{output if output != 'unchanged' else f'unchanged; {top}: {eye[top]}'} | {', '.join(best) or 'none'} | "
            f"{'yes' if agrees else 'no'} | {said.get(photo, '')} |"
        )
    n = len(rows)
    print(
        f"| | photos |\n|---|---|\n| output better than the input | {counts['better']} of {n} ({counts['better'] / n:.0%}; "
        f"{counts['tentative_better']} of them tentative); issue #8: {counts['old_better']} |\n"
        f"| output about the same | {counts.get('same', 0)} |\n"
        f"| deblurred and worse, no warning | {counts.get('worse', 0) - counts['warned_worse']} |\n"
        f"| tentative (moderate confidence, with a warning) and worse | {counts['warned_worse']} |\n"
        f"| returned unchanged with a warning | {counts['unchanged']} |\n"
        f"| ... of which the most trusted candidate was better (a missed gain) | {counts['missed']} |\n"
        f"| a candidate better than the input, whatever the decision | {counts['possible']} of {n} |\n"
        f"| decision agrees with the eye | {counts['agree']} of {n} |\n"
    )
    print(
        "| photo | issue #8: decision, eye | now: decision (candidate, confidence) | now: output by eye | candidates better than the input | "
        "agrees | what the eye sees |\n|---|---|---|---|---|---|---|"
    )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
