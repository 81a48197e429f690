#!/usr/bin/env python3
"""Regenerates the seed corpus of tests/fuzz/corpus/deframe/ (byte 0 = control byte, see
fuzz_deframe.c). Deterministic; run from any directory."""
import os
import random

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF

def frame(data):
    out = bytearray()
    for i in range(0, len(data), 2044):
        chunk = data[i:i + 2044]
        out += crc32c(chunk).to_bytes(4, "little") + chunk
    return bytes(out)

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "deframe")
os.makedirs(here, exist_ok=True)
rng = random.Random(1)
# the start of a raw object: header magic, version 1, then zeros (spec §2.2, §10)
obj = bytes([0xFF] * 4 + [0] * 4 + [1, 0]) + bytes(54) + bytes(rng.randrange(256) for _ in range(4200 - 64))
seeds = {
    "empty": b"\x00",
    "framed_64": b"\x00" + frame(obj[:64]),
    "framed_4200_slice1": b"\x02" + frame(obj),
    "framed_2044_vary": b"\x36" + frame(obj[:2044]),
    "raw_header": b"\x00" + obj[:64],
    "patched_garbage": b"\x01" + bytes(rng.randrange(256) for _ in range(3000)),
    "tail_3_bytes": b"\x16" + frame(obj[:2044]) + b"\x01\x02\x03",
    "bad_second_block": b"\x18" + frame(obj[:4088])[:2048] + b"\x00" * 100,
}
for name, data in seeds.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
