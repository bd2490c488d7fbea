"""Raw Snappy (the block format, no framing), decoded in pure Python with bounds: GitHub's attestations API
serves a bundle at `bundle_url` compressed this way (cli/cli decodes it with golang/snappy `Decode`).

Format (google/snappy format_description.txt): a varint with the uncompressed length, then elements; the low
two bits of each tag byte say which: 0 a literal, 1-3 a copy of earlier output (offset in 1, 2 or 4 bytes).
"""

from __future__ import annotations


class SnappyError(ValueError):
    """Not raw Snappy, or larger than allowed."""


def _varint(data: bytes) -> tuple[int, int]:
    value = shift = 0
    for i, byte in enumerate(data[:5]):
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, i + 1
        shift += 7
    raise SnappyError("bad length preamble")


def decompress(data: bytes, limit: int) -> bytes:
    """The uncompressed bytes; SnappyError when `data` is not raw Snappy or would exceed `limit` bytes."""
    size, i = _varint(data)
    if size > limit:
        raise SnappyError(f"declares {size} bytes uncompressed, more than {limit}")
    out = bytearray()
    n = len(data)
    while i < n:
        tag = data[i]
        i += 1
        kind = tag & 3
        if kind == 0:
            length = (tag >> 2) + 1
            if length > 60:
                width = length - 60
                if i + width > n:
                    raise SnappyError("truncated literal length")
                length = int.from_bytes(data[i : i + width], "little") + 1
                i += width
            if i + length > n:
                raise SnappyError("truncated literal")
            out += data[i : i + length]
            i += length
        else:
            if kind == 1:
                length, width = 4 + ((tag >> 2) & 7), 1
                offset_high = (tag >> 5) << 8
            else:
                length, width, offset_high = (tag >> 2) + 1, 2 if kind == 2 else 4, 0
            if i + width > n:
                raise SnappyError("truncated copy")
            offset = offset_high | int.from_bytes(data[i : i + width], "little")
            i += width
            if offset == 0 or offset > len(out):
                raise SnappyError("copy from before the start")
            for _ in range(length):  # may overlap its own output (a run)
                out.append(out[-offset])
        if len(out) > size:
            raise SnappyError("longer than its declared length")
    if len(out) != size:
        raise SnappyError("shorter than its declared length")
    return bytes(out)
