"""Small synthetic images the tests make themselves."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage


def shapes_image(n: int = 96, seed: int = 0) -> np.ndarray:
    """Piecewise-smooth gray image in [0, 1]: random rectangles and discs on a gentle ramp."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:n, :n] / n
    img = 0.3 + 0.2 * xx
    for _ in range(10):
        y0, x0 = rng.uniform(0, 1, 2)
        r = rng.uniform(0.05, 0.2)
        val = rng.uniform(-0.4, 0.4)
        if rng.uniform() < 0.5:
            img = img + val * ((np.abs(yy - y0) < r) & (np.abs(xx - x0) < r * 1.5))
        else:
            img = img + val * ((yy - y0) ** 2 + (xx - x0) ** 2 < r**2)
    return np.clip(ndimage.gaussian_filter(img, 0.5), 0, 1)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fuzz-cases", action="store", default=2000, type=int, help="mutated files in the fuzz test (default 2000)")
