#!/usr/bin/env python3
"""Writes seed inputs for the fuzz targets in fuzz/ into fuzz/corpus/<target>/.

Seeds come from a few hand-made messages (below) and from every golden capture in
testdata/golden/*.bgp: the whole stream (for `message`, under several session contexts),
each OPEN and UPDATE body, each capability, attribute, NLRI field and MP_REACH_NLRI next hop
found in them. Each seed is named by the SHA-1 of its content, as libFuzzer names corpus
files, so running this again adds nothing new. The corpus directory is not committed.

Usage: scripts/fuzz_seeds.py [CORPUS_DIR]   (default: fuzz/corpus next to this script)
"""

import glob
import hashlib
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER = b"\xff" * 16
KNOWN = [(1, 1), (2, 1), (1, 4), (2, 4), (1, 128), (2, 128)]  # Family::KNOWN order


def msg(kind, body):
    return MARKER + struct.pack(">HB", 19 + len(body), kind) + body


def attr(flags, tc, value):
    if flags & 0x10 or len(value) > 255:
        return bytes([flags | 0x10, tc]) + struct.pack(">H", len(value)) + value
    return bytes([flags, tc, len(value)]) + value


def update_body(withdrawn, attrs, nlri):
    a = b"".join(attrs)
    return struct.pack(">H", len(withdrawn)) + withdrawn + struct.pack(">H", len(a)) + a + nlri


# Hand-made messages: what the golden captures may not have.
OPEN_CAPS = bytes.fromhex(
    "04" "fde8" "00b4" "01010109"  # version, AS 65000, hold 180, id 1.1.1.9
    "2c"  # optional parameters length
    "0206" "0104" "00020080"  # MP VPNv6
    "0206" "0104" "00010004"  # MP IPv4 labeled
    "0202" "0200"  # route refresh
    "0206" "4104" "fa56ea00"  # 4-octet AS 4200000000
    "020a" "4508" "00010103" "00028003"  # ADD-PATH IPv4 unicast + VPNv6, both
    "0208" "4006" "8078" "00018080"  # graceful restart
)
OPEN_EXT = bytes.fromhex(
    "04" "fde8" "005a" "0a000001" "ff" "ff" "000b"  # RFC 9072 extended parameters
    "02" "0008" "0104" "00010001" "0600"
)
VPNV6_NH48 = bytes(8) + bytes.fromhex("20010db8000000000000000000000001") + bytes(8) + bytes.fromhex(
    "fe800000000000000000000000000001"
)
VPNV6_NLRI = bytes([24 + 64 + 48]) + bytes.fromhex("03e801") + bytes.fromhex("0000006400000001") + bytes.fromhex(
    "20010db80001"
)
LABELED_WITHDRAW = bytes([24 + 8, 0x80, 0, 0, 10])
HAND_UPDATES = [
    update_body(
        b"",
        [
            attr(0x40, 1, b"\x00"),
            attr(0x50, 2, bytes.fromhex("020100000064")),  # Extended Length on a short value
            attr(0x80, 14, struct.pack(">HBB", 2, 128, 48) + VPNV6_NH48 + b"\x00" + VPNV6_NLRI),
            attr(0xC0, 16, bytes.fromhex("0002fde800000064")),
            attr(0xC0, 32, struct.pack(">III", 65000, 1, 2)),
        ],
        b"",
    ),
    update_body(b"", [attr(0x90, 15, struct.pack(">HB", 1, 4) + LABELED_WITHDRAW)], b""),
    update_body(bytes([8, 10]), [], b""),
    update_body(
        b"",
        [
            attr(0x40, 1, b"\x00"),
            attr(0x40, 2, bytes.fromhex("0202fde8fde9")),
            attr(0x40, 3, bytes([10, 0, 0, 1])),
            attr(0x80, 4, bytes(4)),
            attr(0x40, 5, bytes([0, 0, 0, 100])),
            attr(0x40, 6, b""),
            attr(0xC0, 7, bytes.fromhex("fde80a000001")),
            attr(0xC0, 8, bytes.fromhex("fde80001")),
            attr(0x80, 9, bytes([1, 1, 1, 1])),
            attr(0x80, 10, bytes([2, 2, 2, 2])),
            attr(0xC0, 17, bytes.fromhex("020100011170")),
            attr(0xC0, 18, bytes.fromhex("000111700a000001")),
            attr(0xC0, 99, b"opaque"),
        ],
        bytes([24, 10, 1, 2, 32, 10, 0, 0, 1]),
    ),
]
HAND_MESSAGES = (
    [msg(1, OPEN_CAPS), msg(1, OPEN_EXT), msg(4, b""), msg(5, bytes.fromhex("00010001")), msg(5, bytes.fromhex("00020280"))]
    + [msg(3, bytes([6, 2, 3]) + b"bye"), msg(3, bytes([3, 1]))]
    + [msg(2, b) for b in HAND_UPDATES]
)


def split_messages(stream):
    out = []
    while len(stream) >= 19 and stream[:16] == MARKER:
        (length,) = struct.unpack(">H", stream[16:18])
        if length < 19 or length > len(stream):
            break
        out.append((stream[18], stream[19:length]))
        stream = stream[length:]
    return out


def open_caps(body):
    """(code, value) of every capability in an OPEN body."""
    caps = []
    try:
        opt_len = body[9]
        params = body[10 : 10 + opt_len]
        ext = False
        if opt_len == 255 and body[10:11] == b"\xff":
            (plen,) = struct.unpack(">H", body[11:13])
            params, ext = body[13 : 13 + plen], True
        while params:
            kind = params[0]
            if ext:
                (ln,) = struct.unpack(">H", params[1:3])
                value, params = params[3 : 3 + ln], params[3 + ln :]
            else:
                ln = params[1]
                value, params = params[2 : 2 + ln], params[2 + ln :]
            while kind == 2 and len(value) >= 2:
                caps.append((value[0], value[2 : 2 + value[1]]))
                value = value[2 + value[1] :]
    except (IndexError, struct.error):
        pass
    return caps


def update_parts(body):
    """(withdrawn, [(flags, tc, value)], nlri) of an UPDATE body, or None."""
    try:
        (wl,) = struct.unpack(">H", body[0:2])
        withdrawn = body[2 : 2 + wl]
        (al,) = struct.unpack(">H", body[2 + wl : 4 + wl])
        attrs_bytes = body[4 + wl : 4 + wl + al]
        nlri = body[4 + wl + al :]
    except struct.error:
        return None
    attrs = []
    while len(attrs_bytes) >= 3:
        flags, tc = attrs_bytes[0], attrs_bytes[1]
        if flags & 0x10:
            (ln,) = struct.unpack(">H", attrs_bytes[2:4])
            value, attrs_bytes = attrs_bytes[4 : 4 + ln], attrs_bytes[4 + ln :]
        else:
            ln = attrs_bytes[2]
            value, attrs_bytes = attrs_bytes[3 : 3 + ln], attrs_bytes[3 + ln :]
        attrs.append((flags, tc, value))
    return withdrawn, attrs, nlri


class Corpus:
    def __init__(self, root):
        self.root = root
        self.count = {}

    def add(self, target, data):
        d = os.path.join(self.root, target)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, hashlib.sha1(data).hexdigest())
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
            self.count[target] = self.count.get(target, 0) + 1


def seed_messages(c, stream, ctxs):
    for ctx in ctxs:
        c.add("message", ctx + stream)
    for kind, body in split_messages(stream):
        if kind == 1:
            c.add("open", body)
            for code, value in open_caps(body):
                c.add("capability", bytes([code]) + value)
        elif kind == 2:
            c.add("update", body)
            parts = update_parts(body)
            if parts is None:
                continue
            withdrawn, attrs, nlri = parts
            for field in (withdrawn, nlri):
                if field:
                    c.add("nlri", field)
            for flags, tc, value in attrs:
                for ctx in ctxs:
                    c.add("attributes", bytes([flags]) + ctx + bytes([tc]) + value)
                if tc in (14, 15) and len(value) >= 3:
                    afi, safi = struct.unpack(">HB", value[:3])
                    sel = KNOWN.index((afi, safi)) if (afi, safi) in KNOWN else 7
                    if tc == 14 and len(value) >= 4:
                        nh_len = value[3]
                        c.add("nexthop", bytes([sel]) + value[4 : 4 + nh_len])
                        c.add("nlri", value[5 + nh_len :])
                    else:
                        c.add("nlri", value[3:])


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "fuzz", "corpus")
    c = Corpus(corpus)
    # Session contexts (flags, ADD-PATH families): 4-octet AS IBGP, 4-octet AS EBGP, 2-octet
    # AS EBGP, each without and with ADD-PATH on every family; see tern_fuzz::ctx_from.
    ctxs = [bytes([f, ap]) for f in (0x01, 0x03, 0x02) for ap in (0x00, 0x3F)]
    seed_messages(c, b"".join(HAND_MESSAGES), ctxs)
    goldens = sorted(glob.glob(os.path.join(ROOT, "testdata", "golden", "*.bgp")))
    for path in goldens:
        with open(path, "rb") as f:
            seed_messages(c, f.read(), ctxs)
    for i, fam in enumerate(KNOWN):
        c.add("nexthop", bytes([i]) + (bytes(8) if fam[1] == 128 else b"") + bytes([10, 0, 0, 1]))
    c.add("nexthop", bytes([5]) + VPNV6_NH48)
    c.add("nlri", VPNV6_NLRI)
    c.add("nlri", LABELED_WITHDRAW)
    added = ", ".join(f"{t} {n}" for t, n in sorted(c.count.items())) or "nothing new"
    print(f"fuzz seeds: {len(goldens)} golden file(s); added: {added}")


if __name__ == "__main__":
    main()
