"""Mutations of the shipped scenario files and experiment specs, and what the CLI makes of them.

A :class:`Mutation` is data (the source file, what is changed, the new value), so a case the
fuzz once found is written down as a plain example. :func:`mutations` is the hypothesis
strategy that draws them; :func:`check` writes the mutated file to a scratch folder, drives the
command line in-process and returns what went wrong, if anything:

- ``validate`` must exit 0 or 2, never with a traceback;
- each problem it reports (a line starting ``error:``; ``validate`` reports every problem of
  a file) takes at most :data:`MAX_ERROR_LINES` lines and names the file and a key (a
  malformed TOML file: the file);
- what ``validate`` accepts, ``run`` (``experiment`` for a spec) runs, exiting 0, with a short
  horizon (the horizon is left alone when the mutation itself is about it);
- every command finishes within :data:`BUDGET_SECONDS`, or the case fails as a hang.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import json
import math
import re
import shutil
import signal
import tempfile
import tomllib
import traceback
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import annotated_types
from hypothesis import strategies as st
from pydantic import BaseModel
from typer.testing import CliRunner

from ipcsim.cli.main import app
from ipcsim.experiment.spec import ExperimentSpec
from ipcsim.pathway import BACKLOG_STAGES
from ipcsim.scenario import Scenario, SiteConfig
from ipcsim.scenario.bounds import DistributionBound
from ipcsim.scenario.distributions import DISTRIBUTIONS
from ipcsim.scenario.load import dotted_set, load_scenario

ROOT = Path(__file__).resolve().parents[2]
UNFUZZED = ("configs/england_upc.toml",)
"""Left out: national_ipc_2015.toml's structure at 42 sites, whose every mutated run took
seconds (make test's fuzz went from 17 s to 23 s with it)."""
SCENARIOS = tuple(
    sorted(
        path
        for path in (p.relative_to(ROOT).as_posix() for p in (ROOT / "configs").glob("*.toml"))
        if path not in UNFUZZED
    )
)
SPECS = tuple(
    sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "experiments").glob("*/experiment.toml"))
)

MAX_ERROR_LINES = 4
"""Most lines one reported problem may take on stderr."""
BUDGET_SECONDS = 120
"""Longest one command may take before the case fails as a hang (a short run takes ~1 s)."""
SCENARIO_HORIZON_DAYS = 30
"""Horizon a mutated scenario runs for (unless the mutation is about the horizon)."""
SPEC_HORIZON_DAYS = 60
"""Horizon of every scenario of a mutated experiment (unless the mutation is about it)."""
SPEC_REPLICATIONS = 2
"""Replications per scenario of a mutated experiment."""

EXTREMES: tuple[Any, ...] = (
    math.inf,
    -math.inf,
    math.nan,
    1e300,
    -1,
    0,
    1e-300,
    2**63,
    10**30,
    -(2**63),
    -1e-300,
)
"""Numbers no quantity should take unchecked."""
PLAIN_NUMBERS: tuple[Any, ...] = (0.5, 1, 3, 14.0, 100, 1000, 3650, 10000)
"""Numbers many quantities may take: mutations that should validate and run (in seconds)."""
RETYPES: tuple[Any, ...] = (
    "text",
    "8.0",
    "",
    True,
    False,
    [1, 2],
    [],
    {"a": 1},
    {},
    dt.date(1979, 1, 1),
    dt.date(1, 1, 1),
    dt.date(9999, 12, 31),
)
"""Values of the wrong type for most keys."""
PARAMETERS = {  # the parameters each distribution takes (ipcsim.scenario.distributions)
    "fixed": ("value",),
    "exponential": ("mean",),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "lognormal": ("median", "p95"),
    "gamma": ("mean", "sd"),
    "discrete": ("values", "probs"),
}
JUNK_TEXT: tuple[bytes, ...] = (
    b"[",
    b"]",
    b"{",
    b"=",
    b'"',
    b"\n[run]\n",
    b"\nx = 1\nx = 2\n",
    b"\x00",
    b"\xff\xfe",
    b"=\n",
    b"\n[[cohorts]]\n",
    b" # ",
)
"""Bytes inserted into a file's text to break its TOML."""


# --------------------------------------------------------------------------- TOML writing
_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key(key: str) -> str:
    return key if _BARE.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def toml_value(value: Any) -> str:
    """``value`` as a TOML literal (tables inline), as it would be typed after ``--set k=``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        # None is "unset" in a resolved table: TOML leaves the key out
        items = [(k, v) for k, v in value.items() if v is not None]
        inner = ", ".join(f"{_key(str(k))} = {toml_value(v)}" for k, v in items)
        return "{ " + inner + " }" if inner else "{}"
    raise TypeError(f"no TOML for {value!r}")


def to_toml(doc: dict[str, Any]) -> str:
    """A TOML document holding ``doc`` (one line per top-level key, tables inline)."""
    return "".join(f"{_key(k)} = {toml_value(v)}\n" for k, v in doc.items() if v is not None)


# --------------------------------------------------------------------------- sources
def _read(source: str) -> dict[str, Any]:
    return tomllib.loads((ROOT / source).read_text(encoding="utf-8"))


def _shrunk_spec(doc: dict[str, Any]) -> dict[str, Any]:
    """A spec with fewer scenarios and pilots, so that a mutated experiment runs in seconds.

    Every key stays (mutations reach them all); a grid keeps two levels of each factor (its
    baseline level first), a design two trajectories or points over its first two factors.
    """
    doc = copy.deepcopy(doc)
    baseline = doc.get("baseline", {})
    for key, levels in doc.get("grid", {}).items():
        first = baseline.get(key, levels[0])
        doc["grid"][key] = [first, next(v for v in levels if v != first)]
    design = doc.get("design")
    if design:
        design["samples"] = 2
        design["resamples"] = 50
        design["factors"] = dict(list(design["factors"].items())[:2])
    warmup = doc.get("warmup", {})
    if warmup.get("mode") == "fixed":
        warmup["days"] = 14
    if "pilot_replications" in warmup:
        warmup["pilot_replications"] = 2
    return doc


def source_document(source: str) -> dict[str, Any]:
    """The TOML data a mutation of ``source`` starts from (a spec shrunk, see above)."""
    doc = _read(source)
    return _shrunk_spec(doc) if is_spec(source) else doc


def source_text(source: str) -> bytes:
    """The file text a text mutation of ``source`` starts from."""
    if is_spec(source):
        return to_toml(source_document(source)).encode()
    return (ROOT / source).read_bytes()


def is_spec(source: str) -> bool:
    """Whether ``source`` is an experiment spec (else a scenario file)."""
    return source.startswith("experiments/")


@functools.cache
def _resolved(source: str) -> dict[str, Any]:
    """The source validated and dumped: every key of the schema with its value or default.

    Cached: callers copy what they change.
    """
    if is_spec(source):
        return ExperimentSpec.model_validate(source_document(source)).model_dump(mode="json")
    dump: dict[str, Any] = load_scenario(ROOT / source).model_dump(mode="json", by_alias=True)
    return dump


_PATHS: dict[str, tuple[tuple[Any, ...], ...]] = {}
_DISTRIBUTION_PATHS: dict[str, tuple[tuple[Any, ...], ...]] = {}


def _walk(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*prefix, key)
            yield from _walk(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield (*prefix, index)
            yield from _walk(value, (*prefix, index))


def key_paths(source: str) -> tuple[tuple[Any, ...], ...]:
    """Every key of the source file and of its resolved form (defaults included), sorted."""
    if source not in _PATHS:
        found = set(_walk(source_document(source))) | set(_walk(_resolved(source)))
        _PATHS[source] = tuple(sorted(found, key=lambda p: tuple(map(str, p))))
    return _PATHS[source]


def distribution_paths(source: str) -> tuple[tuple[Any, ...], ...]:
    """Keys that hold a distribution (or an effort, a number or a distribution)."""
    if source not in _DISTRIBUTION_PATHS:
        resolved = _resolved(source)
        found = []
        for path in key_paths(source):
            node: Any = resolved
            for part in path:
                node = node.get(part) if isinstance(node, dict) else None
            if (isinstance(node, dict) and "dist" in node) or "effort_hours" in path[:-1]:
                found.append(path)
        _DISTRIBUTION_PATHS[source] = tuple(found)
    return _DISTRIBUTION_PATHS[source]


# --------------------------------------------------------------------------- mutations
@dataclass(frozen=True)
class Mutation:
    """One change to a shipped file.

    Attributes
    ----------
    source
        The file, relative to the repository (``configs/x.toml``, ``experiments/y/*.toml``).
    kind
        ``delete`` (the key), ``rename`` (the key, to ``value``), ``set`` (the key to ``value``,
        creating tables on the way), ``setcli`` (the same with ``--set`` on the command line),
        ``override`` (a spec's ``overrides`` gets ``value``, a ``key=value`` string), ``text``
        (the file's bytes ``key[0]:key[1]`` replaced by ``value``, bytes) or ``backlog`` (the
        scenario names ``backlog.csv`` as its ``initial_state``, a file beside it holding
        ``value``, bytes).
    key
        Parts of a dotted key (strings, and integers for array items).
    value
        What the kind needs.
    """

    source: str
    kind: str
    key: tuple[Any, ...] = ()
    value: Any = None

    def __str__(self) -> str:
        dotted = ".".join(str(k) for k in self.key)
        if self.kind in ("set", "setcli"):
            return f"{self.source}: {self.kind} {dotted} = {toml_value(self.value)}"
        if self.kind == "text":
            return f"{self.source}: text [{self.key[0]}:{self.key[1]}] -> {self.value!r}"
        if self.kind == "override":
            return f"{self.source}: overrides += {self.value!r}"
        if self.kind == "backlog":
            return f"{self.source}: initial_state = backlog.csv holding {self.value!r}"
        return f"{self.source}: {self.kind} {dotted}" + (
            f" -> {self.value}" if self.value is not None else ""
        )

    @property
    def about_horizon(self) -> bool:
        """Whether the mutation touches the horizon (so the check must not override it)."""
        text = str(self)
        return "horizon" in text or (
            self.kind in ("delete", "set", "rename") and self.key == ("run",)
        )


def _set(doc: dict[str, Any], key: tuple[Any, ...], value: Any) -> None:
    node: Any = doc
    for part in key[:-1]:
        if isinstance(node, list):
            node = node[part]
            continue
        child = node.get(part)
        if not isinstance(child, dict | list):
            child = {}
            node[part] = child
        node = child
    if isinstance(node, list):
        node[key[-1]] = value
    else:
        node[key[-1]] = value


def _node(doc: Any, key: tuple[Any, ...]) -> tuple[bool, Any, Any]:
    """(found, parent, value) of ``key`` in the raw document."""
    node, parent = doc, None
    for part in key:
        ok = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and part < len(node)
        )
        if not ok:
            return False, None, None
        parent, node = node, node[part]
    return True, parent, node


def mutated_text(mutation: Mutation) -> bytes:
    """The bytes of the mutated file."""
    if mutation.kind == "text":
        text = source_text(mutation.source)
        start, end = mutation.key
        return text[:start] + mutation.value + text[end:]
    doc = source_document(mutation.source)
    if mutation.kind == "setcli":
        return to_toml(doc).encode()
    if mutation.kind == "override":
        doc["overrides"] = [*doc.get("overrides", []), mutation.value]
    elif mutation.kind == "backlog":
        doc["initial_state"] = BACKLOG_FILE
    elif mutation.kind == "set":
        if all(isinstance(part, str) for part in mutation.key) and "." not in "".join(mutation.key):
            # a table the file leaves at its default is copied first, so that setting a
            # distribution's parameter keeps its other parameters (as a design does)
            template = _resolved(mutation.source)
            dotted_set(
                doc, ".".join(mutation.key), copy.deepcopy(mutation.value), template=template
            )
        else:
            _set(doc, mutation.key, copy.deepcopy(mutation.value))
    else:
        found, parent, value = _node(doc, mutation.key)
        if found:
            last = mutation.key[-1]
            if mutation.kind == "delete":
                del parent[last]
            elif isinstance(parent, dict):  # rename: keep the order of the keys
                items = [(mutation.value if k == last else k, v) for k, v in parent.items()]
                parent.clear()
                parent.update(items)
    return to_toml(doc).encode()


def _distribution_values() -> st.SearchStrategy[Any]:
    number = st.sampled_from(EXTREMES + PLAIN_NUMBERS)

    @st.composite
    def build(draw: st.DrawFn) -> Any:
        name = draw(st.sampled_from((*DISTRIBUTIONS, "weibull", 3)))
        names = PARAMETERS.get(name, ("shape",)) if isinstance(name, str) else ("value",)
        table: dict[str, Any] = {"dist": name}
        for parameter in names:
            if parameter in ("values", "probs"):
                table[parameter] = draw(
                    st.lists(number, max_size=3)
                    | st.sampled_from(([1, 2], [0.5, 0.5], [1.0], [0.3, 0.3]))
                )
            else:
                table[parameter] = draw(number)
        extra = draw(st.sampled_from((None, "mean", "sd", "shape", "high")))
        if extra is not None:
            table[extra] = draw(number)
        if draw(st.booleans()) and len(table) > 1:  # drop a parameter
            del table[draw(st.sampled_from([k for k in table if k != "dist"]))]
        return table

    return build()


VOLUME_KEYS = frozenset(  # spec keys among them get at most 8 (see mutations)
    {
        "referrals_per_month",
        "eligible_population",
        "people",
        "horizon_days",
        "replications",
        "pilot_replications",
        "samples",
        "resamples",
        "n",
        "max",
        "initial",
    }
)
"""Keys whose largest values make a run long, not wrong: left out of the boundary mutations."""


def _step(annotation: Any, part: Any) -> tuple[Any, list[Any]] | None:
    """The annotation (and its constraints) of ``part`` inside a value of ``annotation``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _step(args[0], part)
    if origin in (typing.Union, types.UnionType):
        for member in args:
            found = _step(member, part)
            if found is not None:
                return found
        return None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if part in (name, info.alias):
                return info.annotation, list(info.metadata)
        return None
    if origin is dict and len(args) == 2:
        return args[1], []
    if origin in (tuple, list) and isinstance(part, int) and args:
        return args[0], []
    return None


def _constraints(annotation: Any, metadata: list[Any]) -> list[Any]:
    """Every constraint of a field: its own and those of the types it is made of."""
    found = list(metadata)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        for item in args[1:]:
            found += [item, *getattr(item, "metadata", [])]
        found += _constraints(args[0], [])
    elif origin in (typing.Union, types.UnionType):
        for member in args:
            found += _constraints(member, [])
    return found


def boundary_values(source: str, key: tuple[Any, ...]) -> tuple[Any, ...]:
    """The extreme values the schema allows at ``key``: its bounds, distributions at its bounds."""
    if key and str(key[-1]) in VOLUME_KEYS:
        return ()
    annotation: Any = Scenario
    if is_spec(source):
        annotation = ExperimentSpec
    elif key[:1] == ("sites",):
        annotation, key = SiteConfig, key[2:]
    metadata: list[Any] = []
    for part in key:
        found = _step(annotation, part)
        if found is None:
            return ()
        annotation, metadata = found
    values: list[Any] = []
    whole = annotation is int or "int" in str(annotation)
    for item in _constraints(annotation, metadata):
        if isinstance(item, annotated_types.Ge | annotated_types.Le):
            values.append(item.ge if isinstance(item, annotated_types.Ge) else item.le)
        elif isinstance(item, annotated_types.Gt):
            values.append(item.gt + (1 if whole else 1e-9))
        elif isinstance(item, annotated_types.Lt):
            values.append(item.lt - (1 if whole else 1e-9))
        elif isinstance(getattr(item, "func", None), DistributionBound):
            bound = item.func
            values += [
                {"dist": "fixed", "value": bound.high},
                {"dist": "uniform", "low": bound.low, "high": bound.high},
                {"dist": "triangular", "low": bound.low, "mode": bound.high, "high": bound.high},
                {"dist": "discrete", "values": [bound.low, bound.high], "probs": [0.5, 0.5]},
            ]
            if not bound.bounded_support:
                values += [
                    {"dist": "exponential", "mean": bound.high},
                    {"dist": "lognormal", "median": bound.high / 1000, "p95": bound.high},
                    {"dist": "lognormal", "mean": bound.high, "sd": bound.high * 100},
                    {"dist": "gamma", "mean": bound.high, "sd": bound.high * 100},
                    {"dist": "gamma", "mean": bound.high, "sd": bound.high / 1000},
                ]
    return tuple(int(v) if whole and isinstance(v, float) else v for v in values)


BACKLOG_FILE = "backlog.csv"
BACKLOG_HEADER = "person_id,site,cohort,stage,waiting_since"


@st.composite
def backlogs(draw: st.DrawFn, source: str) -> bytes:
    """A warm-start CSV for the scenario ``source``: valid rows, bad cells, a damaged header."""
    resolved = _resolved(source)
    sites = list(resolved.get("sites") or {}) or [resolved["site"]["name"]]
    site = draw(st.sampled_from(sites))
    table = (resolved.get("sites") or {}).get(site, {})
    cohorts = list(table.get("cohorts") or resolved["cohorts"])
    start = dt.date.fromisoformat(resolved["run"]["start_date"])
    good = {
        "person_id": st.integers(1, 10**6).map(str),
        "site": st.just(site),
        "cohort": st.sampled_from(cohorts),
        "stage": st.sampled_from(BACKLOG_STAGES),
        "waiting_since": st.integers(0, 3000).map(lambda d: (start - dt.timedelta(d)).isoformat()),
    }
    bad = st.sampled_from(
        ("", "x", "-1", "10" * 20, "1e3", "2999-01-01", "0001-01-01", "done", '"', "a,b", "\x00")
    )
    header = draw(
        st.sampled_from(
            (BACKLOG_HEADER, "\ufeff" + BACKLOG_HEADER, BACKLOG_HEADER + ",extra", "person_id,site")
        )
    )
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        cells = {name: draw(value) for name, value in good.items()}
        if draw(st.booleans()):
            cells[draw(st.sampled_from(sorted(cells)))] = draw(bad)
        rows.append(",".join(cells[name] for name in BACKLOG_HEADER.split(",")))
    return ("\n".join([header, *rows]) + "\n").encode()


@st.composite
def mutations(draw: st.DrawFn, sources: tuple[str, ...] = SCENARIOS + SPECS) -> Mutation:
    """A mutation of one of ``sources`` (scenario files three times as often as specs)."""
    scenarios = [s for s in sources if not is_spec(s)]
    specs = [s for s in sources if is_spec(s)]
    pool = scenarios * 3 + specs if scenarios and specs else scenarios or specs
    source = draw(st.sampled_from(pool))
    kinds = ["delete", "rename", "retype", "extreme", "plain", "distribution", "text", "bound"]
    kinds += ["override"] if is_spec(source) else ["setcli", "backlog"]
    kind = draw(st.sampled_from(kinds))
    if kind == "text":
        text = source_text(source)
        start = draw(st.integers(0, len(text)))
        end = draw(st.sampled_from((start, min(len(text), start + 1), len(text))))
        junk = draw(st.sampled_from((b"", *JUNK_TEXT)))
        return Mutation(source, "text", (start, end), junk)
    if kind == "backlog":
        return Mutation(source, "backlog", ("initial_state",), draw(backlogs(source)))
    if kind == "override":
        scenario = _read(source).get("base", "")
        base = (ROOT / source).parent / scenario
        paths = key_paths(base.resolve().relative_to(ROOT).as_posix()) if scenario else ()
        key = ".".join(map(str, draw(st.sampled_from(paths)))) if paths else "run.seed"
        value = draw(st.sampled_from(EXTREMES + RETYPES + PLAIN_NUMBERS))
        text = draw(st.sampled_from((f"{key}={toml_value(value)}", "junk", "=3", f"{key}=")))
        return Mutation(source, "override", (), text)
    paths = key_paths(source)
    if kind == "distribution" and distribution_paths(source):
        key = draw(st.sampled_from(distribution_paths(source)))
        return Mutation(source, "set", key, draw(_distribution_values()))
    if kind == "bound":
        bounded = [(p, v) for p in paths for v in boundary_values(source, p)]
        if bounded:
            key, value = draw(st.sampled_from(bounded))
            return Mutation(source, "set", key, value)
        kind = "plain"
    key = draw(st.sampled_from(paths))
    if kind == "delete":
        return Mutation(source, "delete", key)
    if kind == "rename":
        if isinstance(key[-1], int):
            return Mutation(source, "delete", key)
        new = draw(st.sampled_from((f"{key[-1]}_x", str(key[-1])[:-1] or "x", "", "a.b")))
        return Mutation(source, "rename", key, new)
    values = {
        "retype": RETYPES,
        "extreme": EXTREMES,
        "plain": PLAIN_NUMBERS,
        "setcli": EXTREMES + RETYPES + PLAIN_NUMBERS,
        "distribution": EXTREMES + RETYPES,
    }[kind]
    value = draw(st.sampled_from(values))
    if is_spec(source) and str(key[-1]) in VOLUME_KEYS and _number(value) and 8 < value < 2**63:
        # 10,000 pilots or design points are valid, and take an hour: keep the run short
        value = 8
    if kind == "setcli" and all(isinstance(part, str) and _BARE.fullmatch(part) for part in key):
        return Mutation(source, "setcli", key, value)
    return Mutation(source, "set", key, value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --------------------------------------------------------------------------- checking
class Hang(BaseException):
    """A command ran past its time budget (a BaseException, so that nothing catches it)."""


@contextlib.contextmanager
def time_budget(seconds: int) -> Iterator[None]:
    """Raise :class:`Hang` in the running code after ``seconds`` (main thread, POSIX).

    The handler raises again every 0.1 s until the exception gets through: a signal handler
    may run inside a garbage-collector callback (hypothesis installs one to time the GC),
    where Python reports an exception as "ignored" and carries on.
    """

    def expire(signum: int, frame: FrameType | None) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class Outcome:
    """What the command line did with one mutation."""

    mutation: Mutation
    validate_code: int | None = None
    run_code: int | None = None
    error: str = ""
    problem: str | None = None
    details: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        """``accepted`` (validated and ran), ``rejected`` (one clear line) or the problem."""
        if self.problem:
            return self.problem
        return "accepted" if self.validate_code == 0 else "rejected"


def _invoke(args: list[str]) -> tuple[int, str, str, str | None]:
    """Exit code, stdout, stderr and any traceback of ``ipcsim ARGS``, in-process."""
    runner = CliRunner()
    try:
        with time_budget(BUDGET_SECONDS):
            result = runner.invoke(app, args, catch_exceptions=True)
    except Hang as e:
        return -1, "", "", f"hang: {e}"
    crash = None
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        info = result.exc_info
        crash = "".join(traceback.format_exception(*info)) if info else repr(result.exception)
    return result.exit_code, result.stdout, result.stderr, crash


_PART = r"""(?:[A-Za-z0-9_\[\]-]+|"[^"]*")"""
_KEY = re.compile(rf"""(?:^|[\s(]){_PART}(?:\.{_PART})*: |'[\w.]+' is a value""")
"""A dotted key followed by a colon (``cohorts.b.sessions: ``, ``grid."a.b": ``, ``base: ``),
or a key an override found holding a value (``'run' is a value, not a table``)."""


def names_a_key(message: str, scratch: str, sets: list[str]) -> bool:
    """Whether an error message names a key (not counting file paths and ``--set`` texts)."""
    rest = message.removeprefix("error: ")
    for text in sets:
        rest = rest.replace(text, "")
    rest = re.sub(re.escape(scratch) + r"\S*", "", rest)
    return bool(_KEY.search(rest))


def check(mutation: Mutation) -> Outcome:
    """Write the mutated file to a scratch folder and validate (and run) it."""
    outcome = Outcome(mutation)
    with tempfile.TemporaryDirectory(prefix="ipcsim-fuzz-") as scratch:
        folder = Path(scratch)
        shutil.copytree(ROOT / "configs", folder / "configs")
        target = folder / mutation.source
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(mutated_text(mutation))
        if mutation.kind == "backlog":
            (target.parent / BACKLOG_FILE).write_bytes(mutation.value)
        extra: list[str] = []
        if mutation.kind == "setcli":
            dotted = ".".join(mutation.key)
            extra += ["--set", f"{dotted}={toml_value(mutation.value)}"]
        if not mutation.about_horizon:
            days = SPEC_HORIZON_DAYS if is_spec(mutation.source) else SCENARIO_HORIZON_DAYS
            extra += ["--set", f"run.horizon_days={days}"]
        if is_spec(mutation.source):
            extra += [
                "--set",
                'replications.mode="fixed"',
                "--set",
                f"replications.n={SPEC_REPLICATIONS}",
            ]
        sets = extra[1::2]
        code, _, stderr, crash = _invoke(["validate", str(target), *extra])
        outcome.validate_code, outcome.error = code, stderr.strip()
        if _judge(outcome, "validate", (code, stderr, crash), str(target), sets):
            return outcome
        if code != 0:
            return outcome
        command = "experiment" if is_spec(mutation.source) else "run"
        out = ["--out", str(folder / "out")]
        code, _, stderr, crash = _invoke([command, str(target), *out, *extra])
        outcome.run_code = code
        if _judge(outcome, command, (code, stderr, crash), str(target), sets):
            return outcome
        if code != 0:
            outcome.problem = "accepted-then-rejected"
            outcome.details.append(stderr.strip())
    return outcome


def _judge(
    outcome: Outcome,
    command: str,
    result: tuple[int, str, str | None],
    target: str,
    sets: list[str],
) -> bool:
    """Record a problem with one command's result (code, stderr, traceback); True if any."""
    code, stderr, crash = result
    if crash is not None:
        if crash.startswith("hang"):
            outcome.problem = f"{command}-hang"
        else:
            outcome.problem = f"{command}-traceback"
        outcome.details.append(crash)
        return True
    if "Traceback (most recent call last)" in stderr:
        outcome.problem = f"{command}-traceback"
        outcome.details.append(stderr)
        return True
    if code not in (0, 2):
        outcome.problem = f"{command}-exit-{code}"
        outcome.details.append(stderr)
        return True
    if code == 2:
        for message in _problems(stderr):
            if message.count("\n") >= MAX_ERROR_LINES:
                outcome.problem = f"{command}-long-error"
                outcome.details.append(stderr)
                return True
            message = " ".join(message.splitlines())
            malformed = "malformed TOML" in message or "not a UTF-8" in message
            scratch = str(Path(target).parents[1 if is_spec(outcome.mutation.source) else 0].parent)
            keyed = malformed or names_a_key(message, scratch, sets) or "row " in message
            named = Path(target).name in message or (
                outcome.mutation.kind == "backlog" and BACKLOG_FILE in message and "row " in message
            )
            if not named or not keyed:
                outcome.problem = f"{command}-error-without-key"
                outcome.details.append(stderr)
                return True
    return False


def _problems(stderr: str) -> list[str]:
    """The problems an error output reports, each starting a line with ``error:``.

    ``validate`` prints every problem of a file, other commands the first; text before the
    first ``error:`` is a problem too, so that it is judged rather than skipped.
    """
    problems: list[str] = []
    for line in stderr.strip().splitlines():
        if line.startswith("error:") or not problems:
            problems.append(line)
        else:
            problems[-1] += "\n" + line
    return problems or [""]
