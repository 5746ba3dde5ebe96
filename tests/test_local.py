"""Blur that changes across the frame (issue #21): the camera model, local kernels, the
filter-flow deconvolution and the pipeline's ``blur`` option."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import ndimage

from conftest import shapes_image
from gencor import deblur
from gencor.assess import kernel_similarity
from gencor.kernels.camera import CameraShake, random_camera_shake
from gencor.kernels.estimate import EstimatorConfig, estimate_kernel
from gencor.kernels.local import (
    Region,
    choose_kernels,
    dissimilarity,
    edge_energy,
    grid_centres,
    grid_kernels,
    grid_regions,
    local_grid,
    neighbours,
)
from gencor.kernels.size import crop_kernel
from gencor.kernels.trajectory import random_motion_kernel
from gencor.metrics import image_scores
from gencor.tasks.deconv import deconvolve
from gencor.tasks.deconv_local import deconvolve_local


def _scene(rng: np.random.Generator, side: int, discs: int = 400) -> np.ndarray:
    """Random overlapping discs of random gray levels: sharp edges in every direction everywhere."""
    img = np.full((side, side), 0.5)
    ys, xs = np.mgrid[:side, :side]
    for _ in range(discs):
        cy, cx = rng.uniform(0, side, size=2)
        r = rng.uniform(3, side / 12)
        img[(ys - cy) ** 2 + (xs - cx) ** 2 < r * r] = rng.uniform(0.05, 0.95)
    return ndimage.gaussian_filter(img, 0.6)


def _direction(k: np.ndarray) -> float:
    """Orientation of a kernel's principal axis in degrees, in [0, 180)."""
    ys, xs = np.mgrid[: k.shape[0], : k.shape[1]]
    w = k / k.sum()
    my, mx = (w * ys).sum(), (w * xs).sum()
    cyy, cxx, cxy = (w * (ys - my) ** 2).sum(), (w * (xs - mx) ** 2).sum(), (w * (ys - my) * (xs - mx)).sum()
    return float(np.degrees(0.5 * np.arctan2(2 * cxy, cxx - cyy)) % 180)


def _angle_gap(a: float, b: float) -> float:
    d = abs(a - b) % 180
    return min(d, 180 - d)


def test_pure_roll_blurs_along_circles() -> None:
    """A camera turning about its optical axis: no blur at the centre, and at a point right of the
    centre the blur is vertical, above it horizontal."""
    roll = np.linspace(-0.03, 0.03, 32)
    cam = CameraShake(angles=np.column_stack([np.zeros(32), np.zeros(32), roll]), focal=300.0)
    shape = (201, 201)
    assert cam.kernel_at((100, 100), shape, 15).max() > 0.9
    right, top = cam.kernel_at((100, 190), shape, 15), cam.kernel_at((10, 100), shape, 15)
    assert _angle_gap(_direction(right), 90) < 10
    assert _angle_gap(_direction(top), 0) < 10
    # The photo is the mean of the scene at each pose: a constant scene stays constant.
    assert np.allclose(cam.blur(np.full((221, 221), 0.3), 10), 0.3)


def test_rotation_gives_kernels_whose_direction_turns() -> None:
    """Kernels estimated on the windows of a grid over a photo blurred by camera roll follow the
    true local blur: along the top edge it is horizontal, along the left edge vertical, and
    diagonal in the corners, one way on the left and the other on the right."""
    rng = np.random.default_rng(4)
    margin, side, size, grid = 16, 480, 21, (3, 3)
    scene = _scene(rng, side + 2 * margin, discs=900)
    roll = np.linspace(-1, 1, 40) * 10 / (0.5 * np.hypot(side, side))
    cam = CameraShake(angles=np.column_stack([np.zeros(40), np.zeros(40), roll]), focal=500.0)
    blurred = np.clip(cam.blur(scene, margin) + 0.002 * rng.standard_normal((side, side)), 0, 1)
    regions = grid_regions(blurred.shape, grid, size)
    cells = [0, 1, 2, 3]  # top-left, top, top-right, left
    kernels = grid_kernels(blurred, [regions[i] for i in cells], lambda img, region: estimate_kernel(img, size).kernel)
    truth = [cam.kernel_at(grid_centres(blurred.shape, grid)[i], blurred.shape, size) for i in cells]
    est = [_direction(k) for k in kernels]
    for e, t in zip(est, [_direction(k) for k in truth], strict=True):
        assert _angle_gap(e, t) < 20
    assert _angle_gap(est[1], est[3]) > 60  # top against left
    assert _angle_gap(est[0], est[2]) > 45  # the two top corners


def test_windows_estimated_side_by_side_keep_their_order() -> None:
    """Windows run in threads (``workers``) come back in the order of the regions, each from its
    own window, however the threads finish."""
    gray = np.arange(400 * 300, dtype=float).reshape(400, 300) / (400 * 300)
    regions = grid_regions(gray.shape, (3, 2), 15)
    delays = iter([0.05, 0.0, 0.03, 0.0, 0.01, 0.0])

    def estimate(img: np.ndarray, region: Region) -> tuple[float, float]:
        time.sleep(next(delays))
        return float(img.mean()), float(gray[region].mean())

    side_by_side = grid_kernels(gray, regions, estimate, workers=3)
    assert [a for a, _ in side_by_side] == [b for _, b in side_by_side] == [float(gray[r].mean()) for r in regions]
    assert len({a for a, _ in side_by_side}) == len(regions)

    # An error in one window stops the others that have not started, and reaches the caller.
    started = []

    def failing(img: np.ndarray, region: Region) -> float:
        started.append(region)
        time.sleep(0.2)
        raise RuntimeError("window failed")

    with pytest.raises(RuntimeError, match="window failed"):
        grid_kernels(gray, regions, failing, workers=2)
    assert len(started) < len(regions)


def test_a_window_keeps_its_kernel_only_where_it_scores_better() -> None:
    """The per-window choice: own kernel where it beats the frame's (and the floor), else the
    trusted neighbours' mean, else the frame's; textureless windows are never trusted."""
    frame = random_motion_kernel(15, np.random.default_rng(0))
    own = [np.rot90(random_motion_kernel(15, np.random.default_rng(i))) for i in range(1, 10)]
    better = {0, 1}  # windows where the own kernel scores higher

    def score(i: int, k: np.ndarray, is_frame: bool) -> float:
        return 0.6 if is_frame else (0.8 if i in better else 0.3)

    regions = [(slice(0, 1), slice(0, 1))] * 9
    chosen = choose_kernels(own, frame, grid=(3, 3), regions=regions, edges=np.ones(9), agreement=[0.5] * 9, score=score, floor=0.5)
    assert chosen.trusted == [True, True] + [False] * 7
    np.testing.assert_allclose(chosen.kernels[0], own[0] / own[0].sum(), atol=1e-12)
    np.testing.assert_allclose(chosen.kernels[8], frame, atol=1e-12)  # no trusted neighbour: the frame's
    assert chosen.kernels[3].sum() == pytest.approx(1.0)  # borrows from windows 0 and 1
    assert 0 < chosen.variation < 1
    assert chosen.confidence() == pytest.approx(0.6)
    # The floor holds even when the frame's kernel scores lower; no window trusted: no variation.
    low = choose_kernels(own, frame, grid=(3, 3), regions=regions, edges=np.ones(9), agreement=[0.5] * 9, score=lambda i, k, f: 0.2 if f else 0.4, floor=0.5)
    assert not any(low.trusted) and low.variation == pytest.approx(0.0, abs=1e-9)
    flat = choose_kernels(own, frame, grid=(3, 3), regions=regions, edges=np.array([1.0] * 8 + [0.01]), agreement=[0.5] * 9, score=score, floor=0.5)
    assert flat.trusted[8] is False
    assert sorted(neighbours((3, 3), 4)) == [0, 1, 2, 3, 5, 6, 7, 8]
    assert sorted(neighbours((3, 3), 0)) == [1, 3, 4]


def test_local_deconvolution_with_equal_kernels_is_the_uniform_one(rng: np.random.Generator) -> None:
    sharp = _scene(rng, 96)
    k = random_motion_kernel(9, rng)
    blurred = ndimage.convolve(sharp, k, mode="reflect")
    uniform = deconvolve(blurred, k, lam=1e-3, method="hyper-laplacian").image
    local = deconvolve_local(blurred, [k] * 4, (2, 2), lam=1e-3)
    assert image_scores(local, sharp)["psnr"] == pytest.approx(image_scores(uniform, sharp)["psnr"], abs=0.05)


def test_local_deconvolution_beats_one_kernel_on_rotation() -> None:
    """With the true kernels of a camera roll, the filter-flow solve restores more than the
    uniform solve with the centre's kernel; color planes keep their layout."""
    rng = np.random.default_rng(2)
    margin, side = 16, 192
    scene = np.stack([_scene(rng, side + 2 * margin)] * 3, axis=-1)
    cam = random_camera_shake((side, side), rng, shift=2.0, turn=10.0)
    blurred = np.clip(cam.blur(scene, margin), 0, 1)
    sharp = scene[margin:-margin, margin:-margin]
    grid = (3, 3)
    kernels = [cam.kernel_at(c, (side, side), 21) for c in grid_centres((side, side), grid)]
    local = deconvolve_local(blurred, kernels, grid, lam=1e-3, channel_axis=-1)
    uniform = deconvolve(blurred, kernels[4], lam=1e-3, channel_axis=-1, method="hyper-laplacian").image
    assert local.shape == blurred.shape

    def psnr(x: np.ndarray) -> float:
        return float(-10 * np.log10(np.mean((x - sharp) ** 2)))

    assert psnr(local) > psnr(uniform) + 1.0


def test_local_deconvolution_errors() -> None:
    img = np.zeros((64, 64))
    with pytest.raises(ValueError, match="rows \\* cols"):
        deconvolve_local(img, [np.ones((3, 3))] * 3, (2, 2))
    with pytest.raises(ValueError, match="too large"):
        deconvolve_local(img, [np.ones((41, 41))], (1, 1))


def test_deblur_blur_option(rng: np.random.Generator) -> None:
    sharp = _scene(rng, 400)
    k = random_motion_kernel(15, rng)
    blurred = np.clip(ndimage.convolve(sharp, k, mode="reflect"), 0, 1)
    with pytest.raises(ValueError, match="blur must be one of"):
        deblur(blurred, blur="sideways")
    uniform = deblur(blurred, kernel_size=15, generator="none", blur="uniform")
    assert uniform.report.blur == "uniform" and uniform.report.blur_variation is None
    local = deblur(blurred, kernel_size=15, generator="none", blur="local")
    rep = local.report
    assert rep.blur_variation is not None and 0 <= rep.blur_variation <= 1
    rows, cols = rep.local["grid"]
    assert (rows, cols) == (2, 2) and len(rep.local["trusted"]) == 4
    # The local path runs only with two windows or more trusted with kernels of their own.
    takes_local = sum(rep.local["trusted"]) >= 2 and rep.decision != "unchanged"
    assert (rep.blur == "local") == takes_local
    assert len(local.local_kernels) == (4 if takes_local else 0)


def test_grid_grows_with_the_photo() -> None:
    assert local_grid((255, 255), 31) == (1, 1)  # Levin's size: too small for two windows
    assert local_grid((420, 420), 39) == (2, 2)
    assert local_grid((900, 1200), 39) == (3, 4)
    assert local_grid((3000, 4000), 39) == (3, 4)  # cells grow with the photo
    regions = grid_regions((900, 1200), (3, 4), 39)
    assert len(regions) == 12
    assert all(256 <= r.stop - r.start <= 400 and 256 <= c.stop - c.start <= 400 for r, c in regions)
    # Large photos: windows stay at most 400 px, so the estimation does not grow with the photo.
    assert all(r.stop - r.start == 400 for r, _ in grid_regions((3000, 4000), (3, 4), 39))


def _corner_photo(side: int = 400, corner: int = 130, noise: float = 0.002) -> tuple[np.ndarray, np.ndarray]:
    """Issue #29 A1: a grey frame at 0.6, textured only in its top-left corner, blurred by an 11 px
    line; returns the sharp and the blurred photo."""
    sharp = np.full((side, side), 0.6)
    sharp[:corner, :corner] = ndimage.zoom(shapes_image(corner // 2 + 1, seed=3), 2, order=1)[:corner, :corner]
    line = np.zeros((11, 11))
    line[5] = 1 / 11
    rng = np.random.default_rng(0)
    return sharp, np.clip(ndimage.convolve(sharp, line, mode="reflect") + noise * rng.standard_normal(sharp.shape), 0, 1)


def test_flat_windows_are_never_trusted_nor_lend_their_kernels() -> None:
    """Three of four windows flat: their edge test does not depend on the others (the median of
    the windows' edges is about 0 there), so however well their meaningless kernels score, they
    are not trusted, and nothing borrows from them."""
    _, blurred = _corner_photo()
    grid = (2, 2)
    regions = grid_regions(blurred.shape, grid, 15)
    edges = edge_energy(blurred, regions)
    assert edges[0] > 0 and np.all(edges[1:] == 0)
    # Flat at any noise, and however many windows are flat; a ramp is not an edge.
    noisy = np.clip(0.6 + 0.02 * np.random.default_rng(1).standard_normal(blurred.shape), 0, 1)
    assert np.all(edge_energy(noisy, regions) == 0)
    assert np.all(edge_energy(np.linspace(0.1, 0.9, 400)[:, None] * np.ones(400), regions) == 0)
    frame = random_motion_kernel(15, np.random.default_rng(0))
    own = [np.rot90(random_motion_kernel(15, np.random.default_rng(i)), i) for i in range(1, 5)]

    def flat_wins(i: int, k: np.ndarray, is_frame: bool) -> float:
        """The scores that the issue's photo gave: each flat window's own kernel beats the frame's."""
        return (0.931 if i == 0 else 0.942) if is_frame else (0.885 if i == 0 else 0.963)

    chosen = choose_kernels(own, frame, grid=grid, regions=regions, edges=edges, agreement=[0.5] * 4, score=flat_wins, floor=0.5)
    assert chosen.trusted == [False] * 4
    assert all(np.array_equal(k, chosen.kernels[0]) for k in chosen.kernels)
    assert chosen.variation == 0.0  # every window uses the frame's kernel: exactly 0, no round-off
    # Where the textured window's own kernel wins, it alone is trusted and the flat ones borrow it.
    chosen = choose_kernels(own, frame, grid=grid, regions=regions, edges=edges, agreement=[0.5] * 4, score=lambda i, k, f: 0.6 if f else 0.9, floor=0.5)
    assert chosen.trusted == [True, False, False, False]
    for k in chosen.kernels[1:]:  # the same kernel, re-cropped (round-off only)
        np.testing.assert_allclose(k, chosen.kernels[0], atol=1e-12)
    np.testing.assert_allclose(chosen.kernels[0], crop_kernel(own[0], 15), atol=1e-12)


def test_dissimilarity_of_equal_kernels_is_exactly_zero() -> None:
    """Issue #29 A9: ``blur_variation`` was 3.3e-16 where every window used the frame's kernel."""
    k = crop_kernel(random_motion_kernel(15, np.random.default_rng(0)), 15)
    assert 1.0 - kernel_similarity(k, k) > 0  # the correlation's round-off
    assert dissimilarity(k, k.copy()) == 0.0
    assert 0.0 < dissimilarity(k, np.rot90(k)) <= 1.0


def test_deblur_local_on_a_mostly_flat_photo_is_not_worse_than_uniform() -> None:
    """Issue #29 A1 through the pipeline: the local path must not undo the deblurring of a mostly
    flat photo by trusting its flat windows."""
    sharp, blurred = _corner_photo()
    settings = {"kernel_size": 15, "generator": "none", "config": EstimatorConfig(iterations=2)}
    uniform = deblur(blurred, blur="uniform", **settings)
    local = deblur(blurred, blur="local", **settings)
    rep = local.report
    assert rep.local["grid"] == [2, 2]
    assert not any(rep.local["trusted"][1:])  # the three flat windows
    assert rep.blur == "uniform" and rep.blur_variation == 0.0  # the frame's kernel everywhere: exactly 0
    assert image_scores(local.image, sharp)["psnr"] >= image_scores(uniform.image, sharp)["psnr"] - 0.1
    assert image_scores(uniform.image, sharp)["psnr"] > image_scores(blurred, sharp)["psnr"] + 1.0


def test_deblur_local_still_trusts_textured_windows_where_the_blur_turns() -> None:
    """The absolute edge test of issue #29 keeps the local path on a textured photo shaken by a
    camera that also rolls: every window has edges, so none is set aside as flat; each keeps its
    own kernel exactly where the confidence model prefers it to the frame's (since the noise-aware
    family of #30 gives the frame a kernel as good as two of the windows' own, those two take the
    frame's), and the local path deblurs."""
    rng = np.random.default_rng(4)
    margin, side = 16, 400
    scene = _scene(rng, side + 2 * margin, discs=625)
    cam = random_camera_shake((side, side), np.random.default_rng(2), shift=4.0, turn=16.0)
    blurred = np.clip(cam.blur(scene, margin) + 0.002 * rng.standard_normal((side, side)), 0, 1)
    grid = (2, 2)
    assert np.all(edge_energy(blurred, grid_regions(blurred.shape, grid, 25)) > 0)
    local = deblur(blurred, kernel_size=25, generator="none", blur="local", config=EstimatorConfig(iterations=2))
    rep = local.report
    own, frame = rep.local["own_confidence"], rep.local["frame_confidence"]
    assert rep.local["grid"] == list(grid) and any(rep.local["trusted"])
    assert rep.local["trusted"] == [o >= f for o, f in zip(own, frame, strict=True)]
    assert rep.blur == "local" and len(local.local_kernels) == 4
    assert rep.blur_variation is not None and rep.blur_variation > 0
    sharp = scene[margin:-margin, margin:-margin]
    assert image_scores(local.image, sharp)["psnr"] > image_scores(blurred, sharp)["psnr"] + 0.5
