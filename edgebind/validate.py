"""Reading typed values out of a config table, with one kind of error message.

Every config parser (daemon, sinks, streams, detector, profile, anchors) reads its tables through
:class:`Fields`. A failure is ``error("SOURCE: KEY: expected WHAT, got VALUE")``: the file (and
table) it came from, the key path, what would have been accepted and what was found, shortened,
with secrets hidden. ``quote_keys=True`` spells keys ``key 'port'`` for parsers whose messages
always did.

Checkers are plain functions ``value -> cleaned value`` that raise ``ValueError("what was
expected")``; :meth:`Fields.get` turns that into the message above, so a parser can keep a table
of checkers as data (``edgebind.sensors.config``) or call the typed readers below."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from edgebind.checks import is_finite_number, split_host_port

MISSING: Any = object()
Checker = Callable[[Any], Any]


def shown(v: Any) -> str:
    """A value for an error message: a 400-digit integer is not worth printing whole, nor a
    megabyte string."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**30:
        return f"an integer of {len(str(abs(v)))} digits"
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


def expect_int(lo: int | None = None, hi: int | None = None) -> str:
    """How an integer range reads in a message."""
    if lo is not None and hi is not None:
        return f"a positive integer up to {hi}" if lo == 1 else f"an integer from {lo} to {hi}"
    if lo is not None:
        return "a positive integer" if lo == 1 else f"an integer >= {lo}"
    return "an integer" if hi is None else f"an integer <= {hi}"


def expect_number(lo: float | None = None, hi: float | None = None,
                  above: float | None = None) -> str:
    """How a number range reads in a message (``above``: an exclusive lower bound)."""
    if above is not None:
        head = "a positive number" if above == 0 else f"a number > {above:g}"
        return head if hi is None else f"{head} up to {hi:g}"
    if lo is not None and hi is not None:
        return f"a number in [{lo:g}, {hi:g}]"
    if lo is not None:
        return "a positive number" if lo == 0 else f"a number >= {lo:g}"
    return "a finite number" if hi is None else f"a number <= {hi:g}"


def integer(lo: int | None = None, hi: int | None = None, want: str | None = None) -> Checker:
    """A checker for an int (not a bool) in ``[lo, hi]``."""
    what = want or expect_int(lo, hi)

    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) \
                or (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ValueError(what)
        return int(v)
    return check


def number(lo: float | None = None, hi: float | None = None, want: str | None = None, *,
           above: float | None = None) -> Checker:
    """A checker for a finite int or float (not a bool) in ``[lo, hi]`` (and ``> above``:
    ``above=0`` is "positive", where a rate of 0 would divide by zero) -> float."""
    what = want or expect_number(lo, hi, above)

    def check(v: Any) -> float:
        if not is_finite_number(v) or (lo is not None and v < lo) or (hi is not None and v > hi) \
                or (above is not None and v <= above):
            raise ValueError(what)
        return float(v)
    return check


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("true or false")
    return v


def string(v: Any) -> str:
    """A non-empty string (blank counts as empty)."""
    if not isinstance(v, str) or not v.strip():
        raise ValueError("a non-empty string")
    return v


def names(v: Any) -> list[str]:
    """A list of non-empty strings."""
    if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
        raise ValueError("a list of names")
    return list(v)


def host_port(example: str) -> Checker:
    """A checker for ``"HOST:PORT"`` (``"[::1]:PORT"`` for IPv6) -> (host, port); ``example``
    is what the message suggests (each file has its usual address)."""
    def check(v: Any) -> tuple[str, int]:
        if not isinstance(v, str) or ":" not in v:
            raise ValueError(f'"HOST:PORT", e.g. "{example}"')
        parsed = split_host_port(v)
        if parsed is None:
            raise ValueError(f'"HOST:PORT" with a port 0-65535, e.g. "{example}"')
        return parsed
    return check


def expecting(want: str, check: Checker) -> Checker:
    """``check`` with its failure worded as ``want`` (``"a path (string)"`` rather than the
    generic ``"a non-empty string"``)."""
    def worded(v: Any) -> Any:
        try:
            return check(v)
        except ValueError:
            raise ValueError(want) from None
    return worded


def choice(*options: Any) -> Checker:
    def check(v: Any) -> Any:
        if v not in options:
            raise ValueError("one of " + ", ".join(repr(o) for o in options))
        return v
    return check


def resolve_path(value: str, base_dir: str | Path | None) -> Path:
    """A path from a config file: ``~`` expanded, a relative one taken relative to ``base_dir``
    (the file's folder, so a config works from any working directory)."""
    try:
        p = Path(value).expanduser()
    except RuntimeError:   # "~nobody": no such user, so no home folder to expand to
        raise ValueError("a path whose ~user exists") from None
    return p if p.is_absolute() or base_dir is None else Path(base_dir) / p


class Fields:
    """Typed reads of one table; every failure raises ``error`` naming ``source`` and the key.

    ``prefix`` is the key path of this table inside the document (``"windows."``), ``base_dir``
    the folder relative paths are taken from, ``secrets`` keys whose values are never shown."""

    def __init__(self, data: Mapping[str, Any], source: str, error: type[Exception] = ValueError,
                 *, prefix: str = "", quote_keys: bool = False, base_dir: Path | None = None,
                 secrets: Iterable[str] = ()):
        if not isinstance(data, Mapping):
            raise error(f"{source}: {prefix.rstrip('.') or '(document)'}: expected a table, got "
                        f"{shown(data)}")
        self.data, self.source, self.error = data, source, error
        self.prefix, self.quote_keys, self.base_dir = prefix, quote_keys, base_dir
        self.secrets = frozenset(secrets)

    def label(self, key: str) -> str:
        full = self.prefix + key
        return f"key {full!r}" if self.quote_keys else full

    def fail(self, key: str, want: str, got: Any = MISSING) -> Exception:
        """The error for ``key``: ``expected WANT`` (with the value found, unless secret)."""
        if got is MISSING and key in self.data:
            got = self.data[key]
        tail = "" if got is MISSING else \
            f", got {'<hidden>' if key in self.secrets else shown(got)}"
        return self.error(f"{self.source}: {self.label(key)}: expected {want}{tail}")

    def missing(self, key: str) -> Exception:
        return self.error(f"{self.source}: missing key {self.prefix + key!r}")

    def reject_unknown(self, allowed: Iterable[str], what: str = "") -> None:
        """``what`` says whose key it is not (``"a jsonl sink"``), where that depends on a kind."""
        allowed = list(allowed)
        for k in self.data:
            if k not in allowed:
                raise self.error(f"{self.source}: {self.label(str(k))}: unknown key"
                                 f"{' for ' + what if what else ''}; expected one of "
                                 f"{', '.join(allowed)}")

    def get(self, key: str, check: Checker, default: Any = MISSING) -> Any:
        """``check(value)``; an absent key gives ``default`` (or a missing-key error)."""
        if key not in self.data:
            if default is MISSING:
                raise self.missing(key)
            return default
        try:
            return check(self.data[key])
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None

    def string(self, key: str, default: Any = MISSING) -> Any:
        return self.get(key, string, default)

    def integer(self, key: str, default: Any = MISSING, lo: int | None = None,
                hi: int | None = None, want: str | None = None) -> Any:
        return self.get(key, integer(lo, hi, want), default)

    def number(self, key: str, default: Any = MISSING, lo: float | None = None,
               hi: float | None = None, want: str | None = None) -> Any:
        return self.get(key, number(lo, hi, want), default)

    def boolean(self, key: str, default: Any = MISSING) -> Any:
        return self.get(key, boolean, default)

    def names(self, key: str, default: Any = MISSING) -> Any:
        return self.get(key, names, default)

    def choice(self, key: str, options: Iterable[Any], default: Any = MISSING) -> Any:
        return self.get(key, choice(*options), default)

    def path(self, key: str, default: Any = MISSING, want: str | None = None) -> Any:
        """A path string; a relative one is taken relative to ``base_dir``. ``"-"`` stays."""
        v = self.get(key, string if want is None else expecting(want, string), default)
        if not isinstance(v, str) or v == "-" or self.base_dir is None:
            return v
        try:
            return str(resolve_path(v, self.base_dir))
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None

    def table(self, key: str, default: Any = MISSING) -> "Fields":
        """The sub-table ``key`` as Fields (key paths continue: ``windows.hop_s``)."""
        if key not in self.data:
            if default is MISSING:
                raise self.missing(key)
            v = default
        else:
            v = self.data[key]
        if not isinstance(v, Mapping):
            raise self.fail(key, "a table")
        return Fields(v, self.source, self.error, prefix=f"{self.prefix}{key}.",
                      quote_keys=self.quote_keys, base_dir=self.base_dir, secrets=self.secrets)
