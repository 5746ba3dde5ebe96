"""What a user sees of a release: progress that suits a log, and one version everywhere."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import tomllib
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.signal import fftconvolve

import gencor
from conftest import shapes_image

ROOT = Path(__file__).resolve().parents[1]


def _photo(path: Path, seed: int = 0, blur: int = 0) -> Path:
    image = shapes_image(128, seed=seed)
    if blur:
        image = fftconvolve(image, np.full((1, blur), 1 / blur), mode="same")
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(path)
    return path


def _gencor(*args: str, stderr: int | None = subprocess.PIPE) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gencor", *args], stderr=stderr, stdout=subprocess.PIPE, text=True, timeout=300)


def test_a_log_gets_no_bar_updates_from_a_deblur(tmp_path: Path) -> None:
    photo = _photo(tmp_path / "in.png", blur=7)
    run = _gencor("deblur", str(photo), "-o", str(tmp_path / "out.png"))
    assert run.returncode == 0, run.stderr
    assert "\r" not in run.stderr and len(run.stderr.splitlines()) <= 2, run.stderr
    assert run.stdout.startswith("wrote ")  # the one summary line stays


def test_a_batch_log_gets_one_line_per_photo(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        _photo(folder / f"p{i}.png", seed=i)
    run = _gencor("smooth", str(folder), "-o", f"{tmp_path / 'out'}/")
    assert run.returncode == 0, run.stderr
    assert "\r" not in run.stderr
    assert run.stderr.splitlines() == [f"smooth: {i + 1}/3 photos: p{i}.png ok" for i in range(3)]


def test_a_terminal_still_gets_the_live_bar(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(2):
        _photo(folder / f"p{i}.png", seed=i)
    main, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a new one is 0 columns wide
    try:
        run = _gencor("smooth", str(folder), "-o", f"{tmp_path / 'out'}/", stderr=terminal)
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the terminal is closed and drained
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(main)
    assert run.returncode == 0
    text = shown.decode(errors="replace")
    assert "\r" in text and re.search(r"smooth: photos: +100%", text), text
    assert "1/2 photos:" not in text  # the log lines are for logs only


def test_one_version_everywhere() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" in meta["dynamic"] and "version" not in meta  # read from gencor.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", gencor.__version__)
    assert f"## {gencor.__version__}" in (ROOT / "CHANGELOG.md").read_text()  # every release has its section
    assert meta["license"] == "MIT" and (ROOT / "LICENSE").read_text().startswith("MIT License")


def _check_wheel(tmp_path: Path, names: list[str]) -> subprocess.CompletedProcess[str]:
    wheel = tmp_path / "gencor-0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for name in names:
            z.writestr(name, b"")
    return subprocess.run([sys.executable, "scripts/check_wheel.py", str(wheel)], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_a_wheel_without_a_weight_or_with_a_stale_file_is_refused(tmp_path: Path) -> None:
    package = ROOT / "src" / "gencor"
    names = sorted(f"gencor/{p.relative_to(package).as_posix()}" for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    weight = next(n for n in names if n.startswith("gencor/models/weights/"))
    assert _check_wheel(tmp_path, [*names, "gencor-0.dist-info/METADATA"]).returncode == 0
    missing = _check_wheel(tmp_path, [n for n in names if n != weight])
    assert missing.returncode != 0 and weight in missing.stderr
    stale = _check_wheel(tmp_path, [*names, "gencor/io.py.orig"])
    assert stale.returncode != 0 and "gencor/io.py.orig" in stale.stderr


def test_every_script_imports() -> None:
    """The tools and experiments of scripts/ import what they use from gencor: a refactoring that
    moves a name they need fails here (scripts/README.md says which still run)."""
    scripts = sorted(str(p) for p in (ROOT / "scripts").rglob("*.py"))
    code = (
        "import importlib.util, sys\n"
        "sys.path[:0] = ['scripts', 'scripts/experiments']\n"
        "for path in sys.argv[1:]:\n"
        "    spec = importlib.util.spec_from_file_location(path.rsplit('/', 1)[-1][:-3], path)\n"
        "    module = importlib.util.module_from_spec(spec)\n"
        "    spec.loader.exec_module(module)\n"
        "    assert callable(getattr(module, 'main', None)) or 'training_photos' in path, path\n"
    )
    run = subprocess.run([sys.executable, "-c", code, *scripts], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert len(scripts) >= 15
