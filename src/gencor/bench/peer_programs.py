"""The two public C++ peers of ``gencor bench peers``, built and run as external programs.

- ``ipol``: the l0-gradient code of Anger, Facciolo and Delbracio, "Blind image deblurring using
  the l0 gradient prior" (IPOL 2019): ``estimate-kernel`` with its defaults, then its own TV
  deconvolution ``deconv``.
- ``hn``: its high-noise variant (Anger, Delbracio, Facciolo, ISPA 2019, ``high-noise-deblurring``):
  ``estimate-kernel`` with the noise-tied weights of its ``run.sh`` (lambda_min = 0.5 sigma, gamma =
  200 sigma, sigma on the [0, 1] scale), FFDNet when its PyTorch script runs here, then its TV
  deconvolution ``deblur`` with lambda 0.005.

They are GPL programs: gencor never ships or copies them. The user gives the folders of their
sources; each is copied to a build folder and built there with ``make`` (and ``cmake`` for the
high-noise peer's deconvolution), with ``-include array`` added to the C++ flags (their sources
predate the compilers that stopped including ``<array>`` implicitly). Every run is single-threaded.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image

#: What each peer's build needs on the PATH.
#: The tools the builds need: the IPOL peer alone, and with the high-noise peer.
IPOL_TOOLS = ("make", "c++", "cc")
TOOLS = (*IPOL_TOOLS, "cmake")
#: Added to the C++ flags of both builds (through the environment, so that the Makefiles' own
#: ``CXXFLAGS +=`` optimisation flags are kept).
CXX_EXTRA = "-include array"
#: Longest a build step or one peer run may take, in seconds.
BUILD_TIMEOUT = 900
RUN_TIMEOUT = 900
#: The high-noise peer's weights, from the noise level on the [0, 1] scale (its run.sh).
HN_LAMBDA_PER_SIGMA = 0.5
HN_GAMMA_PER_SIGMA = 200.0
#: The TV weight of the high-noise peer's final deconvolution (its run.sh).
HN_TV_LAMBDA = 0.005
#: FFDNet's script needs one old scikit-image name: this shim gives it the new one, in the
#: command line only (nothing of the peer is changed).
FFDNET_SHIM = (
    "import sys,types,runpy,skimage.metrics as m;"
    "sys.modules['skimage.measure.simple_metrics']=types.SimpleNamespace(compare_psnr=m.peak_signal_noise_ratio);"
    "sys.argv=sys.argv[1:];sys.path.insert(0,'.');runpy.run_path(sys.argv[0],run_name='__main__')"
)
#: Files of a source folder that are not copied (objects and binaries of an earlier build).
NOT_COPIED = ("*.o", "build", "__pycache__")


@dataclass(frozen=True)
class Peers:
    """The built peers: the paths of their programs, and whether FFDNet runs here (else the
    high-noise peer deconvolves the noisy photo itself, and ``ffdnet_note`` says why)."""

    ipol_estimate: Path
    ipol_deconv: Path
    hn_estimate: Path
    hn_deblur: Path
    ffdnet: Path | None
    ffdnet_note: str


@dataclass(frozen=True)
class PeerRun:
    """What a peer returned on one photo: its kernel (convolution convention, sum 1), its own final
    image in [0, 1] and its per-scale kernels (coarse to fine, only when run with a debug folder)."""

    kernel: np.ndarray
    image: np.ndarray
    scales: list[np.ndarray]


def single_threaded_env() -> dict[str, str]:
    """The environment of every peer run: one OpenMP (and FFTW, and torch) thread."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def _last_line(text: str) -> str:
    lines = [s for s in text.strip().splitlines() if s.strip()]
    return lines[-1].strip() if lines else "no message"


def _run(args: list[str], *, what: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = RUN_TIMEOUT) -> None:
    """Run ``args``; a failure is a one-line ``ValueError`` naming ``what`` and its last words."""
    try:
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ValueError(f"{what} failed: {exc}") from None
    if done.returncode != 0:
        raise ValueError(f"{what} failed (exit {done.returncode}): {_last_line(done.stderr or done.stdout)}")


#: The files that make a source folder the peer's.
IPOL_FILES = ("Makefile", "src/estimate_kernel.cpp", "src/deconv.cpp")
HN_FILES = ("kernel-estimation/Makefile", "nonblind-deconvolution/CMakeLists.txt", "ffdnet-denoiser/test_ffdnet_ipol.py")


def check_sources(ipol_src: Path, hn_src: Path | None = None) -> None:
    """One-line errors for a source folder that is not the peer's."""
    expected = [("--ipol-src", ipol_src, IPOL_FILES)]
    if hn_src is not None:
        expected.append(("--hn-src", hn_src, HN_FILES))
    for option, folder, files in expected:
        if not folder.is_dir():
            raise ValueError(f"{option} {folder} is not a folder")
        missing = [f for f in files if not (folder / f).is_file()]
        if missing:
            raise ValueError(f"{option} {folder} does not hold the peer's sources (no {missing[0]})")


def _build_env(tools: tuple[str, ...]) -> dict[str, str]:
    for tool in tools:
        if shutil.which(tool) is None:
            raise ValueError(f"building the peers needs {tool!r}, which is not on the PATH")
    return {**single_threaded_env(), "CXXFLAGS": CXX_EXTRA}


def build_ipol(ipol_src: Path, build: Path) -> tuple[Path, Path]:
    """Copy the IPOL peer's sources into ``build / "ipol"`` and build them there; return its
    ``estimate-kernel`` and ``deconv`` programs."""
    check_sources(ipol_src)
    return _make_ipol(ipol_src, build, _build_env(IPOL_TOOLS))


def _make_ipol(ipol_src: Path, build: Path, env: dict[str, str]) -> tuple[Path, Path]:
    """:func:`build_ipol` once the sources and the tools are checked."""
    ipol = build / "ipol"
    shutil.copytree(ipol_src, ipol, ignore=shutil.ignore_patterns(*NOT_COPIED), dirs_exist_ok=True)
    _run(["make", "-C", str(ipol), "estimate-kernel", "deconv"], what="make of the IPOL peer", env=env, timeout=BUILD_TIMEOUT)
    return ipol / "estimate-kernel", ipol / "deconv"


def build_peers(ipol_src: Path, hn_src: Path, build: Path) -> Peers:
    """Copy both source folders into ``build`` and build them there; return the programs."""
    check_sources(ipol_src, hn_src)
    env = _build_env(TOOLS)
    ipol_estimate, ipol_deconv = _make_ipol(ipol_src, build, env)
    hn = build / "hn"
    shutil.copytree(hn_src, hn, ignore=shutil.ignore_patterns(*NOT_COPIED), dirs_exist_ok=True)
    _run(["make", "-C", str(hn / "kernel-estimation"), "estimate-kernel"], what="make of the high-noise peer", env=env, timeout=BUILD_TIMEOUT)
    nb = hn / "nonblind-deconvolution"
    _run(
        ["cmake", "-S", str(nb), "-B", str(nb / "build"), f"-DCMAKE_CXX_FLAGS={CXX_EXTRA}", "-DCMAKE_BUILD_TYPE=Release"],
        what="cmake of the high-noise peer's deconvolution",
        env=env,
        timeout=BUILD_TIMEOUT,
    )
    _run(["cmake", "--build", str(nb / "build")], what="build of the high-noise peer's deconvolution", env=env, timeout=BUILD_TIMEOUT)
    ffdnet, note = _try_ffdnet(hn / "ffdnet-denoiser", build)
    return Peers(ipol_estimate, ipol_deconv, hn / "kernel-estimation" / "estimate-kernel", nb / "build" / "deblur", ffdnet, note)


def _try_ffdnet(folder: Path, scratch: Path) -> tuple[Path | None, str]:
    """FFDNet's folder when its script denoises a small test image here, else why not."""
    probe = scratch / "ffdnet_probe.png"
    rng = np.random.default_rng(0)
    save_png(probe, np.clip(0.5 + 0.02 * rng.standard_normal((32, 32)), 0, 1))
    try:
        _ffdnet(folder, probe, scratch / "ffdnet_probe_out.tif", 0.02)
    except ValueError as exc:
        return None, f"FFDNet does not run here ({exc}): the high-noise peer's TV deconvolution runs on the noisy photo"
    return folder, (
        "FFDNet given sigma (its script and shipped gray weights, on the CPU, with a one-line shim for the old scikit-image name it imports) "
        "before the TV deconvolution"
    )


def _ffdnet(folder: Path, noisy: Path, out: Path, sigma: float) -> None:
    args = [sys.executable, "-W", "ignore", "-c", FFDNET_SHIM, "test_ffdnet_ipol.py", "--input", str(noisy)]
    args += ["--noise_sigma", f"{sigma * 255:.6g}", "--output", str(out), "--no_gpu"]
    _run(args, what="FFDNet", cwd=folder, env=single_threaded_env())


def save_png(path: Path, image: np.ndarray) -> None:
    """A gray image in [0, 1] as an 8-bit PNG (the peers' scratch input; not an output)."""
    Image.fromarray(np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(path)


def load_float(path: Path) -> np.ndarray:
    """A peer's output (TIFF of floats, or 8-bit PNG) as a 2-D float array."""
    if path.suffix == ".png":
        with Image.open(path) as im:
            return np.asarray(im.convert("L"), dtype=float)
    arr = np.asarray(tifffile.imread(path), dtype=float)
    return arr.reshape(arr.shape[:2]) if arr.ndim == 3 else arr


def _kernel(path: Path) -> np.ndarray:
    k = np.clip(load_float(path), 0, None)
    return k / k.sum() if k.sum() > 0 else k


def debug_scales(folder: Path) -> list[np.ndarray]:
    """The last kernel of each size in a peer's ``--debug`` folder (``k_NNN.tiff`` per iteration),
    coarse to fine."""
    files = sorted(folder.glob("k_*.tiff"), key=lambda p: int(p.stem.split("_")[1]))
    last: dict[int, np.ndarray] = {}
    for f in files:
        k = _kernel(f)
        last[k.shape[0]] = k
    return [last[s] for s in sorted(last)]


def _fresh(folder: Path) -> Path:
    """An empty ``folder``: a peer's debug files of an earlier photo must not be read as this one's."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def run_ipol(peers: Peers, y: np.ndarray, size: int, work: Path, *, debug: bool = False) -> PeerRun:
    """The IPOL peer with its defaults, and its own TV deconvolution."""
    work.mkdir(parents=True, exist_ok=True)
    src, k, out = work / "blurred.png", work / "kernel.tif", work / "deblurred.tif"
    save_png(src, y)
    args = [str(peers.ipol_estimate), str(size), str(src), str(k)]
    if debug:
        args.append(f"--debug={_fresh(work / 'debug')}")
    env = single_threaded_env()
    _run(args, what="the IPOL peer's estimate-kernel", env=env)
    _run([str(peers.ipol_deconv), str(src), str(k), str(out)], what="the IPOL peer's deconv", env=env)
    return PeerRun(_kernel(k), np.clip(load_float(out) / 255, 0, 1), debug_scales(work / "debug") if debug else [])


def run_hn(peers: Peers, y: np.ndarray, size: int, sigma: float, work: Path, *, debug: bool = False) -> PeerRun:
    """The high-noise peer given ``sigma`` (on the [0, 1] scale), as its run.sh runs it."""
    work.mkdir(parents=True, exist_ok=True)
    src, k, den, out = work / "blurred.png", work / "kernel.tif", work / "denoised.tif", work / "deblurred.tif"
    save_png(src, y)
    args = [str(peers.hn_estimate), str(size), str(src), str(k)]
    args += ["--lambda-min", f"{HN_LAMBDA_PER_SIGMA * sigma:.8g}", "--gamma", f"{HN_GAMMA_PER_SIGMA * sigma:.8g}"]
    if debug:
        args.append(f"--debug={_fresh(work / 'debug')}")
    env = single_threaded_env()
    _run(args, what="the high-noise peer's estimate-kernel", env=env)
    if peers.ffdnet is not None:
        _ffdnet(peers.ffdnet, src, den, sigma)
    _run([str(peers.hn_deblur), str(den if peers.ffdnet else src), str(k), str(out), str(HN_TV_LAMBDA)], what="the high-noise peer's deblur", env=env)
    return PeerRun(_kernel(k), np.clip(load_float(out) / 255, 0, 1), debug_scales(work / "debug") if debug else [])
