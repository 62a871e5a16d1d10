#!/usr/bin/env python3
"""Split a golden .bgp file (concatenated BGP messages) and decode it.

Independent of the tern codec; stdlib only.  The session parameters that the
wire format depends on are taken from the daemon's OPEN (first message):
4-octet AS is assumed negotiated iff the daemon offered it, ADD-PATH is
assumed negotiated for every AFI/SAFI where the daemon offered "send" (the
recorder always answers with "receive").  --no-addpath overrides that.

  inspect.py FILE...            human readable dump
  inspect.py --routes FILE      one line per route / per message (expect format)
"""
import ipaddress
import struct
import sys

TYPES = {1: "OPEN", 2: "UPDATE", 3: "NOTIFICATION", 4: "KEEPALIVE", 5: "ROUTE-REFRESH"}
FAM = {(1, 1): "ipv4-unicast", (2, 1): "ipv6-unicast", (1, 4): "ipv4-labeled",
       (2, 4): "ipv6-labeled", (1, 128): "vpnv4", (2, 128): "vpnv6",
       (1, 2): "ipv4-multicast", (2, 2): "ipv6-multicast"}
WKC = {0xFFFFFF01: "no-export", 0xFFFFFF02: "no-advertise",
       0xFFFFFF03: "no-export-subconfed", 0xFFFF0000: "graceful-shutdown",
       0xFFFFFF04: "nopeer", 0xFFFF029A: "blackhole"}


CANON_FLAGS = {1: 0x40, 2: 0x40, 3: 0x40, 4: 0x80, 5: 0x40, 6: 0x40, 7: 0xC0,
               8: 0xC0, 9: 0x80, 10: 0x80, 14: 0x80, 15: 0x80, 16: 0xC0,
               17: 0xC0, 18: 0xC0, 32: 0xC0}


def split(data):
    off = 0
    out = []
    while off < len(data):
        assert data[off:off + 16] == b"\xff" * 16, "bad marker at %d" % off
        ln, t = struct.unpack("!HB", data[off + 16:off + 19])
        assert 19 <= ln <= 65535 and off + ln <= len(data), "bad length at %d" % off
        out.append((off, t, data[off:off + ln]))
        off += ln
    return out


def parse_caps(body):
    plen = body[9]
    params = body[10:10 + plen]
    caps = []
    i = 0
    while i < len(params):
        pt, pl = params[i], params[i + 1]
        pv = params[i + 2:i + 2 + pl]
        i += 2 + pl
        if pt != 2:
            continue
        j = 0
        while j < len(pv):
            c, cl = pv[j], pv[j + 1]
            caps.append((c, pv[j + 2:j + 2 + cl]))
            j += 2 + cl
    return caps


def fmt_rd(b):
    t = struct.unpack("!H", b[:2])[0]
    if t == 0:
        a, n = struct.unpack("!HI", b[2:])
        return "%d:%d" % (a, n)
    if t == 1:
        return "%s:%d" % (ipaddress.IPv4Address(b[2:6]), struct.unpack("!H", b[6:])[0])
    if t == 2:
        a, n = struct.unpack("!IH", b[2:])
        return "%d:%d" % (a, n) if a > 65535 else "%dL:%d" % (a, n)
    return "type%d:%s" % (t, b[2:].hex())


def fmt_nh(b, safi):
    """Decode an MP_REACH next hop of any length."""
    parts = []
    i = 0
    n = len(b)
    if safi == 128:  # RD (always 0) + address, possibly twice
        if n == 12:
            return "rd=%s,%s" % (fmt_rd(b[:8]), ipaddress.IPv4Address(b[8:12]))
        if n == 24:
            return "rd=%s,%s" % (fmt_rd(b[:8]), ipaddress.IPv6Address(b[8:24]))
        if n == 48:
            return "rd=%s,%s,rd=%s,%s" % (fmt_rd(b[:8]), ipaddress.IPv6Address(b[8:24]),
                                          fmt_rd(b[24:32]), ipaddress.IPv6Address(b[32:48]))
        return "raw:" + b.hex()
    if n == 4:
        return str(ipaddress.IPv4Address(b))
    if n == 16:
        return str(ipaddress.IPv6Address(b))
    if n == 32:
        return "%s,%s" % (ipaddress.IPv6Address(b[:16]), ipaddress.IPv6Address(b[16:]))
    return "raw:" + b.hex()


def parse_nlri(b, afi, safi, addpath, withdraw=False):
    out = []
    i = 0
    while i < len(b):
        r = {}
        if addpath:
            r["path_id"] = struct.unpack("!I", b[i:i + 4])[0]
            i += 4
        bits = b[i]
        i += 1
        nb = (bits + 7) // 8
        data = b[i:i + nb]
        i += nb
        if safi in (4, 128):
            labels = []
            while True:
                v = int.from_bytes(data[:3], "big")
                data = data[3:]
                bits -= 24
                labels.append(v)
                if v & 1 or v == 0x800000 or v == 0 or not data:
                    break
            r["label"] = "/".join(str(v >> 4) if v != 0x800000 else "0x800000" for v in labels)
            if safi == 128:
                r["rd"] = fmt_rd(data[:8])
                data = data[8:]
                bits -= 64
        alen = 4 if afi == 1 else 16
        addr = data + b"\x00" * (alen - len(data))
        ip = ipaddress.IPv4Address(addr) if afi == 1 else ipaddress.IPv6Address(addr)
        r["prefix"] = "%s/%d" % (ip, bits)
        out.append(r)
    return out


def fmt_aspath(v, as4):
    w = 4 if as4 else 2
    segs = []
    i = 0
    while i < len(v):
        st, cnt = v[i], v[i + 1]
        i += 2
        asns = [int.from_bytes(v[i + k * w:i + k * w + w], "big") for k in range(cnt)]
        i += cnt * w
        s = " ".join(map(str, asns))
        segs.append({1: "{%s}", 2: "%s", 3: "(%s)", 4: "[%s]"}.get(st, "?%s") % s)
    return " ".join(segs)


def fmt_ext(b):
    out = []
    for k in range(0, len(b), 8):
        e = b[k:k + 8]
        t, st = e[0], e[1]
        name = {2: "rt", 3: "soo"}.get(st)
        if t in (0x00, 0x40) and name:
            out.append("%s:%d:%d" % (name, *struct.unpack("!HI", e[2:])))
        elif t in (0x01, 0x41) and name:
            out.append("%s:%s:%d" % (name, ipaddress.IPv4Address(e[2:6]), struct.unpack("!H", e[6:])[0]))
        elif t in (0x02, 0x42) and name:
            out.append("%s:%d:%d" % (name, *struct.unpack("!IH", e[2:])))
        else:
            out.append("raw:" + e.hex())
    return " ".join(out)


def parse_attrs(a, as4, addpath_fams):
    attrs = []  # (code, flags, text)
    mp = []  # (kind, family, nh, routes)
    i = 0
    while i < len(a):
        fl, code = a[i], a[i + 1]
        if fl & 0x10:
            ln = struct.unpack("!H", a[i + 2:i + 4])[0]
            v = a[i + 4:i + 4 + ln]
            i += 4 + ln
        else:
            ln = a[i + 2]
            v = a[i + 3:i + 3 + ln]
            i += 3 + ln
        if code == 1:
            t = "origin=" + {0: "igp", 1: "egp", 2: "incomplete"}.get(v[0], str(v[0]))
        elif code == 2:
            t = "as_path=[%s]" % fmt_aspath(v, as4)
        elif code == 17:
            t = "as4_path=[%s]" % fmt_aspath(v, True)
        elif code == 3:
            t = "nh=%s" % ipaddress.IPv4Address(v)
        elif code == 4:
            t = "med=%d" % struct.unpack("!I", v)[0]
        elif code == 5:
            t = "local_pref=%d" % struct.unpack("!I", v)[0]
        elif code == 6:
            t = "atomic_aggregate"
        elif code in (7, 18):
            n = "aggregator" if code == 7 else "as4_aggregator"
            if len(v) == 8:
                t = "%s=%d,%s" % (n, struct.unpack("!I", v[:4])[0], ipaddress.IPv4Address(v[4:]))
            else:
                t = "%s=%d,%s" % (n, struct.unpack("!H", v[:2])[0], ipaddress.IPv4Address(v[2:]))
        elif code == 8:
            cs = [struct.unpack("!I", v[k:k + 4])[0] for k in range(0, len(v), 4)]
            t = "communities=" + ",".join(WKC.get(c, "%d:%d" % (c >> 16, c & 0xFFFF)) for c in cs)
        elif code == 9:
            t = "originator_id=%s" % ipaddress.IPv4Address(v)
        elif code == 10:
            t = "cluster_list=" + ",".join(str(ipaddress.IPv4Address(v[k:k + 4])) for k in range(0, len(v), 4))
        elif code == 16:
            t = "ext_communities=" + fmt_ext(v).replace(" ", ",")
        elif code == 32:
            t = "large_communities=" + ",".join("%d:%d:%d" % struct.unpack("!III", v[k:k + 12]) for k in range(0, len(v), 12))
        elif code == 14:
            afi, safi, nhl = struct.unpack("!HBB", v[:4])
            nh = v[4:4 + nhl]
            rest = v[4 + nhl + 1:]  # skip reserved
            fam = FAM.get((afi, safi), "%d/%d" % (afi, safi))
            routes = parse_nlri(rest, afi, safi, (afi, safi) in addpath_fams)
            mp.append(("reach", fam, nhl, fmt_nh(nh, safi), routes))
            t = "mp_reach(%s,nh_len=%d)" % (fam, nhl)
        elif code == 15:
            afi, safi = struct.unpack("!HB", v[:3])
            fam = FAM.get((afi, safi), "%d/%d" % (afi, safi))
            routes = parse_nlri(v[3:], afi, safi, (afi, safi) in addpath_fams, True)
            mp.append(("unreach", fam, None, None, routes))
            t = "mp_unreach(%s)" % fam
        else:
            t = "attr%d=%s" % (code, v.hex())
        # mark flag octets that differ from the minimal RFC encoding (e.g. the
        # extended-length bit on a short attribute): a byte-exact re-encoder
        # must keep them
        canon = CANON_FLAGS.get(code)
        if canon is not None and len(v) > 255:
            canon |= 0x10
        if canon is None or fl != canon:
            t += "{flags=0x%02x}" % fl
        attrs.append((code, fl, t))
    return attrs, mp


def fmt_route(fam, r, nh=None):
    s = fam
    if "path_id" in r:
        s += " path_id=%d" % r["path_id"]
    if "rd" in r:
        s += " rd=%s" % r["rd"]
    if "label" in r:
        s += " label=%s" % r["label"]
    s += " prefix=%s" % r["prefix"]
    if nh is not None:
        s += " nh=%s" % nh
    return s


def session_params(msgs, force_no_addpath=False, force_no_as4=False):
    as4 = False
    addpath = set()
    for _, t, m in msgs:
        if t == 1:
            for c, v in parse_caps(m[19:]):
                if c == 65 and not force_no_as4:
                    as4 = True
                if c == 69 and not force_no_addpath:
                    for k in range(0, len(v), 4):
                        afi, safi, mode = struct.unpack("!HBB", v[k:k + 4])
                        if mode & 2:
                            addpath.add((afi, safi))
            break
    return as4, addpath


def dump(path, routes_only=False, force_no_addpath=False, force_no_as4=False):
    data = open(path, "rb").read()
    msgs = split(data)
    # files recorded with recorder.py --no-as4 carry "as2" in their name
    as4, addpath = session_params(msgs, force_no_addpath,
                                  force_no_as4 or "as2" in path.rsplit("/", 1)[-1])
    lines = []
    if not routes_only:
        lines.append("# %s: %d bytes, %d messages; as4=%s addpath=%s" % (
            path, len(data), len(msgs), as4,
            ",".join(FAM.get(f, str(f)) for f in sorted(addpath)) or "none"))
    for idx, (off, t, m) in enumerate(msgs):
        body = m[19:]
        head = "msg %d @%d %s len=%d" % (idx, off, TYPES.get(t, str(t)), len(m))
        if t == 1:
            ver, as2, hold = struct.unpack("!BHH", body[:5])
            caps = parse_caps(body)
            cs = []
            for c, v in caps:
                if c == 1:
                    afi, _, safi = struct.unpack("!HBB", v)
                    cs.append("mp:" + FAM.get((afi, safi), "%d/%d" % (afi, safi)))
                elif c == 65:
                    cs.append("as4:%d" % struct.unpack("!I", v)[0])
                elif c == 69:
                    cs.append("add-path:" + ",".join(
                        "%s:%d" % (FAM.get(struct.unpack("!HB", v[k:k + 3])), v[k + 3])
                        for k in range(0, len(v), 4)))
                elif c == 5:
                    cs.append("ext-nh:" + ",".join(
                        "%d/%d/%d" % struct.unpack("!HHH", v[k:k + 6]) for k in range(0, len(v), 6)))
                else:
                    cs.append("cap%d" % c)
            lines.append("%s as=%d hold=%d id=%s caps=%s" % (
                head, as2, hold, ipaddress.IPv4Address(body[5:9]), " ".join(cs)))
            continue
        if t != 2:
            lines.append(head)
            continue
        wl = struct.unpack("!H", body[:2])[0]
        wd = body[2:2 + wl]
        al = struct.unpack("!H", body[2 + wl:4 + wl])[0]
        a = body[4 + wl:4 + wl + al]
        nlri = body[4 + wl + al:]
        if wl == 0 and al == 0 and not nlri:
            lines.append(head + " eor=ipv4-unicast")
            continue
        attrs, mp = parse_attrs(a, as4, addpath)
        if not nlri and not wd and len(mp) == 1 and mp[0][0] == "unreach" and not mp[0][4] and len(attrs) == 1:
            lines.append(head + " eor=" + mp[0][1])
            continue
        lines.append(head + " attrs: " + " ".join(t for _, _, t in attrs))
        ap4 = (1, 1) in addpath
        for r in parse_nlri(wd, 1, 1, ap4, True):
            lines.append("  withdraw " + fmt_route("ipv4-unicast", r))
        for kind, fam, nhl, nh, routes in mp:
            for r in routes:
                if kind == "reach":
                    lines.append("  announce " + fmt_route(fam, r, nh) + " nh_len=%d" % nhl)
                else:
                    lines.append("  withdraw " + fmt_route(fam, r))
        nh4 = [t[3:] for c, _, t in attrs if c == 3]
        for r in parse_nlri(nlri, 1, 1, ap4):
            lines.append("  announce " + fmt_route("ipv4-unicast", r, nh4[0] if nh4 else "?") + " nh_len=4")
    return lines


def main():
    args = sys.argv[1:]
    routes = "--routes" in args
    noap = "--no-addpath" in args
    noas4 = "--no-as4" in args
    files = [a for a in args if not a.startswith("--")]
    for f in files:
        for line in dump(f, routes, noap, noas4):
            print(line)


if __name__ == "__main__":
    main()
