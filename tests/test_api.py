"""The public API: ``import gencor`` is light, every task returns a result object, and the
examples in the docstrings run."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gencor

#: Modules whose docstring examples are part of the documentation.
DOCUMENTED = [
    "gencor",
    "gencor.tasks.deblur",
    "gencor.tasks.deconv",
    "gencor.tasks.deconv_local",
    "gencor.tasks.inpaint",
    "gencor.tasks.smooth",
    "gencor.tasks.sketch",
    "gencor.kernels.estimate",
    "gencor.kernels.noiseaware",
    "gencor.io.read",
    "gencor.io.write",
    "gencor.operators.filterflow",
    "gencor.tasks.denoise",
]
#: The package's sources, where every module with a docstring example must be in :data:`DOCUMENTED`.
SOURCES = Path(gencor.__file__).parent


@pytest.mark.parametrize("module", DOCUMENTED)
def test_docstring_examples_run(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


def test_every_module_with_examples_is_documented() -> None:
    """A module whose examples no test runs can break unseen (deconv_local's did, issue #29)."""
    with_examples = set()
    for path in SOURCES.rglob("*.py"):
        if ">>> " in path.read_text():
            parts = path.relative_to(SOURCES.parent).with_suffix("").parts
            with_examples.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    assert with_examples <= set(DOCUMENTED), sorted(with_examples - set(DOCUMENTED))


def test_public_functions_have_numpydoc_sections() -> None:
    for name in ("deblur", "deconvolve", "estimate_kernel", "inpaint", "smooth", "sketch", "read_image", "write_image"):
        doc = getattr(gencor, name).__doc__ or ""
        sections = ("Parameters", "Raises", "Examples") if name == "write_image" else ("Parameters", "Returns", "Raises", "Examples")
        for section in sections:  # write_image returns nothing
            assert f"{section}\n    ---" in doc, f"{name} lacks {section}"


def test_import_is_lazy_and_fast() -> None:
    code = "import sys, time; t = time.perf_counter(); import gencor; print(time.perf_counter() - t, 'torch' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[1:] == ["False", "False"]


def test_every_public_name_resolves_and_unknown_names_fail() -> None:
    for name in gencor.__all__:
        assert getattr(gencor, name) is not None
    assert set(gencor.__all__) <= set(dir(gencor))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gencor.nope  # noqa: B018


def test_every_task_returns_a_result_with_an_image() -> None:
    rng = np.random.default_rng(0)
    photo = np.kron(rng.uniform(size=(8, 8)), np.ones((8, 8)))
    kernel = np.full((1, 5), 0.2)
    observed = rng.uniform(size=photo.shape) > 0.3
    results = [
        gencor.deconvolve(photo, kernel),
        gencor.inpaint(photo, observed, generator="none"),
        gencor.smooth(photo),
        gencor.sketch(photo),
        gencor.deblur(photo, kernel_size=5, generator="none"),
    ]
    for result in results:
        assert result.image.shape == photo.shape
        assert np.all(np.isfinite(result.image))
    assert results[0].kernel.sum() == pytest.approx(1.0)
    assert results[3].strokes.shape == results[3].tone.shape == photo.shape
    assert results[4].report.confidence >= 0


def test_estimator_settings_live_in_one_config() -> None:
    cfg = gencor.EstimatorConfig(iterations=2)
    rng = np.random.default_rng(0)
    photo = np.kron(rng.uniform(size=(12, 12)), np.ones((8, 8)))
    few = gencor.estimate_kernel(photo, 7, config=cfg)
    assert all(len(rec.iterates) == 2 for rec in few.scales)
    assert gencor.deblur(photo, kernel_size=7, generator="none", config=cfg).kernel.shape == (7, 7)
    with pytest.raises(ValueError, match="invalid estimator settings"):
        gencor.EstimatorConfig(eta=-1.0)
    with pytest.raises(ValueError, match="2-D"):
        gencor.estimate_kernel(np.zeros((64, 64, 3)), 7)


def test_settings_and_axes_are_checked() -> None:
    photo = np.kron(np.random.default_rng(0).uniform(size=(8, 8)), np.ones((8, 8)))
    for bad in ({"beta_rate": 1.0}, {"iterations": 3.0}, {"iterations": 10**9}, {"eta": float("nan")}):
        with pytest.raises(ValueError, match="invalid estimator settings"):
            gencor.EstimatorConfig(**bad)
    for bad in ({"iterations": True}, {"iterations": "5"}):
        with pytest.raises(TypeError, match="invalid estimator settings"):
            gencor.EstimatorConfig(**bad)
    for lam in (float("inf"), 1e300, 0.0):
        with pytest.raises(ValueError, match="lam must be from"):
            gencor.smooth(photo, lam=lam)
    rgb = np.stack([photo] * 3, axis=-1)
    with pytest.raises(ValueError, match="out of range"):
        gencor.smooth(rgb, channel_axis=3)
    with pytest.raises(TypeError, match="channel_axis"):
        gencor.smooth(rgb, channel_axis=True)


def test_a_jpeg_named_png_is_read_as_what_it_is(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    rgb = (np.random.default_rng(0).uniform(size=(32, 32, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).save(tmp_path / "photo.png", format="JPEG")
    assert gencor.read_image(tmp_path / "photo.png").pixels.shape == (32, 32, 3)
