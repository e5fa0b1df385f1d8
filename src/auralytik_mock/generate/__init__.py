"""Make fixture records from a record schema: ``- generate: 142`` in a fixture list.

Turns a JSON schema (``$ref``s already inlined) into a plan, once, and runs the plan to
make records that are valid against the schema, look real to a person reading the
sandbox, and are the same on every run.

How values look real: pools of names, companies, cities, phrases and words ship as data
files (``pools/``), and what free text says comes from a vocabulary (the generic one, or
a profile's: Auralytik's is a call centre's). Each record picks from them with its own
``random.Random``, chosen by the property's name (``executiveName`` is a person,
``audioFileName`` a ``.wav`` file, ``averageNote`` a score skewed towards the upper part
of its range, ``createdAt`` an office-hours instant, ``updatedAt`` later than it).

How values stay valid: ``enum``/``const`` first, then ``format``, then the name's guess,
fitted to ``minLength``/``maxLength``, ``minimum``/``maximum`` (and their exclusive
forms), ``multipleOf``, ``minItems``/``maxItems``/``uniqueItems``; a guess that misses
the ``pattern`` is replaced by a string built from the pattern (rstr). The fixtures loader
checks every record against the schema afterwards, like any hand-written record.

Determinism: the random source is seeded from a SHA-256 of the caller's key (client, kind,
which ``generate`` entry, its fixed values), never from ``hash()``; the pools and
vocabularies are files of this package. Same fixtures, same version of auralytik-mock:
same records, whatever the Python, Faker or rstr release.

The modules, one job each: ``entries`` (an entry's keys, seeds, ids), ``planner`` (schema
to maker), ``names`` (guesses from property names), ``formats``, ``patterns`` (rstr),
``shapes`` (timelines, distinct items, means), ``conversation`` (a transcript's turns, a
chat's messages), ``derive`` (fields that follow others: ends, counts), ``survey`` (a
post-call survey's answers and score), ``pools`` and ``vocabulary`` (the data files),
``makers`` (the building blocks).

No Flask. May import: ``core.types``, rstr, yaml.
"""

from __future__ import annotations

from .derive import follow_counts
from .entries import DEFAULT_BETWEEN, ENTRY_KEYS, MAX_RECORDS, generate_records, generate_value, seed_of
from .makers import GenerateError
from .names import default_id_prefix, words_of
from .patterns import literal_head, pattern_maker
from .pools import pools
from .vocabulary import Vocabulary, generic_vocabulary, load_vocabulary

__all__ = [
    "DEFAULT_BETWEEN",
    "ENTRY_KEYS",
    "MAX_RECORDS",
    "GenerateError",
    "Vocabulary",
    "default_id_prefix",
    "follow_counts",
    "generate_records",
    "generate_value",
    "generic_vocabulary",
    "literal_head",
    "load_vocabulary",
    "pattern_maker",
    "pools",
    "seed_of",
    "words_of",
]
