"""``python -m gencor`` and the ``gencor`` command: signals are answered from the first moment,
before the heavy imports (NumPy, SciPy, PyTorch) start."""

from __future__ import annotations

import os
import signal
import sys

#: Exit status of a run stopped by Ctrl-C (128 + SIGINT).
INTERRUPTED = 130


def _stop_while_importing(signum: int, frame: object) -> None:
    # Nothing has been written yet, so there is nothing to clean up.
    print(f"gencor: terminated by {signal.Signals(signum).name}", file=sys.stderr)
    os._exit(128 + signum)


def run() -> int:
    """Import the command line and run it; a signal during the imports exits quietly (the command
    line installs its own handlers, which clean up temporary files)."""
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, _stop_while_importing)
    try:
        from gencor.cli import main
    except KeyboardInterrupt:
        print("gencor: interrupted", file=sys.stderr)
        return INTERRUPTED
    return main()


if __name__ == "__main__":
    sys.exit(run())
