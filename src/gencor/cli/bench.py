"""``gencor bench ...``: the benchmarks, one sub-command each; each writes its tables and plots."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gencor.cli.options import kernel_size, nonnegative_int, positive_float, positive_int
from gencor.generators import DECONVOLUTION_METHODS, DEFAULT_DECONVOLUTION
from gencor.noise import DENOISE_PRECISIONS

#: The shared data folder, next to the repository.
DATA = Path("..") / "shared" / "data"
#: Where the tables and figures go by default.
DOCS = "docs/bench"
#: Worker processes of the benches that have a pool.
JOBS = 2
#: What a partial run writes, for the help of --limit and --only.
LIMIT_HELP = "only the first N {what}, for a quick look: written as NAME_firstN beside the full tables, which stay"
ONLY_HELP = "re-run only these photos (names without .jpg): their rows replace theirs in the existing index, the other rows stay"


def noise_level(text: str) -> float:
    """An argument type: a noise standard deviation, 0 to 1 (images are in [0, 1])."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a noise level from 0 to 1, got {text!r}")
    return value


def bench_kernel_size(text: str) -> int | str:
    """``--kernel-size`` of a bench: ``auto`` or an odd whole number of 3 or more, checked before
    any photo is deblurred (whether it fits a photo is checked on each)."""
    value = kernel_size(text)
    if isinstance(value, int) and (value < 3 or value % 2 == 0):
        raise argparse.ArgumentTypeError(f"expected 'auto' or an odd integer of 3 or more, got {text!r}")
    return value


def _sigmas(text: str) -> tuple[float, ...]:
    """``--sigmas`` of the ablation: noise levels from 0 to 1, separated by commas."""
    try:
        return tuple(noise_level(s) for s in text.split(","))
    except argparse.ArgumentTypeError:
        raise ValueError(f"--sigmas {text!r}: expected noise levels from 0 to 1 separated by commas, e.g. 0.01,0.02") from None


def _checked(func: Callable[[argparse.Namespace], None]) -> Callable[[argparse.Namespace], None]:
    """``func`` after a check of ``--out``: a folder, or a path under which one can be made (not
    under a file), so that a bench never fails on it after its work."""

    def run(args: argparse.Namespace) -> None:
        out = Path(args.out).absolute()
        above = next(p for p in (out, *out.parents) if p.exists())
        if not above.is_dir():
            raise ValueError(f"--out {args.out}: {above} is not a folder")
        func(args)

    return run


def _folder(path: str | None, option: str) -> Path | None:
    """``path`` as a folder that exists, or a one-line error naming ``option``."""
    if path is None:
        return None
    if not Path(path).is_dir():
        raise ValueError(f"{option} {path} is not a folder")
    return Path(path)


def _speed(args: argparse.Namespace) -> None:
    from gencor.bench.speed import run_speed

    run_speed(data=Path(args.data), out_dir=Path(args.out), repeats=args.repeats, quiet=args.quiet, ipol_src=Path(args.ipol_src) if args.ipol_src else None)


def _batch(args: argparse.Namespace) -> None:
    from gencor.bench.batch import run_batch_bench

    run_batch_bench(out_dir=Path(args.out), photos=args.photos, quiet=args.quiet)


def _nonuniform(args: argparse.Namespace) -> None:
    from gencor.bench.nonuniform import run_nonuniform, run_real_local

    if args.real:
        real = _folder(args.real, "--real")
        assert real is not None
        reports = _folder(args.reports, "--reports")
        run_real_local(real, args.only or [], reports=reports, out_dir=Path(args.out), jobs=args.jobs, quiet=args.quiet, limit=args.limit)
        return
    if args.only or args.reports:
        raise ValueError("--only and --reports go with --real (the real photos); the synthetic bench runs every photo of --data")
    run_nonuniform(Path(args.data), out_dir=Path(args.out), jobs=args.jobs, limit=args.limit, quiet=args.quiet)


def _detect(args: argparse.Namespace) -> None:
    from gencor.bench.detect import run_detect

    run_detect(Path(args.data), out_dir=Path(args.out), jobs=args.jobs, limit=args.limit, quiet=args.quiet)


def _real(args: argparse.Namespace) -> None:
    from gencor.bench.real import run_real

    run_real(Path(args.data), out_dir=Path(args.out), jobs=args.jobs, limit=args.limit, quiet=args.quiet, only=args.only)


def _calibrate(args: argparse.Namespace) -> None:
    from gencor.bench.calibrate import run_calibrate
    from gencor.bench.synthetic import photo_files

    if (args.real_labels is None) != (args.real_reports is None):
        raise ValueError("--real-labels and --real-reports go together: the verdicts and the reports they judge")
    for option, path in (("--from-table", args.from_table), ("--real-labels", args.real_labels)):
        if path is not None and not Path(path).is_file():
            raise ValueError(f"{option} {path} is not a file")
    photos = _folder(args.photos, "--photos")
    run_calibrate(
        out_dir=Path(args.out),
        seed=args.seed,
        per_photo=args.per_photo,
        jobs=args.jobs,
        quiet=args.quiet,
        real=_folder(args.real, "--real"),
        photos=photo_files([photos], what="--photos")[: args.max_photos] if photos else [],
        real_labels=Path(args.real_labels) if args.real_labels else None,
        real_reports=_folder(args.real_reports, "--real-reports"),
        from_table=Path(args.from_table) if args.from_table else None,
    )


def _inpaint(args: argparse.Namespace) -> None:
    from gencor.bench.inpaint import run_inpaint

    run_inpaint(Path(args.data), out_dir=Path(args.out), seed=args.seed, limit=args.limit, quiet=args.quiet)


def _denoise(args: argparse.Namespace) -> None:
    from gencor.bench.denoise import run_denoise

    sigmas = [int(s) for s in args.sigmas.split(",") if s.strip()]
    run_denoise(
        Path(args.data),
        out_dir=Path(args.out),
        sigmas=sigmas,
        sets=args.sets.split(","),
        with_bm3d=args.bm3d,
        limit=args.limit,
        quiet=args.quiet,
        precision=args.precision,
    )


def _smooth(args: argparse.Namespace) -> None:
    from gencor.bench.smooth import run_smooth

    run_smooth(Path(args.data), out_dir=Path(args.out), lam=args.lam, quiet=args.quiet)


def _sketch(args: argparse.Namespace) -> None:
    from gencor.bench.sketch import run_sketch

    run_sketch(Path(args.data), out_dir=Path(args.out), quiet=args.quiet)


def _levin(args: argparse.Namespace) -> None:
    from gencor.bench.levin import run_levin

    run_levin(Path(args.data), out_dir=Path(args.out), kernel_size=args.kernel_size, jobs=args.jobs, limit=args.limit, quiet=args.quiet)


def _ablation(args: argparse.Namespace) -> None:
    from gencor.bench.ablation import levin_ablation, run_noisy_ablation, run_real_ablation, summarize_real

    out = Path(args.out)
    labels = Path(args.labels) if args.labels else out / "ablation_real_labels.csv"
    if args.summarize:
        summarize_real(out, labels=labels, quiet=args.quiet, limit=args.limit)
        return
    parts = set(args.parts.split(","))
    unknown = parts - {"levin", "noisy", "real", "deconv"}
    if unknown:
        raise ValueError(f"unknown --parts {', '.join(sorted(unknown))}; choose from levin, noisy, real, deconv")
    sigmas = _sigmas(args.sigmas)
    common = dict(out_dir=out, jobs=args.jobs, limit=args.limit, quiet=args.quiet)
    if "levin" in parts:
        levin_ablation(Path(args.data), kernel_size=args.kernel_size, images=args.images, **common)
    if "noisy" in parts:
        run_noisy_ablation(Path(args.noisy), sigmas=sigmas, **common)
    if "real" in parts:
        run_real_ablation(Path(args.real), labels=labels, **common)
    if "deconv" in parts:
        from gencor.bench.ablation_deconv import run_deconv_ablation

        run_deconv_ablation(Path(args.noisy), Path(args.data), sigmas=sigmas, **common)


def _synthetic(args: argparse.Namespace) -> None:
    from gencor.bench.synthetic import noisy_cases, run_synthetic, validation_cases

    command = f"gencor bench {args.bench} --kernel-size {args.kernel_size} --seed {args.seed} --sigma {args.sigma}"
    if args.deconvolution != DEFAULT_DECONVOLUTION:
        command += f" --deconvolution {args.deconvolution}"
    if args.bench == "noisy":
        cases = noisy_cases(Path(args.data), seed=args.seed, sigma=args.sigma)
        title = "Noisy camera-shake set (Set12, Kodak24)"
    else:
        cases = validation_cases(seed=args.seed, sigma=args.sigma)
        title = "Validation set (scikit-image sample photos)"
    stem = f"noisy_{args.sigma:g}" if args.bench == "noisy" else args.bench
    if args.deconvolution != DEFAULT_DECONVOLUTION:
        stem += f"_{args.deconvolution}"
    run_synthetic(
        cases,
        title=title,
        stem=stem,
        command=command,
        out_dir=Path(args.out),
        kernel_size=args.kernel_size,
        jobs=args.jobs,
        limit=args.limit,
        quiet=args.quiet,
        deconvolution=args.deconvolution,
    )


def _names(text: str, allowed: tuple[str, ...], option: str) -> list[str]:
    """A comma-separated list of names from ``allowed``, or a one-line error naming ``option``."""
    names = [n for n in text.split(",") if n]
    unknown = [n for n in names if n not in allowed]
    if unknown or not names:
        raise ValueError(f"{option} {text!r}: choose from {', '.join(allowed)}")
    return names


def _peers(args: argparse.Namespace) -> None:
    import tempfile

    from gencor.bench.peer_programs import build_peers, check_sources
    from gencor.bench.peers import PEERS, SETS, VARIANTS, peers_header, run_peers

    check_sources(Path(args.ipol_src), Path(args.hn_src))
    sets = _names(args.sets, SETS, "--sets")
    names = [*_names(args.peers, PEERS, "--peers"), *_names(args.variants, tuple(VARIANTS), "--variants")]
    if args.build is not None and Path(args.build).exists() and not Path(args.build).is_dir():
        raise ValueError(f"--build {args.build} is not a folder")
    with tempfile.TemporaryDirectory(prefix="gencor-peers-") as tmp:
        build = Path(args.build) if args.build else Path(tmp)
        peers = build_peers(Path(args.ipol_src), Path(args.hn_src), build)
        header = peers_header(args, sets=sets, names=names, ffdnet=peers.ffdnet_note)
        run_peers(
            data=Path(args.data),
            sets=sets,
            names=names,
            peers=peers,
            scratch=Path(tmp),
            out_dir=Path(args.out),
            header=header,
            jobs=args.jobs,
            limit=args.limit,
            only=args.only,
            rolled=args.rolled,
            dump=Path(args.dump_scales) if args.dump_scales else None,
            quiet=args.quiet,
        )


def _outputs(q: argparse.ArgumentParser, what: str = "tables and figures") -> None:
    q.add_argument("--out", default=DOCS, metavar="DIR", help=f"folder for {what} (default {DOCS})")
    q.add_argument("--quiet", action="store_true", help="no progress bar")


def _pool(q: argparse.ArgumentParser, *, limit: str = "images") -> None:
    q.add_argument("--jobs", type=positive_int, default=JOBS, metavar="N", help=f"worker processes (default {JOBS})")
    q.add_argument("--limit", type=positive_int, default=None, metavar="N", help=LIMIT_HELP.format(what=limit))


def add_parser(sub: Any) -> None:
    b = sub.add_parser("bench", help="benchmarks that print and write measured tables and plots")
    bsub = b.add_subparsers(dest="bench", required=True, metavar="BENCH")
    real = DATA / "real_lai16"

    q = bsub.add_parser(
        "speed",
        help="whole-process time, stages and peak memory of gencor deblur on 3 real photos and a 12-megapixel JPEG",
        description="Time 'gencor deblur' with default options as fresh processes (best of --repeats) on three real photos of real_lai16 at full size "
        "and a 12-megapixel RGB JPEG made from a mosaic of scikit-image's sample photos with synthetic shake; report the seconds of each stage and the "
        "peak RSS; write speed.md (the table between its markers) and speed.csv.",
    )
    q.add_argument("--data", default=str(real), metavar="DIR", help=f"the real_lai16 folder (default {real})")
    q.add_argument("--repeats", type=positive_int, default=3, metavar="N", help="runs per photo; the fastest is kept (default 3)")
    q.add_argument(
        "--ipol-src",
        metavar="DIR",
        help="also build the IPOL 2019 l0 peer from its sources (planetscope_sharpness of planetlabs/radiometric_normalization) and time it "
        "on the three real photos in the same run, single-threaded, kernel size 31",
    )
    _outputs(q, "speed.md and speed.csv")
    q.set_defaults(func=_checked(_speed))

    q = bsub.add_parser(
        "batch",
        help="throughput of a folder of 20 photos: one process, --jobs 2 and a Dask LocalCluster with 2 workers",
        description="Make a folder of shaken 0.3-1 MP JPEGs from scikit-image's sample photos and time 'gencor deblur FOLDER -o OUT/' "
        "in one process, with --jobs 2 and with --dask --jobs 2; write batch.md and batch.csv.",
    )
    q.add_argument("--photos", type=positive_int, default=20, metavar="N", help="photos in the folder (default 20)")
    _outputs(q, "batch.md and batch.csv")
    q.set_defaults(func=_checked(_batch))

    q = bsub.add_parser(
        "detect",
        help="does deblurring help a detector? OpenCV's Haar faces and HOG people on sharp, blurred, gencor and Corrector-only photos",
        description="The paper's detection experiment with offline detectors: the detections on the sharp photo are the ground truth; "
        "recall, precision and F1 on the blurred photo, gencor's output and the Corrector-only output (Kodak24 and astronaut, synthetic shake "
        "and noise). Needs OpenCV: pip install 'gencor[bench]'.",
    )
    q.add_argument("--data", default=str(DATA), metavar="DIR", help=f"the shared data folder (default {DATA})")
    _pool(q, limit="photos")
    _outputs(q)
    q.set_defaults(func=_checked(_detect))

    q = bsub.add_parser(
        "nonuniform",
        help="blur that changes across the frame (a camera that also rolls): local kernels against one kernel, kernel sheets",
        description="Shake Kodak24 and the 512 px photos of Set12 (gray) with camera paths that turn about the optical axis, add noise 0.005-0.01, "
        "and deblur each with --blur uniform and --blur local; PSNR of both, of what auto chooses and of the true local kernels, time, and a sheet of "
        "the kernel grid per photo. Writes nonuniform.md, nonuniform.csv and nonuniform/.",
    )
    q.add_argument("--data", default=str(DATA / "test"), metavar="DIR", help=f"the folder holding Kodak24/ and Set12/ (default {DATA / 'test'})")
    q.add_argument("--real", default=None, metavar="DIR", help="instead, run --blur local on every photo of this real_lai16 folder (or the --only ones)")
    q.add_argument("--only", nargs="+", default=None, metavar="NAME", help="with --real: " + ONLY_HELP)
    q.add_argument("--reports", default=None, metavar="DIR", help="with --real: the default run's reports (docs/bench/real) for the 'was' column")
    q.add_argument("--jobs", type=positive_int, default=JOBS, metavar="N", help=f"worker processes (default {JOBS})")
    q.add_argument(
        "--limit",
        type=positive_int,
        default=None,
        metavar="N",
        help=LIMIT_HELP.format(what="photos") + "; with --real, the first N real photos, merged into its index as --only is",
    )
    _outputs(q, "the tables and sheets")
    q.set_defaults(func=_checked(_nonuniform))

    q = bsub.add_parser(
        "real",
        help="every real photo of Lai et al. 2016 with default options: contact sheets and an index",
        description="Deblur every photo of real_lai16/blurry with default options; write a contact sheet per photo to OUT/real/ and the index "
        "OUT/real_index.md.",
    )
    q.add_argument("--data", default=str(real), metavar="DIR", help=f"the real_lai16 folder (default {real})")
    q.add_argument("--only", nargs="+", default=None, metavar="NAME", help=ONLY_HELP)
    q.add_argument("--jobs", type=positive_int, default=JOBS, metavar="N", help=f"worker processes (default {JOBS})")
    q.add_argument("--limit", type=positive_int, default=None, metavar="N", help="only the first N photos, merged into the index as --only is")
    _outputs(q, "the sheets and the index")
    q.set_defaults(func=_checked(_real))

    q = bsub.add_parser(
        "calibrate",
        help="fit the confidence model on synthetic scikit-image cases",
        description="Fit the logistic confidence model of gencor.assess on synthetic camera shake (scikit-image sample photos, never evaluation data); "
        "writes calibration.md/.csv.",
    )
    q.add_argument("--seed", type=nonnegative_int, default=0, metavar="S", help="seed of crops, kernels and noise (default 0)")
    q.add_argument("--per-photo", type=positive_int, default=5, metavar="N", help="cases per sample photo (default 5)")
    q.add_argument(
        "--photos",
        default=None,
        metavar="DIR",
        help="also one case per photo (PNG, JPEG or TIFF) of DIR (training photos, e.g. ../shared/data/train/BSDS500/test; never evaluation images)",
    )
    q.add_argument("--max-photos", type=positive_int, default=60, metavar="N", help="at most N photos of --photos (default 60)")
    q.add_argument(
        "--real",
        default=None,
        metavar="DIR",
        help="also fit on the reports of 'gencor bench real' in DIR (e.g. docs/bench/real): candidates whose kernel matches the published estimate "
        "count as good",
    )
    q.add_argument(
        "--real-labels",
        default=None,
        metavar="CSV",
        help="also fit on real photos judged by eye: a CSV of photo,candidate,verdict (better|same|worse), e.g. docs/bench/real_labels.csv; "
        "needs --real-reports",
    )
    q.add_argument("--real-reports", default=None, metavar="DIR", help="the reports (*.json) of 'gencor bench real' that --real-labels judges")
    q.add_argument(
        "--from-table",
        default=None,
        metavar="CSV",
        help="reuse the synthetic candidates of an earlier calibration.csv instead of rerunning them (valid while the pipeline is unchanged)",
    )
    q.add_argument("--jobs", type=positive_int, default=JOBS, metavar="N", help=f"worker processes (default {JOBS})")
    _outputs(q, "the tables")
    q.set_defaults(func=_checked(_calibrate))

    for name, func, help_ in (
        (
            "inpaint",
            _inpaint,
            "inpainting against OpenCV (Telea, Navier-Stokes, FSR) and scikit-image (biharmonic): Kodak24 with 60% random and text masks, and "
            "examples/inpainting",
        ),
        ("smooth", _smooth, "L0 smoothing against cv2.ximgproc.l0Smooth at the same lambda: objective reached, time, and a figure on examples/rtv"),
        ("sketch", _sketch, "figure: pencil sketch of the raw photo, of the L0-smoothed photo, and cv2.pencilSketch"),
    ):
        # A help string is %-formatted by argparse (a description is not): the "60%" must be escaped there.
        q = bsub.add_parser(name, help=help_.replace("%", "%%"), description=help_ + ". Needs OpenCV: pip install 'gencor[bench]'.")
        q.add_argument("--data", default=str(DATA), metavar="DIR", help=f"the shared data folder (default {DATA})")
        _outputs(q)
        if name == "inpaint":
            q.add_argument("--seed", type=nonnegative_int, default=0, metavar="S", help="seed of the random masks (default 0)")
            q.add_argument("--limit", type=positive_int, default=None, metavar="N", help=LIMIT_HELP.format(what="Kodak photos"))
        if name == "smooth":
            q.add_argument("--lam", type=positive_float, default=0.02, metavar="L", help="smoothing weight for both tools (default 0.02)")
        q.set_defaults(func=_checked(func))

    help_ = "the denoiser on BSD68 (gray) and Kodak24 (color) at sigma 15, 25, 50 of 255, against BM3D with --bm3d"
    q = bsub.add_parser("denoise", help=help_, description=help_)
    q.add_argument("--data", default=str(DATA), metavar="DIR", help=f"the shared data folder, with test/BSD68 and test/Kodak24 (default {DATA})")
    q.add_argument("--sigmas", default="15,25,50", metavar="S,S", help="noise levels of 255 (default 15,25,50)")
    q.add_argument("--sets", default="BSD68,Kodak24", metavar="SET,SET", help="BSD68 (gray), Kodak24 (color) (default both)")
    q.add_argument("--bm3d", action="store_true", help="also BM3D (PyPI bm3d, free for non-commercial use only; not installed with gencor)")
    q.add_argument(
        "--precision",
        choices=list(DENOISE_PRECISIONS),
        default="auto",
        help="the network's arithmetic (default auto: bfloat16 on CPUs with bfloat16 units)",
    )
    q.add_argument("--limit", type=positive_int, default=None, metavar="N", help=LIMIT_HELP.format(what="images of each set"))
    _outputs(q, "denoiser.md and denoiser.csv")
    q.set_defaults(func=_checked(_denoise))

    q = bsub.add_parser(
        "peers",
        help="gencor side by side with the two public C++ peers (IPOL 2019 l0, and its high-noise variant), built from their sources",
        description="Build the IPOL 2019 l0-gradient deblurring code and its high-noise variant from the folders of their sources (copied to --build, "
        "built with make and cmake; GPL programs, never shipped with gencor), then run them and gencor's variants on the same photos with the same "
        "kernel size (the true extent made odd) and noise level (the true one): the noisy set at 0.01 and 0.02, Levin's 32 images and rolled "
        "training photos. Per case and program: kernel similarity, error ratio (same deconvolution), PSNR gain of its own output, seconds. "
        "Writes peers.md, peers.csv and an ER CDF plot per set.",
    )
    q.add_argument("--ipol-src", required=True, metavar="DIR", help="the IPOL peer's sources (planetscope_sharpness of planetlabs/radiometric_normalization)")
    q.add_argument("--hn-src", required=True, metavar="DIR", help="the high-noise peer's sources (kidanger/high-noise-deblurring)")
    q.add_argument("--build", default=None, metavar="DIR", help="where to copy and build them (default a temporary folder, removed after)")
    q.add_argument("--data", default=str(DATA), metavar="DIR", help=f"the shared data folder: test/, levin09/, train/BSDS500/train/ (default {DATA})")
    q.add_argument(
        "--sets",
        default="noisy0.01,noisy0.02,levin,rolled",
        metavar="S,S",
        help="which sets (default noisy0.01,noisy0.02,levin,rolled); a subset merges its rows into the existing table, by case and program",
    )
    q.add_argument("--peers", default="ipol,hn", metavar="P,P", help="which peers (default ipol,hn)")
    q.add_argument(
        "--variants",
        default="gencor,gencor-auto",
        metavar="V,V",
        help="which gencor variants: gencor, gencor-auto (whole pipeline), gencor-est, gencor-l0 (estimator only) (default gencor,gencor-auto)",
    )
    q.add_argument("--rolled", type=positive_int, default=8, metavar="N", help="rolled training photos (default 8)")
    q.add_argument(
        "--dump-scales",
        default=None,
        metavar="DIR",
        help="also write every program's kernel at every scale, per case, and where gencor's leaves the peer's (DIR/scales.md)",
    )
    q.add_argument(
        "--only",
        nargs="+",
        default=None,
        metavar="NAME",
        help="re-run only these cases (SET/NAME or NAME): each new row replaces the row of its case and program in the existing table, the other rows stay",
    )
    q.add_argument("--jobs", type=positive_int, default=1, metavar="N", help="worker processes (default 1: the timings are single-threaded)")
    q.add_argument("--limit", type=positive_int, default=None, metavar="N", help=LIMIT_HELP.format(what="cases of each set"))
    _outputs(q, "peers.md, peers.csv and the plots")
    q.set_defaults(func=_checked(_peers))

    for name, func, data, ks, help_ in (
        ("levin", _levin, DATA / "levin09", "auto", "Levin et al. 2009: 32 images, 8 kernels, Levin's comp_upto_shift protocol"),
        (
            "ablation",
            _ablation,
            DATA / "levin09",
            31,
            "GCM against Generator only and Corrector only: per-stage curves on a few Levin images and the full Levin table of each; the "
            "noisy set at two noise levels; blind sheets of every third real photo to judge by eye",
        ),
        (
            "noisy",
            _synthetic,
            DATA / "test",
            "auto",
            "our noisy set: test photos, synthetic camera shake up to 75 px, noise 0.01 (or --sigma), every third photo with clipped lights, 8 bit",
        ),
        ("validation", _synthetic, None, "auto", "the validation set parameters are chosen on: scikit-image sample photos, shake up to 27 px, noise 0.005"),
    ):
        q = bsub.add_parser(name, help=help_, description=help_)
        if data is not None:
            q.add_argument("--data", default=str(data), metavar="DIR", help=f"data folder (default {data})")
        q.add_argument(
            "--kernel-size",
            type=bench_kernel_size,
            default=ks,
            metavar="N",
            help=f"kernel size given to the estimator: 'auto' or an odd integer of 3 or more (default {ks})",
        )
        _pool(q)
        _outputs(q, "the Markdown table, CSV and plots")
        if name == "ablation":
            q.add_argument("--images", type=positive_int, default=4, metavar="N", help="Levin images followed stage by stage (default 4)")
            q.add_argument("--noisy", default=str(DATA / "test"), metavar="DIR", help=f"the noisy set's photos (default {DATA / 'test'})")
            q.add_argument("--sigmas", default="0.01,0.02", metavar="S,S", help="noise levels of the noisy set (default 0.01,0.02)")
            q.add_argument(
                "--parts",
                default="levin,noisy,real,deconv",
                metavar="P,P",
                help="which parts to run: levin, noisy, real (the kernel estimator's Generator), deconv (the final deconvolution's, with the "
                "true kernel on the noisy set and Levin) (default all four)",
            )
            q.add_argument(
                "--real", default=str(DATA / "real_lai16"), metavar="DIR", help=f"the real photos (default {DATA / 'real_lai16'}); every third is used"
            )
            q.add_argument(
                "--labels", default=None, metavar="CSV", help="verdicts by eye on the real sheets, photo,variant,verdict (default OUT/ablation_real_labels.csv)"
            )
            q.add_argument("--summarize", action="store_true", help="only rewrite ablation_real.md from ablation_real.csv and the labels")
        if name not in ("levin", "ablation"):
            sigma = 0.01 if name == "noisy" else 0.005
            q.add_argument("--seed", type=nonnegative_int, default=0, metavar="S", help="seed of the kernels and noise (default 0)")
            q.add_argument("--sigma", type=noise_level, default=sigma, metavar="S", help=f"noise standard deviation (default {sigma})")
            q.add_argument(
                "--deconvolution",
                choices=list(DECONVOLUTION_METHODS),
                default=DEFAULT_DECONVOLUTION,
                help=f"deblur's final deconvolution (default {DEFAULT_DECONVOLUTION}); another method writes NAME_METHOD tables",
            )
        q.set_defaults(func=_checked(func))
