"""The options of a job, parsed from the upload's query string, and the one-line error the client
gets for a bad one (:class:`BadRequest`, an HTTP 4xx). A parameter the server does not know, or an
option of another task, is refused rather than ignored: a typo must not pass for the default."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

#: Tasks offered, the first being the default.
TASKS = ("deblur", "smooth", "sketch")
#: Default and range of the smoothing weight (``gencor smooth --lam``).
DEFAULT_LAM = 0.02
MAX_LAM = 1.0
#: Largest kernel size accepted from the page (the photo may allow less; deblur checks that).
MAX_KERNEL_SIZE = 201
#: The options of each task in the query string of an upload.
TASK_OPTIONS = {"deblur": ("kernel_size", "force"), "smooth": ("lam",), "sketch": ("color",)}
#: The parameters of an upload: the task, the name of the uploaded file (for the download's name)
#: and the options of every task.
UPLOAD_PARAMS = ("task", "name", *(key for keys in TASK_OPTIONS.values() for key in keys))
#: Longest part of a client's text quoted back in a message, and most unknown names quoted.
QUOTE_CHARS = 20
QUOTE_NAMES = 5


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


def query(items: Iterable[tuple[str, str]], allowed: Collection[str]) -> dict[str, str]:
    """The query string as a dict, once :class:`BadRequest` has named every parameter not in
    ``allowed`` or the first given twice (which of the two values counts is no one's guess)."""
    params: dict[str, str] = {}
    unknown: list[str] = []
    for key, value in items:
        if key not in allowed:
            unknown += [] if key in unknown else [key]
        elif key in params:
            raise BadRequest(f"parameter {key[:QUOTE_CHARS]!r} is given more than once")
        params[key] = value
    if unknown:
        names = ", ".join(repr(key[:QUOTE_CHARS]) for key in unknown[:QUOTE_NAMES])
        names += f" and {len(unknown) - QUOTE_NAMES} more" if len(unknown) > QUOTE_NAMES else ""
        takes = f"it takes {', '.join(allowed)}" if allowed else "this request takes none"
        raise BadRequest(f"unknown parameter{'s' if len(unknown) > 1 else ''} {names}; {takes}")
    return params


def flag(params: Mapping[str, str], key: str) -> bool:
    """A yes/no parameter: absent or empty is no; a :class:`BadRequest` for anything but the usual words."""
    value = params.get(key, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise BadRequest(f"{key} must be true or false, got {value[:20]!r}")


def parse_options(params: Mapping[str, str]) -> Options:
    """Options from the query string; a :class:`BadRequest` names the first bad one, an unknown
    parameter or an option of another task."""
    query(params.items(), UPLOAD_PARAMS)
    opts = Options(task=params.get("task", TASKS[0]).strip() or TASKS[0])
    if opts.task not in TASKS:
        raise BadRequest(f"unknown task {opts.task[:20]!r}; choose {', '.join(TASKS)}")
    for task, keys in TASK_OPTIONS.items():
        foreign = [key for key in keys if key in params and task != opts.task]
        if foreign:
            raise BadRequest(f"{foreign[0]} is an option of {task}, not of {opts.task}")
    size = params.get("kernel_size", "auto").strip().lower() or "auto"
    if size != "auto":
        if not (size.isascii() and size.isdigit()) or int(size) % 2 == 0 or not 3 <= int(size) <= MAX_KERNEL_SIZE:
            raise BadRequest(f"kernel size must be 'auto' or an odd integer from 3 to {MAX_KERNEL_SIZE}, got {size[:20]!r}")
        opts.kernel_size = int(size)
    opts.force = flag(params, "force")
    opts.color = flag(params, "color")
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
