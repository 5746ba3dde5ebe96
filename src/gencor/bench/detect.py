"""``gencor bench detect``: does deblurring help a detector? (the paper's Table 2 and Fig. 6)

Offline detectors that ship with OpenCV, so nothing is downloaded: the HOG people detector
(``cv2.HOGDescriptor_getDefaultPeopleDetector``) and the Haar frontal-face cascade. As in the
paper, the ground truth is what the detector finds on the sharp photo. The photos are Kodak24,
BSD68 (gray) and scikit-image's ``astronaut``, kept when a detector finds at least one object on
the sharp photo (a rule, not a choice by hand). Each is shaken by :data:`SHAKES` synthetic camera
trajectories with noise and 8-bit rounding; the detector then runs on the blurred photo, on gencor's output (default
options) and on the Corrector-only output, and its boxes are matched to the ground truth
(intersection over union >= 0.5). Writes ``detect.md``, ``detect.csv`` and ``detect_examples.png``.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from scipy.signal import fftconvolve

from gencor.bench.common import Row, load_rgb, opencv, run_pool, save_figure, to_u8, write_tables
from gencor.bench.partial import limited
from gencor.kernels.trajectory import random_motion_kernel

#: Camera shake (px, uniform), noise and seed of the blurred photos.
EXTENTS = (11.0, 31.0)
#: Different shakes of each photo.
SHAKES = 2
SIGMA = 0.01
SEED = 0
#: A detection matches a ground-truth box when their intersection over union reaches this.
MIN_IOU = 0.5
#: Detector settings (OpenCV's usual ones).
FACE_CASCADE = "haarcascade_frontalface_default.xml"
FACE_SCALE, FACE_NEIGHBOURS, FACE_MIN = 1.1, 5, 24
HOG_STRIDE, HOG_PADDING, HOG_SCALE = 8, 8, 1.05
#: What is compared, in the order of the table.
VARIANTS = ("blurred", "gencor", "corrector only")
COLUMNS = ["photo", "detector", "variant", "truth", "found", "true_pos", "recall", "precision", "f1", "decision"]

Box = tuple[int, int, int, int]  # x, y, width, height
#: A figure row: photo, sharp, blurred, gencor, ground-truth faces, the face detector.
Example = tuple[str, np.ndarray, np.ndarray, np.ndarray, list[Box], Callable[[np.ndarray], list[Box]]]


def detectors() -> dict[str, Callable[[np.ndarray], list[Box]]]:
    """``name -> detect(rgb in [0, 1]) -> boxes``."""
    cv2 = opencv()
    faces = cv2.CascadeClassifier(cv2.data.haarcascades + FACE_CASCADE)
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def face(rgb: np.ndarray) -> list[Box]:
        gray = cv2.cvtColor(to_u8(rgb), cv2.COLOR_RGB2GRAY)
        found = faces.detectMultiScale(gray, scaleFactor=FACE_SCALE, minNeighbors=FACE_NEIGHBOURS, minSize=(FACE_MIN, FACE_MIN))
        return [_box(b) for b in found]

    def people(rgb: np.ndarray) -> list[Box]:
        found, _ = hog.detectMultiScale(to_u8(rgb)[..., ::-1], winStride=(HOG_STRIDE, HOG_STRIDE), padding=(HOG_PADDING, HOG_PADDING), scale=HOG_SCALE)
        return [_box(b) for b in found]

    return {"Haar faces": face, "HOG people": people}


def _box(values: np.ndarray) -> Box:
    x, y, w, h = (int(v) for v in values)
    return x, y, w, h


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes."""
    w = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    h = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = w * h
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def match(found: list[Box], truth: list[Box]) -> int:
    """True positives: greedy one-to-one matching, best overlaps first."""
    pairs = sorted(((iou(f, t), i, j) for i, f in enumerate(found) for j, t in enumerate(truth)), reverse=True)
    used_f: set[int] = set()
    used_t: set[int] = set()
    for score, i, j in pairs:
        if score < MIN_IOU:
            break
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
    return len(used_f)


def scores(tp: int, found: int, truth: int) -> dict[str, float]:
    """Recall, precision and F1 (1 where there was nothing to find or nothing found)."""
    recall = tp / truth if truth else 1.0
    precision = tp / found if found else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"recall": recall, "precision": precision, "f1": f1}


def photos(data: Path) -> list[tuple[str, Path | None]]:
    """Kodak24, BSD68 and scikit-image's astronaut (``None``: from scikit-image)."""
    found = sorted((data / "test" / "Kodak24").glob("*.png")) + sorted((data / "test" / "BSD68").glob("*.png"))
    if not found:
        raise ValueError(f"no Kodak24 or BSD68 photos under {data}/test; point --data at the shared data folder")
    return [(p.stem, p) for p in found] + [("astronaut", None)]


def _load(path: Path | None) -> np.ndarray:
    if path is not None:
        return load_rgb(path)
    from skimage import data

    return data.astronaut() / 255.0


def shake(sharp: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The photo blurred by a random camera path (reflected borders), noisy, rounded to 8 bits."""
    extent = float(rng.uniform(*EXTENTS))
    kernel = random_motion_kernel(int(extent) + 6 | 1, rng, extent=extent)
    pad = kernel.shape[0]
    padded = np.pad(sharp, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    blurred = np.stack([fftconvolve(padded[..., c], kernel, mode="same")[pad:-pad, pad:-pad] for c in range(3)], axis=-1)
    blurred += SIGMA * rng.standard_normal(blurred.shape)
    return np.round(np.clip(blurred, 0.0, 1.0) * 255) / 255


def _restore(job: tuple[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, str]:
    from gencor.tasks.deblur import deblur

    _, blurred = job
    gcm = deblur(blurred, channel_axis=-1)
    corrector = deblur(blurred, channel_axis=-1, generator="none")
    return gcm.image, corrector.image, gcm.report.decision


def run_detect(data: Path, *, out_dir: Path, jobs: int, limit: int | None, quiet: bool) -> list[Row]:
    """Detections on sharp, blurred and restored photos; write the tables and the figure
    (``detect_firstN`` with a ``limit``)."""
    detect = detectors()
    rng = np.random.default_rng(SEED)
    cases = []
    for name, path in photos(data)[:limit]:
        sharp = _load(path)
        # Drawn for every photo, so that a photo's blurs do not depend on which others qualify.
        blurs = [shake(sharp, rng) for _ in range(SHAKES)]
        truth = {d: f(sharp) for d, f in detect.items()}
        if any(truth.values()):
            cases += [(f"{name} #{i + 1}", sharp, blurred, truth) for i, blurred in enumerate(blurs)]
    if not cases:
        raise ValueError("the detectors found nothing on any sharp photo")
    restored = run_pool(_restore, [(name, blurred) for name, _, blurred, _ in cases], jobs=jobs, quiet=quiet, desc="detect")
    rows: list[Row] = []
    examples: list[Example] = []
    for (name, sharp, blurred, truth), (gcm, corr, decision) in zip(cases, restored, strict=True):
        images = {"blurred": blurred, "gencor": gcm, "corrector only": corr}
        for det, boxes in truth.items():
            if not boxes:
                continue
            for variant, img in images.items():
                found = detect[det](img)
                tp = match(found, boxes)
                rows.append(
                    {
                        "photo": name,
                        "detector": det,
                        "variant": variant,
                        "truth": len(boxes),
                        "found": len(found),
                        "true_pos": tp,
                        **scores(tp, len(found), len(boxes)),
                        "decision": decision,
                    }
                )
        if len(examples) < 2 and truth["Haar faces"] and name.endswith("#1"):
            examples.append((name, sharp, blurred, gcm, truth["Haar faces"], detect["Haar faces"]))
    summary = []
    for det in detect:
        for variant in VARIANTS:
            sel = [r for r in rows if r["detector"] == det and r["variant"] == variant]
            if sel:
                tp, found, truth = (sum(r[k] for r in sel) for k in ("true_pos", "found", "truth"))
                summary.append(
                    {
                        "photo": f"all ({len(sel)})",
                        "detector": det,
                        "variant": variant,
                        "truth": truth,
                        "found": found,
                        "true_pos": tp,
                        **scores(tp, found, truth),
                    }
                )
    header = (
        f"# Detection after deblurring\n\n`gencor bench detect` on {platform.machine()}: {len(cases) // SHAKES} photos of Kodak24, BSD68 and scikit-image's "
        f"astronaut on which a detector finds something when sharp (its detections are the ground truth, as in the paper), "
        f"each shaken {SHAKES} times by a random camera path of {EXTENTS[0]:g} to {EXTENTS[1]:g} px with noise {SIGMA} and 8-bit rounding (seed {SEED}). "
        f"Detectors: OpenCV's Haar frontal-face cascade and HOG people detector; a box counts when its IoU with a ground-truth box "
        f"reaches {MIN_IOU}. 'gencor' is `deblur` with default options (a photo it does not trust comes back unchanged: "
        "'decision'); 'corrector only' is `--generator none`. Totals over all shaken photos (micro-averaged):\n\n" + _table(summary) + "\n## Every photo"
    )
    stem = limited("detect", limit)
    write_tables(out_dir, stem, rows, COLUMNS, header)
    if examples:
        _figure(examples, out_dir / f"{stem}_examples.png")
    if not quiet:
        print(header.split("## Every photo")[0])
    return rows


def _table(rows: list[Row]) -> str:
    from gencor.bench.common import markdown_table

    return markdown_table(rows, ["detector", "variant", "truth", "found", "true_pos", "recall", "precision", "f1"])


def _figure(examples: list[Example], path: Path) -> None:
    fig = Figure(figsize=(10, 3.0 * len(examples)))
    axes = fig.subplots(len(examples), 3, squeeze=False)
    for ax_row, (name, sharp, blurred, gcm, truth, face) in zip(axes, examples, strict=True):
        for ax, (title, img) in zip(ax_row, (("sharp (ground truth)", sharp), ("blurred", blurred), ("gencor", gcm)), strict=True):
            ax.imshow(np.clip(img, 0, 1))
            boxes = truth if title.startswith("sharp") else face(img)
            for x, y, w, h in boxes:
                ax.add_patch(Rectangle((x, y), w, h, fill=False, color="lime", lw=1.5))
            ax.set_title(f"{name}: {title}, {len(boxes)} faces", fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    save_figure(path, fig, dpi=90)
