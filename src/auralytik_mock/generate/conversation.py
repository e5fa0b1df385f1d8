"""Timelines: items with a start and an end (a transcript's turns), or one instant each (a
chat's messages, a call's ``HH:MM:SS`` offsets), one after the other within the owning
record's duration or window, what each turn says following a conversation.

Owns: ``timeline`` (the maker of such a list), ``script`` (who says what on a call: the
opener opens, the other side explains, both close, in the vocabulary's words) and ``chat``
(a written exchange: the customer writes first, a bot may answer, then a person).

No IO. May import: ``makers``, ``names``, ``pools``, ``shapes``, ``vocabulary``, ``formats``, ``core.types``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from ..core.types import Json
from .formats import email
from .makers import Context, Maker, Rng, rint
from .names import words_of
from .pools import Pools
from .shapes import AGENT_WORDS, ItemShape, Speaking
from .vocabulary import Speaker, Vocabulary

#: The most turns a timeline gets, whatever its duration.
MAX_TURNS = 60
_START, _END = "\0start", "\0end"  # where an instant timeline's turns are placed before they get their instant
_BOTS = frozenset({"bot", "assistant", "ivr"})


def timeline(shape: ItemShape, item: Maker, low: int, high: int | None, pools: Pools, words: Vocabulary) -> Maker:
    """Items with a start and an end (transcript turns), or one instant each: one after the
    other, the last within the owning record's duration (or from its start to its end); who
    speaks alternates, and what is said follows a conversation (opening, middle, closing)
    when a text property is there; ids numbered in order (``msg_001``)."""
    assert shape.timeline is not None
    start, end, integer, scale, top = shape.timeline
    instant = shape.instant
    if instant is not None:
        start, end, integer = _START, _END, instant[1] == "offset"
    written = instant is not None and instant[1] == "date-time"
    speaker = shape.speaker
    text = shape.text
    numbered = shape.numbered if instant is not None else None
    cap = min(high, MAX_TURNS) if high is not None else MAX_TURNS
    covered = {
        *((instant[0],) if instant is not None else (start, end)),
        *(() if speaker is None else (speaker[0],)),
        *(() if text is None else (text,)),
        *(() if numbered is None else (numbered[0],)),
    }
    own = shape.names if set(shape.names) == covered else None
    floor = min(max(low, 1), cap)

    def make(rng: Rng, ctx: Context) -> Json:
        span = ctx.span
        if top is not None:
            span = min(span, top / scale) if span is not None else top / scale
        if span is not None and not written:
            count = int(span / 9) + rint(rng, -2, 2)  # a turn every nine seconds or so
            count = min(max(count, floor), cap)
            if integer:  # whole units: at least one unit per turn
                count = min(count, max(int(span * scale), low))
            if span <= 0:
                count = low
        else:
            count = rint(rng, max(floor, min(6, cap)), max(floor, min(14, cap)))
        if own is not None:  # every property is set below: skip making what would be replaced
            records: list[Json] = [dict.fromkeys(own) for _ in range(count)]
        else:
            records = [item(rng, ctx) for _ in range(count)]
        if not records:
            return []
        if written and speaker is not None and text is not None:
            chat(rng, pools, words, records, text, speaker)
        else:
            if speaker is not None:
                prop, values, agent = speaker
                others = [v for v in values if v != agent] or [agent]
                other = rng.choice(others)
                for index, record in enumerate(records):
                    if isinstance(record, dict):
                        record[prop] = agent if index % 2 == 0 else other
            if text is not None:
                script(rng, pools, words, records, text, speaker)
        if written and span is None:
            span = float(sum(rint(rng, 20, 150) for _ in records))  # still going: a reply every minute or so
        _place(rng, records, span, text, start, end, integer, scale)
        if instant is not None:
            _instants(records, instant, ctx, span if written else None)
        if numbered is not None:
            prop, prefix, digits = numbered
            for index, record in enumerate(records, 1):
                if isinstance(record, dict):
                    record[prop] = f"{prefix}{index:0{digits}d}"
        return records

    return make


def _instants(records: list[Json], instant: tuple[str, str], ctx: Context, window: float | None) -> None:
    """Each turn's one instant: its start, as an ``HH:MM:SS`` offset, or as a date-time in the
    record's window (the first at its start, the last at its end)."""
    prop, kind = instant
    starts = [float(r.pop(_START)) for r in records if isinstance(r, dict)]
    for record in records:
        if isinstance(record, dict):
            record.pop(_END, None)
    if not starts:
        return
    if kind == "offset":
        for record, at in zip((r for r in records if isinstance(r, dict)), starts, strict=True):
            whole = int(at)
            record[prop] = f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
        return
    first, last = starts[0], starts[-1]
    stretch = (window / (last - first)) if window is not None and last > first else 1.0
    for record, at in zip((r for r in records if isinstance(r, dict)), starts, strict=True):
        moment = ctx.base + timedelta(seconds=round((at - first) * stretch))
        record[prop] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _place(
    rng: Rng, records: list[Json], span: float | None, text: str | None, start: str, end: str, integer: bool,
    scale: float,
) -> None:  # fmt: skip
    """Set each turn's start and end: as long as what it says takes, pauses between them,
    squeezed or stretched to fill the span."""
    lengths = []
    for record in records:
        said = record.get(text) if text is not None and isinstance(record, dict) else None
        words = len(said.split()) if isinstance(said, str) else rint(rng, 4, 25)
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


def _round_to(value: float, integer: bool) -> float:
    return float(round(value)) if integer else round(value, 2)


def _cycle(index: int, count: int, fixed: int) -> int:
    """The ``index``-th line of ``count``: the first ``fixed`` once, then the others round."""
    return index if index < fixed else fixed + (index - fixed) % (count - fixed)


def _lines(rng: Rng, side: Speaker, first: str | None) -> list[str]:
    """A side's lines in the order it says them: ``first``, its script, the middle shuffled."""
    return [*(() if first is None else (first,)), *side.script, *rng.sample(side.middle, len(side.middle))]


def script(rng: Rng, pools: Pools, words: Vocabulary, records: list[Json], text: str, speaker: Speaking | None) -> None:
    """What each turn says, as a conversation goes: the opener opens, the other side
    explains, both close."""
    company = rng.choice(pools.companies)
    first = rng.choice(pools.first)
    agent = speaker[2] if speaker is not None else None
    last_index = len(records) - 1
    opener, other = words.opener, words.other
    # the opener follows its script, the other side says why it is there, then the rest in any order
    opener_lines = _lines(rng, opener, None)
    other_lines = _lines(rng, other, other.opening[rng.randrange(len(other.opening))])
    opener_fixed, other_fixed = len(opener.script), 1 + len(other.script)
    used_opener = used_other = 0
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            continue
        by_opener = speaker is None and index % 2 == 0 or speaker is not None and record.get(speaker[0]) == agent
        if by_opener:
            if index == 0:
                line = rng.choice(opener.opening)
            elif index >= last_index - 1 and index > 1:
                line = rng.choice(opener.closing)
            else:
                line = opener_lines[_cycle(used_opener, len(opener_lines), opener_fixed)]
                used_opener += 1
        elif index == last_index and index > 2:
            line = rng.choice(other.closing)
        else:
            line = other_lines[_cycle(used_other, len(other_lines), other_fixed)]
            used_other += 1
        record[text] = line.format_map(_Fields(rng, pools, company, first))


class _Fields(dict[str, object]):
    """What a line's placeholders say: ``n``, ``account`` and ``digits`` drawn for every line
    (in that order), the others only when the line uses them."""

    def __init__(self, rng: Rng, pools: Pools, company: str, first: str) -> None:
        super().__init__(
            company=company,
            first=first,
            n=rint(rng, 2, 9),
            account=rint(rng, 10000, 99999),
            digits=rint(rng, 10, 99),
        )
        self.rng, self.pools = rng, pools

    def __missing__(self, key: str) -> object:
        rng, pools = self.rng, self.pools
        makers: dict[str, Callable[[], object]] = {
            "last4": lambda: rint(rng, 1000, 9999),
            "email": lambda: email(rng, pools),
            "phone": lambda: rng.choice(pools.phones),
        }
        made = makers[key]()
        self[key] = made
        return made


def chat(rng: Rng, pools: Pools, words: Vocabulary, records: list[Json], text: str, speaker: Speaking) -> None:
    """A written exchange: the customer writes first; the business answers, its bot first
    when the roles have one (and the vocabulary says what it writes), then a person."""
    prop, values, agent = speaker
    people = [v for v in values if not set(words_of(str(v))) & AGENT_WORDS]
    bots = [v for v in values if set(words_of(str(v))) & _BOTS]
    customer = people[0] if people else values[0]
    bot = bots[0] if bots and words.bot else None
    opener, business = words.chat or (words.other, words.opener)  # without one: a call, the customer first
    company = rng.choice(pools.companies)
    first = rng.choice(pools.first)
    customer_lines = _lines(rng, opener, opener.opening[rng.randrange(len(opener.opening))])
    business_lines = _lines(rng, business, business.opening[rng.randrange(len(business.opening))])
    fixed = 1 + len(opener.script), 1 + len(business.script)
    said = [0, 0]
    last_index = len(records) - 1
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            continue
        if index % 2 == 0:
            record[prop] = customer
            if index == last_index and index > 2:
                line = rng.choice(opener.closing)
            else:
                line = customer_lines[_cycle(said[0], len(customer_lines), fixed[0])]
                said[0] += 1
        elif index == 1 and bot is not None:
            record[prop] = bot
            line = rng.choice(words.bot)
        else:
            record[prop] = agent
            if index >= last_index - 1 and index > 2:
                line = rng.choice(business.closing)
            else:
                line = business_lines[_cycle(said[1], len(business_lines), fixed[1])]
                said[1] += 1
        record[text] = line.format_map(_Fields(rng, pools, company, first))
