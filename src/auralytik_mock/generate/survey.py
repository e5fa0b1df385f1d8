"""A survey's results: questions answered in order, each answer the words of its score.

Owns: telling a survey object from its schema (a list of items with a question, an answer
and a score), and making one that agrees with itself: the answers are the vocabulary's
``survey`` questions in order, each answer the label of its score; a total counts the
questions, another count the answers; a score out of 100 is the answers' mean as a
percentage of the best score (``null`` when none was answered); a state or reason enum
says whether every question was answered (``Completed``/``AllAnswered``), some
(``Partial``) or none (``NotStarted``).

No IO. May import: ``makers``, ``names``, ``vocabulary``, ``core.types``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..core.types import Json
from .makers import Context, Maker, Rng, merge_all_of, num, rint, types_of
from .names import score_like, words_of
from .vocabulary import Vocabulary

_GENERIC_ANSWERS = ("Very poor", "Poor", "Fair", "Good", "Excellent")
_FULL = re.compile(r"complet|all|done|finish", re.I)
_NONE = re.compile(r"not.?start|none|empty|skip", re.I)
_PARTIAL = re.compile(r"partial|incomplete|some", re.I)


@dataclass(frozen=True)
class SurveyShape:
    """Where each part of a survey object is: the list of answers and the fields about it."""

    items: str
    question: str
    answer: str
    score: str
    best: int
    totals: tuple[str, ...]
    counts: tuple[str, ...]
    percent: tuple[str, ...]
    states: tuple[tuple[str, tuple[str, ...]], ...]
    nullable_percent: bool
    order: tuple[str, ...]


def survey_shape(schema: Mapping[str, Json]) -> SurveyShape | None:
    """The survey ``schema`` describes, or ``None`` when it is not one."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return None
    found = None
    for prop, sub in properties.items():
        items = sub.get("items") if isinstance(sub, dict) else None
        if not isinstance(items, dict):
            continue
        items = merge_all_of(items)
        fields = items.get("properties")
        if not isinstance(fields, dict):
            continue
        names = {words_of(name)[-1]: name for name in fields}
        if {"question", "answer", "score"} <= set(names):
            best = num((fields[names["score"]] or {}).get("maximum")) or 5
            found = (prop, names["question"], names["answer"], names["score"], int(best))
            break
    if found is None:
        return None
    totals, counts, percent, states = [], [], [], []
    nullable_percent = False
    for prop, sub in properties.items():
        if prop == found[0] or not isinstance(sub, dict):
            continue
        words = set(words_of(prop))
        types, nullable = types_of(sub)
        if types[:1] == ["integer"] and "total" in words:
            totals.append(prop)
        elif types[:1] == ["integer"] and words & {"answered", "count", "completed", "responses"}:
            counts.append(prop)
        elif types[:1] in (["number"], ["integer"]) and score_like(list(words)):
            percent.append(prop)
            nullable_percent = nullable_percent or nullable
        elif isinstance(sub.get("enum"), list) and all(isinstance(v, str) for v in sub["enum"]):
            states.append((prop, tuple(sub["enum"])))
    return SurveyShape(
        *found, tuple(totals), tuple(counts), tuple(percent), tuple(states), nullable_percent, tuple(properties)
    )


def _state(values: tuple[str, ...], answered: int, total: int, rng: Rng) -> str:
    full = [v for v in values if _FULL.search(v)]
    if answered == total and full:
        return full[0]
    if answered == 0:
        none = [v for v in values if _NONE.search(v)]
        if none:
            return none[0]
    partial = [v for v in values if _PARTIAL.search(v)]
    if partial:
        return partial[0]
    rest = [v for v in values if v not in full] or list(values)
    return rest[int(rng.random() * len(rest))]


def survey(shape: SurveyShape, words: Vocabulary) -> Maker:
    """A maker of survey results that agree with themselves (see the module docstring)."""
    asked = words.survey or tuple((q, _GENERIC_ANSWERS) for q in words.questions[:3])
    total = len(asked)
    weights = [(i + 1) ** 2 for i in range(shape.best)]  # most answers are good ones

    def make(rng: Rng, ctx: Context) -> Json:
        draw = rng.random()
        answered = total if draw < 0.75 or total <= 1 else 0 if draw > 0.96 else rint(rng, 1, total - 1)
        responses: list[Json] = []
        for question, answers in asked[:answered]:
            score = rng.choices(range(1, shape.best + 1), weights)[0]
            label = answers[(score - 1) * len(answers) // shape.best]
            responses.append({shape.question: question, shape.answer: label, shape.score: score})
        scores = [float(str(r[shape.score])) for r in responses if isinstance(r, dict)]
        result: dict[str, Json] = {}
        for prop, values in shape.states:
            result[prop] = _state(values, answered, total, rng)
        for prop in shape.totals:
            result[prop] = total
        for prop in shape.counts:
            result[prop] = answered
        for prop in shape.percent:
            mean = round(sum(scores) / len(scores) / shape.best * 100, 1) if scores else None
            result[prop] = mean if mean is not None or shape.nullable_percent else 0
        result[shape.items] = responses
        return {prop: result[prop] for prop in shape.order if prop in result}

    return make
