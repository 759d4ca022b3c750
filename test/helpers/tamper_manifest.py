#!/usr/bin/env python3
"""Rewrites an upkeep manifest so it stays self-consistent but describes another image: two
chunk hashes swap places, and the image hash, the JSON length and the trailing checksum are
recomputed (docs/repository-format.md). What a restore of it rebuilds is a malformed database
whose every chunk and whose image hash check out.

With "rows TABLE N" instead of two chunk numbers, it changes the row count the backup
recorded for TABLE (a server engine's details) to N."""
import hashlib
import json
import struct
import sys

path = sys.argv[1]
data = open(path, "rb").read()
assert data[:8] == b"UKSNAP1\n", "not a manifest"
json_len = struct.unpack("<I", data[8:12])[0]
meta = json.loads(data[12:12 + json_len])
hashes = data[12 + json_len:-32]
chunks = [hashes[i:i + 32] for i in range(0, len(hashes), 32)]
if sys.argv[2] == "rows":
    meta["details"]["tables"][sys.argv[3]] = int(sys.argv[4])
else:
    first, second = int(sys.argv[2]), int(sys.argv[3])
    chunks[first], chunks[second] = chunks[second], chunks[first]
joined = b"".join(chunks)
meta["image_hash"] = hashlib.sha256(joined).hexdigest()
body = json.dumps(meta, separators=(",", ":")).encode()
out = b"UKSNAP1\n" + struct.pack("<I", len(body)) + body + joined
open(path, "wb").write(out + hashlib.sha256(out).digest())
