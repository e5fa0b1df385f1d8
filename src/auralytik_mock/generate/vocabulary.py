"""What generated free text says: the vocabulary of a domain, read from a YAML data file.

Owns: the vocabulary file's format and its checks, and the generic vocabulary (beside this
module, ``vocabulary.yaml``: an office's notes and a meeting's turns). Which vocabulary a
spec gets is its profile's to say (``core/profile.py``).

A vocabulary file::

    notes: [...]         # free text (notes, comments, summaries); {person} {company} {n}
    questions: [...]     # a property named ``question``
    teams: [...]         # a property named team, department or queue
    conversation:        # the text of a timeline's turns (a transcript)
      opener:            # who speaks first (the agent of a call)
        opening: [...]   #   one of these first
        script: [...]    #   then these, in this order
        middle: [...]    #   then these, in any order, round again if the talk is long
        closing: [...]   #   one of these at the end
      other: {opening: [...], script: [...], middle: [...], closing: [...]}
    chat:                # optional: a written exchange (messages with a date-time), same parts;
      opener: {...}      #   the customer writes first
      other: {...}       #   the business answers
      bot: [...]         #   optional: what a bot answers first, before a person takes over
    survey:              # optional: a post-call survey, each question with its answers from
      - question: "..."  #   the worst to the best (the answer of score n is the n-th)
        answers: [...]

Turns may use {company} {first} {n} {account} {digits} {last4} {email} {phone}. A profile (``profiles/<name>/
vocabulary.yaml``) replaces it for its spec: Auralytik's is a call centre's.

Reads files. May import: ``makers``, ``core.types``, yaml.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from ..core.types import Json
from .makers import GenerateError

GENERIC_PATH = Path(__file__).resolve().parent / "vocabulary.yaml"
#: Where profiles keep their data (``<name>/vocabulary.yaml``).
_NOTE_FIELDS = frozenset({"person", "company", "n"})
_TURN_FIELDS = frozenset({"company", "first", "n", "account", "digits", "last4", "email", "phone"})
_PARTS = ("opening", "script", "middle", "closing")


@dataclass(frozen=True)
class Speaker:
    """One side of a conversation: its first line, its lines in order, the rest, its last line."""

    opening: tuple[str, ...]
    script: tuple[str, ...]
    middle: tuple[str, ...]
    closing: tuple[str, ...]


@dataclass(frozen=True)
class Vocabulary:
    """The text a generator writes for one domain (see the module docstring for the file)."""

    name: str
    notes: tuple[str, ...]
    questions: tuple[str, ...]
    teams: tuple[str, ...]
    opener: Speaker
    other: Speaker
    #: A written exchange: (the customer who writes first, the business), or ``None``: the conversation's.
    chat: tuple[Speaker, Speaker] | None = None
    #: What a bot answers first in a chat, before a person takes over.
    bot: tuple[str, ...] = ()
    #: A post-call survey: each question and its answers from the worst to the best.
    survey: tuple[tuple[str, tuple[str, ...]], ...] = ()


def _lines(raw: Json, where: str, fields: frozenset[str], *, required: bool = True) -> tuple[str, ...]:
    if raw is None and not required:
        return ()
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) and v.strip() for v in raw):
        raise GenerateError(where, "must be a list of one or more non-blank strings")
    for line in raw:
        try:
            used = {name for _, name, _, _ in string.Formatter().parse(line) if name is not None}
        except ValueError as exc:
            raise GenerateError(where, f"{line!r}: {exc} (write a brace as {{{{ or }}}})") from None
        unknown = sorted(used - fields)
        if unknown:
            raise GenerateError(
                where, f"{line!r} uses {{{unknown[0]}}}; the placeholders here are {', '.join(sorted(fields))}"
            )
    return tuple(raw)


def _speaker(raw: Json, where: str) -> Speaker:
    if not isinstance(raw, dict):
        raise GenerateError(where, f"must be a mapping of {', '.join(_PARTS)}")
    unknown = sorted(set(raw) - set(_PARTS))
    if unknown:
        raise GenerateError(f"{where}.{unknown[0]}", f"unknown key (allowed: {', '.join(_PARTS)})")
    parts = {part: _lines(raw.get(part), f"{where}.{part}", _TURN_FIELDS, required=part != "script") for part in _PARTS}
    return Speaker(**parts)


def parse_vocabulary(document: Json, name: str) -> Vocabulary:
    """A ``Vocabulary`` from a parsed file.

    :raises GenerateError: the document is not a vocabulary; ``field`` names the key.
    """
    if not isinstance(document, dict):
        raise GenerateError(name, "a vocabulary file must be a mapping (notes, questions, teams, conversation)")
    allowed = ("notes", "questions", "teams", "conversation", "chat", "survey")
    unknown = sorted(set(document) - set(allowed))
    if unknown:
        raise GenerateError(f"{name}: {unknown[0]}", f"unknown key (allowed: {', '.join(allowed)})")
    notes = _lines(document.get("notes"), f"{name}: notes", _NOTE_FIELDS)
    questions = _lines(document.get("questions"), f"{name}: questions", frozenset())
    teams = _lines(document.get("teams"), f"{name}: teams", frozenset())
    conversation = document.get("conversation")
    if not isinstance(conversation, dict) or set(conversation) != {"opener", "other"}:
        raise GenerateError(f"{name}: conversation", "must be a mapping with opener and other")
    chat, bot = _chat(document.get("chat"), f"{name}: chat")
    return Vocabulary(
        name=name,
        notes=notes,
        questions=questions,
        teams=teams,
        opener=_speaker(conversation["opener"], f"{name}: conversation.opener"),
        other=_speaker(conversation["other"], f"{name}: conversation.other"),
        chat=chat,
        bot=bot,
        survey=_survey(document.get("survey"), f"{name}: survey"),
    )


def _chat(raw: Json, where: str) -> tuple[tuple[Speaker, Speaker] | None, tuple[str, ...]]:
    if raw is None:
        return None, ()
    if not isinstance(raw, dict) or not {"opener", "other"} <= set(raw) <= {"opener", "other", "bot"}:
        raise GenerateError(where, "must be a mapping with opener and other (and bot, optional)")
    sides = (_speaker(raw["opener"], f"{where}.opener"), _speaker(raw["other"], f"{where}.other"))
    return sides, _lines(raw.get("bot"), f"{where}.bot", _TURN_FIELDS, required=False)


def _survey(raw: Json, where: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not raw:
        raise GenerateError(where, "must be a list of {question, answers}")
    survey = []
    for index, item in enumerate(raw):
        here = f"{where}[{index}]"
        if not isinstance(item, dict) or set(item) != {"question", "answers"} or not isinstance(item["question"], str):
            raise GenerateError(here, "must be a mapping of question (text) and answers (worst to best)")
        survey.append((item["question"], _lines(item["answers"], f"{here}.answers", frozenset())))
    return tuple(survey)


def load_vocabulary(path: Path) -> Vocabulary:
    """The vocabulary in the YAML file at ``path``.

    :raises GenerateError: the file cannot be read or is not a vocabulary.
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GenerateError(str(path), f"cannot read the vocabulary: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise GenerateError(str(path), f"not valid YAML: {exc}") from None
    return parse_vocabulary(document, str(path))


@cache
def generic_vocabulary() -> Vocabulary:
    """The default: plain office notes and a meeting, for a spec with no profile (read once)."""
    return load_vocabulary(GENERIC_PATH)
