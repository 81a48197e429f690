#!/usr/bin/env python3
"""Regenerates the seed corpora of tests/fuzz/corpus/{obj_reader,vec_decode,obj_roundtrip}/.

usage: gen_obj_seeds.py path/to/mosync

obj_reader:    small objects from `mosync mkobj` (data, sorted PK, appendable, tombstone,
               framed, many types), each behind a control byte (see fuzz_obj_reader.c), plus
               a few damaged variants that the fix-up flag repairs.
vec_decode:    decompressed column-chunk wires extracted from those objects (the bytes after
               the 4-byte IOEntry header; control byte 0 = version 2), a V1-bitmap rewrite of
               a wire with NULLs (control byte 1) and hand-made CONSTANT vectors.
obj_roundtrip: descriptions covering every flag of fuzz_obj_roundtrip.c.
Object ids come from the clock, so objects differ between runs; everything else is
deterministic (mkobj --seed). Files already in the corpora that this script does not write
(regressions) are left alone.
"""
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def lz4_block_decode(src, origin):
    out = bytearray()
    i = 0
    while i < len(src):
        tok = src[i]
        i += 1
        lit = tok >> 4
        if lit == 15:
            while True:
                b = src[i]
                i += 1
                lit += b
                if b != 255:
                    break
        out += src[i:i + lit]
        i += lit
        if i >= len(src):
            break
        off = src[i] | src[i + 1] << 8
        i += 2
        ml = tok & 15
        if ml == 15:
            while True:
                b = src[i]
                i += 1
                ml += b
                if b != 255:
                    break
        for _ in range(ml + 4):
            out.append(out[-off])
    assert len(out) == origin, (len(out), origin)
    return bytes(out)


def deframe(data):
    return b"".join(data[i + 4:i + 2048] for i in range(0, len(data), 2048))


def extent(b, off):
    alg, o, ln, orig = struct.unpack_from("<BIII", b, off)
    return alg, o, ln, orig


def read_extent(obj, e):
    alg, o, ln, orig = e
    raw = obj[o:o + ln]
    return raw if alg == 0 else lz4_block_decode(raw, orig)


def chunk_wires(obj):
    """Every column chunk of slot 0, decompressed, without its IOEntry header."""
    meta = read_extent(obj, extent(obj, 10))
    assert struct.unpack_from("<HH", meta, 0) == (1, 3)
    dmo = struct.unpack_from("<I", meta, 4 + 2)[0]
    off = 4 + dmo
    mcc = struct.unpack_from("<H", meta, off + 140)[0]
    hdr_len = 179 + 124 * mcc
    count = struct.unpack_from("<I", meta, off + hdr_len)[0]
    pos = off + hdr_len + 4 + 8 * count
    wires = []
    for _ in range(count):
        bmcc = struct.unpack_from("<H", meta, pos + 140)[0]
        for c in range(bmcc):
            cm = pos + 179 + 124 * c
            if meta[cm] == 0:
                continue
            chunk = read_extent(obj, extent(meta, cm + 11))
            assert struct.unpack_from("<HH", chunk, 0) == (2, 2)
            wires.append(chunk[4:])
        pos += 179 + 124 * bmcc
    return wires


def to_v1_bitmap(w):
    """Rewrites a V2 wire's bitmap header (i64 count) as V1 (i32 empty flag)."""
    data_len = struct.unpack_from("<I", w, 21)[0]
    p = 25 + data_len
    area_len = struct.unpack_from("<I", w, p)[0]
    p += 4 + area_len
    null_len = struct.unpack_from("<I", w, p)[0]
    if null_len == 0:
        return None
    bm = w[p + 4:p + 4 + null_len]
    count = struct.unpack_from("<q", bm, 0)[0]
    v1 = struct.pack("<i", 0 if count else 1) + bm[8:]
    return w[:p] + struct.pack("<I", len(v1)) + v1 + w[p + 4 + null_len:]


def vtype(oid, size):
    return struct.pack("<BBBBiii", oid, 0, 0, 0, size, 0, 0)


def vec(cls, oid, size, length, data, area=b"", nulls=b"", sorted_=0):
    return (bytes([cls]) + vtype(oid, size) + struct.pack("<II", length, len(data)) + data +
            struct.pack("<I", len(area)) + area + struct.pack("<I", len(nulls)) + nulls +
            bytes([sorted_]))


OBJECTS = [
    ("data_pk_sorted", "id:int64,name:varchar(40),amount:decimal64(12,2)", 100,
     ["--pk", "id", "--sorted"]),
    ("framed", "id:int32,v:varchar(60)", 20, ["--pk", "id", "--framed"]),
    ("appendable", "id:int64,b:bool,f:float64,t:timestamp", 30, ["--pk", "id", "--appendable"]),
    ("tombstone", "k:varchar(20)", 25, ["--tombstone"]),
    ("types", "a:int16,j:json,u:uuid,d:date,x:decimal128(30,5),vv:vecf32(3)", 12, []),
    ("one_row", "id:uint64", 1, ["--pk", "id"]),
]


def write(corpus, name, data):
    d = os.path.join(HERE, "corpus", corpus)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    mosync = sys.argv[1]
    objs = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, schema, rows, extra in OBJECTS:
            out = os.path.join(tmp, name)
            os.makedirs(out)
            subprocess.run([mosync, "mkobj", "--schema", schema, "--rows", str(rows), "--seed", "7",
                            "--out", out] + extra, check=True, stdout=subprocess.DEVNULL)
            (f,) = os.listdir(out)
            with open(os.path.join(out, f), "rb") as fh:
                objs[name] = fh.read()

    # obj_reader
    for name, obj in objs.items():
        write("obj_reader", name, b"\x00" + obj)
        write("obj_reader", name + "_stats", b"\x04" + obj)
    raw = objs["data_pk_sorted"]
    # meta extent length off by 7: the fix-up flag repairs it
    bad = bytearray(raw)
    struct.pack_into("<I", bad, 15, struct.unpack_from("<I", bad, 15)[0] + 7)
    write("obj_reader", "meta_len_fixup", b"\x01" + bytes(bad))
    # framed, one content byte flipped in block 1: the fix-up flag recomputes the CRCs
    fr = bytearray(objs["framed"])
    if len(fr) > 2100:
        fr[2100] ^= 0x10
    else:
        fr[200] ^= 0x10
    write("obj_reader", "framed_crc_fixup", b"\x01" + bytes(fr))
    write("obj_reader", "framed_crc_bad", b"\x00" + bytes(fr))
    write("obj_reader", "truncated_meta", b"\x08" + raw[:len(raw) - 90])
    # meta stored raw (control bit 4 compresses it), also framed by the target (bit 5)
    for name in ("data_pk_sorted", "appendable", "tombstone", "types"):
        obj = objs[name]
        e = extent(obj, 10)
        rawmeta = read_extent(obj, e)
        write("obj_reader", name + "_rawmeta", b"\x10" + obj[:e[1]] + rawmeta + obj[-64:])
        if name == "types":
            write("obj_reader", name + "_rawmeta_framed",
                  b"\x34" + obj[:e[1]] + rawmeta + obj[-64:])
    write("obj_reader", "header_only", b"\x03" + raw[:64] + bytes(64))

    # vec_decode
    n = 0
    for name, obj in objs.items():
        logical = deframe(obj) if name == "framed" else obj
        for i, w in enumerate(chunk_wires(logical)):
            if i < 8:
                write("vec_decode", "%s_%d" % (name, i), b"\x00" + w)
                n += 1
            v1 = to_v1_bitmap(w)
            if v1 is not None and i < 8:
                write("vec_decode", "%s_%d_v1" % (name, i), b"\x01" + v1)
    i64 = struct.pack("<q", -5)
    write("vec_decode", "const_int64", b"\x00" + vec(1, 23, 8, 1000, i64))
    write("vec_decode", "const_null", b"\x00" + vec(1, 23, 8, 3, b""))
    nb = struct.pack("<qQQ", 1, 1, 8) + struct.pack("<Q", 1)
    write("vec_decode", "const_null_bitmap", b"\x00" + vec(1, 61, 24, 4, bytes(24), nulls=nb))
    slot = bytes([3]) + b"abc" + bytes(20)
    ool = struct.pack("<III", 0xFFFFFFFF, 0, 30) + bytes(12)
    write("vec_decode", "varchar_mixed", b"\x00" + vec(0, 61, 24, 2, slot + ool, area=bytes(range(30))))
    write("vec_decode", "empty", b"\x00")

    # obj_roundtrip: flags, user columns - 1, column bytes, last-block rows, values
    rt = {
        "one_int": bytes([0x00, 0, 4, 5, 0]) + bytes(range(40)),
        "pk_varchar_nulls": bytes([0x30, 2, 4, 19, 0x50, 9, 0]) + bytes(range(200)),
        "sorted_pk": bytes([0xd0, 1, 4, 11, 40, 0]) + bytes(range(7, 250)),
        "appendable": bytes([0x14, 1, 4, 26, 20, 0]) + bytes(range(1, 120)),
        "tombstone": bytes([0x08, 0, 19, 30, 0]) + bytes(range(100, 256)),
        "two_blocks": bytes([0x11, 0, 4, 3, 0]),
        "three_blocks_arrays": bytes([0x22, 2, 26, 27, 33, 1, 0]) + bytes(range(256)),
        "many_types": bytes([0x30, 3, 9, 10, 12, 30, 200, 0]) + bytes(range(255, 0, -1)),
    }
    for name, data in rt.items():
        write("obj_roundtrip", name, data)
    print("objects %d, wires %d" % (len(objs), n))


if __name__ == "__main__":
    main()
