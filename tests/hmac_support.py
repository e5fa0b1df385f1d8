"""The vendor's signing recipe, by hand: what the HMAC tests sign with.

Computed with hmac/hashlib (the vendor's recipe, not the project's helper), so a mistake in
``signing.py`` cannot hide behind itself.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import time

from tests.conftest import CLOCK

#: The fixtures' example HMAC key and its secret.
HMAC_KEY = "ak_live_abc123def456ghi789jkl012mno345pq"
HMAC_SECRET = "YOUR_HMAC_SECRET"
NOW = calendar.timegm(time.strptime(CLOCK, "%Y-%m-%dT%H:%M:%SZ"))  # the pinned clock, in Unix seconds


def by_hand(
    method: str,
    path: str,
    body: bytes = b"",
    *,
    key: str = HMAC_KEY,
    secret: str = HMAC_SECRET,
    ts: int | str = NOW,
    canonical: str | None = None,
) -> dict[str, str]:
    """The vendor's recipe, step by step (Authentication page)."""
    body_hash = base64.b64encode(hashlib.sha256(body).digest()).decode()
    if canonical is None:
        canonical = f"{ts}.{method}.{path}.{body_hash}"
    signature = base64.b64encode(hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).digest()).decode()
    return {"X-Api-Key": key, "X-Timestamp": str(ts), "X-Signature": signature}
