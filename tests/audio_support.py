"""What the audio tests upload: a WAV file and the headers Azure's Put Blob takes."""

from __future__ import annotations

import struct

#: The headers an upload to the blob store takes (Azure's Put Blob of a block blob).
BLOCK = {"Content-Type": "audio/wav", "x-ms-blob-type": "BlockBlob"}


def wav(seconds: float = 1.0) -> bytes:
    """A mono 8 kHz 8-bit WAV of silence."""
    frames = int(8000 * seconds)
    header = b"RIFF" + struct.pack("<I", 36 + frames) + b"WAVEfmt "
    header += struct.pack("<IHHIIHH", 16, 1, 1, 8000, 8000, 1, 8) + b"data" + struct.pack("<I", frames)
    return header + b"\x80" * frames
