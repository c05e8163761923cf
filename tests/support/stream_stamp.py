"""A wall-clock time burned into test video as a 32-block barcode, and read back from a decoded frame.

The writer is pure Python (it runs under Debian's /usr/bin/python3 in the GStreamer server, which has no
numpy); the reader takes an RGB numpy array as the players deliver it.
"""

BITS = 32
BAND = 16  # rows of the barcode band at the top of the frame


def stamp_frame_i420(w: int, h: int, ms: int) -> bytes:
    """One grey I420 frame whose top band encodes `ms` modulo 2**32, most significant bit first."""
    bw = w // BITS
    row = bytearray(b"\x80" * w)
    value = ms & 0xFFFFFFFF
    for i in range(BITS):
        bit = (value >> (BITS - 1 - i)) & 1
        row[i * bw:(i + 1) * bw] = (b"\xeb" if bit else b"\x10") * bw
    y = bytes(row) * BAND + b"\x80" * (w * (h - BAND))
    return y + b"\x80" * (w * h // 2)


def read_stamp(rgb) -> int:
    """The millisecond value burned into an RGB frame (numpy array h x w x 3) by `stamp_frame_i420`."""
    h, w = rgb.shape[:2]
    bw = w // BITS
    row = rgb[BAND // 2, :, 1]
    value = 0
    for i in range(BITS):
        value = (value << 1) | int(row[i * bw + bw // 2] > 128)
    return value


def stamp_age_ms(rgb, now_ms: int) -> int:
    """How old the frame's stamp is, handling the 2**32 wrap."""
    return (now_ms - read_stamp(rgb)) & 0xFFFFFFFF
