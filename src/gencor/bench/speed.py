"""``gencor bench speed``: the whole ``gencor deblur`` command, as a user runs it, timed.

Each photo is deblurred by a fresh ``python -m gencor deblur`` process with default options, three
times; the table keeps the fastest run (its wall time, its stages from ``--report`` and its peak
resident memory, read from ``/proc`` while it runs). Inputs: three real photos
of Lai et al.'s set at full size, and a 12-megapixel RGB JPEG made here from scikit-image's
sample photos with a synthetic camera shake and noise.

With ``ipol_src`` the IPOL 2019 l0 peer (:mod:`gencor.bench.peer_programs`) is built from its
sources and timed in the same run on the three real photos, single-threaded, at the kernel size
:data:`PEER_SIZE` (its ``estimate-kernel`` then its ``deconv``, best of the same repeats): the
``peer_s`` column and the ratio of the totals.

``docs/bench/speed.md`` keeps its prose: only the part between the two markers below is
rewritten, so the profile-guided write-up around the table survives a new run.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gencor.bench.common import Row, markdown_table
from gencor.io import atomic_write, write_text

#: Real photos of 0.5 to 1.1 megapixels (``real_lai16/blurry``): one with clipped lights.
PHOTOS = ("lyndsey", "boy_statue", "Pantheon")
#: The synthetic 12-megapixel photo: size, shake length, noise, JPEG quality, seed, and the mosaic
#: (tiles per side, sample photos) it is made of.
LARGE_SHAPE = (3000, 4000)
LARGE_EXTENT = 25
LARGE_SIGMA = 0.01
LARGE_QUALITY = 95
LARGE_SEED = 0
MOSAIC = 4
MOSAIC_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "brick", "coins", "immunohistochemistry")
REPEATS = 3
STAGES = ("load", "analysis", "estimation", "checks", "deconvolution", "save")
COLUMNS = ["photo", "megapixels", "kernel_size", "decision", "wall_s", "median_s", *STAGES, "startup", "peak_rss_gib", "peer_s"]
#: The kernel size given to the IPOL peer (the size of issue #32's outside measurement).
PEER_SIZE = 31
BEGIN, END = "<!-- gencor bench speed: begin -->", "<!-- gencor bench speed: end -->"


def make_large_photo(path: Path) -> None:
    """Write the 12-megapixel test JPEG: a 4 x 4 mosaic of scikit-image's sample photos, each
    scaled up about 2x (photo-like detail at every place of the frame), shaken, noisy, 8-bit."""
    from PIL import Image
    from scipy.signal import fftconvolve
    from skimage import data
    from skimage.color import gray2rgb
    from skimage.transform import resize

    from gencor.kernels.trajectory import random_motion_kernel

    rng = np.random.default_rng(LARGE_SEED)
    kernel = random_motion_kernel(LARGE_EXTENT + 6 | 1, rng, extent=LARGE_EXTENT)
    th, tw = LARGE_SHAPE[0] // MOSAIC, LARGE_SHAPE[1] // MOSAIC
    tiles = []
    for name in MOSAIC_PHOTOS:
        img = getattr(data, name)()
        rgb = gray2rgb(img) if img.ndim == 2 else img[..., :3]
        tiles.append(resize(rgb / 255.0, (th, tw, 3), order=3, anti_aliasing=True))
    rows = [np.concatenate([tiles[(r * MOSAIC + c) % len(tiles)] for c in range(MOSAIC)], axis=1) for r in range(MOSAIC)]
    sharp = np.clip(np.concatenate(rows, axis=0), 0.0, 1.0)
    blurred = np.stack([fftconvolve(sharp[..., c], kernel, mode="same") for c in range(3)], axis=-1)
    blurred += LARGE_SIGMA * rng.standard_normal(blurred.shape)
    pixels = np.round(np.clip(blurred, 0.0, 1.0) * 255).astype(np.uint8)
    atomic_write(path, lambda tmp: Image.fromarray(pixels).save(tmp, format="JPEG", quality=LARGE_QUALITY))


#: How often the child's memory high-water mark is read.
POLL_SECONDS = 0.05


def _high_water_kib(pid: int) -> int | None:
    """``VmHWM`` of a running process (KiB), or ``None`` once it is gone or without ``/proc``."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _run_once(photo: Path, work: Path) -> Row:
    """One ``gencor deblur`` process: wall seconds, peak RSS and the report's stage times.

    The peak is the child's own high-water mark, read from ``/proc`` while it runs: the
    ``ru_maxrss`` that the kernel reports for a child also counts the parent's pages at the fork,
    which here (the parent holds the 12-megapixel test photo) hid the child's own peak."""
    out, report = work / f"out{photo.suffix}", work / "report.json"
    cmd = [sys.executable, "-m", "gencor", "deblur", str(photo), "-o", str(out), "--report", str(report), "--quiet"]
    errors = work / "stderr.txt"
    with errors.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stderr=err)
        peak = 0
        while True:
            peak = max(peak, _high_water_kib(proc.pid) or 0)
            try:
                proc.wait(timeout=POLL_SECONDS)
                break
            except subprocess.TimeoutExpired:
                continue
        wall = time.perf_counter() - start
    stderr = errors.read_text(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"gencor deblur {photo.name} failed ({proc.returncode}): {stderr.strip()}")
    rep = json.loads(report.read_text())
    stages = {k: float(rep["timings"].get(k, 0.0)) for k in STAGES}
    return {
        "wall_s": wall,
        **stages,
        "startup": wall - sum(stages.values()),
        "peak_rss_gib": peak / 2**20,
        "kernel_size": rep["kernel_size"],
        "decision": rep["decision"],
    }


def time_photo(photo: Path, *, repeats: int = REPEATS) -> Row:
    """The fastest of ``repeats`` runs on ``photo``, with the median wall time beside it."""
    from PIL import Image

    with Image.open(photo) as im:
        megapixels = im.width * im.height / 1e6
    with tempfile.TemporaryDirectory(prefix="gencor-speed-") as tmp:
        runs = [_run_once(photo, Path(tmp)) for _ in range(repeats)]
    best = min(runs, key=lambda r: r["wall_s"])
    return {"photo": photo.stem, "megapixels": megapixels, **best, "median_s": float(np.median([r["wall_s"] for r in runs]))}


def time_peer(programs: tuple[Path, Path], photo: Path, *, repeats: int = REPEATS, size: int = PEER_SIZE) -> float:
    """The fastest of ``repeats`` runs of the IPOL peer on ``photo`` (decoded to PNG outside the
    timing): its kernel estimation at ``size`` then its deconvolution, one thread."""
    from PIL import Image

    from gencor.bench.peer_programs import single_threaded_env

    estimate, deconv = programs
    env = single_threaded_env()
    times = []
    with tempfile.TemporaryDirectory(prefix="gencor-peer-") as tmp:
        src, k, out = Path(tmp) / "photo.png", Path(tmp) / "k.tif", Path(tmp) / "out.tif"
        with Image.open(photo) as im:
            im.save(src)
        for _ in range(repeats):
            start = time.perf_counter()
            for cmd in ([str(estimate), str(size), str(src), str(k)], [str(deconv), str(src), str(k), str(out)]):
                done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    raise RuntimeError(f"the IPOL peer failed on {photo.name} ({done.returncode}): {(done.stderr or done.stdout).strip()[-200:]}")
            times.append(time.perf_counter() - start)
    return min(times)


def _splice(path: Path, block: str) -> str:
    """``path``'s text with the marked block replaced (or appended when there is none)."""
    text = path.read_text() if path.exists() else "# Speed\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + block + rest.split(END, 1)[1]
    return text.rstrip("\n") + "\n\n" + block + "\n"


def run_speed(*, data: Path, out_dir: Path, repeats: int = REPEATS, quiet: bool = False, ipol_src: Path | None = None) -> list[Row]:
    """Time every input (and the IPOL peer on the real photos with ``ipol_src``); write
    ``speed.csv`` and the table inside ``speed.md``."""
    from tqdm import tqdm

    if repeats < 1:
        raise ValueError(f"--repeats must be at least 1, got {repeats}")
    photos = [data / "blurry" / f"{name}.jpg" for name in PHOTOS]
    missing = [str(p) for p in photos if not p.is_file()]
    if missing:
        raise ValueError(f"real photos not found: {', '.join(missing)} (see --data)")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="gencor-large-") as tmp:
        programs = None
        if ipol_src is not None:
            from gencor.bench.peer_programs import build_ipol

            programs = build_ipol(ipol_src, Path(tmp) / "peers")
        large = Path(tmp) / "mosaic_12mp.jpg"
        make_large_photo(large)
        for photo in tqdm([*photos, large], desc="speed", disable=True if quiet else None):
            row = time_photo(photo, repeats=repeats)
            if programs is not None and photo != large:
                row["peer_s"] = time_peer(programs, photo, repeats=repeats)
            rows.append(row)
    peer_note = ""
    if programs is not None:
        ours = sum(r["wall_s"] for r in rows if "peer_s" in r)
        theirs = sum(r["peer_s"] for r in rows if "peer_s" in r)
        peer_note = (
            f" `peer_s`: the IPOL 2019 l0 peer, built from its sources, single-threaded, kernel size {PEER_SIZE} (estimate-kernel then "
            f"deconv on the photo as PNG), best of {repeats}. The three real photos: gencor {ours:.1f} s, the peer {theirs:.1f} s, "
            f"ratio **{ours / theirs:.2f}**."
        )
    block = (
        f"{BEGIN}\n`gencor bench speed` on {platform.machine()} ({os.cpu_count()} cores), {time.strftime('%Y-%m-%d')}: "
        f"`gencor deblur PHOTO -o OUT --report R.json` with default options, a fresh process each time, best of {repeats} "
        "(median beside it). Stages in seconds from the report; `startup` is the rest of the wall time (interpreter, "
        f"imports). Peak RSS (the process's own high-water mark) of the best run.{peer_note}\n\n" + markdown_table(rows, COLUMNS) + f"{END}"
    )
    md = _splice(out_dir / "speed.md", block)
    write_text(out_dir / "speed.md", md)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text(out_dir / "speed.csv", buf.getvalue())
    if not quiet:
        print(block)
    return rows
