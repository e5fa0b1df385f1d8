"""A vendor's profile: what the engine does for one vendor's spec that it would not do for any spec.

Owns: reading ``profiles/<name>/profile.yaml`` for a spec that names it with a top-level
``x-mock-profile: <name>``, and the generic profile every other spec gets. A profile declares
the vendor's error envelope (else errors take the spec's own shapes, ``core/error_render.py``),
the realm of its challenges (else the spec's title, ``realm_for``), its signing keys' format,
where its keys are documented (the hint of a 401), and the generator's vocabulary file.
No Flask, no IO beyond reading a bundled profile once.
May import: ``errors``, ``types``, ``generate`` (vocabularies), yaml.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from ..generate import Vocabulary, generic_vocabulary, load_vocabulary
from .errors import SpecError
from .types import Json

#: libyaml's safe loader where PyYAML has it (a start reads the profile: 1.3 ms in Python).
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

#: Where the bundled profiles live: one folder per profile.
PROFILES_DIR = Path(__file__).resolve().parents[1] / "profiles"
#: The top-level extension by which a spec selects a profile.
PROFILE_EXTENSION = "x-mock-profile"
#: The name of the profile of a spec that selects none.
GENERIC = "generic"


@dataclass(frozen=True)
class Profile:
    """What one vendor's spec gets beyond the spec itself.

    :param name: the profile's name (``generic`` for a spec that selects none).
    :param error_envelope: the property every error is wrapped in (``"error"``: the
        vendor's ``{"error": {...}}`` envelope); ``None``: each refusal takes the shape the
        spec documents for it.
    :param realm: the realm every ``WWW-Authenticate`` challenge names (``None``: the spec's
        title, see ``realm_for``).
    :param signing_key: the format of a key that signs its requests (``None``: any).
    :param signing_example: how a message shows such a key (``ak_live_...``).
    :param signing_prefix: how such a key starts (``""``: any way).
    :param signing_format: the format in words, for a message.
    :param docs: where signing is explained, for a message (``""``: nowhere).
    :param key_hint: where a developer finds keys that work, for the 401 of a missing key.
    :param signing_hint: the same for signing keys and their secrets.
    :param vocabulary_file: the generator's vocabulary (``None``: the generic one).
    :param bundled_fixtures: whether a spec of this profile served without ``--fixtures``
        gets the package's bundled fixtures (the vendor's sandbox data) rather than none.
    """

    name: str = GENERIC
    error_envelope: str | None = None
    realm: str | None = None
    signing_key: re.Pattern[str] | None = None
    signing_example: str = "<API key>"
    signing_prefix: str = ""
    signing_format: str = "a key of the fixtures"
    docs: str = ""
    key_hint: str = ""
    signing_hint: str = ""
    vocabulary_file: Path | None = None
    bundled_fixtures: bool = False

    @property
    def vocabulary(self) -> Vocabulary:
        """The vocabulary generated records use."""
        if self.vocabulary_file is None:
            return generic_vocabulary()
        return _vocabulary(self.vocabulary_file)

    def is_signing_key(self, key: str) -> bool:
        """Whether ``key`` has the format of a key that signs its requests."""
        return self.signing_key is None or self.signing_key.fullmatch(key) is not None

    def hinted(self, message: str, *, signing: bool = False) -> str:
        """``message`` with where to find keys appended (``message`` ends without a period)."""
        hint = self.signing_hint if signing else self.key_hint
        return f"{message}; {hint}." if hint else f"{message}."


#: The realm of a spec with no profile realm and no usable title.
NEUTRAL_REALM = "api"


def realm_for(profile: Profile, document: Mapping[str, Json]) -> str:
    """The realm of ``document``'s challenges: its profile's, else its ``info.title`` (as a
    quoted-string allows: printable ASCII without quotes or backslashes, 60 characters at
    most), else ``api``; never one vendor's name for another vendor's spec."""
    if profile.realm:
        return profile.realm
    info = document.get("info")
    title = info.get("title") if isinstance(info, Mapping) else None
    return _realm_text(title) if isinstance(title, str) else NEUTRAL_REALM


def _realm_text(text: str) -> str:
    kept = "".join(c for c in text if " " <= c <= "~" and c not in '"\\')
    return " ".join(kept.split())[:60].strip() or NEUTRAL_REALM


@cache
def _vocabulary(path: Path) -> Vocabulary:
    return load_vocabulary(path)


def profile_for(document: Mapping[str, Json]) -> Profile:
    """The profile ``document`` selects (``x-mock-profile``), or the generic one.

    :raises SpecError: it names a profile that is not bundled, or a broken one.
    """
    name = document.get(PROFILE_EXTENSION)
    if name is None or name == GENERIC:
        return Profile()
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", name):
        raise SpecError(f"{PROFILE_EXTENSION}: a profile's name in lower case, got {name!r}")
    return load_profile(name)


@cache
def load_profile(name: str) -> Profile:
    """The bundled profile ``name`` (read once).

    :raises SpecError: no such profile, or its ``profile.yaml`` is not valid.
    """
    folder = PROFILES_DIR / name
    path = folder / "profile.yaml"
    if not path.is_file():
        known = sorted(p.name for p in PROFILES_DIR.iterdir() if (p / "profile.yaml").is_file())
        raise SpecError(f"{PROFILE_EXTENSION}: no profile {name!r} (bundled: {', '.join([GENERIC, *known])})")
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)  # noqa: S506 - a safe loader
    errors = raw.get("errors") or {}
    keys = raw.get("keys") or {}
    envelope = errors.get("envelope")
    signing = keys.get("signing")
    vocabulary = raw.get("vocabulary")
    return Profile(
        name=name,
        error_envelope=str(envelope) if envelope is not None else None,
        realm=_realm_text(str(raw["realm"])) if raw.get("realm") is not None else None,
        signing_key=re.compile(str(signing)) if signing is not None else None,
        signing_example=str(keys.get("signingExample", "<API key>")),
        signing_prefix=str(keys.get("signingPrefix", "")),
        signing_format=str(keys.get("signingFormat", "a key of the fixtures")),
        docs=str(raw.get("docs", keys.get("docs", ""))),
        key_hint=str(keys.get("hint", "")),
        signing_hint=str(keys.get("signingHint", keys.get("hint", ""))),
        vocabulary_file=folder / str(vocabulary) if vocabulary is not None else None,
        bundled_fixtures=raw.get("fixtures") == "bundled",
    )
