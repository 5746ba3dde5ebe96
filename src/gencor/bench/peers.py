"""``gencor bench peers``: gencor side by side with the two public C++ peers, on the same inputs.

Every program gets the same photo, the same kernel size (the true kernel's extent made odd, the
convention of the field's tables) and, where it takes one, the same noise level (the true one).
The programs (see :mod:`gencor.bench.peer_programs` for the peers):

- ``ipol`` and ``hn``: the peers, each with its own final deconvolution;
- gencor's variants (:data:`VARIANTS`, a name -> :class:`Variant` registry): *pipeline* variants
  return a :class:`~gencor.tasks.deblur.DeblurResult` whose image is their final output;
  *estimator* variants return a kernel (or a :class:`~gencor.kernels.estimate.KernelEstimate`),
  and gencor's :func:`~gencor.tasks.deconv.deconvolve` makes their output. A new estimator joins
  with one line, ``VARIANTS["mine"] = Variant("estimator", lambda y, size, sigma: ..., "what it is")``,
  and ``--variants mine`` runs it.

Per case and program: the kernel similarity to the truth (up to a shift), the error ratio (the
program's kernel and the true one through the SAME deconvolution, SSDs against the sharp image up
to a shift, as ``gencor bench noisy`` and ``levin`` compute it), the PSNR gain of the program's own
final output over the blurred photo (up to a shift), the chosen kernel size of automatic variants
and the wall-clock seconds.
"""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from gencor.bench.common import Row, _single_threaded, markdown_table, write_tables
from gencor.bench.partial import existing_rows, limited, merged, photo_key
from gencor.bench.peer_cases import LEVIN_SIGMA, SETS, CaseRef, PeerCase, case_refs, load_case, odd_extent
from gencor.bench.peer_programs import HN_TV_LAMBDA, Peers, run_hn, run_ipol
from gencor.kernels.estimate import KernelEstimate
from gencor.metrics import image_scores, kernel_similarity
from gencor.plots import cdf_plot
from gencor.tasks.deblur import DeblurResult
from gencor.tasks.deconv import deconvolve, default_lam

#: Error ratio at or under which a kernel counts as a success (Levin et al.'s threshold).
ER_SUCCESS = 3.0
COLUMNS = [
    "photo",
    "set",
    "program",
    "kind",
    "kernel_extent",
    "kernel_size",
    "chosen_size",
    "similarity",
    "error_ratio",
    "psnr_blurred",
    "psnr",
    "gain_db",
    "seconds",
    "note",
]
SUMMARY_COLUMNS = [
    "set",
    "program",
    "kind",
    "cases",
    "mean_similarity",
    "er<=3",
    "median_er",
    "mean_gain_db",
    "worst_gain_db",
    "mean_seconds",
    "median_size/extent",
]


@dataclass(frozen=True)
class Outcome:
    """What a program returned: its kernel, its own final image (``None``: gencor's deconvolution
    makes it), the size it chose, a note (a decision, a failure) and its per-scale kernels."""

    kernel: np.ndarray
    image: np.ndarray | None = None
    chosen_size: int | None = None
    note: str = ""
    scales: list[np.ndarray] = field(default_factory=list)


#: A program: ``(blurred, kernel_size, sigma) -> Outcome``.
Program = Callable[[np.ndarray, int, float], Outcome]


@dataclass(frozen=True)
class Variant:
    """A gencor variant: ``kind`` is ``"pipeline"`` (``run`` returns a DeblurResult, its image is
    the output) or ``"estimator"`` (``run`` returns a kernel or a KernelEstimate)."""

    kind: str
    run: Callable[[np.ndarray, int, float], Any]
    what: str


def _deblur_fixed(y: np.ndarray, size: int, sigma: float) -> DeblurResult:
    from gencor.tasks.deblur import deblur

    return deblur(y, kernel_size=size)


def _deblur_auto(y: np.ndarray, size: int, sigma: float) -> DeblurResult:
    from gencor.tasks.deblur import deblur

    return deblur(y, kernel_size="auto")


def _gcm(y: np.ndarray, size: int, sigma: float) -> KernelEstimate:
    from gencor.generators import DEFAULT_GENERATOR, generator_factory
    from gencor.kernels.estimate import estimate_kernel

    return estimate_kernel(y, size, generator=generator_factory(DEFAULT_GENERATOR))


def _l0(y: np.ndarray, size: int, sigma: float) -> KernelEstimate:
    from gencor.kernels.l0 import estimate_kernel_l0

    return estimate_kernel_l0(y, size)


def _noise_aware(y: np.ndarray, size: int, sigma: float) -> KernelEstimate:
    from gencor.kernels.noiseaware import estimate_kernel_noise_aware

    return estimate_kernel_noise_aware(y, size, sigma=sigma)


VARIANTS: dict[str, Variant] = {
    "gencor": Variant("pipeline", _deblur_fixed, "deblur(y, kernel_size=N), default options"),
    "gencor-auto": Variant("pipeline", _deblur_auto, 'deblur(y, kernel_size="auto"), default options'),
    "gencor-est": Variant("estimator", _gcm, "estimate_kernel(y, N) with the shipped CNN generator (the GCM estimator alone)"),
    "gencor-l0": Variant("estimator", _l0, "estimate_kernel_l0(y, N) (the l0 family alone)"),
    "gencor-na": Variant("estimator", _noise_aware, "estimate_kernel_noise_aware(y, N, sigma=sigma) (the noise-aware family alone, given the true sigma)"),
}
DEFAULT_VARIANTS = ("gencor", "gencor-auto")
PEERS = ("ipol", "hn")


def as_outcome(out: Any) -> Outcome:
    """A variant's return value as an :class:`Outcome`."""
    if isinstance(out, DeblurResult):
        scales = [s.kernel for s in out.estimate.scales]
        return Outcome(out.kernel, out.image, out.report.kernel_size, out.report.decision, scales)
    if isinstance(out, KernelEstimate):
        return Outcome(out.kernel, scales=[s.kernel for s in out.scales])
    return Outcome(np.asarray(out, dtype=float))


@dataclass(frozen=True)
class Reference:
    """What every program of a case is scored against: the deconvolution's weight, the SSD of
    the true kernel's deconvolution and the blurred photo's PSNR (all up to a shift)."""

    lam: float
    true_ssd: float
    psnr_blurred: float


def reference(case: PeerCase) -> Reference:
    """The true kernel through gencor's deconvolution, at the weight of the measured noise (as the
    other benches do), and the blurred photo's score."""
    from gencor.noise import estimate_noise

    lam = default_lam(estimate_noise(case.blurred))
    true = image_scores(deconvolve(case.blurred, case.kernel, lam=lam, method="hyper-laplacian").image, case.sharp)
    return Reference(lam, true["ssd"], image_scores(case.blurred, case.sharp)["psnr"])


def score(case: PeerCase, ref: Reference, program: str, kind: str, out: Outcome, seconds: float) -> Row:
    """One row: the program's kernel through the same deconvolution as the true one (error ratio),
    and its own final output against the blurred photo (gain)."""
    deconv = image_scores(deconvolve(case.blurred, out.kernel, lam=ref.lam, method="hyper-laplacian").image, case.sharp)
    final = deconv if out.image is None else image_scores(out.image, case.sharp)
    extent, size = odd_extent(case.kernel)
    return {
        "photo": case.photo,
        "set": case.set,
        "program": program,
        "kind": kind,
        "kernel_extent": extent,
        "kernel_size": size,
        "chosen_size": out.chosen_size if out.chosen_size is not None else out.kernel.shape[0],
        "similarity": kernel_similarity(out.kernel, case.kernel),
        "error_ratio": deconv["ssd"] / ref.true_ssd,
        "psnr_blurred": ref.psnr_blurred,
        "psnr": final["psnr"],
        "gain_db": final["psnr"] - ref.psnr_blurred,
        "seconds": seconds,
        "note": out.note,
    }


def programs(names: Sequence[str], peers: Peers | None, work: Path, *, debug: bool) -> dict[str, tuple[str, Program]]:
    """The programs called ``names``: the peers (when built) and gencor's variants, with their kind."""
    out: dict[str, tuple[str, Program]] = {}
    for name in names:
        if name in PEERS:
            if peers is None:
                raise ValueError(f"program {name!r} needs the peers built")
            out[name] = ("peer", _peer_program(name, peers, work / name, debug))
        else:
            variant = VARIANTS[name]
            out[name] = (variant.kind, _variant_program(variant))
    return out


def _variant_program(variant: Variant) -> Program:
    def run(y: np.ndarray, size: int, sigma: float) -> Outcome:
        return as_outcome(variant.run(y, size, sigma))

    return run


def _peer_program(name: str, peers: Peers, work: Path, debug: bool) -> Program:
    def run(y: np.ndarray, size: int, sigma: float) -> Outcome:
        got = run_ipol(peers, y, size, work, debug=debug) if name == "ipol" else run_hn(peers, y, size, sigma, work, debug=debug)
        return Outcome(got.kernel, got.image, scales=got.scales)

    return run


def run_case(case: PeerCase, progs: dict[str, tuple[str, Program]]) -> tuple[list[Row], dict[str, Outcome]]:
    """Every program on ``case``: the rows, and the outcomes (for the per-scale dumps). A program
    that fails leaves a row with its one-line reason and no numbers."""
    import time

    ref = reference(case)
    _, size = odd_extent(case.kernel)
    rows, outcomes = [], {}
    for name, (kind, prog) in progs.items():
        start = time.perf_counter()
        try:
            out = prog(case.blurred, size, case.sigma)
            row = score(case, ref, name, kind, out, time.perf_counter() - start)
        except ValueError as exc:  # a failed run, or a kernel no deconvolution takes (all zero)
            rows.append({"photo": case.photo, "set": case.set, "program": name, "kind": kind, "note": f"failed: {exc}"})
            continue
        rows.append(row)
        outcomes[name] = out
    return rows, outcomes


@dataclass(frozen=True)
class Job:
    """One case for a worker: the case, the program names, the built peers and the folders."""

    ref: CaseRef
    names: tuple[str, ...]
    peers: Peers | None
    scratch: Path
    dump: Path | None


def _work(job: Job) -> list[Row]:
    from gencor.bench.peer_scales import dump_case

    if any(VARIANTS[n].kind == "pipeline" or n == "gencor-est" for n in job.names if n in VARIANTS):
        from gencor.models.generator import shipped_generator

        shipped_generator()  # torch and the weights load once per process, outside the timing
    case = load_case(job.ref)
    progs = programs(job.names, job.peers, job.scratch / f"w{os.getpid()}", debug=job.dump is not None)
    rows, outcomes = run_case(case, progs)
    if job.dump is not None:
        dump_case(job.dump, case, outcomes)
    return rows


def summary(rows: Sequence[Row]) -> list[Row]:
    """Per set and program: cases, mean similarity, ER <= 3 share, median ER, mean and worst gain,
    mean seconds and (for automatic sizes) the median chosen size over the true extent."""
    out = []
    keys = dict.fromkeys((r["set"], r["program"], r["kind"]) for r in rows)
    for s, p, kind in keys:
        done = [r for r in rows if (r["set"], r["program"]) == (s, p) and isinstance(r.get("error_ratio"), (int, float))]
        if not done:
            out.append({"set": s, "program": p, "kind": kind, "cases": 0})
            continue
        er = np.array([r["error_ratio"] for r in done])
        gain = np.array([r["gain_db"] for r in done])
        ratio = np.array([r["chosen_size"] / r["kernel_extent"] for r in done])
        out.append(
            {
                "set": s,
                "program": p,
                "kind": kind,
                "cases": len(done),
                "mean_similarity": float(np.mean([r["similarity"] for r in done])),
                "er<=3": float(np.mean(er <= ER_SUCCESS)),
                "median_er": float(np.median(er)),
                "mean_gain_db": float(gain.mean()),
                "worst_gain_db": float(gain.min()),
                "mean_seconds": float(np.mean([r["seconds"] for r in done])),
                "median_size/extent": float(np.median(ratio)),
            }
        )
    return out


def write_report(out_dir: Path, stem: str, rows: Sequence[Row], header: str, *, totals: dict[str, int] | None = None) -> str:
    """``stem.md`` (header, the cases measured of each set's ``totals``, summary per set and program,
    the per-case table) and ``stem.csv``, and an ER CDF plot per set; return the Markdown."""
    measured = {s: len({r["photo"] for r in rows if r["set"] == s}) for s in dict.fromkeys(r["set"] for r in rows)}
    counts = ", ".join(f"{s} {n} of {(totals or {}).get(s, n)}" for s, n in measured.items())
    table = markdown_table(summary(rows), SUMMARY_COLUMNS)
    text = f"{header}\n\nCases in this table, per set: {counts}.\n\n## Summary per set and program\n\n{table}\n## Every case"
    md = write_tables(out_dir, stem, list(rows), COLUMNS, text)
    for s in dict.fromkeys(r["set"] for r in rows):
        curves = {
            p: np.array([r["error_ratio"] for r in rows if (r["set"], r["program"]) == (s, p) and isinstance(r.get("error_ratio"), (int, float))])
            for p in dict.fromkeys(r["program"] for r in rows if r["set"] == s)
        }
        cdf_plot({p: er for p, er in curves.items() if er.size}, out_dir / f"{stem}_er_cdf_{s}.png", title=f"{s}: error ratio per program")
    return md


def read_markdown_rows(text: str) -> list[Row]:
    """The per-case rows of a ``peers.md`` (the last table), numbers as numbers."""
    from gencor.bench.partial import _value

    lines = [s for s in text.split("## Every case", 1)[-1].splitlines() if s.startswith("|")]
    names = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(names, (_value(c.strip()) for c in line.strip("|").split("|")), strict=True)) for line in lines[2:]]


def case_program(row: Row) -> tuple[str, str, str]:
    """A row's case and program: a re-run replaces only the rows of the programs it ran, so that a
    run of fewer programs keeps the others' rows of the same photos."""
    return str(row["set"]), photo_key(row), str(row["program"])


def run_peers(
    *,
    data: Path,
    sets: Sequence[str],
    names: Sequence[str],
    peers: Peers | None,
    scratch: Path,
    out_dir: Path,
    header: str,
    jobs: int,
    limit: int | None,
    only: Sequence[str] | None,
    rolled: int,
    dump: Path | None,
    quiet: bool,
) -> list[Row]:
    """Run every program on the cases of ``sets`` (the first ``limit`` of each, or the ``only``
    ones), writing the tables after each case so that a stopped run keeps what it measured."""
    refs = case_refs(sets, data, rolled=rolled)
    totals = {s: sum(r.set == s for r in refs) for s in sets}
    for other in set(SETS) - set(sets):  # the sets of earlier runs merged into this table
        with contextlib.suppress(ValueError):
            totals[other] = len(case_refs([other], data, rolled=rolled))
    if limit:
        refs = [r for s in sets for r in [q for q in refs if q.set == s][:limit]]
    if only:
        refs = [r for r in refs if r.photo in set(only) or r.name in set(only)]
        if not refs:
            raise ValueError(f"--only {' '.join(only)}: no such case in the sets {', '.join(sets)}")
    stem = limited("peers", limit)
    partial = bool(only) or set(sets) != set(SETS)
    old = existing_rows(out_dir, stem, COLUMNS) if partial and not limit else []
    if dump is not None:
        dump.mkdir(parents=True, exist_ok=True)
    new: list[Row] = []
    jobs_ = [Job(r, tuple(names), peers, scratch, dump) for r in refs]
    with ProcessPoolExecutor(max_workers=jobs, initializer=_single_threaded) as pool:
        for rows in tqdm(pool.map(_work, jobs_), total=len(jobs_), desc="peers", disable=True if quiet else None):
            new += rows
            every = merged(old, new, case_program) if old else sorted(new, key=photo_key)
            write_report(out_dir, stem, every, header, totals=totals)
    if dump is not None:
        from gencor.bench.peer_scales import scale_summary

        scale_summary(dump, merged(old, new, case_program) if old else new)
    return new


def machine() -> str:
    """The machine, in words, for the table's header."""
    return f"{platform.machine()} {platform.processor() or 'cpu'}, {os.cpu_count()} cores, Python {platform.python_version()}"


def peers_header(args: Any, *, sets: Sequence[str], names: Sequence[str], ffdnet: str) -> str:
    """The table's header: the exact command, the machine and what each program ran with."""
    parts = ["gencor bench peers", f"--ipol-src {args.ipol_src}", f"--hn-src {args.hn_src}", f"--sets {','.join(sets)}"]
    parts += [f"--peers {','.join(n for n in names if n in PEERS)}", f"--variants {','.join(n for n in names if n not in PEERS)}", f"--jobs {args.jobs}"]
    optional = {"--limit": args.limit, "--rolled": args.rolled if "rolled" in sets else None, "--dump-scales": args.dump_scales}
    parts += [f"{k} {v}" for k, v in optional.items() if v] + ([f"--only {' '.join(args.only)}"] if args.only else [])
    what = {
        "ipol": "IPOL 2019 l0 peer: `estimate-kernel N` with its defaults, then its own TV `deconv` (defaults)",
        "hn": "high-noise peer: `estimate-kernel N --lambda-min 0.5 sigma --gamma 200 sigma` (sigma on [0, 1], its run.sh), "
        f"then {ffdnet}, `deblur` lambda {HN_TV_LAMBDA}",
        **{n: f"{v.what} [{v.kind}]" for n, v in VARIANTS.items()},
    }
    cut = f" Only the first {args.limit} cases of each set (`--limit`): a partial run." if args.limit else ""
    return (
        "# gencor and the two C++ peers, side by side\n\n"
        f"`{' '.join(parts)}` on {machine()}.{cut}\n\n"
        "Every program gets the same 8-bit gray photo, the same kernel size N (the true kernel's extent made odd) and the same sigma "
        f"(the true one: noisyS sets sigma = S; Levin sigma = {LEVIN_SIGMA}, an assumption, its own noise is small; rolled: each photo's 0.005-0.01). "
        "Rolled: BSDS500 train photos through a camera that also rolls, as scripts/experiments/local_start.py makes them; their 'true kernel' is "
        "the one at the frame's centre, so an error ratio under 1 is possible there.\n\n"
        + "\n".join(f"- `{n}`: {what[n]}" for n in names)
        + "\n\nKinds: *peer* and *pipeline* programs are scored on their own final output; *estimator* variants return a kernel only, and "
        "gencor's deconvolution makes their output. similarity = gencor.metrics.kernel_similarity with the true kernel (up to a shift). "
        "error_ratio = SSD of gencor.tasks.deconv.deconvolve with the program's kernel / SSD of the same deconvolution with the true kernel "
        "(same weight, from the measured noise), both against the sharp image up to a shift. gain_db = PSNR of the program's own output minus the "
        "blurred photo's (up to a shift, 15 px border). chosen_size: the size a program chose (gencor-auto) or the side of the kernel it "
        "returned. seconds: wall clock of one program on one photo, single-threaded (OMP/MKL/OpenBLAS threads 1 for the peers, "
        "one BLAS and torch thread for gencor, whose network is loaded before the timing); the peers' seconds include writing their input, "
        "reading their output and, for hn, FFDNet's Python start-up"
        + (" and, with --dump-scales, the writing of their debug images." if args.dump_scales else ".")
    )
