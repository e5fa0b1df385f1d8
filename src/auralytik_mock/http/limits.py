"""The limits and deadlines of the mock's HTTP/1.1 connections, in one place.

Owns: how large a request target, a head and a body may be, how much is read ahead and
owed, the transport's high-water mark, and the deadlines of a head, a body, an idle
connection and a client that stops reading. Constants only.
May import: nothing.
"""

from __future__ import annotations

#: A request target longer than this answers 414.
MAX_URL_BYTES = 8 * 1024
#: Request headers (names and values) larger than this, or more than ``MAX_HEADERS`` of them,
#: answer 431; a head that passes this size without ending is refused as soon as it does.
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 100
#: An oversized body (or one sent to a refused request) is read and thrown away up to this
#: many bytes, so the client is done sending and can read the answer; past it, or after
#: ``Expect: 100-continue``, the answer is sent at once and the connection closed.
DRAIN_LIMIT = 64 * 1024 * 1024
#: Requests handed out and not yet answered and written: past this, no more are parsed.
MAX_PENDING = 32
#: Bytes received and not yet parsed: past this, the connection stops reading.
READ_AHEAD = 256 * 1024
#: Unsent bytes above which no request is answered (the transport's high-water mark).
HIGH_WATER = 64 * 1024
#: A request's head must be complete this many seconds after its first byte (a new
#: connection's first request, after the connection opened); else 408 and close.
HEADER_TIMEOUT = 10.0
#: A body must be complete this many seconds after its head, plus one second per
#: ``MIN_BODY_RATE`` bytes received; else 408 and close (a body trickled byte by byte).
BODY_TIMEOUT = 30.0
MIN_BODY_RATE = 32 * 1024
#: A kept-alive connection with nothing to answer is closed after this many idle seconds.
IDLE_TIMEOUT = 75.0
#: Answers that have not drained for this long (a client that stopped reading): abort.
WRITE_TIMEOUT = 30.0
#: At the connection cap, a client still sending its request (or not a byte yet) after this
#: many seconds gives way before an idle kept-alive connection does.
SLOW_GRACE = 1.0
