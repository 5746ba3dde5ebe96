"""The ``gencor`` command: one module per command, each with ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from gencor import __version__
from gencor.cli import bench, deblur, deconv, denoise, inpaint, serve, sketch, smooth, train
from gencor.cli.options import one_line_warnings

#: Exit statuses: bad usage or input, and a run stopped by Ctrl-C (128 + SIGINT).
USAGE_ERROR = 2
INTERRUPTED = 130
#: The work could not be finished or written (a full disk, an unreadable folder).
FAILED = 1
#: What to try when a photo does not fit in memory, unless the command knows better.
MEMORY_HINT = "a smaller photo"


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error of the command (``--help`` shows usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE_ERROR, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gencor",
        description="Blind deblurring of camera-shake photos with Generator-Corrector propagation "
        "(Liu et al., ACM MM 2018), and non-blind deconvolution with a known kernel.",
        epilog="exit status: 0 done (also when a photo is returned unchanged, with a warning); 1 some photos of a batch failed; "
        "2 bad usage or input; 128 + signal when stopped (130 for Ctrl-C). 'gencor COMMAND --help' gives each command's options.",
    )
    parser.add_argument("--version", action="version", version=f"gencor {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (deblur, deconv, denoise, inpaint, smooth, sketch, serve, train, bench):
        command.add_parser(sub)
    return parser


class _Terminated(BaseException):
    """SIGTERM or SIGHUP, raised where the program is so that temporary files are cleaned up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated(signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None and threading.current_thread() is threading.main_thread():
            signal.signal(sig, _terminate)
    args = build_parser().parse_args(argv)
    one_line_warnings()
    try:
        status = args.func(args)
    except (ValueError, TypeError) as exc:
        print(f"gencor: error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except OSError as exc:
        # A full disk, a folder gone mid-run: what was not written is named, nothing is left half-written.
        print(f"gencor: error: {exc}", file=sys.stderr)
        return FAILED
    except MemoryError:
        print(f"gencor: error: out of memory; try {getattr(args, 'memory_hint', MEMORY_HINT)}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("gencor: interrupted", file=sys.stderr)
        return INTERRUPTED
    except _Terminated as stop:
        print(f"gencor: terminated by {signal.Signals(stop.signum).name}", file=sys.stderr)
        return 128 + stop.signum
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
