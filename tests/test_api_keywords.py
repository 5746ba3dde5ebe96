"""Issue #29, A6 beyond the six tasks: the keywords of ``estimate_kernel``, ``read_image``,
``write_image`` and ``write_kernel`` are checked, each wrong value a one-line TypeError/ValueError
that names it (found by ``scripts/hostile_api.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import gencor
from gencor.kernels.estimate import EstimatorConfig


def _photo(n: int = 64) -> np.ndarray:
    return np.kron(np.random.default_rng(0).uniform(0.1, 0.9, size=(n // 8, n // 8)), np.ones((8, 8)))


def _kernel() -> np.ndarray:
    k = np.zeros((5, 5))
    k[2, :] = 0.2
    return k


def _estimate(tmp: Path, **kw: Any) -> object:
    return gencor.estimate_kernel(_photo(), 5, **kw)


def _read(tmp: Path, **kw: Any) -> object:
    path = tmp / "in.png"
    gencor.write_image(path, gencor.Photo(_photo(), None, 8))
    return gencor.read_image(path, **kw)


def _write(tmp: Path, **kw: Any) -> object:
    return gencor.write_image(**{"path": tmp / "out.jpg", "photo": gencor.Photo(_photo(), None, 8), **kw})


def _write_kernel(tmp: Path, **kw: Any) -> object:
    return gencor.write_kernel(**{"kernel": _kernel(), **kw, "path": tmp / kw.get("path", "k.npy")})


CALLS = {"estimate_kernel": _estimate, "read_image": _read, "write_image": _write, "write_kernel": _write_kernel}

BAD: list[tuple[str, dict[str, Any], type[Exception]]] = [
    ("estimate_kernel", {"config": {"iterations": 2}}, TypeError),
    ("estimate_kernel", {"config": EstimatorConfig}, TypeError),
    ("estimate_kernel", {"config": "x"}, TypeError),
    ("estimate_kernel", {"corrector": "no"}, TypeError),
    ("estimate_kernel", {"corrector": 1}, TypeError),
    ("estimate_kernel", {"corrector": None}, TypeError),
    ("estimate_kernel", {"generator": None}, TypeError),
    ("estimate_kernel", {"generator": "shrinkage"}, TypeError),
    ("estimate_kernel", {"progress": "bar"}, TypeError),
    ("estimate_kernel", {"valid": [[True]]}, TypeError),
    ("estimate_kernel", {"valid": np.True_}, TypeError),
    ("estimate_kernel", {"valid": np.ones((64, 64))}, TypeError),
    ("estimate_kernel", {"valid": np.ones((32, 64), bool)}, ValueError),
    ("estimate_kernel", {"init": "x"}, TypeError),
    ("estimate_kernel", {"init": 0}, TypeError),
    ("estimate_kernel", {"init": np.full((5, 5), np.nan)}, ValueError),
    ("estimate_kernel", {"init": np.zeros((5, 5))}, ValueError),
    ("estimate_kernel", {"init_scale": True}, TypeError),
    ("estimate_kernel", {"init_scale": "0.5"}, TypeError),
    ("estimate_kernel", {"init_scale": float("nan")}, ValueError),
    ("estimate_kernel", {"init_scale": -1.0}, ValueError),
    ("estimate_kernel", {"init_scale": 1.0}, ValueError),
    ("estimate_kernel", {"final_scale": True}, TypeError),
    ("estimate_kernel", {"final_scale": np.True_}, TypeError),
    ("estimate_kernel", {"final_scale": float("inf")}, ValueError),
    ("estimate_kernel", {"final_scale": 0.0}, ValueError),
    ("estimate_kernel", {"final_scale": 1e300}, ValueError),
    ("read_image", {"max_pixels": float("nan")}, ValueError),
    ("read_image", {"max_pixels": float("inf")}, ValueError),
    ("read_image", {"max_pixels": 0}, ValueError),
    ("read_image", {"max_pixels": True}, TypeError),
    ("read_image", {"max_pixels": "1e6"}, TypeError),
    ("write_image", {"photo": "x"}, TypeError),
    ("write_image", {"photo": None}, TypeError),
    ("write_image", {"photo": _photo()}, TypeError),
    ("write_image", {"photo": gencor.Photo("x", None, 8)}, TypeError),  # type: ignore[arg-type]
    ("write_image", {"photo": gencor.Photo(_photo() + 1j, None, 8)}, TypeError),
    ("write_image", {"photo": gencor.Photo(np.full((32, 32), np.nan), None, 8)}, ValueError),
    ("write_image", {"photo": gencor.Photo(_photo() * 255, None, 8)}, ValueError),
    ("write_image", {"photo": gencor.Photo(np.zeros((32, 32, 2)), None, 8)}, ValueError),
    ("write_image", {"photo": gencor.Photo(_photo(), np.ones((3, 3)), 8)}, ValueError),
    ("write_image", {"photo": gencor.Photo(_photo(), None, 12)}, ValueError),
    ("write_image", {"photo": gencor.Photo(_photo(), None, True)}, TypeError),  # type: ignore[arg-type]
    ("write_image", {"quality": True}, ValueError),
    ("write_image", {"quality": 0}, ValueError),
    ("write_image", {"quality": 50.0}, ValueError),
    ("write_kernel", {"kernel": "x"}, TypeError),
    ("write_kernel", {"kernel": [1]}, TypeError),
    ("write_kernel", {"kernel": None}, TypeError),
    ("write_kernel", {"kernel": np.True_}, TypeError),
    ("write_kernel", {"kernel": np.ones((3, 3), bool)}, TypeError),
    ("write_kernel", {"kernel": np.full((3, 3), np.inf)}, ValueError),
    ("write_kernel", {"kernel": -np.ones((3, 3))}, ValueError),
    ("write_kernel", {"kernel": np.ones((2, 3, 3))}, ValueError),
    ("write_kernel", {"kernel": np.ones((1, 2, 3, 3)), "path": Path("k.png")}, ValueError),
]


@pytest.mark.parametrize(("func", "keywords", "error"), BAD, ids=[f"{f}-{next(iter(k))}-{i}" for i, (f, k, _) in enumerate(BAD)])
def test_wrong_keywords_are_one_clear_error(tmp_path: Path, func: str, keywords: dict[str, Any], error: type[Exception]) -> None:
    """A wrong keyword is a one-line TypeError/ValueError that names it, never an AttributeError
    from deep inside nor a value taken for another (``corrector="no"`` kept the Corrector)."""
    with pytest.raises(error) as info:
        CALLS[func](tmp_path, **keywords)
    message = str(info.value)
    assert "\n" not in message and len(message) < 200
    assert next(iter(keywords)) in message, message
    assert not any(tmp_path.glob("out*")) and not any(tmp_path.glob("k*")), "nothing is written"


def test_good_keywords_still_work(tmp_path: Path) -> None:
    """The checks take what the pipeline passes: NumPy scalars and flags, a boolean mask, a kernel
    to continue from."""
    est = gencor.estimate_kernel(_photo(), 11, corrector=np.bool_(True), final_scale=np.float32(0.5))
    assert est.scale < 1
    more = gencor.estimate_kernel(_photo(), 11, valid=np.ones((64, 64), bool), init=est.kernel, init_scale=np.float64(est.scale), progress=lambda *a: None)
    assert more.kernel.shape == (11, 11) and more.scale == 1.0
    gencor.write_image(tmp_path / "o.png", gencor.Photo(_photo(), None, np.int64(16)), quality=np.int64(80))
    assert gencor.read_image(tmp_path / "o.png", max_pixels=np.float64(1e6)).bit_depth == 16
    gencor.write_kernel(tmp_path / "k.npy", _kernel())
    np.testing.assert_array_equal(gencor.read_kernel(tmp_path / "k.npy"), _kernel())
    gencor.write_kernel(tmp_path / "k.png", _kernel())
    gencor.write_kernel(tmp_path / "grid.npy", np.stack([[_kernel(), _kernel()]]))  # the local kernels
    assert np.load(tmp_path / "grid.npy").shape == (1, 2, 5, 5)
    assert gencor.read_kernel(tmp_path / "k.png").max() == 1.0


def test_estimator_config_takes_numpy_numbers() -> None:
    """The issue: ``np.int64(2)`` and ``np.float32`` values were refused as "must be a number".
    They are taken, as Python numbers, with the same effect."""
    cfg = EstimatorConfig(iterations=np.int64(2), lam=np.float32(0.004), beta_rate=np.float64(2.0), p=np.float32(0.0))
    assert type(cfg.iterations) is int and cfg.iterations == 2
    assert type(cfg.lam) is float and cfg.lam == float(np.float32(0.004))
    a = gencor.estimate_kernel(_photo(), 5, config=cfg)
    b = gencor.estimate_kernel(_photo(), 5, config=EstimatorConfig(iterations=2, lam=float(np.float32(0.004))))
    np.testing.assert_array_equal(a.kernel, b.kernel)
    with pytest.raises(TypeError, match="iterations"):
        EstimatorConfig(iterations=np.bool_(True))
