"""A hostile pass on the keywords of gencor's public functions (issue #29): every keyword of every
function gets each of 15 wrong or odd values (a string, a list, a dict, None, True, NumPy's True,
NaN, inf, -1, 0, 1e300, 10**12, a NumPy int, a NumPy float, a complex). A call must either succeed
or raise a one-line TypeError/ValueError; hanging (30 s), any other exception, or accepting a bool,
a string, a container, a complex or a non-finite value for a number is counted as a failure.
It prints each failure, the count per function and the total, and exits 1 if anything failed.

    PYTHONPATH=src python scripts/hostile_api.py [FUNCTION ...]    # about 15 s for all
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import gencor
from gencor.tasks.deconv_local import deconvolve_local

RNG = np.random.default_rng(0)
IMG = np.kron(RNG.uniform(0.1, 0.9, size=(8, 8)), np.ones((8, 8)))
K = np.zeros((5, 5))
K[2] = 0.2
TMP = Path(tempfile.mkdtemp())
VALUES: dict[str, Any] = {
    "str": "x",
    "list": [1],
    "dict": {},
    "none": None,
    "true": True,
    "np_true": np.True_,
    "nan": float("nan"),
    "inf": float("inf"),
    "neg": -1,
    "zero": 0,
    "huge_float": 1e300,
    "huge_int": 10**12,
    "np_int": np.int64(3),
    "np_float": np.float32(0.5),
    "complex": 1j,
}
#: Values no number or flag may take without an error.
WRONG = ("str", "list", "dict", "true", "np_true", "complex", "nan", "inf")
FLAGS = ("corrector", "final_stage", "force", "color")
CALLS: dict[str, tuple[Callable[..., object], list[str]]] = {
    "deblur": (
        lambda **kw: gencor.deblur(IMG, **{"generator": "none", "kernel_size": 5, **kw}),
        ["kernel_size", "channel_axis", "generator", "corrector", "final_stage", "blur", "lam", "force", "config", "progress"],
    ),
    "deconvolve": (lambda **kw: gencor.deconvolve(IMG, K, **kw), ["lam", "p", "channel_axis"]),
    "deconvolve_local": (lambda **kw: deconvolve_local(IMG, **{"kernels": [K, K], "grid": (1, 2), **kw}), ["kernels", "grid", "lam", "p", "channel_axis"]),
    "estimate_kernel": (
        lambda **kw: gencor.estimate_kernel(IMG, **{"kernel_size": 5, **kw}),
        ["kernel_size", "config", "corrector", "progress", "valid", "init", "init_scale", "final_scale"],
    ),
    "inpaint": (lambda **kw: gencor.inpaint(IMG, IMG > 0.3, **{"generator": "none", **kw}), ["channel_axis", "generator", "lam", "p", "stages", "gamma"]),
    "smooth": (lambda **kw: gencor.smooth(IMG, **kw), ["lam", "channel_axis", "beta_rate", "beta_max", "stages", "workers", "progress"]),
    "sketch": (lambda **kw: gencor.sketch(IMG, **{"smoothing": None, **kw}), ["channel_axis", "color", "smoothing", "seed", "progress"]),
    "read_image": (lambda **kw: gencor.read_image(**{"path": TMP / "in.png", **kw}), ["path", "max_pixels"]),
    "write_image": (lambda **kw: gencor.write_image(**{"path": TMP / "o.png", "photo": gencor.Photo(IMG, None, 8), **kw}), ["path", "photo", "quality"]),
    "read_kernel": (lambda **kw: gencor.read_kernel(**{"path": TMP / "k.npy", **kw}), ["path"]),
    "write_kernel": (lambda **kw: gencor.write_kernel(**{"path": TMP / "k2.npy", "kernel": K, **kw}), ["path", "kernel"]),
    "EstimatorConfig": (lambda **kw: gencor.EstimatorConfig(**kw), ["lam", "iterations", "beta_rate", "beta_max", "p", "eta"]),
}


class Hang(Exception):
    pass


def _alarm(*_: object) -> None:
    raise Hang


def outcome(call: Callable[..., object], key: str, value: object) -> str:
    signal.alarm(30)
    try:
        call(**{key: value})
        return "accepted"
    except (TypeError, ValueError) as exc:
        return "clean" if str(exc) and "\n" not in str(exc) else f"unclear: {str(exc)[:80]!r}"
    except Hang:
        return "hang (> 30 s)"
    except Exception as exc:  # the failures this pass looks for
        return f"{type(exc).__name__}: {str(exc)[:80]}"
    finally:
        signal.alarm(0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("functions", nargs="*", metavar="FUNCTION", help=f"any of {', '.join(CALLS)} (default: all)")
    names = parser.parse_args().functions or list(CALLS)
    if unknown := [name for name in names if name not in CALLS]:
        parser.error(f"unknown function {', '.join(unknown)}; choose from {', '.join(CALLS)}")
    signal.signal(signal.SIGALRM, _alarm)
    gencor.write_image(TMP / "in.png", gencor.Photo(IMG, None, 8))
    np.save(TMP / "k.npy", K)
    tried = failed = 0
    for name in names:
        call, keys = CALLS[name]
        failed_here = 0
        for key in keys:
            for label, value in VALUES.items():
                result = outcome(call, key, value)
                wrong = result == "accepted" and label in WRONG and not (key in FLAGS and label in ("true", "np_true"))
                if result not in ("clean", "accepted") or wrong:
                    failed_here += 1
                    print(f"{name}({key}={label}): {result}", flush=True)
        print(f"{name}: {len(keys) * len(VALUES)} inputs, {failed_here} failures", flush=True)
        tried += len(keys) * len(VALUES)
        failed += failed_here
    print(f"{tried} inputs, {failed} failures")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
