"""Every writer goes through :func:`gencor.io.atomic_write`: a write that fails, or whose file
reaches the disk cut short without an error, leaves neither a partial output nor a temporary file."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from gencor.bench.common import save_figure, write_tables
from gencor.cli.batch import Outcome, _write_report
from gencor.io import Photo, write_image, write_kernel, write_text
from gencor.plots import cdf_plot

Writer = Callable[[Path], None]


def _figure() -> Figure:
    fig = Figure(figsize=(2, 2))
    fig.subplots().plot([0, 1, 4])
    return fig


def _photo(channels: int) -> Photo:
    shape = (48, 40) if channels == 1 else (48, 40, channels)
    return Photo(np.random.default_rng(0).uniform(size=shape), None, 8)


@dataclass
class _TrainConfig:
    out: Path


def _checkpoint(path: Path) -> None:
    pytest.importorskip("torch")
    from gencor.training.deblur import save_checkpoint

    save_checkpoint(_TrainConfig(path), {"step": 1, "weights": list(range(2000))})


#: One writer of each kind, by the file it writes (the folder is made empty for each).
WRITERS: dict[str, Writer] = {
    "photo.png": lambda p: write_image(p, _photo(3)),
    "photo.jpg": lambda p: write_image(p, _photo(3)),
    "photo.tif": lambda p: write_image(p, _photo(1)),
    "kernel.npy": lambda p: write_kernel(p, np.full((9, 9), 1 / 81)),
    "kernel.png": lambda p: write_kernel(p, np.eye(9) / 9),
    "report.json": lambda p: write_text(p, '{"decision": "deblurred", "confidence": 0.9}\n'),
    "psi.png": lambda p: cdf_plot({"a": np.linspace(1, 4, 30)}, p, title="t"),
    "psi.svg": lambda p: cdf_plot({"a": np.linspace(1, 4, 30)}, p, title="t"),
    "psi.pdf": lambda p: cdf_plot({"a": np.linspace(1, 4, 30)}, p, title="t"),
    "sheet.png": lambda p: save_figure(p, _figure()),
    "table.md": lambda p: write_tables(p.parent, p.stem, [{"photo": "a", "dB": 30.5}], ["photo", "dB"], "# header"),
    "report.csv": lambda p: _write_report(p, [Outcome("in.png", "out.png", "ok", 1.5)]),
    "weights.pt": _checkpoint,
}


def test_every_writer_writes_its_file_and_nothing_else(tmp_path: Path) -> None:
    for name, write in WRITERS.items():
        folder = tmp_path / name
        folder.mkdir()
        write(folder / name)
        expected = {name, "table.csv"} if name == "table.md" else {name}
        assert {p.name for p in folder.iterdir()} == expected, name
        assert (folder / name).stat().st_size > 0


def test_a_kernel_named_in_capitals_is_written_under_its_name(tmp_path: Path) -> None:
    kernel = np.full((5, 5), 1 / 25)
    write_kernel(tmp_path / "k.NPY", kernel)
    assert [p.name for p in tmp_path.iterdir()] == ["k.NPY"]
    np.testing.assert_array_equal(np.load(tmp_path / "k.NPY"), kernel)


@pytest.mark.parametrize("name", WRITERS)
def test_a_failed_rename_leaves_no_partial_file_and_no_temporary(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A writer that wrote straight to its target would leave it behind here.
    def refuse(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="No space left"):
        WRITERS[name](tmp_path / name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="finds the file behind a descriptor in /proc")
@pytest.mark.parametrize("name", WRITERS)
def test_a_file_cut_short_on_the_disk_is_read_back_and_refused(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # What a full disk can do without an error: the file's tail never arrives.
    flush = os.fsync

    def lose_the_tail(fd: int) -> None:
        written = os.readlink(f"/proc/self/fd/{fd}")
        os.truncate(written, os.path.getsize(written) // 2)
        flush(fd)

    monkeypatch.setattr(os, "fsync", lose_the_tail)
    with pytest.raises(OSError, match=r"cannot write .*(read|decode) back"):
        WRITERS[name](tmp_path / name)
    assert list(tmp_path.iterdir()) == []
