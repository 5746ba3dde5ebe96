"""Kernel estimation time on one photo: the high-noise C++ peer's ``estimate-kernel`` (built outside
the project from its public source, given the size and sigma) against the estimation stage of
``gencor deblur`` with default options (from its report). Issue #30's time target, docs/bench/speed.md.

    python scripts/experiments/peer_estimation_time.py ../shared/data/real_lai16/blurry/Pantheon.jpg 29 \
        --peer /tmp/peers/hn/kernel-estimation/estimate-kernel
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photo", type=Path)
    ap.add_argument("size", type=int, help="kernel size given to the peer")
    ap.add_argument("--peer", type=Path, required=True, help="the peer's estimate-kernel program")
    ap.add_argument("--sigma", type=float, default=0.002, help="noise level given to the peer (default 0.002)")
    args = ap.parse_args()
    gray = np.asarray(Image.open(args.photo).convert("L"), dtype=np.float32) / 255
    with tempfile.TemporaryDirectory() as tmp:
        src, kernel, report = Path(tmp) / "y.tif", Path(tmp) / "k.tif", Path(tmp) / "r.json"
        tifffile.imwrite(src, gray)
        options = ["--lambda-min", str(0.5 * args.sigma), "--gamma", str(200 * args.sigma)]  # as the peer's run.sh does
        start = time.perf_counter()
        subprocess.run([str(args.peer), str(args.size), str(src), str(kernel), *options], check=True, capture_output=True)
        peer = time.perf_counter() - start
        command = [sys.executable, "-m", "gencor", "deblur", str(args.photo), "-o", str(Path(tmp) / "out.png"), "--report", str(report)]
        subprocess.run(command, check=True, capture_output=True)
        ours = json.loads(report.read_text())["timings"]["estimation"]
    print(f"{args.photo.name} ({gray.size / 1e6:.2f} MP): peer {peer:.1f} s, gencor estimation {ours:.1f} s, ratio {ours / peer:.2f}")


if __name__ == "__main__":
    main()
