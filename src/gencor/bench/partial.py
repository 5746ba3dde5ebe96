"""Partial runs of a bench never overwrite its full tables (issue #29).

A run cut by ``--limit N`` is a quick look: its files are written as ``NAME_firstN`` beside the
full ones. A run of a few named photos (``--only``) re-runs them: their rows replace theirs in the
existing index and the other rows are kept, so that the index still describes every sheet in
the folder.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path

from gencor.bench.common import Row


def limited(stem: str, limit: int | None) -> str:
    """The name of a bench's files: ``stem``, or ``stem_firstN`` for a run cut by ``--limit N``."""
    return f"{stem}_first{limit}" if limit else stem


def photo_key(row: Row) -> str:
    """A row's photo: the name of its ``photo`` column, also when that is a Markdown link ``[name](sheet)``."""
    text = str(row["photo"])
    return text[1:].split("]", 1)[0] if text.startswith("[") else text


def _value(text: str) -> object:
    """A CSV cell as the bench wrote it: a whole number, a number, or text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def existing_rows(out_dir: Path, stem: str, columns: Sequence[str]) -> list[Row]:
    """The rows of ``out_dir/stem.csv`` (none when it does not exist), read before a partial run so
    that a table this bench cannot merge into stops it before any work."""
    path = out_dir / f"{stem}.csv"
    if not path.exists():
        return []
    try:
        with path.open(newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames != list(columns):
                raise ValueError(f"{path} has other columns than this bench writes; move it away, or run the whole bench, or give another --out")
            return [{k: _value(v) for k, v in r.items()} for r in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"cannot read {path}: {exc}") from None


def merged(old: list[Row], new: list[Row], key: Callable[[Row], Hashable] = photo_key) -> list[Row]:
    """``new`` in place of the rows of ``old`` with the same ``key`` (by default the photo: a bench
    of one row per photo); every other row of ``old`` is kept. Sorted by photo, stably."""
    fresh = {key(r) for r in new}
    return sorted([*(r for r in old if key(r) not in fresh), *new], key=photo_key)
