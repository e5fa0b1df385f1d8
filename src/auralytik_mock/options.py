"""Options declared once: each ``Config`` field carries its flag, variable, parser, help,
docs text and banner wording, and everything a user reads about options is generated from
that one declaration.

Owns: ``option()`` (the field declaration), the value parsers (booleans, latencies, lists),
and the generators: argparse flags, reading ``AURALYTIK_MOCK_*`` variables and flags into
``Config`` keyword arguments, the banner's settings, the options table of
``docs/reference/cli.md``.
May import: the standard library only.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ENV_PREFIX = "AURALYTIK_MOCK_"

#: How a flag sets its option: ``value`` takes one value; ``switch`` sets ``True``;
#: ``negate`` sets ``False`` (``--no-auth``); ``append`` is repeatable (a tuple);
#: ``many`` takes one or more values at once (``--fixtures a b``).
Kind = Literal["value", "switch", "negate", "append", "many"]


@dataclass(frozen=True)
class Option:
    """One option of ``Config``, as ``option()`` declares it.

    :param name: the ``Config`` field (filled in from the field).
    :param flag: the command-line flag (``--host``); ``None``: a variable only.
    :param env: the variable's name after ``AURALYTIK_MOCK_`` (``HOST``); ``None``: no variable.
    :param help: one line for ``--help``.
    :param parse: text (of the variable, or of a flag without ``flag_type``) to value.
    :param flag_type: argparse's ``type`` for the flag (``int``: argparse's own message).
    :param env_empty: an empty variable is a value (``""``), not "unset".
    :param default_doc: the default as the docs and ``--help`` say it (else the field's).
    :param doc: the docs table's "Meaning" (else ``help``).
    :param env_note: what the docs add after the variable, e.g. ``(comma-separated)``.
    :param banner: the value as ``serve``'s banner shows it; ``None``: not in the banner.
    :param choices: the values the flag accepts (argparse checks them).
    """

    name: str
    help: str
    flag: str | None = None
    env: str | None = None
    kind: Kind = "value"
    metavar: str | None = None
    parse: Callable[[str], Any] = str
    flag_type: Callable[[str], Any] | None = None
    env_empty: bool = False
    default: Any = None
    default_doc: str = ""
    doc: str = ""
    env_note: str = ""
    banner: Callable[[Any], str] | None = None
    choices: tuple[str, ...] | None = None

    @property
    def variable(self) -> str | None:
        """The full variable name (``AURALYTIK_MOCK_HOST``)."""
        return None if self.env is None else ENV_PREFIX + self.env

    @property
    def dest(self) -> str:
        """The attribute argparse stores the flag under."""
        return (self.flag or "--" + self.name).lstrip("-").replace("-", "_")


def option(default: Any = None, *, default_factory: Callable[[], Any] | None = None, **declared: Any) -> Any:
    """A ``Config`` field with its option declared (``Option``'s parameters but ``name``)."""
    metadata = {"option": declared}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def options_of(cls: type) -> tuple[Option, ...]:
    """Every declared option of the dataclass ``cls``, in field order."""
    found = []
    for f in dataclasses.fields(cls):
        declared = f.metadata.get("option")
        if declared is not None:
            default = f.default if f.default is not dataclasses.MISSING else None
            found.append(Option(name=f.name, default=default, **declared))
    return tuple(found)


# -- value parsers -------------------------------------------------------------------


def parse_bool(value: str) -> bool:
    """``true``/``false`` (and ``1``/``0``, ``yes``/``no``, ``on``/``off``)."""
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r} (use true or false)")


def parse_latency(value: str) -> tuple[int, int]:
    """Parse ``"200"`` or ``"100-500"`` (milliseconds) into ``(low, high)``."""
    text = value.strip()
    low_text, sep, high_text = text.partition("-")
    try:
        low = int(low_text)
        high = int(high_text) if sep else low
    except ValueError:
        raise ValueError(f"latency must be MS or MIN-MAX in milliseconds, got {value!r}") from None
    if low < 0 or high < low:
        raise ValueError(f"latency must be MS or MIN-MAX with 0 <= MIN <= MAX, got {value!r}")
    return (low, high)


def non_negative(value: str) -> int:
    """An integer, 0 or more."""
    number = int(value)
    if number < 0:
        raise ValueError(f"must be 0 or more, got {value!r}")
    return number


def split(value: str) -> tuple[str, ...]:
    """A list separated by commas (``http://localhost:3000`` stays whole)."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


def split_paths(value: str) -> tuple[str, ...]:
    """A list of paths separated by commas or ``os.pathsep``."""
    return split(value.replace(os.pathsep, ","))


def or_none(value: str) -> str | None:
    """The text, or ``None`` when empty."""
    return value or None


# -- generators ----------------------------------------------------------------------


def _help(opt: Option) -> str:
    notes = ["repeatable"] if opt.kind == "append" else []
    default = opt.default_doc.replace("`", "") or _default_text(opt)
    notes += [f"default: {default}"] if default else []
    notes += [f"${opt.variable}" + ("=false" if opt.kind == "negate" else "")] if opt.variable else []
    return f"{opt.help} ({'; '.join(notes)})" if notes else opt.help


def add_flags(parser: argparse.ArgumentParser, options: Iterable[Option]) -> None:
    """Add each option's flag to ``parser`` (options without a flag are skipped)."""
    for opt in options:
        if opt.flag is None:
            continue
        kwargs: dict[str, Any] = {"dest": opt.dest, "help": _help(opt)}
        if opt.kind in {"switch", "negate"}:
            kwargs.update(action="store_true", default=None)
        else:
            if opt.metavar:
                kwargs["metavar"] = opt.metavar
            if opt.flag_type is not None:
                kwargs["type"] = opt.flag_type
            if opt.choices is not None:
                kwargs["choices"] = opt.choices
            if opt.kind == "append":
                kwargs["action"] = "append"
            elif opt.kind == "many":
                kwargs["nargs"] = "+"
        parser.add_argument(opt.flag, **kwargs)


def variables_only(options: Iterable[Option]) -> str:
    """What ``--help`` says of the options that have a variable and no flag."""
    lines = [
        f"{opt.variable}: {opt.help} (default: {opt.default_doc.replace('`', '') or _default_text(opt)})"
        for opt in options
        if opt.flag is None and opt.variable
    ]
    return "read from the environment only: " + "; ".join(lines) if lines else ""


def from_flags(args: argparse.Namespace, options: Iterable[Option]) -> dict[str, Any]:
    """The options the command line set, as ``Config`` keyword arguments.

    :raises ValueError: a flag's value has the wrong form; the message names the flag.
    """
    found: dict[str, Any] = {}
    for opt in options:
        value = getattr(args, opt.dest, None) if opt.flag else None
        if value is None or value == "" or value == []:
            continue
        if opt.kind == "switch":
            found[opt.name] = True
        elif opt.kind == "negate":
            found[opt.name] = False
        elif opt.kind in {"append", "many"}:
            found[opt.name] = tuple(value)
        elif isinstance(value, str):
            try:
                found[opt.name] = opt.parse(value)
            except ValueError as exc:
                raise ValueError(f"{opt.flag}: {exc}") from None
        else:
            found[opt.name] = value
    return found


def from_env(environ: Mapping[str, str], options: Iterable[Option]) -> dict[str, Any]:
    """The options ``AURALYTIK_MOCK_*`` variables set, as ``Config`` keyword arguments.

    :raises ValueError: a variable has a value of the wrong form; the message names it.
    """
    found: dict[str, Any] = {}
    for opt in options:
        if opt.variable is None:
            continue
        raw = environ.get(opt.variable)
        if raw is None or (raw == "" and not opt.env_empty):
            continue
        try:
            found[opt.name] = opt.parse(raw)
        except ValueError as exc:
            raise ValueError(f"{opt.variable}: {exc}") from None
    return found


def banner_settings(config: object, options: Iterable[Option]) -> dict[str, str]:
    """``{flag: value as the banner says it}`` for every option the banner shows."""
    return {opt.flag or opt.name: opt.banner(getattr(config, opt.name)) for opt in options if opt.banner}


def not_in_banner(options: Iterable[Option]) -> tuple[str, ...]:
    """The flags the banner does not show (where and how to run, not the sandbox's behaviour)."""
    return tuple(opt.flag for opt in options if opt.flag and opt.banner is None)


def _default_text(opt: Option) -> str:
    value = opt.default
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None or value == ():
        return ""
    return str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def options_table(options: Sequence[Option]) -> str:
    """The Markdown table of ``options`` (``docs/reference/cli.md`` holds it between markers)."""
    rows = ["| Flag | Variable | Default | Meaning |", "|---|---|---|---|"]
    for opt in options:
        flag = ""
        if opt.flag:
            metavar = opt.metavar or ""
            if opt.kind == "many":
                metavar += "..."
            flag = f"`{opt.flag}{' ' + metavar if metavar else ''}`"
            flag += " (repeatable)" if opt.kind == "append" else ""
        variable = ""
        if opt.variable:
            negated = "=false" if opt.kind == "negate" else ""
            variable = f"`{opt.variable}{negated}`" + (f" {opt.env_note}" if opt.env_note else "")
        text = _default_text(opt)
        default = opt.default_doc or (text if isinstance(opt.default, bool) else f"`{text}`" if text else "none")
        rows.append(f"| {_cell(flag)} | {_cell(variable)} | {_cell(default)} | {_cell(opt.doc or opt.help)} |")
    return "\n".join(rows)
