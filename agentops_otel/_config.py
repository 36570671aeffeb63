"""Settings: ``init()`` arguments first, then ``AGENTOPS_*`` variables, then standard ``OTEL_*``.

Every option is declared once in :data:`OPTIONS`: its ``init()`` keyword, its variables, its
default and what it means. From that one table come the checks (an unknown ``init()`` keyword is a
``TypeError`` naming the closest valid one, a wrong value a ``ValueError`` saying what is accepted,
a bad variable one warning naming the variable, its value and what is used instead), the record
of where each setting came from (``agentops-otel doctor``) and the README's table of variables.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

_log = logging.getLogger(__name__)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_BOOL_TEXT = "one of 1/true/yes/on or 0/false/no/off"


@dataclass(frozen=True)
class Option:
    """One setting: its ``init()`` keyword, variables, kind of value, default and meaning."""

    name: str
    kind: str  # str path bool int float choice names list callable headers exporters
    default: Any
    help: str
    env: str = ""  # our AGENTOPS_* variable
    otel: tuple[str, ...] = ()  # standard variables consulted when ours is unset
    choices: tuple[str, ...] = ()
    minimum: float | None = None


OPTIONS: tuple[Option, ...] = (
    Option(
        "api_key",
        "str",
        None,
        "AgentOps backend API key; when set, spans go there too",
        env="AGENTOPS_API_KEY",
    ),
    Option("endpoint", "str", None, "AgentOps API endpoint", env="AGENTOPS_API_ENDPOINT"),
    Option(
        "exporter_endpoint",
        "str",
        None,
        "AgentOps trace exporter endpoint",
        env="AGENTOPS_EXPORTER_ENDPOINT",
    ),
    Option(
        "service_name",
        "str",
        "agentops-app",
        "service.name of the spans",
        otel=("OTEL_SERVICE_NAME",),
    ),
    Option(
        "instrument",
        "names",
        True,
        "instrument every installed library we cover (true), "
        "none (false) or the named ones (comma-separated)",
        env="AGENTOPS_INSTRUMENT",
    ),
    Option(
        "capture_content",
        "bool",
        True,
        "record prompts, completions and arguments "
        "(OTEL_...=no_content or false also turns it off)",
        env="AGENTOPS_CAPTURE_CONTENT",
        otel=("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",),
    ),
    Option(
        "max_content_chars",
        "int",
        16_384,
        "longest recorded text; longer is truncated",
        env="AGENTOPS_MAX_CONTENT_CHARS",
        minimum=0,
    ),
    Option("redact", "callable", None, "redact(key, value) sees every captured value first"),
    Option("tags", "list", (), "tags of the sessions (comma-separated)", env="AGENTOPS_TAGS"),
    Option(
        "auto_start_session",
        "bool",
        True,
        "init() starts a session",
        env="AGENTOPS_AUTO_START_SESSION",
    ),
    Option(
        "session_name",
        "str",
        "default",
        "name of the session init() starts",
        env="AGENTOPS_SESSION_NAME",
    ),
    Option(
        "max_cost_usd",
        "float",
        None,
        "budget of a session in USD (unset: no budget)",
        env="AGENTOPS_MAX_COST_USD",
        minimum=0,
    ),
    Option(
        "on_budget_exceeded",
        "choice",
        "warn",
        "what a session over budget does",
        env="AGENTOPS_ON_BUDGET_EXCEEDED",
        choices=("warn", "raise"),
    ),
    Option(
        "loop_threshold",
        "int",
        3,
        "repeats of the same call that make a loop (0: off)",
        env="AGENTOPS_LOOP_THRESHOLD",
        minimum=0,
    ),
    Option(
        "on_loop",
        "choice",
        "warn",
        "what a detected loop does",
        env="AGENTOPS_ON_LOOP",
        choices=("warn", "raise"),
    ),
    Option(
        "exit_timeout_s",
        "float",
        2.0,
        "longest wait for export at exit, in seconds",
        env="AGENTOPS_EXIT_TIMEOUT",
        minimum=0,
    ),
    Option(
        "local_store",
        "bool",
        None,
        "record into the local store (unset: only when no other destination is configured)",
        env="AGENTOPS_LOCAL_STORE",
    ),
    Option(
        "store_path",
        "path",
        None,
        "local store directory (unset: the user data directory)",
        env="AGENTOPS_OTEL_HOME",
    ),
    Option(
        "retention_days",
        "float",
        None,
        "days the local store keeps sessions (unset: all)",
        env="AGENTOPS_RETENTION_DAYS",
        minimum=0,
    ),
    Option(
        "otlp_endpoint",
        "str",
        None,
        "OTLP base URL to export to",
        otel=("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"),
    ),
    Option(
        "otlp_protocol",
        "choice",
        None,
        "OTLP protocol",
        choices=("http/protobuf", "grpc"),
        otel=("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
    ),
    Option(
        "otlp_headers",
        "headers",
        None,
        "OTLP request headers",
        otel=("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"),
    ),
    Option(
        "otlp_compression",
        "choice",
        None,
        "OTLP compression",
        choices=("gzip", "deflate", "none"),
        otel=("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"),
    ),
    Option(
        "otlp_timeout_s",
        "float",
        None,
        "OTLP request timeout in seconds",
        minimum=0,
        otel=("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"),
    ),
    Option("exporters", "exporters", (), "more OpenTelemetry SpanExporters to send spans to"),
    Option(
        "max_queue_size", "int", 2048, "spans queued per destination before dropping", minimum=1
    ),
)
BY_NAME = {option.name: option for option in OPTIONS}


def sdk_disabled() -> bool:
    """``OTEL_SDK_DISABLED=true``: ``init()`` (like the OpenTelemetry SDK) sets nothing up."""
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def otlp_metrics_wanted() -> bool:
    """False when ``OTEL_METRICS_EXPORTER`` is set without ``otlp`` (``none``, ``console``)."""
    names = {n.strip().lower() for n in os.environ.get("OTEL_METRICS_EXPORTER", "").split(",")}
    names.discard("")
    return not names or ("otlp" in names and "none" not in names)


# Variables read outside init(): documented in the same table.
OTHER_VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("AGENTOPS_PRICES_FILE", "—", "a JSON or TOML file of prices that override the built-in table"),
    (
        "AGENTOPS_ALLOW_OTHER_INSTRUMENTORS",
        "false",
        "under opentelemetry-instrument, also load "
        "other vendors' instrumentors for libraries we cover",
    ),
    ("AGENTOPS_OTEL_TOKEN", "—", "bearer token `agentops-otel serve` requires on /v1/traces"),
)


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Read through :func:`current`; replaced whole by ``init()``."""

    api_key: str | None = None
    endpoint: str | None = None
    exporter_endpoint: str | None = None
    service_name: str = "agentops-app"
    instrument: bool | Sequence[str] = True
    capture_content: bool = True
    max_content_chars: int = 16_384
    redact: Callable[[str, Any], Any] | None = None  # redact(key, value) -> the value kept
    tags: tuple[str, ...] = ()
    auto_start_session: bool = True
    session_name: str = "default"
    max_cost_usd: float | None = None
    on_budget_exceeded: str = "warn"  # "warn" | "raise"
    loop_threshold: int = 3
    on_loop: str = "warn"  # "warn" | "raise"
    exit_timeout_s: float = 2.0
    local_store: bool | None = None  # None: on when no other destination is configured
    otlp_endpoint: str | None = None  # else OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT
    otlp_protocol: str | None = None  # "http/protobuf" | "grpc"; else OTEL_EXPORTER_OTLP_PROTOCOL
    otlp_headers: dict[str, str] | None = None
    exporters: tuple[Any, ...] = ()  # extra SpanExporter instances from the caller
    max_queue_size: int = 2048
    store_path: str | None = None
    retention_days: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # options without a field of their own
    # where each option came from: "argument", a variable's name, or absent for the default
    sources: dict[str, str] = field(default_factory=dict, compare=False)


_FIELDS = {f.name for f in fields(Settings)}


# --------------------------------------------------------------------------------- checking


def _accepted(option: Option) -> str:
    """What ``option`` accepts, for error messages."""
    low = "" if option.minimum is None else f" >= {option.minimum:g}"
    return {
        "str": "a string",
        "path": "a path (str or os.PathLike)",
        "bool": "True or False",
        "int": f"an integer{low}",
        "float": f"a number{low}",
        "choice": " or ".join(repr(c) for c in option.choices),
        "names": "True, False or a list of instrumentor names",
        "list": "a list of strings",
        "callable": "a function",
        "headers": "a dict of str to str",
        "exporters": "a list of SpanExporter objects",
    }[option.kind]


def _number(option: Option, value: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError
    if option.kind == "int" and not isinstance(value, int):
        raise ValueError
    if option.minimum is not None and value < option.minimum:
        raise ValueError
    return value if option.kind == "int" else float(value)


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, set, frozenset)):
        raise ValueError
    if not all(isinstance(item, str) for item in value):
        raise ValueError
    return tuple(value)


def check(option: Option, value: Any) -> Any:
    """``value`` as an ``init()`` argument for ``option``, normalized; ``ValueError`` if wrong."""
    try:
        kind = option.kind
        if kind in ("int", "float"):
            return _number(option, value)
        if kind == "bool" and isinstance(value, bool):
            return value
        if kind == "str" and isinstance(value, str):
            return value
        if kind == "path" and isinstance(value, (str, os.PathLike)):
            return os.fspath(value)
        if kind == "choice" and isinstance(value, str) and value.lower() in option.choices:
            return value.lower()
        if kind == "names":
            return value if isinstance(value, bool) else _strings(value)
        if kind == "list":
            return _strings(value)
        if kind == "callable" and callable(value):
            return value
        if (
            kind == "headers"
            and isinstance(value, Mapping)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
        ):
            return dict(value)
        if (
            kind == "exporters"
            and isinstance(value, (list, tuple))
            and all(hasattr(exporter, "export") for exporter in value)
        ):
            return tuple(value)
        raise ValueError
    except (TypeError, ValueError):
        raise ValueError(
            f"agentops_otel.init(): {option.name} must be {_accepted(option)}, not {value!r}"
        ) from None


def _parse_env(option: Option, raw: str) -> Any:
    """The value of ``option``'s variable; ``ValueError`` when it is not one."""
    text = raw.strip()
    kind = option.kind
    if kind in ("str", "path"):
        return text
    if kind == "bool" or (kind == "names" and text.lower() in _TRUE | _FALSE):
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError
    if kind in ("names", "list"):
        return tuple(item.strip() for item in text.split(",") if item.strip())
    if kind == "choice":
        if text.lower() not in option.choices:
            raise ValueError
        return text.lower()
    if kind == "int":
        return _number(option, int(text))
    return _number(option, float(text))


def _env_accepted(option: Option) -> str:
    """What ``option``'s variable accepts, for the warning about a bad value."""
    if option.kind == "bool":
        return _BOOL_TEXT
    if option.kind == "names":
        return f"{_BOOL_TEXT}, or a comma-separated list of names"
    return _accepted(option)


_warned: set[tuple[str, str]] = set()


def _warn_once(variable: str, raw: str, accepted: str, fallback: str) -> None:
    if (variable, raw) not in _warned:
        _warned.add((variable, raw))
        _log.warning(
            "agentops-otel: %s=%r is not %s; using %s instead", variable, raw, accepted, fallback
        )


def _default_text(option: Option) -> str:
    if option.default is None:
        return "the default (unset)"
    if isinstance(option.default, bool):
        return f"the default ({str(option.default).lower()})"
    return f"the default ({option.default!r})"


def _from_variables(option: Option) -> tuple[Any, str] | None:
    """(value, variable) from ``option``'s AGENTOPS_* variable, else the OTEL_* ones we read."""
    raw = os.environ.get(option.env, "") if option.env else ""
    if raw.strip():
        try:
            return _parse_env(option, raw), option.env
        except ValueError:
            _warn_once(option.env, raw, _env_accepted(option), _default_text(option))
    if option.name == "service_name" and os.environ.get("OTEL_SERVICE_NAME"):
        return os.environ["OTEL_SERVICE_NAME"], "OTEL_SERVICE_NAME"
    if option.name == "capture_content":
        variable = option.otel[0]
        otel = os.environ.get(variable, "").strip().lower()
        if otel:
            return otel not in ("no_content", "false", "0"), variable
    return None


def otel_source(option: Option) -> str | None:
    """The standard variable that the exporter itself reads for ``option``, when one is set."""
    return next((v for v in option.otel if os.environ.get(v)), None)


def from_env() -> Settings:
    """Settings from the environment alone (what instrumentors see without ``init()``)."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        found = _from_variables(option)
        if found is not None:
            values[option.name], sources[option.name] = found
        elif (variable := otel_source(option)) is not None:
            sources[option.name] = variable  # read by the OTLP exporter itself
    return _build(values, sources)


def _build(
    values: dict[str, Any], sources: dict[str, str], base: Settings | None = None
) -> Settings:
    own = {k: v for k, v in values.items() if k in _FIELDS}
    extra = {k: v for k, v in values.items() if k not in _FIELDS}
    if base is None:
        return Settings(**own, extra=extra, sources=sources)
    return replace(base, **own, extra={**base.extra, **extra}, sources={**base.sources, **sources})


def closest(name: str) -> str | None:
    """The valid ``init()`` keyword closest to ``name``."""
    matches = difflib.get_close_matches(name, list(BY_NAME), n=1, cutoff=0.5)
    return matches[0] if matches else None


def resolve(**overrides: Any) -> Settings:
    """Environment settings with the non-``None`` keyword arguments laid over them, checked."""
    for name in overrides:
        if name not in BY_NAME:
            near = closest(name)
            hint = f"; did you mean {near!r}?" if near else ""
            raise TypeError(
                f"agentops_otel.init() got an unexpected keyword argument {name!r}{hint}"
            )
    chosen = {k: check(BY_NAME[k], v) for k, v in overrides.items() if v is not None}
    return _build(chosen, dict.fromkeys(chosen, "argument"), from_env())


def markdown_table() -> str:
    """The README's table of every variable and ``init()`` option, from :data:`OPTIONS`."""
    rows = ["| Variable | `init()` argument | Default | Meaning |", "|---|---|---|---|"]
    for option in OPTIONS:
        names = [f"`{v}`" for v in ((option.env,) if option.env else ()) + option.otel]
        default = option.default
        shown = (
            "—"
            if default is None or default == ()
            else str(default).lower()
            if isinstance(default, bool)
            else f"`{default}`"
        )
        accepted = f" ({', '.join(option.choices)})" if option.choices else ""
        rows.append(
            f"| {'<br>'.join(names) or '—'} | `{option.name}` | {shown} | {option.help}{accepted} |"
        )
    for variable, default, meaning in OTHER_VARIABLES:
        rows.append(f"| `{variable}` | — | {default} | {meaning} |")
    return "\n".join(rows) + "\n"


_current: Settings | None = None


def current() -> Settings:
    """The settings in force: those of the last ``init()``, else the environment's."""
    global _current
    if _current is None:
        _current = from_env()
    return _current


def install(settings: Settings) -> None:
    global _current
    _current = settings


def _env_bool(name: str) -> bool | None:
    """A boolean variable read outside :data:`OPTIONS`; ``None`` when unset or not a boolean."""
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None
