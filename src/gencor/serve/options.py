"""The options of a job, parsed from the upload's query string, and the one-line error the client
gets for a bad one (:class:`BadRequest`, an HTTP 4xx)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Tasks offered, the first being the default.
TASKS = ("deblur", "smooth", "sketch")
#: Default and range of the smoothing weight (``gencor smooth --lam``).
DEFAULT_LAM = 0.02
MAX_LAM = 1.0
#: Largest kernel size accepted from the page (the photo may allow less; deblur checks that).
MAX_KERNEL_SIZE = 201


class BadRequest(ValueError):
    """A problem with what the client sent: HTTP ``status`` with a one-line message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def one_line(message: object) -> str:
    """The message with its whitespace (newlines included) collapsed."""
    return " ".join(str(message).split()) or "unknown error"


@dataclass
class Options:
    """The task and its options, as checked by :func:`parse_options`."""

    task: str = TASKS[0]
    kernel_size: int | str = "auto"
    force: bool = False
    lam: float = DEFAULT_LAM
    color: bool = False

    def as_dict(self) -> dict[str, Any]:
        if self.task == "deblur":
            return {"kernel_size": self.kernel_size, "force": self.force}
        if self.task == "smooth":
            return {"lam": self.lam}
        return {"color": self.color}


def _flag(params: Mapping[str, str], key: str) -> bool:
    value = params.get(key, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise BadRequest(f"{key} must be true or false, got {value[:20]!r}")


def parse_options(params: Mapping[str, str]) -> Options:
    """Options from the query string; a :class:`BadRequest` names the first bad one."""
    opts = Options(task=params.get("task", TASKS[0]).strip() or TASKS[0])
    if opts.task not in TASKS:
        raise BadRequest(f"unknown task {opts.task[:20]!r}; choose {', '.join(TASKS)}")
    size = params.get("kernel_size", "auto").strip().lower() or "auto"
    if size != "auto":
        if not (size.isascii() and size.isdigit()) or int(size) % 2 == 0 or not 3 <= int(size) <= MAX_KERNEL_SIZE:
            raise BadRequest(f"kernel size must be 'auto' or an odd integer from 3 to {MAX_KERNEL_SIZE}, got {size[:20]!r}")
        opts.kernel_size = int(size)
    opts.force = _flag(params, "force")
    opts.color = _flag(params, "color")
    lam = params.get("lam", "").strip()
    if lam:
        from gencor.tasks.smooth import SMOOTH_LAM_MIN

        try:
            opts.lam = float(lam)
        except ValueError:
            raise BadRequest(f"lam must be a number, got {lam[:20]!r}") from None
        if not (SMOOTH_LAM_MIN <= opts.lam <= MAX_LAM):  # also refuses nan and inf
            raise BadRequest(f"lam must be from {SMOOTH_LAM_MIN:g} to {MAX_LAM:g}, got {lam[:20]!r}")
    return opts
