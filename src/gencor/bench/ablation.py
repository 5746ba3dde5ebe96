"""``gencor bench ablation``: Generator + Corrector against either alone (the paper's Fig. 3).

Three variants of the same estimator: GCM (the trained Generator inside the monotone Corrector),
Corrector only (identity Generator) and Generator only (the naive cascade: no ``Psi`` test, no
prox step). Part one follows a few Levin images stage by stage: kernel similarity and PSNR
after every alternation of every scale, and ``Psi`` of one long latent-step run at the finest
scale. Part two is the full Levin table of each variant.
"""

from __future__ import annotations

import csv
import functools
import platform
import tempfile
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from PIL import Image, ImageDraw
from scipy.io import loadmat

from gencor.bench.common import Row, markdown_table, run_pool, write_csv, write_markdown, write_tables
from gencor.bench.levin import levin_case, summary
from gencor.bench.partial import limited
from gencor.bench.real import CROP
from gencor.bench.synthetic import COLUMNS as SYNTHETIC_COLUMNS
from gencor.bench.synthetic import Case, noisy_cases, synthetic_row
from gencor.generators import generator_factory
from gencor.io import atomic_write, read_image
from gencor.kernels.estimate import estimate_kernel, resize_kernel
from gencor.layout import luminance
from gencor.metrics import image_scores, kernel_similarity
from gencor.operators.boundary import extend_periodic
from gencor.operators.convolution import Convolution
from gencor.operators.gradient import Gradient
from gencor.propagation.fidelity import SplitFidelity
from gencor.propagation.gcm import LpPrior, propagate
from gencor.tasks.deblur import best_window, deblur, final_stage_outcome
from gencor.tasks.deconv import deconvolve

#: name -> (generator, corrector, final stage): the networks in every stage, the kernel step's and
#: the final one (``deblur(final_stage=True)``), or none.
VARIANTS: dict[str, tuple[str, bool, bool]] = {"GCM": ("cnn", True, True), "Corrector only": ("none", True, False), "Generator only": ("cnn", False, True)}
COLORS = {"GCM": "tab:red", "Corrector only": "tab:blue", "Generator only": "tab:green"}
#: GCM is drawn dashed and on top, so it stays visible where it coincides with another variant.
STYLES = {"GCM": dict(ls="--", zorder=3), "Corrector only": dict(ls="-", zorder=2), "Generator only": dict(ls="-", zorder=1)}


def stage_curves(job: tuple[Path, int, str]) -> Row:
    """Kernel similarity and PSNR after every alternation of one variant on one Levin image."""
    path, kernel_size, variant = job
    data = loadmat(path)
    x, y, k_true = data["x"], data["y"], data["f"][::-1, ::-1]
    gen, corr, _ = VARIANTS[variant]
    est = estimate_kernel(y, kernel_size, generator=generator_factory(gen), corrector=corr)
    sims, psnrs = [], []
    for rec in est.scales:
        for k in rec.iterates:
            kf = resize_kernel(k, kernel_size) if k.shape[0] != kernel_size else k
            sims.append(kernel_similarity(kf, k_true))
            psnrs.append(image_scores(deconvolve(y, kf, method="hyper-laplacian").image, x)["psnr"])
    # The Corrector's decisions per scale: on the runs where a Generator proposed, and on those
    # where the warm start itself was tested (identity).
    decisions = [
        {
            "proposed": sum(p for p in rec.proposed),
            "proposed_accepted": sum(int(a.sum()) for a, p in zip(rec.accepted, rec.proposed, strict=True) if p),
            "identity": sum(not p for p in rec.proposed),
            "identity_accepted": sum(int(a.sum()) for a, p in zip(rec.accepted, rec.proposed, strict=True) if not p),
        }
        for rec in est.scales
    ]
    return {"image": path.stem, "variant": variant, "similarity": sims, "psnr": psnrs, "kernel": est.kernel, "decisions": decisions}


def decision_table(curves: list[Row]) -> list[Row]:
    """Per variant and scale (0 = coarsest): how often the Corrector kept a Generator's proposal,
    and how often it kept a bare warm start, summed over the images followed."""
    table = []
    for variant in VARIANTS:
        runs = [r["decisions"] for r in curves if r["variant"] == variant]
        for scale in range(max((len(d) for d in runs), default=0)):
            at = [d[scale] for d in runs if scale < len(d)]
            total = {k: sum(d[k] for d in at) for k in ("proposed", "proposed_accepted", "identity", "identity_accepted")}
            table.append(
                {
                    "variant": variant,
                    "scale": scale,
                    "proposals": total["proposed"],
                    "proposals_accepted": total["proposed_accepted"] / total["proposed"] if total["proposed"] else "",
                    "warm_starts": total["identity"],
                    "warm_starts_accepted": total["identity_accepted"] / total["identity"] if total["identity"] else "",
                }
            )
    return table


def psi_curves(path: Path, kernel: np.ndarray, *, stages: int = 25, lam: float = 2.5e-4) -> dict[str, np.ndarray]:
    """``Psi`` over one long run of the latent step at the finest scale (fixed kernel and beta)."""
    y = loadmat(path)["y"]
    ks = kernel.shape[0]
    y_ext = extend_periodic(y, ks)
    g = Gradient(y_ext.shape).forward(y_ext)
    prior = LpPrior(lam, 0.0, group_axis=0)
    beta = 8.0 * lam
    data = SplitFidelity(Convolution(kernel, y_ext.shape), y_ext, beta)
    gammas = (beta,) * stages
    u0 = prior.prox(g, 1.0 / beta)
    out = {}
    for name, (gen, corr, _) in VARIANTS.items():
        factory = generator_factory(gen)
        generator = factory(prior, gammas, 0, 0, 0)
        out[name] = propagate(data, prior, u0, gammas=gammas, generator=generator, corrector=corr).psi
    return out


def _stage_figure(rows: list[Row], psi: dict[str, np.ndarray], path: Path) -> None:
    images = sorted({r["image"] for r in rows})
    fig = Figure(figsize=(3.0 * (len(images) + 1), 5.4))
    axes = fig.subplots(2, len(images) + 1, squeeze=False)
    for col, image in enumerate(images):
        for r in rows:
            if r["image"] != image:
                continue
            stages = np.arange(1, len(r["similarity"]) + 1)
            axes[0][col].plot(stages, r["similarity"], color=COLORS[r["variant"]], lw=1, label=r["variant"], **STYLES[r["variant"]])
            axes[1][col].plot(stages, r["psnr"], color=COLORS[r["variant"]], lw=1, label=r["variant"], **STYLES[r["variant"]])
        axes[0][col].set_title(image, fontsize=9)
        axes[1][col].set_xlabel("stage (alternation, coarse to fine)", fontsize=8)
    axes[0][0].set_ylabel("kernel similarity", fontsize=8)
    axes[1][0].set_ylabel("PSNR (dB)", fontsize=8)
    axes[0][0].legend(fontsize=7)
    ax = axes[0][-1]
    for name, curve in psi.items():
        ax.semilogy(np.arange(len(curve)), curve, color=COLORS[name], lw=1, label=name, **STYLES[name])
    ax.set_title(f"Psi of one latent run ({images[0]})", fontsize=9)
    ax.set_xlabel("stage", fontsize=8)
    ax.legend(fontsize=7)
    axes[1][-1].axis("off")
    for a in axes.flat:
        a.tick_params(labelsize=7)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))


def _levin_row(job: tuple[Path, int | str, str]) -> Row:
    path, kernel_size, variant = job
    gen, corr, final = VARIANTS[variant]
    return {"variant": variant, **levin_case(path, kernel_size, generator=gen, corrector=corr, final_stage=final)}


def _noisy_row(job: tuple[Case, str]) -> Row:
    case, variant = job
    gen, corr, final = VARIANTS[variant]
    return {"variant": variant, "sigma": case.sigma, **synthetic_row(case, "auto", generator=gen, corrector=corr, final_stage=final)}


def noisy_ablation(test_dir: Path, *, sigmas: tuple[float, ...], jobs: int, limit: int | None, quiet: bool) -> tuple[list[Row], list[Row]]:
    """The three variants on the noisy set (default options, automatic kernel size) at each noise
    level: per-photo rows and one summary row per variant and level."""
    jobs_list = [(c, v) for s in sigmas for c in noisy_cases(test_dir, seed=0, sigma=s)[:limit] for v in VARIANTS]
    rows = run_pool(_noisy_row, jobs_list, jobs=jobs, quiet=quiet, desc="ablation noisy")
    table = []
    for sigma in sigmas:
        by = {v: {r["image"]: r for r in rows if r["variant"] == v and r["sigma"] == sigma} for v in VARIANTS}
        for v in VARIANTS:
            sel = list(by[v].values())
            er = np.array([r["error_ratio"] for r in sel])
            gains = np.array([r["gain_db"] for r in sel])
            behind = [by[v][n]["psnr"] - by["Corrector only"][n]["psnr"] for n in by[v]]
            table.append(
                {
                    "sigma": sigma,
                    "variant": v,
                    "images": len(sel),
                    "er<=3": float(np.mean(er <= 3)),
                    "median_er": float(np.median(er)),
                    "mean_gain_db": float(gains.mean()),
                    "worse_than_input": int(np.sum(gains < -0.1)),
                    "worse_than_corrector_0.2db": int(np.sum(np.array(behind) < -0.2)),
                    "unchanged": sum(r["decision"] == "unchanged" for r in sel),
                    "final_stage_kept": _kept(sel),
                }
            )
    return rows, table


#: Real photos: every ``REAL_STRIDE``-th of Lai et al.'s sorted set (chosen by name, not by result).
REAL_STRIDE = 3
#: Verdicts by eye, one per photo and variant, against the input.
VERDICTS = ("better", "same", "worse")


def _real_row(job: tuple[Path, str, Path]) -> Row:
    """One variant on one real photo: the output's most detailed window (saved for the sheet) and
    the decisions."""
    path, variant, crops = job
    photo = read_image(path)
    gen, corr, final = VARIANTS[variant]
    result = deblur(photo.pixels, channel_axis=-1 if photo.is_color else None, generator=gen, corrector=corr, final_stage=final)
    rows, cols = best_window(luminance(photo.pixels), CROP)
    crop = np.uint8(np.round(255 * np.clip(result.image[rows, cols], 0, 1)))
    atomic_write(crops / f"{path.stem}.{variant.replace(' ', '_')}.png", lambda tmp: Image.fromarray(crop).save(tmp, format="PNG"))
    rep = result.report
    return {
        "photo": path.stem,
        "variant": variant,
        "decision": rep.decision,
        "confidence": rep.confidence,
        "kernel_size": rep.kernel_size,
        "final_stage": final_stage_outcome(rep.final_stage),
        "seconds": rep.seconds,
        "final_stage_seconds": rep.timings.get("final stage", 0.0),
    }


def _save_jpeg(sheet: Image.Image, path: Path) -> None:
    sheet.save(path, format="JPEG", quality=88)


def real_sheets(photos: list[Path], crops: Path, out_dir: Path, seed: int = 0, *, folder: str = "ablation_real") -> list[Row]:
    """Per photo, the input window and the three variants' outputs under the letters A, B, C in a
    random order (so the eye judges blind), in ``out_dir/folder``; the key (letter -> variant) is returned."""
    rng = np.random.default_rng(seed)
    (out_dir / folder).mkdir(parents=True, exist_ok=True)
    key = []
    for path in photos:
        photo = read_image(path)
        rows, cols = best_window(luminance(photo.pixels), CROP)
        tiles = [("input", Image.fromarray(np.uint8(np.round(255 * photo.pixels[rows, cols]))))]
        order = [list(VARIANTS)[i] for i in rng.permutation(len(VARIANTS))]
        for letter, variant in zip("ABC", order, strict=True):
            with Image.open(crops / f"{path.stem}.{variant.replace(' ', '_')}.png") as im:
                tiles.append((letter, im.copy()))
        key.append({"photo": path.stem, **dict(zip("ABC", order, strict=True))})
        w, h = tiles[0][1].size
        sheet = Image.new("RGB", (len(tiles) * (w + 10), h + 24), "white")
        draw = ImageDraw.Draw(sheet)
        for i, (label, tile) in enumerate(tiles):
            draw.text((i * (w + 10) + 4, 4), f"{path.stem}: {label}" if i == 0 else label, fill="black")
            sheet.paste(tile.convert("RGB"), (i * (w + 10), 24))
        atomic_write(out_dir / folder / f"{path.stem}_sheet.jpg", functools.partial(_save_jpeg, sheet))
    return key


#: The columns of the file of verdicts by eye.
LABEL_COLUMNS = ("photo", "variant", "verdict")


def real_summary(rows: list[Row], labels: Path) -> list[Row]:
    """Per variant: the decisions, the final-stage proposals kept, and (where ``labels`` exists,
    ``photo,variant,verdict`` by eye) how many outputs are better, the same or worse than the input."""
    verdicts: dict[tuple[str, str], str] = {}
    if labels.exists():
        try:
            with labels.open(newline="") as f:
                lines = [row for row in csv.reader(f) if row][1:]
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ValueError(f"{labels}: not a CSV table ({exc})") from None
        for row in lines:
            if len(row) != len(LABEL_COLUMNS):
                raise ValueError(f"{labels}: expected {','.join(LABEL_COLUMNS)} on each line, got {','.join(row)!r}")
            photo, variant, verdict = (v.strip() for v in row)
            if verdict not in VERDICTS:
                raise ValueError(f"{labels}: verdict {verdict!r} is not one of {', '.join(VERDICTS)}")
            verdicts[(photo, variant)] = verdict
    table = []
    for v in VARIANTS:
        sel = [r for r in rows if r["variant"] == v]
        judged = [verdicts.get((r["photo"], v), "") for r in sel]
        table.append(
            {
                "variant": v,
                "photos": len(sel),
                "answered": sum(r["decision"] != "unchanged" for r in sel),
                "final_stage_kept": _kept(sel),
                **{f"{verdict} (eye)": judged.count(verdict) if any(judged) else "" for verdict in VERDICTS},
            }
        )
    return table


def levin_ablation(data: Path, *, out_dir: Path, kernel_size: int | str, jobs: int, images: int, limit: int | None, quiet: bool) -> dict[str, dict[str, float]]:
    """Stage curves on a few Levin images, the Corrector's decisions and the full Levin table of
    each variant: ``ablation_stages.png``, ``ablation.md``, ``ablation.csv`` (``ablation_firstN`` with a
    ``limit``); the summaries."""
    stem = limited("ablation", limit)
    files = sorted(data.glob("*.mat"))
    if not files:
        raise ValueError(f"no .mat files in {data}; point --data at the levin09 folder")
    # A few images, each with another kernel: Levin's files are ordered image-major, 8 kernels
    # each, so a stride of 9 steps through both. The curves need a fixed size.
    curve_size = kernel_size if isinstance(kernel_size, int) else 31
    few = [files[(9 * i) % len(files)] for i in range(min(images, len(files)))]
    curves = run_pool(stage_curves, [(f, curve_size, v) for f in few for v in VARIANTS], jobs=jobs, quiet=quiet, desc="ablation stages")
    gcm_kernel = next(r["kernel"] for r in curves if r["variant"] == "GCM")
    psi = psi_curves(few[0], gcm_kernel)
    out_dir.mkdir(parents=True, exist_ok=True)
    _stage_figure(curves, psi, out_dir / f"{stem}_stages.png")
    files = files[:limit] if limit else files
    rows = run_pool(_levin_row, [(f, kernel_size, v) for v in VARIANTS for f in files], jobs=jobs, quiet=quiet, desc="ablation levin")
    summaries = {v: summary([r for r in rows if r["variant"] == v]) for v in VARIANTS}
    table = [{"variant": v, **s, "final_stage_kept": _kept([r for r in rows if r["variant"] == v])} for v, s in summaries.items()]
    gcm = summaries["GCM"]
    others = [s for v, s in summaries.items() if v != "GCM"]
    margin_er = min(s["mean_er"] for s in others) - gcm["mean_er"]
    margin_psnr = gcm["mean_psnr"] - max(s["mean_psnr"] for s in others)
    psi_ok = bool(np.all(np.diff(psi["GCM"]) <= 1e-9 * abs(psi["GCM"][0])))
    header = (
        f"# Ablation: Generator + Corrector against either alone\n\n`gencor bench ablation --kernel-size {kernel_size} --jobs {jobs}` "
        f"on {platform.machine()}, {len(files)} Levin images per variant. Stage curves: `{stem}_stages.png` "
        f"({', '.join(f.stem for f in few)}, kernel size {curve_size}). The noisy set: `ablation_noisy.md`; real photos: `ablation_real.md`.\n\n"
        f"GCM margin over the best other variant: mean error ratio {margin_er:+.3f} (positive = GCM lower), "
        f"mean PSNR {margin_psnr:+.2f} dB. GCM's Psi never increases in the long run: {psi_ok}."
    )
    columns = ["variant", "er<=2", "er<=3", "median_er", "mean_er", "mean_sqrt_er", "mean_psnr", "mean_ssim", "mean_seconds", "final_stage_kept"]
    decisions = decision_table(curves)
    header += (
        "\n\n## The Corrector's decisions\n\nIn the kernel step, per scale (0 = coarsest), summed over the images followed stage by "
        "stage: runs where a Generator proposed and the share of those proposals the Corrector kept; runs where only the warm start "
        "was tested and the share kept. Without the Corrector (Generator only) every proposal is taken. In the final stage "
        "(`final_stage_kept` below): the photos whose restoration the Corrector kept, of those deblurred.\n\n"
        + markdown_table(decisions, ["variant", "scale", "proposals", "proposals_accepted", "warm_starts", "warm_starts_accepted"])
        + "\n## Levin table"
    )
    md = write_tables(out_dir, stem, table, columns, header)
    if not quiet:
        print(md)
    return summaries


def _kept(rows: list[Row]) -> str:
    """``kept/proposed`` of the final stage over ``rows``."""
    proposed = [r for r in rows if r.get("final_stage") in ("kept", "rejected")]
    return f"{sum(r['final_stage'] == 'kept' for r in proposed)}/{len(proposed)}"


def run_noisy_ablation(test_dir: Path, *, out_dir: Path, sigmas: tuple[float, ...], jobs: int, limit: int | None, quiet: bool) -> list[Row]:
    """The noisy-set part: ``ablation_noisy.md`` (the summary) and ``ablation_noisy.csv`` (every photo);
    ``ablation_noisy_firstN`` with a ``limit``."""
    stem = limited("ablation_noisy", limit)
    rows, table = noisy_ablation(test_dir, sigmas=sigmas, jobs=jobs, limit=limit, quiet=quiet)
    columns = [
        "sigma",
        "variant",
        "images",
        "er<=3",
        "median_er",
        "mean_gain_db",
        "worse_than_input",
        "worse_than_corrector_0.2db",
        "unchanged",
        "final_stage_kept",
    ]
    header = (
        f"# Ablation on the noisy set\n\n`gencor bench ablation --jobs {jobs}` on {platform.machine()}: Set12 and Kodak24 (gray), camera "
        "shake up to 75 px, every third photo with clipped lights, 8 bit (`gencor bench noisy`), default options and automatic kernel size. "
        "worse_than_corrector_0.2db: photos where the variant's PSNR is more than 0.2 dB below Corrector only's; final_stage_kept: the "
        f"photos whose restoration the Corrector kept, of those deblurred. Every photo: `{stem}.csv`."
    )
    md = write_markdown(out_dir, stem, table, columns, header)
    write_csv(out_dir, stem, rows, ["sigma", "variant", *SYNTHETIC_COLUMNS])
    if not quiet:
        print(md)
    return table


REAL_COLUMNS = ["photo", "variant", "letter", "decision", "confidence", "kernel_size", "final_stage", "seconds", "final_stage_seconds"]


def run_real_ablation(real: Path, *, out_dir: Path, jobs: int, limit: int | None, quiet: bool, labels: Path) -> list[Row]:
    """The real-photo part: blind sheets of every :data:`REAL_STRIDE`-th photo in ``ablation_real/``,
    the decisions and the key in ``ablation_real.csv``, the summary in ``ablation_real.md``
    (``ablation_real_firstN`` with a ``limit``)."""
    stem = limited("ablation_real", limit)
    photos = sorted((real / "blurry").glob("*.jpg"))[::REAL_STRIDE][:limit]
    if not photos:
        raise ValueError(f"no blurry/*.jpg in {real}; point --real at the real_lai16 folder")
    with tempfile.TemporaryDirectory(prefix="gencor_ablation_") as tmp:
        crops = Path(tmp)
        rows = run_pool(_real_row, [(p, v, crops) for p in photos for v in VARIANTS], jobs=jobs, quiet=quiet, desc="ablation real")
        key = {r["photo"]: r for r in real_sheets(photos, crops, out_dir, folder=stem)}
    for r in rows:
        r["letter"] = next(letter for letter in "ABC" if key[r["photo"]][letter] == r["variant"])
    write_csv(out_dir, stem, rows, REAL_COLUMNS)
    return summarize_real(out_dir, labels=labels, quiet=quiet, limit=limit)


def summarize_real(out_dir: Path, *, labels: Path, quiet: bool, limit: int | None = None) -> list[Row]:
    """``ablation_real.md`` from ``ablation_real.csv`` and the verdicts by eye in ``labels`` (so that
    the summary can be rewritten once the sheets are judged, without running the photos again);
    ``ablation_real_firstN`` with a ``limit``."""
    stem = limited("ablation_real", limit)
    csv_path = out_dir / f"{stem}.csv"
    if not csv_path.exists():
        raise ValueError(f"no {csv_path}; run 'gencor bench ablation --real ...' first")
    try:
        with csv_path.open(newline="") as f:
            reader = csv.DictReader(f)
            if not set(REAL_COLUMNS) <= set(reader.fieldnames or []):
                raise ValueError(f"{csv_path}: not a table of 'gencor bench ablation --parts real' (columns {', '.join(REAL_COLUMNS)})")
            rows: list[Row] = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"{csv_path}: not a CSV table ({exc})") from None
    table = real_summary(rows, labels)
    n = len({r["photo"] for r in rows})
    header = (
        f"# Ablation on real photos\n\nEvery {REAL_STRIDE}rd photo of `real_lai16` by name ({n} photos, the same for every variant), "
        f"default options, on {platform.machine()}. The sheets in `{stem}/` show the most detailed window of the input and the three "
        "outputs under the letters A, B, C in a random order per photo, so that the eye judges blind; the key is the `letter` column of "
        f"`{stem}.csv`. Verdicts by eye, each output against the input: `{labels.name}`. final_stage_kept: photos whose "
        "restoration the Corrector kept, of those deblurred."
    )
    columns = ["variant", "photos", "answered", "final_stage_kept", *(f"{v} (eye)" for v in VERDICTS)]
    md = write_markdown(out_dir, stem, table, columns, header)
    if not quiet:
        print(md)
    return table
