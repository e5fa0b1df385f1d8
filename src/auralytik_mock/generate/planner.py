"""Compile a JSON schema into a maker, once per ``generate`` entry.

Owns: the order in which a schema is read (``const``/``enum``, ``oneOf``/``anyOf``, then
the type), objects (required and optional properties, fixed values, references left to
``with``), arrays (plain, timelines, distinct items), numbers within the schema's bounds
and the name's likely range, strings (``format``, the name's guess, ``pattern``, lengths).

No IO. May import: ``makers``, ``names``, ``formats``, ``patterns``, ``pools``, ``shapes``,
``conversation``, ``derive``, ``survey``, ``vocabulary``, ``core.types``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from ..core.types import Json
from .conversation import timeline
from .derive import derive, follow_counts
from .formats import FORMATS
from .makers import (
    OPTIONAL_PRESENT,
    Context,
    GenerateError,
    Maker,
    Rng,
    constant,
    enum_weight,
    fit_length,
    maybe_null,
    merge_all_of,
    num,
    one_of,
    rint,
    types_of,
)
from .names import default_id_prefix, guess, number_hint, score_like, words_of
from .patterns import pattern_maker
from .pools import pools
from .shapes import LANGUAGE_WORDS, distinct_items, english, is_mean, item_shape, seconds_per_unit, set_mean
from .survey import survey, survey_shape
from .vocabulary import Vocabulary, generic_vocabulary

#: How many times the vocabulary's notes repeat in the pool of sentences (each time with other names).
_NOTE_ROUNDS = 8


class Planner:
    """Compiles schemas into makers (closures), once per entry.

    :param kind: the resource kind (for the id prefix when the schema has none).
    :param fixed: values every record gets (the entry's ``with``).
    :param vocabulary: what free text says (default: the generic vocabulary).
    """

    def __init__(self, kind: str, fixed: Mapping[str, Json], vocabulary: Vocabulary | None = None) -> None:
        self.kind = kind
        self.fixed = dict(fixed)
        self.pools = pools()
        self.vocabulary = vocabulary or generic_vocabulary()
        people, companies = self.pools.people, self.pools.companies
        #: The vocabulary's notes with names filled in: what text properties say.
        self.sentences = [
            template.format(person=people[i % len(people)], company=companies[i % len(companies)], n=2 + i % 9)
            for i, template in enumerate(self.vocabulary.notes * _NOTE_ROUNDS)
        ]
        #: Whether the caller makes the top-level ``id`` (unique per entry) itself.
        self.numbered_ids = False
        #: Fields whose value the caller sets in ``fixed`` before each record (an entry's ``pick``).
        self.picked: frozenset[str] = frozenset()

    def plan(self, schema: Json, name: str, where: str) -> Maker:
        """A maker for ``schema``, the value of a property called ``name`` at ``where``."""
        if schema is True or schema == {}:
            return constant(self.pools.words[0]) if name else constant({})
        if not isinstance(schema, dict):
            raise GenerateError(where, "the schema allows no value (false)")
        schema = merge_all_of(schema) if "allOf" in schema else schema
        if "const" in schema:
            return constant(schema["const"])
        if "enum" in schema:
            choices = list(schema["enum"])
            if not choices:
                raise GenerateError(where, "the enum is empty")
            weights = [enum_weight(choice) for choice in choices]
            return lambda rng, ctx: rng.choices(choices, weights)[0]
        for combinator in ("oneOf", "anyOf"):
            if isinstance(schema.get(combinator), list):
                branches = [b for b in schema[combinator] if not (isinstance(b, dict) and b.get("type") == "null")]
                has_null = len(branches) < len(schema[combinator])
                if not branches:
                    return constant(None)
                base = {k: v for k, v in schema.items() if k != combinator}
                makers = [
                    self.plan({**base, **merge_all_of(b)} if isinstance(b, dict) else b, name, where) for b in branches
                ]
                inner = makers[0] if combinator == "oneOf" else one_of(makers)
                return maybe_null(inner) if has_null else inner
        shape = survey_shape(schema)
        if shape is not None:  # a survey: its answers, counts, score and state agree
            return survey(shape, self.vocabulary)
        types, nullable = types_of(schema)
        if not types:
            maker = self._string(schema, name, where)
        else:
            kind = types[0]
            builder = {
                "object": self.object,
                "array": self._array,
                "string": self._string,
                "integer": self._number,
                "number": self._number,
                "boolean": self._boolean,
            }.get(kind)
            if builder is None:
                raise GenerateError(where, f"unknown type {kind!r}")
            maker = builder(schema, name, where)
        return maybe_null(maker) if nullable else maker

    # -- objects and arrays

    def object(self, schema: Mapping[str, Json], name: str, where: str, *, top: bool = False) -> Maker:
        """A maker of objects; ``top``: the record itself (fixed values and numbered ids apply)."""
        properties = schema.get("properties") or {}
        if not isinstance(properties, dict):
            raise GenerateError(where, "properties must be a mapping")
        required = set(schema.get("required") or [])
        fields: list[tuple[str, bool, Maker]] = []
        for prop, sub in properties.items():
            sub_where = f"{where}.{prop}"
            if isinstance(sub, dict) and sub.get("writeOnly") and prop not in required:
                continue
            if top and prop == "id" and self.numbered_ids:
                fields.append((prop, True, constant(None)))  # keeps its place; the caller numbers it
                continue
            if top and prop in self.fixed:
                fields.append((prop, True, constant(self.fixed[prop])))
                continue
            if isinstance(sub, dict) and "x-mock-ref" in sub:
                if prop in required:
                    raise GenerateError(
                        f"with.{prop}",
                        f"required, and it refers to {sub['x-mock-ref']} records (x-mock-ref): "
                        "give the id every generated record points at under 'with'",
                    )
                continue
            if isinstance(sub, dict) and "x-mock-count" in sub:
                fields.append((prop, True, constant(0)))  # nothing points at a record just made
                continue
            maker = self.plan(sub, prop, sub_where)
            if isinstance(sub, dict) and len(properties) > 1 and set(words_of(prop)) & LANGUAGE_WORDS:
                maker = english(sub) or maker  # the text this makes is English: so is its language
            if top and prop in self.picked:  # each record's own pick (``pick``), set before it is made
                fields.append((prop, True, self._picked(prop, maker)))
                continue
            fields.append((prop, prop in required, maker))
        min_props = int(schema.get("minProperties") or 0)
        spans: dict[str, float] = {}
        for prop, sub in properties.items():
            unit = seconds_per_unit(prop, sub)
            if unit is not None:
                spans[prop] = unit
        means = [
            prop
            for prop, sub in properties.items()
            if is_mean(prop, sub) and prop not in self.fixed and prop not in self.picked
        ]

        def make(rng: Rng, ctx: Context) -> Json:
            record: dict[str, Json] = {}
            outer = ctx.span
            for prop, needed, maker in fields:
                if needed or rng.random() < OPTIONAL_PRESENT:
                    value = record[prop] = maker(rng, ctx)
                    if prop in spans and isinstance(value, int | float) and not isinstance(value, bool):
                        ctx.span = value * spans[prop]  # what is made inside fits in this duration
            if len(record) < min_props:
                for prop, _, maker in fields:
                    record.setdefault(prop, maker(rng, ctx))
            ctx.span = outer
            for prop in means:
                if isinstance(record.get(prop), int | float):
                    set_mean(record, prop, properties[prop])
            if top:  # one event: its end, its times and its counts agree
                derive(record, properties, rng, ctx.base)
                follow_counts(record, properties)
            return record

        return make

    def _picked(self, prop: str, made: Maker) -> Maker:
        """The value the caller set for ``prop`` before this record (an entry's ``pick``); the
        value it replaces is still made, so the record's other fields are what they would be."""

        def make(rng: Rng, ctx: Context) -> Json:
            made(rng, ctx)
            return self.fixed[prop]

        return make

    def _array(self, schema: Mapping[str, Json], name: str, where: str) -> Maker:
        items = schema.get("items", {})
        item_name = name[:-1] if name.endswith("s") else name
        item = self.plan(items, item_name, f"{where}[]")
        low = int(schema.get("minItems") or 0)
        high = schema.get("maxItems")
        low_pick = max(low, 1)
        high_pick = min(int(high), low_pick + 3) if isinstance(high, int) else low_pick + 3
        low_pick = min(low_pick, high_pick)
        unique = bool(schema.get("uniqueItems"))
        shape = item_shape(items)
        top = high if isinstance(high, int) else None
        if shape is not None and shape.timeline is not None:
            return timeline(shape, item, low, top, self.pools, self.vocabulary)
        if shape is not None and shape.distinct is not None:
            return distinct_items(item, shape.distinct, low, top)

        def make(rng: Rng, ctx: Context) -> Json:
            count = rint(rng, low_pick, high_pick)
            if not unique:
                return [item(rng, ctx) for _ in range(count)]
            values: list[Json] = []
            seen: set[str] = set()
            for _ in range(count * 5):
                value = item(rng, ctx)
                key = json.dumps(value, sort_keys=True)
                if key not in seen:
                    seen.add(key)
                    values.append(value)
                if len(values) >= count:
                    break
            return values

        return make

    # -- scalars

    def _boolean(self, schema: Mapping[str, Json], name: str, where: str) -> Maker:
        share = 0.3 if name.lower().startswith(("is", "has")) else 0.5
        return lambda rng, ctx: rng.random() < share

    def _number(self, schema: Mapping[str, Json], name: str, where: str) -> Maker:
        integer = types_of(schema)[0][:1] == ["integer"]
        low, high, mode, decimals = number_hint(words_of(name), integer)
        minimum, maximum = schema.get("minimum"), schema.get("maximum")
        ex_min, ex_max = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        step = 1 if integer else 10**-decimals
        bottom, top = num(minimum), num(maximum)
        ex_low, ex_high = num(ex_min), num(ex_max)
        if ex_low is not None:
            bottom = max(bottom if bottom is not None else -1e308, ex_low + step)
        if ex_high is not None:
            top = min(top if top is not None else 1e308, ex_high - step)
        if bottom is not None and top is not None and bottom > top:
            raise GenerateError(where, f"no number fits between {bottom} and {top}")
        if bottom is not None and top is not None and (high < bottom or low > top or score_like(words_of(name))):
            low, high = bottom, top  # a scale the schema states wins over the guess
            mode = low + (high - low) * 0.75 if score_like(words_of(name)) else (low + high) / 2
        else:
            if bottom is not None and high < bottom:
                low, high = bottom, bottom + (high - low)
            if top is not None and low > top:
                low, high = top - (high - low), top
            low = max(low, bottom) if bottom is not None else low
            high = min(high, top) if top is not None else high
            mode = min(max(mode, low), high)
        multiple = num(schema.get("multipleOf"))
        if multiple:
            first = -(-low // multiple) * multiple
            last = (high // multiple) * multiple
            if first > last:
                raise GenerateError(where, f"no multiple of {multiple} lies between {low} and {high}")
            steps = int(round((last - first) / multiple))

            def make_multiple(rng: Rng, ctx: Context) -> Json:
                value = first + rint(rng, 0, steps) * multiple
                return int(value) if integer else round(value, 10)

            return make_multiple
        if integer:
            ilow, ihigh = int(-(-low // 1)), int(high // 1)
            if ilow > ihigh:
                raise GenerateError(where, f"no integer lies between {low} and {high}")
            imode = min(max(mode, ilow), ihigh)
            return lambda rng, ctx: min(max(round(rng.triangular(ilow, ihigh, imode)), ilow), ihigh)

        def make_number(rng: Rng, ctx: Context) -> Json:
            value = round(rng.triangular(low, high, mode), decimals)
            return min(max(value, low), high)

        return make_number

    def _string(self, schema: Mapping[str, Json], name: str, where: str) -> Maker:
        fmt = schema.get("format")
        pattern = schema.get("pattern")
        words = words_of(name)
        if name == "id" and not fmt:
            # ids are numbered by the caller (unique per entry); this is only the fallback shape
            prefix = default_id_prefix(self.kind)
            maker: Maker = lambda rng, ctx: f"{prefix}{rint(rng, 10000, 99999)}"  # noqa: E731
        elif isinstance(fmt, str) and fmt in FORMATS:
            maker = FORMATS[fmt](self.pools, words)
        else:
            v = self.vocabulary
            maker = guess(words, self.pools, sentences=self.sentences, questions=v.questions, teams=v.teams)
        maker = fit_length(maker, schema, self.pools.words, where)
        if isinstance(pattern, str):
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise GenerateError(where, f"the pattern {pattern!r} is not a regular expression: {exc}") from None
            from_pattern = pattern_maker(pattern, where)
            fitted = maker

            def make(rng: Rng, ctx: Context) -> Json:
                value = fitted(rng, ctx)
                if isinstance(value, str) and compiled.search(value):
                    return value
                return from_pattern(rng, ctx)

            return make
        return maker
