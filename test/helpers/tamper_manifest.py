#!/usr/bin/env python3
"""Rewrites an upkeep manifest so it stays self-consistent but describes another image, and
the image hash, the JSON length and the trailing checksum are recomputed
(docs/repository-format.md). What a restore of it rebuilds is a malformed image whose every
chunk and whose image hash check out.

  tamper_manifest.py MANIFEST A B         two parts of the image swap places: chunks A and B
                                          of a version 1 manifest, list blocks A and B (each
                                          some dozens of chunks) of a version 2 one, whose
                                          blocks are read from the repository around it
  tamper_manifest.py MANIFEST rows TABLE N
                                          the row count the backup recorded for TABLE (a
                                          server engine's details) becomes N"""
import glob
import hashlib
import json
import os
import struct
import subprocess
import sys


def chunk_reader(repo):
    """hash -> bytes, for the chunks of every pack of the repository (index format 1)."""
    where = {}
    for path in glob.glob(os.path.join(repo, "index", "*")):
        data = open(path, "rb").read()
        assert data[:8] == b"UKIDX1\n\0", "not a pack index: " + path
        n_frames, n_entries = struct.unpack("<II", data[8:16])
        frames = [struct.unpack("<QIIB", data[16 + 20 * f:16 + 20 * f + 17]) for f in range(n_frames)]
        base = 16 + 20 * n_frames
        for e in range(n_entries):
            entry = data[base + 44 * e:base + 44 * (e + 1)]
            frame, offset, length = struct.unpack("<III", entry[32:])
            where[entry[:32]] = (os.path.basename(path), frames[frame], offset, length)

    def read(chunk_hash):
        name, (frame_offset, stored_len, _raw_len, compression), offset, length = where[chunk_hash]
        with open(os.path.join(repo, "packs", name[:2], name), "rb") as pack:
            pack.seek(frame_offset)
            stored = pack.read(stored_len)
        raw = stored if compression == 0 else subprocess.run(
            ["zstd", "-dcq"], input=stored, stdout=subprocess.PIPE, check=True).stdout
        return raw[offset:offset + length]
    return read


path = sys.argv[1]
data = open(path, "rb").read()
magic = data[:8]
assert magic in (b"UKSNAP1\n", b"UKSNAP2\n"), "not a manifest"
json_len = struct.unpack("<I", data[8:12])[0]
meta = json.loads(data[12:12 + json_len])
listed = data[12 + json_len:-32]
parts = [listed[i:i + 32] for i in range(0, len(listed), 32)]
if sys.argv[2] == "rows":
    meta["details"]["tables"][sys.argv[3]] = int(sys.argv[4])
else:
    first, second = int(sys.argv[2]), int(sys.argv[3])
    parts[first], parts[second] = parts[second], parts[first]
    if magic == b"UKSNAP1\n":
        image_list = b"".join(parts)
    else:
        read = chunk_reader(os.path.dirname(os.path.dirname(os.path.abspath(path))))
        image_list = b"".join(read(block) for block in parts)
    meta["image_hash"] = hashlib.sha256(image_list).hexdigest()
body = json.dumps(meta, separators=(",", ":")).encode()
out = magic + struct.pack("<I", len(body)) + body + b"".join(parts)
open(path, "wb").write(out + hashlib.sha256(out).digest())
