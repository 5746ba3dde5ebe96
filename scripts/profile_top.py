"""Top functions of a sampling profile, as Markdown tables (docs/bench/speed.md).

Record with py-spy's collapsed-stack format, then summarise::

    py-spy record --format raw --rate 50 -o deblur.txt -- gencor deblur photo.jpg -o out.png
    python scripts/profile_top.py deblur.txt --top 20

``self`` is the share of samples in the function itself, ``total`` the share with the function
anywhere on the stack (each function counted once per sample).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

#: py-spy's frame: "function (file:line)"; the line is dropped so that a function is one row.
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def _name(frame: str) -> str:
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    path = m["file"]
    for marker in ("site-packages/", "src/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{m['func']} ({path})"


def summarise(path: Path, top: int) -> str:
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_name(f) for f in stack.split(";") if f and not f.startswith("process ") and not f.startswith("thread ")]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            anywhere[f] += n
    rows = ["| function | self % | total % |", "|---|---|---|"]
    for name, n in own.most_common(top):
        rows.append(f"| `{name}` | {100 * n / total:.1f} | {100 * anywhere[name] / total:.1f} |")
    inclusive = ["| function (inclusive) | total % |", "|---|---|"]
    for name, n in anywhere.most_common(top):
        inclusive.append(f"| `{name}` | {100 * n / total:.1f} |")
    return f"{total} samples\n\n" + "\n".join(rows) + "\n\n" + "\n".join(inclusive) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile", type=Path, help="py-spy --format raw output")
    ap.add_argument("--top", type=int, default=20)
    a = ap.parse_args()
    print(summarise(a.profile, a.top))


if __name__ == "__main__":
    main()
