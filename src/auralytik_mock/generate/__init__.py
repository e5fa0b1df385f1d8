"""Make fixture records from a record schema: ``- generate: 142`` in a fixture list.

Owns: turning a JSON schema (``$ref``s already inlined) into a plan, once, and running
the plan to make records that are valid against the schema, look real to a person
reading the sandbox, and are the same on every run.

How values look real: Faker (en_US) fills pools of names, companies, cities, phrases and
sentences once per process from a fixed seed; each record then picks from the pools with
its own ``random.Random``, chosen by the property's name (``executiveName`` is a person,
``audioFileName`` a ``.wav`` file, ``averageNote`` a score skewed towards the upper part
of its range, ``createdAt`` an office-hours instant, ``updatedAt`` later than it).
Picking from pools instead of calling Faker per value is what makes 100,000 records
take seconds rather than minutes (see CHANGES.md for the measurement).

How values stay valid: ``enum``/``const`` first, then ``format``, then the name's
guess, fitted to ``minLength``/``maxLength``, ``minimum``/``maximum`` (and their
exclusive forms), ``multipleOf``, ``minItems``/``maxItems``/``uniqueItems``; a guess
that misses the ``pattern`` is replaced by a string built from the pattern itself.
The fixtures loader checks every record against the schema afterwards, like any
hand-written record.

Determinism: the random source is seeded from a SHA-256 of the caller's key (client,
kind, which ``generate`` entry, its fixed values), never from ``hash()``; the Faker
pools from a constant. Same fixtures and same Faker version: same records.

No Flask, no IO. May import: ``types``, faker (on first use).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import random
import re
import string
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from ..core.types import Json

#: The most records one ``generate`` entry may ask for (bounds start-up time and memory).
MAX_RECORDS = 1_000_000
#: When ``between`` is not given, generated instants fall in this window (UTC).
DEFAULT_BETWEEN = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 6, 30, 23, 59, 59, tzinfo=UTC))

#: How often an optional property is present, and a nullable value null.
_OPTIONAL_PRESENT = 0.85
_NULL_SHARE = 0.1
#: Keys of a ``generate`` entry.
ENTRY_KEYS = ("generate", "with", "seed", "between")

Rng = random.Random
Maker = Callable[[Rng, "_Context"], Json]


class GenerateError(Exception):
    """A ``generate`` entry cannot be honoured.

    :param field: where, relative to the entry (``with.engagementId``, ``generate``,
        ``record.results.score``).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class _Context:
    """Per-record state: the record's base instant, so related dates agree; the length in
    seconds a timeline must fit in (the owning record's duration), when known."""

    __slots__ = ("base", "span")

    def __init__(self, base: datetime, span: float | None = None) -> None:
        self.base = base
        self.span = span


# -- the pools -----------------------------------------------------------------------------


class _Pools:
    """Values made by Faker once per process, from a fixed seed."""

    def __init__(self) -> None:
        from faker import Faker  # imported on first use: only fixtures that generate pay for it

        fake = Faker("en_US")
        fake.seed_instance(20240110)
        self.first = _unique(fake.first_name, 300)
        self.last = _unique(fake.last_name, 300)
        self.people = [f"{fake.first_name()} {fake.last_name()}" for _ in range(600)]
        self.companies = _unique(fake.company, 200)
        self.titles = [" ".join(w[:1].upper() + w[1:] for w in p.split()) for p in _unique(fake.catch_phrase, 300)]
        self.phrases = [f"{phrase[0].upper()}{phrase[1:]}." for phrase in _unique(fake.bs, 300)]
        # Faker's sentences are lorem-like word salad; these read like notes people write.
        people, companies = self.people, self.companies
        self.sentences = [
            template.format(person=people[i % len(people)], company=companies[i % len(companies)], n=2 + i % 9)
            for i, template in enumerate(_SENTENCES * 8)
        ]
        self.words: list[str] = _unique(fake.word, 400)
        self.cities = _unique(fake.city, 200)
        self.countries = _unique(fake.country, 150)
        self.country_codes = _unique(fake.country_code, 100)
        self.streets = [fake.street_address() for _ in range(200)]
        self.postcodes = [fake.postcode() for _ in range(200)]
        self.phones = [fake.numerify("+1-###-###-####") for _ in range(300)]
        self.jobs = _unique(fake.job, 200)
        self.domains: list[str] = _unique(fake.domain_name, 150)
        self.colors = _unique(fake.color_name, 60)
        self.currencies = _unique(fake.currency_code, 60)
        self.languages = ["en", "es", "pt", "fr", "de", "it", "nl"]
        self.timezones = _unique(fake.timezone, 60)
        self.teams = ["Billing", "Retention", "Onboarding", "Technical Support", "Sales", "Collections", "Escalations"]


_SENTENCES = (
    "Customer asked for a copy of the last invoice.",
    "{person} confirmed the account details before making any change.",
    "The issue was resolved on the first call.",
    "Follow-up scheduled for next week.",
    "Waiting for the customer to send the missing documents.",
    "{person} explained the new pricing and the customer accepted it.",
    "Escalated to the second-level team after {n} failed attempts.",
    "The delivery arrived {n} days late and the customer asked for a refund.",
    "Agent offered a discount on the next renewal.",
    "Customer reported the same problem twice this month.",
    "Everything works again after the last update.",
    "{company} asked to move the appointment to Thursday morning.",
    "Call dropped after {n} minutes; the agent called back.",
    "The customer was satisfied with the solution offered.",
    "Payment was received and the account is active again.",
    "{person} needs a written confirmation by email.",
    "Hold time was longer than usual because of the outage.",
    "The agent followed the script and verified identity correctly.",
    "Customer wants to cancel unless the fee is waived.",
    "Replacement part ordered; expected within {n} business days.",
    "Greeting and closing were friendly and clear.",
    "The agent interrupted the customer several times.",
    "No further action needed.",
    "{person} will review the contract with {company} on Monday.",
    "Address updated and a new card sent.",
    "The customer praised the quick response.",
    "Second reminder sent; no answer yet.",
    "Technician visit confirmed for tomorrow between 9 and 12.",
    "The customer did not receive the confirmation code.",
    "Agent summarised the next steps before ending the call.",
)
#: Turns of a call, by who speaks: an opening, the middle, a closing (``{company}``, ``{first}``, ``{n}``).
_AGENT_OPEN = (
    "Good morning, thank you for calling {company}, my name is {first}. How can I help you today?",
    "Hello, you're through to {company} customer care, this is {first} speaking.",
    "Good afternoon, {company}, {first} speaking. What can I do for you?",
)
_AGENT = (
    "Could you confirm your full name and the account number, please?",
    "Thank you. I can see the account here; give me a moment to check.",
    "I'm sorry about that, I understand how frustrating it is.",
    "I can see the payment was received on the {n}th, so the account is up to date.",
    "Let me place you on a short hold while I check with the billing team.",
    "Thanks for holding. I've applied a credit to your account.",
    "The replacement will arrive within {n} business days.",
    "I've updated the address; you'll get a confirmation email shortly.",
    "Is the phone number ending in {digits} still the best way to reach you?",
    "I can offer you a discount on the next renewal if that helps.",
    "I've opened a ticket with our technical team and they'll call you back.",
    "Can you tell me when you first noticed the problem?",
)
_AGENT_CLOSE = (
    "Is there anything else I can help you with today? Thank you for calling, have a great day.",
    "You're welcome. Thanks for your patience, and have a nice day.",
    "I've summarised the next steps in an email. Thank you for calling {company}.",
)
_CUSTOMER = (
    "Hi, I'm calling because I was charged twice on my last invoice.",
    "Hello, my internet has been dropping every evening since last week.",
    "Hi, I never received the order I placed {n} days ago.",
    "Sure, the account number is {account}.",
    "Yes, that's right.",
    "Okay, I can wait.",
    "That's the third time I've had to call about this.",
    "I'd like to know why the price went up this month.",
    "It started on Monday, I think.",
    "Yes, that number is still fine.",
    "Could you send me that in writing, please?",
    "Okay, that works for me.",
)
_CUSTOMER_CLOSE = (
    "No, that's all. Thanks for your help.",
    "Great, thank you very much.",
    "That's everything, thanks. Bye.",
)
_AGENT_WORDS = frozenset(
    "agent rep representative executive operator staff employee advisor adviser assistant bot host".split()
)
_SPEAKER_WORDS = frozenset("speaker role party participant who from author channel side".split())
_START_WORDS = frozenset("start begin begins from offset".split())
_END_WORDS = frozenset("end ends stop until to".split())
#: Names of the property that tells the items of a list apart (one score per scorecard line).
_DISTINCT_WORDS = frozenset("name key label criterion criteria code title metric question".split())
_LANGUAGE_WORDS = frozenset("language locale lang".split())

_QUESTIONS = (
    "Did the agent greet the customer by name?",
    "Was the customer's identity verified?",
    "Did the agent offer a solution on the call?",
    "Was the hold time explained to the customer?",
    "Did the agent confirm the next steps?",
    "Was the tone polite throughout the call?",
    "Did the agent avoid interrupting the customer?",
    "Was the closing script followed?",
)


def _unique(make: Callable[[], str], count: int) -> list[str]:
    seen: dict[str, None] = {}
    for _ in range(count * 3):
        seen.setdefault(make(), None)
        if len(seen) >= count:
            break
    return list(seen)


@cache
def pools() -> _Pools:
    """The process's pools (built on first use, about 0.2 s with Faker's import)."""
    return _Pools()


# -- names ---------------------------------------------------------------------------------

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_PERSON = frozenset(
    "executive agent customer user contact person owner author employee manager supervisor reviewer speaker "
    "caller callee full member representative rep assignee creator operator analyst evaluator coach "
    "participant client recipient sender host".split()
)
_COMPANY = frozenset("company organization organisation org business vendor employer brand".split())
_TEXT = frozenset(
    "description summary comment comments note notes text message body content feedback reason bio details "
    "remarks transcript explanation justification observation observations recommendation recommendations "
    "answer excerpt quote utterance".split()
)
_LABEL = frozenset("type category kind status role tag tags channel source stage level segment tier".split())
_TITLE = frozenset("title name subject label headline topic".split())


def words_of(name: str) -> list[str]:
    """``audioFileName`` -> ``['audio', 'file', 'name']``; ``call_center_id`` -> ``['call', 'center', 'id']``."""
    return [w.lower() for w in _WORD.findall(name)] or [name.lower()]


def default_id_prefix(kind: str) -> str:
    """A prefix for ids when the schema sets no ``x-mock-id-prefix``: ``audio-files`` -> ``af_``,
    ``evaluations`` -> ``eval_``, ``orders`` -> ``order_``."""
    parts = [w for w in re.split(r"[^a-z0-9]+", kind.lower()) if w]
    if not parts:
        return "id_"
    if len(parts) > 1:
        return "".join(p[0] for p in parts) + "_"
    word = parts[0]
    if word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return (word if len(word) <= 6 else word[:4]) + "_"


# -- the plan ------------------------------------------------------------------------------


def _merge_all_of(schema: Mapping[str, Json]) -> dict[str, Json]:
    merged: dict[str, Json] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in schema.get("allOf") or []:
        if not isinstance(part, dict):
            continue
        part = _merge_all_of(part)
        for key, value in part.items():
            if key == "properties" and isinstance(value, dict):
                props = dict(merged.get("properties") or {})
                props.update(value)
                merged["properties"] = props
            elif key == "required" and isinstance(value, list):
                merged["required"] = sorted({*(merged.get("required") or []), *value})
            else:
                merged.setdefault(key, value)
    return merged


def _types(schema: Mapping[str, Json]) -> tuple[list[str], bool]:
    """The schema's non-null types and whether null is allowed (3.1 ``type`` lists, ``const: null``)."""
    raw = schema.get("type")
    types = [raw] if isinstance(raw, str) else [t for t in raw if isinstance(t, str)] if isinstance(raw, list) else []
    nullable = "null" in types
    types = [t for t in types if t != "null"]
    if not types:
        if "properties" in schema or "additionalProperties" in schema:
            types = ["object"]
        elif "items" in schema:
            types = ["array"]
        elif any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
            types = ["number"]
        elif any(k in schema for k in ("minLength", "maxLength", "pattern", "format")):
            types = ["string"]
    return types, nullable


class Planner:
    """Compiles schemas into makers (closures), once per entry.

    :param kind: the resource kind (for the id prefix when the schema has none).
    :param fixed: values every record gets (the entry's ``with``).
    """

    def __init__(self, kind: str, fixed: Mapping[str, Json]) -> None:
        self.kind = kind
        self.fixed = dict(fixed)
        self.pools = pools()
        #: Whether the caller makes the top-level ``id`` (unique per entry) itself.
        self.numbered_ids = False

    def plan(self, schema: Json, name: str, where: str) -> Maker:
        """A maker for ``schema``, the value of a property called ``name`` at ``where``."""
        if schema is True or schema == {}:
            return _constant(self.pools.words[0]) if name else _constant({})
        if not isinstance(schema, dict):
            raise GenerateError(where, "the schema allows no value (false)")
        schema = _merge_all_of(schema) if "allOf" in schema else schema
        if "const" in schema:
            return _constant(schema["const"])
        if "enum" in schema:
            choices = list(schema["enum"])
            if not choices:
                raise GenerateError(where, "the enum is empty")
            weights = [_enum_weight(choice) for choice in choices]
            return lambda rng, ctx: rng.choices(choices, weights)[0]
        for combinator in ("oneOf", "anyOf"):
            if isinstance(schema.get(combinator), list):
                branches = [b for b in schema[combinator] if not (isinstance(b, dict) and b.get("type") == "null")]
                has_null = len(branches) < len(schema[combinator])
                if not branches:
                    return _constant(None)
                base = {k: v for k, v in schema.items() if k != combinator}
                makers = [
                    self.plan({**base, **_merge_all_of(b)} if isinstance(b, dict) else b, name, where) for b in branches
                ]
                inner = makers[0] if combinator == "oneOf" else _one_of(makers)
                return _maybe_null(inner) if has_null else inner
        types, nullable = _types(schema)
        if not types:
            maker = self._string(schema, name, where)
        else:
            kind = types[0]
            builder = {
                "object": self._object,
                "array": self._array,
                "string": self._string,
                "integer": self._number,
                "number": self._number,
                "boolean": self._boolean,
            }.get(kind)
            if builder is None:
                raise GenerateError(where, f"unknown type {kind!r}")
            maker = builder(schema, name, where)
        return _maybe_null(maker) if nullable else maker

    # -- objects and arrays

    def _object(self, schema: Mapping[str, Json], name: str, where: str, *, top: bool = False) -> Maker:
        properties = schema.get("properties") or {}
        if not isinstance(properties, dict):
            raise GenerateError(where, "properties must be a mapping")
        required = set(schema.get("required") or [])
        fields: list[tuple[str, bool, Maker]] = []
        # date-time properties named like a creation come first: the others are placed around them
        for prop, sub in properties.items():
            sub_where = f"{where}.{prop}"
            if isinstance(sub, dict) and sub.get("writeOnly") and prop not in required:
                continue
            if top and prop == "id" and self.numbered_ids:
                fields.append((prop, True, _constant(None)))  # keeps its place; the caller numbers it
                continue
            if top and prop in self.fixed:
                fields.append((prop, True, _constant(self.fixed[prop])))
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
                fields.append((prop, True, _constant(0)))  # nothing points at a record just made
                continue
            maker = self.plan(sub, prop, sub_where)
            if isinstance(sub, dict) and len(properties) > 1 and set(words_of(prop)) & _LANGUAGE_WORDS:
                maker = _english(sub) or maker  # the text this makes is English: so is its language
            fields.append((prop, prop in required, maker))
        min_props = int(schema.get("minProperties") or 0)
        spans: dict[str, float] = {}
        for prop, sub in properties.items():
            unit = _seconds_per_unit(prop, sub)
            if unit is not None:
                spans[prop] = unit
        means = [prop for prop, sub in properties.items() if _is_mean(prop, sub) and prop not in self.fixed]

        def make(rng: Rng, ctx: _Context) -> Json:
            record: dict[str, Json] = {}
            outer = ctx.span
            for prop, needed, maker in fields:
                if needed or rng.random() < _OPTIONAL_PRESENT:
                    value = record[prop] = maker(rng, ctx)
                    if prop in spans and isinstance(value, int | float) and not isinstance(value, bool):
                        ctx.span = value * spans[prop]  # what is made inside fits in this duration
            if len(record) < min_props:
                for prop, _, maker in fields:
                    record.setdefault(prop, maker(rng, ctx))
            ctx.span = outer
            for prop in means:
                if isinstance(record.get(prop), int | float):
                    _set_mean(record, prop, properties[prop])
            return record

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
        shape = _item_shape(items)
        if shape is not None and shape.timeline is not None:
            return self._timeline(shape, item, low, high if isinstance(high, int) else None)
        if shape is not None and shape.distinct is not None:
            return _distinct_items(item, shape.distinct, low, high if isinstance(high, int) else None)

        def make(rng: Rng, ctx: _Context) -> Json:
            count = _rint(rng, low_pick, high_pick)
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

    def _timeline(self, shape: _ItemShape, item: Maker, low: int, high: int | None) -> Maker:
        """Items with a start and an end (transcript turns): one after the other, each ending
        after it starts, the last within the owning record's duration; who speaks alternates,
        and what is said follows a call (opening, middle, closing) when a text property is there."""
        assert shape.timeline is not None
        start, end, integer, scale, top = shape.timeline
        speaker = shape.speaker
        text = shape.text
        pools = self.pools
        cap = min(high, 60) if high is not None else 60
        covered = {start, end, *(() if speaker is None else (speaker[0],)), *(() if text is None else (text,))}
        own = shape.names if set(shape.names) == covered else None
        floor = min(max(low, 1), cap)

        def make(rng: Rng, ctx: _Context) -> Json:
            span = ctx.span
            if top is not None:
                span = min(span, top / scale) if span is not None else top / scale
            if span is not None:
                count = int(span / 9) + _rint(rng, -2, 2)  # a turn every nine seconds or so
                count = min(max(count, floor), cap)
                if integer:  # whole units: at least one unit per turn
                    count = min(count, max(int(span * scale), low))
                if span <= 0:
                    count = low
            else:
                count = _rint(rng, max(floor, min(6, cap)), max(floor, min(14, cap)))
            if own is not None:  # every property is set below: skip making what would be replaced
                records: list[Json] = [dict.fromkeys(own) for _ in range(count)]
            else:
                records = [item(rng, ctx) for _ in range(count)]
            if not records:
                return []
            if speaker is not None:
                prop, values, agent = speaker
                others = [v for v in values if v != agent] or [agent]
                other = rng.choice(others)
                for index, record in enumerate(records):
                    if isinstance(record, dict):
                        record[prop] = agent if index % 2 == 0 else other
            if text is not None:
                _script(rng, pools, records, text, speaker)
            lengths = []
            for record in records:
                said = record.get(text) if text is not None and isinstance(record, dict) else None
                words = len(said.split()) if isinstance(said, str) else _rint(rng, 4, 25)
                lengths.append(words / 2.6 + 0.4 + rng.random() * 1.2)
            gaps = [0.2 + rng.random() * 1.3 for _ in records]
            lead = rng.random() * 1.5
            speech, pauses = sum(lengths), lead + sum(gaps)
            factor = gap_factor = 1.0
            if span is not None:
                room = span * (0.9 + rng.random() * 0.08)
                if speech + pauses >= room * 0.95 or speech == 0:  # too much said: everyone speaks faster
                    factor = gap_factor = room / (speech + pauses)
                else:  # time left over: holds and pauses between turns
                    gap_factor = (room - speech) / pauses
            gaps = [g * gap_factor for g in gaps]
            lengths = [length * factor for length in lengths]
            cursor = lead * gap_factor
            previous_end = 0.0
            unit = 1.0 if integer else 0.01
            limit = None if span is None else span * scale
            for index, record in enumerate(records):
                if not isinstance(record, dict):
                    continue
                first = max(_round_to(cursor * scale, integer), previous_end)
                last = max(_round_to((cursor + lengths[index]) * scale, integer), first + unit)
                if limit is not None and last > limit:
                    last = _round_to(limit, integer) if not integer else float(int(limit))
                    first = min(first, last - unit)
                record[start] = int(first) if integer else first
                record[end] = int(last) if integer else last
                previous_end = last
                cursor += lengths[index] + gaps[index]
            return records

        return make

    # -- scalars

    def _boolean(self, schema: Mapping[str, Json], name: str, where: str) -> Maker:
        share = 0.3 if name.lower().startswith(("is", "has")) else 0.5
        return lambda rng, ctx: rng.random() < share

    def _number(self, schema: Mapping[str, Json], name: str, where: str) -> Maker:
        integer = _types(schema)[0][:1] == ["integer"]
        low, high, mode, decimals = _number_hint(words_of(name), integer)
        minimum, maximum = schema.get("minimum"), schema.get("maximum")
        ex_min, ex_max = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        step = 1 if integer else 10**-decimals
        bottom, top = _num(minimum), _num(maximum)
        ex_low, ex_high = _num(ex_min), _num(ex_max)
        if ex_low is not None:
            bottom = max(bottom if bottom is not None else -1e308, ex_low + step)
        if ex_high is not None:
            top = min(top if top is not None else 1e308, ex_high - step)
        if bottom is not None and top is not None and bottom > top:
            raise GenerateError(where, f"no number fits between {bottom} and {top}")
        if bottom is not None and top is not None and (high < bottom or low > top or _score_like(words_of(name))):
            low, high = bottom, top  # a scale the schema states wins over the guess
            mode = low + (high - low) * 0.75 if _score_like(words_of(name)) else (low + high) / 2
        else:
            if bottom is not None and high < bottom:
                low, high = bottom, bottom + (high - low)
            if top is not None and low > top:
                low, high = top - (high - low), top
            low = max(low, bottom) if bottom is not None else low
            high = min(high, top) if top is not None else high
            mode = min(max(mode, low), high)
        multiple = _num(schema.get("multipleOf"))
        if multiple:
            first = -(-low // multiple) * multiple
            last = (high // multiple) * multiple
            if first > last:
                raise GenerateError(where, f"no multiple of {multiple} lies between {low} and {high}")
            steps = int(round((last - first) / multiple))

            def make_multiple(rng: Rng, ctx: _Context) -> Json:
                value = first + _rint(rng, 0, steps) * multiple
                return int(value) if integer else round(value, 10)

            return make_multiple
        if integer:
            ilow, ihigh = int(-(-low // 1)), int(high // 1)
            if ilow > ihigh:
                raise GenerateError(where, f"no integer lies between {low} and {high}")
            imode = min(max(mode, ilow), ihigh)
            return lambda rng, ctx: min(max(round(rng.triangular(ilow, ihigh, imode)), ilow), ihigh)

        def make_number(rng: Rng, ctx: _Context) -> Json:
            value = round(rng.triangular(low, high, mode), decimals)
            return min(max(value, low), high)

        return make_number

    def _string(self, schema: Mapping[str, Json], name: str, where: str) -> Maker:
        fmt = schema.get("format")
        pattern = schema.get("pattern")
        words = words_of(name)
        if name == "id" and not fmt:
            maker = self._id(schema, where)
        elif isinstance(fmt, str) and fmt in _FORMATS:
            maker = _FORMATS[fmt](self, words)
        else:
            maker = self._guess(words)
        maker = _fit_length(maker, schema, self.pools.words, where)
        if isinstance(pattern, str):
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise GenerateError(where, f"the pattern {pattern!r} is not a regular expression: {exc}") from None
            from_pattern = pattern_maker(pattern, where)
            fitted = maker

            def make(rng: Rng, ctx: _Context) -> Json:
                value = fitted(rng, ctx)
                if isinstance(value, str) and compiled.search(value):
                    return value
                return from_pattern(rng, ctx)

            return make
        return maker

    def _id(self, schema: Mapping[str, Json], where: str) -> Maker:
        # ids are numbered by the caller (unique per entry); this is only the fallback shape
        return lambda rng, ctx: f"{default_id_prefix(self.kind)}{_rint(rng, 10000, 99999)}"

    def _guess(self, words: Sequence[str]) -> Maker:  # noqa: C901, PLR0911, PLR0912 - one table of guesses
        p = self.pools
        last = words[-1]
        wordset = set(words)
        if "email" in wordset:
            return lambda rng, ctx: _email(rng, p)
        if wordset & {"phone", "mobile", "fax", "msisdn"}:
            return _pick(p.phones)
        if last in {"url", "uri", "link", "website", "href"}:
            return lambda rng, ctx: f"https://www.{rng.choice(p.domains)}/{rng.choice(p.words)}"
        if "file" in wordset or last in {"filename", "path"}:
            ext = "wav" if wordset & {"audio", "recording", "call", "voice", "sound"} else "pdf"
            return lambda rng, ctx: _file_name(rng, p, ext, ctx)
        if last == "id" and len(words) > 1:
            stem = words[:-1]
            prefix = "".join(w[0] for w in stem) if len(stem) > 1 else stem[0][:4]
            return lambda rng, ctx: f"{prefix}_{_rint(rng, 1000, 99999)}"
        if last in {"first", "given"} or words[-2:] in (["first", "name"], ["given", "name"]):
            return _pick(p.first)
        if last in {"surname", "last", "family"} or words[-2:] in (["last", "name"], ["family", "name"]):
            return _pick(p.last)
        if wordset & _PERSON and (last in {"name", "by"} or last in _PERSON):
            return _pick(p.people)
        if wordset & _COMPANY:
            return _pick(p.companies)
        if last == "username" or words[-2:] == ["user", "name"] or last in {"login", "handle"}:
            return lambda rng, ctx: f"{rng.choice(p.first).lower()}.{rng.choice(p.last).lower()}"
        if last == "city":
            return _pick(p.cities)
        if last == "country":
            return _pick(p.countries)
        if wordset & {"street", "address"}:
            return _pick(p.streets)
        if wordset & {"zip", "postal", "postcode"}:
            return _pick(p.postcodes)
        if wordset & {"language", "locale", "lang"}:
            return _pick(p.languages)
        if "currency" in wordset:
            return _pick(p.currencies)
        if wordset & {"timezone", "tz"}:
            return _pick(p.timezones)
        if wordset & {"color", "colour"}:
            return _pick(p.colors)
        if wordset & {"job", "position", "occupation"}:
            return _pick(p.jobs)
        if wordset & {"team", "department", "queue"}:
            return _pick(p.teams)
        if last in {"password", "secret", "token", "hash", "key"}:
            return lambda rng, ctx: f"{rng.getrandbits(128):032x}"
        if last == "version":
            return lambda rng, ctx: f"{_rint(rng, 1, 4)}.{_rint(rng, 0, 12)}.{_rint(rng, 0, 30)}"
        if last in {"model", "product", "make"}:
            return lambda rng, ctx: f"{rng.choice(p.last)} {_rint(rng, 1, 9)}{_rint(rng, 0, 9)}0"
        if last == "code":
            return lambda rng, ctx: "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(6))
        if last == "question":
            return _pick(_QUESTIONS)
        if last == "description":
            return _pick(p.phrases)
        if last in _TEXT:
            return lambda rng, ctx: " ".join(rng.sample(p.sentences, _rint(rng, 1, 3)))
        if last in _LABEL:
            return lambda rng, ctx: "_".join(rng.sample(p.words, _rint(rng, 1, 2)))
        if last in _TITLE:
            return _pick(p.titles)
        return lambda rng, ctx: " ".join(rng.sample(p.words, _rint(rng, 1, 3)))


def _seconds_per_unit(prop: str, schema: Json) -> float | None:
    """Seconds per unit of a numeric property that is a record's length (``durationInSeconds``)."""
    if not isinstance(schema, dict) or _types(schema)[0][:1] not in (["number"], ["integer"]):
        return None
    words = set(words_of(prop))
    if not words & {"duration", "length"}:
        return None
    if words & {"ms", "millis", "milliseconds"}:
        return 0.001
    if words & {"minutes", "mins"}:
        return 60.0
    return 1.0


def _english(schema: Mapping[str, Json]) -> Maker | None:
    """``en-US`` or ``en``, whichever the schema takes (an enum's English value, a pattern)."""
    enum = schema.get("enum")
    candidates = [v for v in enum if isinstance(v, str) and v.lower()[:2] == "en"] if isinstance(enum, list) else []
    if isinstance(enum, list) and not candidates:
        return None
    pattern = schema.get("pattern")
    for value in candidates or ["en-US", "en", "eng", "en_US"]:
        if isinstance(pattern, str) and not re.search(pattern, value):
            continue
        if isinstance(schema.get("maxLength"), int) and len(value) > int(schema["maxLength"]):
            continue
        return _constant(value)
    return None


def _is_mean(prop: str, schema: Json) -> bool:
    return (
        isinstance(schema, dict)
        and bool(set(words_of(prop)) & {"average", "mean", "avg"})
        and _types(schema)[0][:1] in (["number"], ["integer"])
        and "enum" not in schema
        and "const" not in schema
    )


def _scores(value: Json) -> list[float] | None:
    """The scores of the first list of scored items in ``value`` (``results.criteria[].score``)."""
    if isinstance(value, list):
        found = [
            float(v)
            for item in value
            if isinstance(item, dict)
            for k, v in item.items()
            if _score_like(words_of(k)) and "max" not in words_of(k) and "min" not in words_of(k)
            if isinstance(v, int | float) and not isinstance(v, bool)
        ]
        if found:
            return found
        value = [v for v in value if isinstance(v, dict | list)]
        for item in value:
            inner = _scores(item)
            if inner:
                return inner
    elif isinstance(value, dict):
        for item in value.values():
            if isinstance(item, dict | list):
                inner = _scores(item)
                if inner:
                    return inner
    return None


def _set_mean(record: dict[str, Json], prop: str, schema: Json) -> None:
    """An average is the mean of the record's scores, when it has some (``averageNote``)."""
    scores = _scores({k: v for k, v in record.items() if k != prop})
    if not scores or not isinstance(schema, dict):
        return
    mean = sum(scores) / len(scores)
    low, high = _num(schema.get("minimum")), _num(schema.get("maximum"))
    if (low is not None and mean < low) or (high is not None and mean > high):
        return  # another scale: leave the guess
    if _types(schema)[0][:1] == ["integer"]:
        if schema.get("multipleOf") is None:
            record[prop] = round(mean)
        return
    if schema.get("multipleOf") is None:
        record[prop] = round(mean, 2)


class _ItemShape:
    """What the items of a list are, judged from their schema: a timeline (start and end
    numbers), who speaks (an enum property named like a speaker), the text, and the enum
    property that tells items apart (a scorecard line's ``name``)."""

    __slots__ = ("distinct", "names", "speaker", "text", "timeline")

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.timeline: tuple[str, str, bool, float, float | None] | None = None
        self.speaker: tuple[str, list[Json], Json] | None = None
        self.text: str | None = None
        self.distinct: tuple[str, list[Json]] | None = None


def _item_shape(items: Json) -> _ItemShape | None:
    if not isinstance(items, dict):
        return None
    items = _merge_all_of(items) if "allOf" in items else items
    properties = items.get("properties")
    if not isinstance(properties, dict):
        return None
    shape = _ItemShape([str(p) for p in properties])
    starts: list[tuple[str, Mapping[str, Json]]] = []
    ends: list[tuple[str, Mapping[str, Json]]] = []
    for prop, sub in properties.items():
        if not isinstance(sub, dict):
            continue
        words = words_of(prop)
        types, _ = _types(sub)
        enum = sub.get("enum")
        if types[:1] in (["number"], ["integer"]) and "enum" not in sub and "const" not in sub:
            if set(words) & _START_WORDS:
                starts.append((prop, sub))
            elif set(words) & _END_WORDS:
                ends.append((prop, sub))
        elif isinstance(enum, list) and len(enum) >= 2 and set(words) & _SPEAKER_WORDS and shape.speaker is None:
            agent = next((v for v in enum if set(words_of(str(v))) & _AGENT_WORDS), enum[0])
            shape.speaker = (prop, list(enum), agent)
        elif isinstance(enum, list) and len(enum) >= 2 and words[-1] in _DISTINCT_WORDS and shape.distinct is None:
            shape.distinct = (prop, list(enum))
        elif types[:1] == ["string"] and words[-1] in _TEXT and shape.text is None and "enum" not in sub:
            if "pattern" not in sub and "format" not in sub:
                shape.text = prop
    if starts and ends:
        (start, start_schema), (end, end_schema) = _pair(starts, ends)
        integer = _types(start_schema)[0][:1] == ["integer"] or _types(end_schema)[0][:1] == ["integer"]
        unit_words = set(words_of(start)) | set(words_of(end))
        scale = 1000.0 if unit_words & {"ms", "millis", "milliseconds", "msec"} else 1.0
        scale = 1 / 60 if unit_words & {"minutes", "mins"} else scale
        tops = [t for t in (_num(start_schema.get("maximum")), _num(end_schema.get("maximum"))) if t is not None]
        shape.timeline = (start, end, integer, scale, min(tops) if tops else None)
    if shape.timeline is None and shape.distinct is None:
        return None
    return shape


def _pair(
    starts: list[tuple[str, Mapping[str, Json]]], ends: list[tuple[str, Mapping[str, Json]]]
) -> tuple[tuple[str, Mapping[str, Json]], tuple[str, Mapping[str, Json]]]:
    """The start and end that belong together: ``startSeconds`` with ``endSeconds``."""
    for start in starts:
        rest = [w for w in words_of(start[0]) if w not in _START_WORDS]
        for end in ends:
            if [w for w in words_of(end[0]) if w not in _END_WORDS] == rest:
                return start, end
    return starts[0], ends[0]


def _round_to(value: float, integer: bool) -> float:
    return float(round(value)) if integer else round(value, 2)


def _distinct_items(item: Maker, distinct: tuple[str, list[Json]], low: int, high: int | None) -> Maker:
    """Items told apart by an enum property: each value once, in the enum's order (a scorecard
    lists every criterion once, always in the same order)."""
    prop, values = distinct
    count = len(values) if high is None else min(len(values), high)
    if count < low:  # the schema wants more items than there are values: repeats are unavoidable
        return lambda rng, ctx: [item(rng, ctx) for _ in range(low)]

    def make(rng: Rng, ctx: _Context) -> Json:
        records = [item(rng, ctx) for _ in range(count)]
        for record, value in zip(records, values, strict=False):
            if isinstance(record, dict):
                record[prop] = value
        return records

    return make


def _cycle(index: int, count: int, fixed: int) -> int:
    """The ``index``-th line of ``count``: the first ``fixed`` once, then the others round."""
    return index if index < fixed else fixed + (index - fixed) % (count - fixed)


def _script(
    rng: Rng, pools: _Pools, records: list[Json], text: str, speaker: tuple[str, list[Json], Json] | None
) -> None:
    """What each turn says, as a call goes: the agent opens, the customer explains, both close."""
    company = rng.choice(pools.companies)
    first = rng.choice(pools.first)
    agent = speaker[2] if speaker is not None else None
    last_index = len(records) - 1
    # the agent asks who calls, the customer answers, then the rest in any order
    agent_lines = [*_AGENT[:2], *rng.sample(_AGENT[2:], len(_AGENT) - 2)]
    customer_lines = [_CUSTOMER[rng.randrange(3)], _CUSTOMER[3], *rng.sample(_CUSTOMER[4:], len(_CUSTOMER) - 4)]
    used_agent = used_customer = 0
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            continue
        by_agent = speaker is None and index % 2 == 0 or speaker is not None and record.get(speaker[0]) == agent
        if by_agent:
            if index == 0:
                line = rng.choice(_AGENT_OPEN)
            elif index >= last_index - 1 and index > 1:
                line = rng.choice(_AGENT_CLOSE)
            else:
                line = agent_lines[_cycle(used_agent, len(agent_lines), 2)]
                used_agent += 1
        elif index == last_index and index > 2:
            line = rng.choice(_CUSTOMER_CLOSE)
        else:
            line = customer_lines[_cycle(used_customer, len(customer_lines), 2)]
            used_customer += 1
        record[text] = line.format(
            company=company,
            first=first,
            n=_rint(rng, 2, 9),
            account=_rint(rng, 10000, 99999),
            digits=_rint(rng, 10, 99),
        )


_COMMON = re.compile(r"complet|active|success|done|closed|resolved|approved|paid|delivered|positive|neutral", re.I)
_RARE = re.compile(r"fail|error|cancel|reject|deleted|expired|archiv", re.I)


def _enum_weight(value: Json) -> float:
    """Most records of a real system have finished well: ``Completed`` outnumbers ``Failed``."""
    if value is None:
        return 0.5
    text = str(value)
    if _COMMON.search(text):
        return 6.0
    if _RARE.search(text):
        return 0.7
    return 2.0


def _constant(value: Json) -> Maker:
    if isinstance(value, dict | list):
        text = json.dumps(value)
        return lambda rng, ctx: json.loads(text)  # each record its own copy
    return lambda rng, ctx: value


def _one_of(makers: Sequence[Maker]) -> Maker:
    return lambda rng, ctx: rng.choice(makers)(rng, ctx)


def _maybe_null(maker: Maker) -> Maker:
    return lambda rng, ctx: None if rng.random() < _NULL_SHARE else maker(rng, ctx)


def _pick(values: Sequence[str]) -> Maker:
    count = len(values)
    return lambda rng, ctx: values[int(rng.random() * count)]


def _rint(rng: Rng, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high``, both included: ``randint`` at a fifth of its cost
    (``random()`` is one C call; ``randint`` several Python ones)."""
    return low + int(rng.random() * (high - low + 1))


def _num(value: Json) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _score_like(words: Sequence[str]) -> bool:
    return bool(set(words) & {"score", "note", "rating", "grade", "average", "mean", "nps", "csat"})


def _number_hint(words: Sequence[str], integer: bool) -> tuple[float, float, float, int]:
    """(low, high, most likely, decimals) for a number called ``words`` when the schema is silent."""
    ws = set(words)
    if ws & {"duration", "seconds", "secs", "elapsed"}:
        return 30, 1800, 240, 1
    if ws & {"minutes", "mins"}:
        return 1, 60, 6, 1
    if "rating" in ws or "stars" in ws:
        return 1, 5, 4, 1
    if _score_like(words):
        return 0, 100, 78, 1
    if ws & {"confidence", "probability", "likelihood", "ratio"}:
        return 0, 1, 0.85, 2
    if ws & {"percent", "percentage", "rate", "pct"}:
        return 0, 100, 70, 1
    if ws & {"age"}:
        return 18, 75, 35, 0
    if ws & {"price", "amount", "cost", "revenue", "balance", "fee", "total"} and not integer:
        return 5, 2000, 120, 2
    if ws & {"year"}:
        return 2015, 2025, 2023, 0
    if ws & {"mileage", "km", "odometer", "miles", "distance"}:
        return 0, 400000, 60000, 1
    if ws & {"lat", "latitude"}:
        return -60, 70, 30, 5
    if ws & {"lng", "lon", "longitude"}:
        return -150, 150, 0, 5
    if ws & {"count", "total", "number", "num", "quantity", "qty", "size"}:
        return 0, 250, 20, 0
    if ws & {"page"}:
        return 1, 20, 1, 0
    return (0, 1000, 100, 0) if integer else (0, 100, 50, 2)


def _email(rng: Rng, p: _Pools) -> str:
    return f"{rng.choice(p.first).lower()}.{rng.choice(p.last).lower()}@example.com"


def _file_name(rng: Rng, p: _Pools, ext: str, ctx: _Context) -> str:
    if ext == "wav":
        b = ctx.base
        stamp = f"{b.year:04d}{b.month:02d}{b.day:02d}_{b.hour:02d}{b.minute:02d}{b.second:02d}"
        return f"call_{stamp}_{_rint(rng, 1000, 9999)}.wav"
    return f"{rng.choice(p.words)}_{rng.choice(p.words)}.{ext}"


_LATER = frozenset("updated modified changed completed finished ended processed closed resolved last".split())
_EARLIER = frozenset("audio recorded started start occurred call received uploaded".split())


def _instant(words: Sequence[str]) -> Callable[[Rng, _Context], datetime]:
    ws = set(words)
    if ws & _LATER:
        return lambda rng, ctx: ctx.base + timedelta(seconds=_rint(rng, 0, 14 * 86400))
    if ws & _EARLIER:
        return lambda rng, ctx: ctx.base - timedelta(seconds=_rint(rng, 600, 3 * 86400))
    return lambda rng, ctx: ctx.base


def _date_time(planner: Planner, words: Sequence[str]) -> Maker:
    when = _instant(words)
    return lambda rng, ctx: when(rng, ctx).isoformat() + "Z"  # naive UTC, whole seconds


def _date(planner: Planner, words: Sequence[str]) -> Maker:
    when = _instant(words)
    if "birth" in set(words) or "birthday" in set(words):
        return lambda rng, ctx: date(_rint(rng, 1955, 2004), _rint(rng, 1, 12), _rint(rng, 1, 28)).isoformat()
    return lambda rng, ctx: when(rng, ctx).date().isoformat()


def _uuid(rng: Rng) -> str:
    value = f"{rng.getrandbits(128):032x}"
    return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-{'89ab'[_rint(rng, 0, 3)]}{value[17:20]}-{value[20:]}"


_FORMATS: dict[str, Callable[[Planner, Sequence[str]], Maker]] = {
    "date-time": _date_time,
    "date": _date,
    "time": lambda pl, w: lambda rng, ctx: f"{_rint(rng, 8, 19):02d}:{_rint(rng, 0, 59):02d}:{_rint(rng, 0, 59):02d}Z",
    "email": lambda pl, w: lambda rng, ctx: _email(rng, pl.pools),
    "idn-email": lambda pl, w: lambda rng, ctx: _email(rng, pl.pools),
    "uri": lambda pl, w: lambda rng, ctx: f"https://www.{rng.choice(pl.pools.domains)}/{rng.choice(pl.pools.words)}",
    "url": lambda pl, w: lambda rng, ctx: f"https://www.{rng.choice(pl.pools.domains)}/{rng.choice(pl.pools.words)}",
    "iri": lambda pl, w: lambda rng, ctx: f"https://www.{rng.choice(pl.pools.domains)}/{rng.choice(pl.pools.words)}",
    "uri-reference": lambda pl, w: lambda rng, ctx: f"/{rng.choice(pl.pools.words)}/{_rint(rng, 1, 999)}",
    "hostname": lambda pl, w: lambda rng, ctx: rng.choice(pl.pools.domains),
    "idn-hostname": lambda pl, w: lambda rng, ctx: rng.choice(pl.pools.domains),
    "ipv4": lambda pl, w: lambda rng, ctx: f"10.{_rint(rng, 0, 255)}.{_rint(rng, 0, 255)}.{_rint(rng, 1, 254)}",
    "ipv6": lambda pl, w: lambda rng, ctx: "fd00::" + ":".join(f"{rng.getrandbits(16):x}" for _ in range(3)),
    "uuid": lambda pl, w: lambda rng, ctx: _uuid(rng),
    "duration": lambda pl, w: lambda rng, ctx: f"PT{_rint(rng, 1, 59)}M{_rint(rng, 0, 59)}S",
    "byte": lambda pl, w: lambda rng, ctx: "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(16)),
    "password": lambda pl, w: lambda rng, ctx: f"{rng.getrandbits(64):016x}",
}


def _fit_length(maker: Maker, schema: Mapping[str, Json], filler: Sequence[str], where: str) -> Maker:
    low = schema.get("minLength")
    high = schema.get("maxLength")
    if not isinstance(low, int) and not isinstance(high, int):
        return maker
    low_n = low if isinstance(low, int) else 0
    high_n = high if isinstance(high, int) else None
    if high_n is not None and low_n > high_n:
        raise GenerateError(where, f"minLength {low_n} is larger than maxLength {high_n}")

    def make(rng: Rng, ctx: _Context) -> Json:
        value = maker(rng, ctx)
        if not isinstance(value, str):
            return value
        while len(value) < low_n:
            value = f"{value} {rng.choice(filler)}".strip()
        if high_n is not None and len(value) > high_n:
            cut = value[:high_n]
            trimmed = cut.rsplit(" ", 1)[0] if " " in cut else cut
            value = trimmed if len(trimmed) >= low_n else cut
            if value.endswith(" ") and len(value.rstrip()) >= low_n:
                value = value.rstrip()
        return value

    return make


# -- strings from patterns -----------------------------------------------------------------

_re_parser: Any
try:  # the standard library's own regular-expression parser (``sre_parse`` before 3.11)
    _re_parser = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - older Pythons
    _re_parser = importlib.import_module("sre_parse")

_CATEGORIES = {
    "CATEGORY_DIGIT": string.digits,
    "CATEGORY_NOT_DIGIT": string.ascii_letters,
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": string.ascii_letters + string.digits,
    "CATEGORY_WORD": string.ascii_letters + string.digits + "_",
    "CATEGORY_NOT_WORD": "-.",
}
_PRINTABLE = string.ascii_letters + string.digits
_UNBOUNDED_EXTRA = 8


def pattern_maker(pattern: str, where: str) -> Maker:
    """A maker of strings that match the regular expression ``pattern``.

    Covers what id and code patterns use (literals, classes, ``\\d\\w\\s``, groups,
    alternation, quantifiers); unbounded repeats stop a few past their minimum.
    :raises GenerateError: the pattern uses what this cannot build (lookarounds,
        back references); the message says to give the field under ``with``.
    """
    try:
        parsed = _re_parser.parse(pattern)
    except re.error as exc:
        raise GenerateError(where, f"the pattern {pattern!r} is not a regular expression: {exc}") from None
    build = _compile_items(list(parsed), pattern, where)
    compiled = re.compile(pattern)

    def make(rng: Rng, ctx: _Context) -> Json:
        for _ in range(10):
            value = "".join(build(rng))
            if compiled.search(value):
                return value
        raise GenerateError(where, f"cannot make a string that matches {pattern!r}; give the field under 'with'")

    return make


def literal_head(pattern: str) -> str:
    """The literal text an anchored pattern starts with: ``^eng_[0-9]+$`` -> ``eng_``."""
    if not pattern.startswith("^"):
        return ""
    match = re.match(r"[A-Za-z0-9_-]*", pattern[1:])
    head = match.group(0) if match else ""
    rest = pattern[1 + len(head) :]
    if rest[:1] in {"?", "*", "{", "+"} and head:  # the last character is quantified
        head = head[:-1]
    return head


def _compile_items(items: list[Any], pattern: str, where: str) -> Callable[[Rng], list[str]]:
    parts = [_compile_item(op, arg, pattern, where) for op, arg in items]

    def run(rng: Rng) -> list[str]:
        out: list[str] = []
        for part in parts:
            out.extend(part(rng))
        return out

    return run


def _compile_item(op: Any, arg: Any, pattern: str, where: str) -> Callable[[Rng], list[str]]:  # noqa: C901, PLR0911
    name = str(op)
    if name == "LITERAL":
        char = chr(arg)
        return lambda rng: [char]
    if name == "NOT_LITERAL":
        others = [c for c in _PRINTABLE if ord(c) != arg]
        return lambda rng: [rng.choice(others)]
    if name == "ANY":
        return lambda rng: [rng.choice(_PRINTABLE)]
    if name == "AT":
        return lambda rng: []
    if name == "IN":
        choices = _class_choices(arg)
        if not choices:
            raise GenerateError(
                where, f"cannot build a string for the character class in {pattern!r}; give it under 'with'"
            )
        return lambda rng: [rng.choice(choices)]
    if name in {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}:
        low, high, sub = arg
        top = low + _UNBOUNDED_EXTRA if high == _re_parser.MAXREPEAT else min(high, low + _UNBOUNDED_EXTRA)
        inner = _compile_items(list(sub), pattern, where)

        def repeat(rng: Rng) -> list[str]:
            out: list[str] = []
            for _ in range(_rint(rng, low, top)):
                out.extend(inner(rng))
            return out

        return repeat
    if name == "SUBPATTERN":
        return _compile_items(list(arg[-1]), pattern, where)
    if name == "ATOMIC_GROUP":
        return _compile_items(list(arg), pattern, where)
    if name == "BRANCH":
        branches = [_compile_items(list(b), pattern, where) for b in arg[1]]
        return lambda rng: rng.choice(branches)(rng)
    raise GenerateError(
        where, f"cannot build a string for the pattern {pattern!r} ({name.lower()}); give it under 'with'"
    )


def _class_choices(items: Any) -> str:
    chars: list[str] = []
    negate = False
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            chars.append(chr(arg))
        elif name == "RANGE":
            chars.extend(chr(c) for c in range(arg[0], min(arg[1], arg[0] + 200) + 1))
        elif name == "CATEGORY":
            chars.extend(_CATEGORIES.get(str(arg), ""))
    if negate:
        excluded = set(chars)
        return "".join(c for c in _PRINTABLE if c not in excluded)
    return "".join(dict.fromkeys(chars))


# -- entries -------------------------------------------------------------------------------


def seed_of(*parts: Json) -> int:
    """A 64-bit seed from ``parts`` (SHA-256 of their JSON: no ``hash()``, no process state)."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _parse_between(raw: Json) -> tuple[datetime, datetime]:
    if raw is None:
        return DEFAULT_BETWEEN
    if not isinstance(raw, list) or len(raw) != 2:
        raise GenerateError("between", "must be a list of two dates or date-times: [2024-01-01, 2024-03-31]")
    bounds = []
    for index, value in enumerate(raw):
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        elif isinstance(value, date):
            moment = datetime(value.year, value.month, value.day, tzinfo=UTC)
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                raise GenerateError(f"between[{index}]", f"{value!r} is not an ISO 8601 date or date-time") from None
            moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        else:
            raise GenerateError(f"between[{index}]", "must be an ISO 8601 date or date-time")
        bounds.append(moment.astimezone(UTC))
    if bounds[0] > bounds[1]:
        raise GenerateError("between", "the first date is after the second")
    if raw and isinstance(raw[1], date) and not isinstance(raw[1], datetime):
        bounds[1] += timedelta(days=1) - timedelta(seconds=1)  # a date ends at the day's end
    return bounds[0], bounds[1]


def generate_records(
    entry: Mapping[str, Json],
    schema: Mapping[str, Json],
    *,
    kind: str,
    key: Sequence[Json],
    taken: set[str] | None = None,
) -> list[dict[str, Json]]:
    """The records a ``generate`` entry asks for.

    :param entry: ``{"generate": 142, "with": {...}, "seed": ..., "between": [from, to]}``.
    :param schema: the record schema, ``$ref``s inlined.
    :param kind: the resource kind (id prefix when the schema has no ``x-mock-id-prefix``).
    :param key: what makes this entry itself (client id, kind, which entry of the list);
        with the entry's content it seeds the random source.
    :param taken: ids already used for this kind; generated ids avoid them and are added.
    :raises GenerateError: the entry is malformed or the schema cannot be generated;
        ``field`` says where.
    """
    unknown = sorted(set(entry) - set(ENTRY_KEYS))
    if unknown:
        raise GenerateError(unknown[0], f"unknown key(s) {', '.join(unknown)} (allowed: {', '.join(ENTRY_KEYS)})")
    count = entry.get("generate")
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_RECORDS:
        raise GenerateError("generate", f"must be a whole number from 0 to {MAX_RECORDS:,}, got {count!r}")
    fixed = entry.get("with") or {}
    if not isinstance(fixed, dict):
        raise GenerateError("with", "must be a mapping of field: value that every generated record gets")
    seed = entry.get("seed")
    if seed is not None and not isinstance(seed, str | int):
        raise GenerateError("seed", "must be a string or a number")
    low, high = _parse_between(entry.get("between"))
    properties = schema.get("properties") or {}
    if not isinstance(properties, dict):
        raise GenerateError("generate", "the record schema has no properties to generate")
    for name in fixed:
        if name not in properties and schema.get("additionalProperties") is False:
            raise GenerateError(f"with.{name}", f"not a field of the record (fields: {', '.join(properties)})")
    if "id" in fixed and count > 1:
        raise GenerateError("with.id", "each generated record gets its own id; leave id out of 'with'")

    planner = Planner(kind, fixed)
    id_maker = _ids(schema, properties.get("id"), kind, count, "id" in fixed)
    planner.numbered_ids = id_maker is not None
    make = planner._object(schema, "", "record", top=True)
    rng = random.Random(seed_of(list(key), fixed, seed))
    start = low.astimezone(UTC).replace(tzinfo=None)
    span = max(int((high - low).total_seconds()), 0)
    days = (span + 1) // 86400
    office = days >= 1  # over a day or more: office hours, as a call center works
    used = taken if taken is not None else set()
    records: list[dict[str, Json]] = []
    for _ in range(count):
        if office:
            offset = _rint(rng, 0, days - 1) * 86400 + _rint(rng, 8 * 3600, 20 * 3600 - 1)
        else:
            offset = _rint(rng, 0, span)
        moment = start + timedelta(seconds=offset)
        record = make(rng, _Context(moment))
        if id_maker is not None and isinstance(record, dict):
            record_id = id_maker(rng)
            for _ in range(50):
                if str(record_id) not in used:
                    break
                record_id = id_maker(rng)
            used.add(str(record_id))
            record["id"] = record_id
        records.append(record)
    return records


def generate_value(
    schema: Json,
    *,
    key: Sequence[Json],
    name: str = "",
    kind: str = "",
    when: datetime | None = None,
    parent: Mapping[str, Json] | None = None,
) -> Json:
    """One value valid against ``schema`` (``$ref``s inlined), the same for the same ``key``.

    For data that belongs to a record but is not a record: a sub-resource's answer (an
    evaluation's transcript) made for a generated record. ``name`` guides the guesses as a
    property name would; ``when`` is the instant dates are placed around (default: the
    start of ``DEFAULT_BETWEEN``); ``parent`` is the record it belongs to: a timeline in
    the value (transcript turns) ends within the parent's duration (``durationInSeconds``).

    :raises GenerateError: the schema cannot be generated; ``field`` says where.
    """
    rng = random.Random(seed_of(list(key)))
    base = (when or DEFAULT_BETWEEN[0]).astimezone(UTC).replace(tzinfo=None)
    span = None
    for prop, value in (parent or {}).items():
        unit = _seconds_per_unit(prop, {"type": "number"})
        if unit is not None and isinstance(value, int | float) and not isinstance(value, bool):
            span = value * unit
            break
    return Planner(kind, {}).plan(schema, name, "value")(rng, _Context(base, span))


def _ids(
    schema: Mapping[str, Json], id_schema: Json, kind: str, count: int, fixed: bool
) -> Callable[[Rng], Json] | None:
    """Ids: ``x-mock-id-prefix`` (or a prefix from the kind) and a number wide enough for ``count``."""
    if fixed or not isinstance(id_schema, dict):
        return None
    types, _ = _types(id_schema)
    if types[:1] == ["integer"]:
        top = max(10 * count, 1000)
        return lambda rng: _rint(rng, 1, top)
    if id_schema.get("format") == "uuid":
        return _uuid
    pattern = id_schema.get("pattern")
    prefix = schema.get("x-mock-id-prefix")
    if not isinstance(prefix, str):
        head = literal_head(pattern) if isinstance(pattern, str) else ""
        prefix = head or default_id_prefix(kind)
    digits = max(5, len(str(count * 10)) + 1)
    low, high = 10 ** (digits - 1), 10**digits - 1
    if isinstance(pattern, str) and not re.search(pattern, f"{prefix}{low}"):
        from_pattern = pattern_maker(pattern, "record.id")
        context = _Context(DEFAULT_BETWEEN[0].replace(tzinfo=None))
        return lambda rng: from_pattern(rng, context)
    return lambda rng: f"{prefix}{_rint(rng, low, high)}"
