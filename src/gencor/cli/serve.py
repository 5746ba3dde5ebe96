"""``gencor serve``: a local web page to deblur, smooth or sketch photos (needs the ``serve`` extra)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from gencor.cli.options import MEGAPIXEL, megapixels, positive_int

#: Where the page listens by default: this computer only.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: Default of ``--max-megapixels`` (the same as :data:`gencor.serve.app.DEFAULT_MAX_PIXELS`;
#: this module does not import FastAPI until the command runs).
MAX_MEGAPIXELS = 25.0
#: Highest TCP port.
MAX_PORT = 65535
#: Host names that mean this computer; the only Host headers served when listening on the loopback.
LOCAL_NAMES = ("localhost", "127.0.0.1", "[::1]")


def port_number(text: str) -> int:
    """An argument type: a TCP port (0 picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to {MAX_PORT}, got {text!r}")
    return value


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="a local web page to deblur, smooth or sketch photos",
        description="Serve a web page on this computer: upload a photo, pick deblur, smooth or sketch, follow the progress, compare before and "
        "after, download the result. Uploads live in a temporary folder that is removed when the server stops.",
    )
    p.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST}: this computer only; 0.0.0.0 opens it to the network)")
    p.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument(
        "--jobs", type=positive_int, default=None, metavar="N", help="jobs run at once (default and ceiling: one per CPU core); others wait in a queue"
    )
    p.add_argument(
        "--max-megapixels",
        type=megapixels,
        default=MAX_MEGAPIXELS,
        metavar="MP",
        help=f"refuse photos larger than this, from their header, before decoding (default {MAX_MEGAPIXELS:g})",
    )
    p.add_argument("--quiet", action="store_true", help="no start-up line and no request log")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    try:
        from gencor.serve.app import create_app
        from gencor.serve.server import is_loopback, listen, serve, url_of
    except ImportError as exc:
        raise ValueError(f"gencor serve needs FastAPI and uvicorn ({exc.name} is missing): pip install 'gencor[serve]'") from None

    from gencor.serve.app import default_workers
    from gencor.threads import THREADS_ENV

    jobs = min(args.jobs or default_workers(), default_workers())
    # Jobs run side by side in threads: their FFTs share the cores instead of each taking all.
    os.environ.setdefault(THREADS_ENV, str(max(default_workers() // jobs, 1)))
    local = is_loopback(args.host)
    app = create_app(
        workers=args.jobs,
        max_pixels=int(args.max_megapixels * MEGAPIXEL),
        allowed_hosts=(*LOCAL_NAMES, f"[{args.host}]" if ":" in args.host and not args.host.startswith("[") else args.host) if local else None,
    )
    sock = listen(args.host, args.port)
    if not args.quiet:
        print(f"gencor serve: open {url_of(sock)} (Ctrl-C stops the server and deletes its files)", file=sys.stderr)
        if not local:
            print(f"gencor: warning: listening on {args.host}: anyone who can reach this computer can upload photos", file=sys.stderr)
    try:
        serve(app, sock, quiet=args.quiet)
    finally:
        sock.close()
