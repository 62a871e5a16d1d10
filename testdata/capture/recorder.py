#!/usr/bin/env python3
"""Minimal BGP speaker that records, byte for byte, everything a daemon sends.

It opens (or accepts) one TCP session, waits for the daemon's OPEN, answers
with an OPEN that mirrors the daemon's capabilities (multiprotocol, route
refresh, 4-octet AS with our own AS, ADD-PATH with the receive bit where the
daemon offers send, extended next hop), sends KEEPALIVEs, and appends every
message the daemon sends (OPEN, UPDATEs, End-of-RIB, KEEPALIVEs, ...) verbatim
to the output file: concatenated wire messages, each with its 19-octet header.

It stops once at least one UPDATE has arrived and no UPDATE has come for
--quiet seconds, then sends a NOTIFICATION Cease/Administrative Shutdown.

stdlib only.  Usage examples:
  recorder.py --connect 10.0.0.1 --bind 10.0.0.2 --as 65001 --id 10.0.0.2 --out x.bgp
  recorder.py --listen 10.0.0.2 --as 65001 --id 10.0.0.2 --out x.bgp
"""
import argparse
import ipaddress
import select
import socket
import struct
import sys
import time

MARKER = b"\xff" * 16
OPEN, UPDATE, NOTIFICATION, KEEPALIVE, ROUTE_REFRESH = 1, 2, 3, 4, 5
AS_TRANS = 23456


def log(*a):
    print("recorder:", *a, file=sys.stderr, flush=True)


def msg(mtype, body=b""):
    return MARKER + struct.pack("!HB", 19 + len(body), mtype) + body


def parse_open(body):
    """Return (version, as2, hold, bgp_id, [(code, value)])."""
    ver, as2, hold = struct.unpack("!BHH", body[:5])
    bgp_id = body[5:9]
    plen = body[9]
    off = 10
    if plen == 255 and len(body) > 10 and body[10] == 255:  # RFC 9072
        plen = struct.unpack("!H", body[11:13])[0]
        off = 13
        ext = True
    else:
        ext = False
    params = body[off:off + plen]
    caps = []
    i = 0
    while i < len(params):
        ptype = params[i]
        if ext:
            pl = struct.unpack("!H", params[i + 1:i + 3])[0]
            pv = params[i + 3:i + 3 + pl]
            i += 3 + pl
        else:
            pl = params[i + 1]
            pv = params[i + 2:i + 2 + pl]
            i += 2 + pl
        if ptype != 2:
            continue
        j = 0
        while j < len(pv):
            code, cl = pv[j], pv[j + 1]
            caps.append((code, pv[j + 2:j + 2 + cl]))
            j += 2 + cl
    return ver, as2, hold, bgp_id, caps


def build_open(their_caps, my_as, my_id, hold, addpath=True, gr=True, as4=True):
    caps = []
    seen = set()
    for code, val in their_caps:
        if code == 1:  # multiprotocol: echo every AFI/SAFI
            caps.append((1, val))
        elif code == 2 and 2 not in seen:  # route refresh
            caps.append((2, b""))
        elif code == 70 and 70 not in seen:  # enhanced route refresh
            caps.append((70, b""))
        elif code == 5:  # extended next hop: echo
            caps.append((5, val))
        elif code == 65 and as4 and 65 not in seen:  # 4-octet AS: ours
            caps.append((65, struct.pack("!I", my_as)))
        elif code == 69 and addpath:  # ADD-PATH: receive what they send
            out = b""
            for k in range(0, len(val), 4):
                afi, safi, mode = struct.unpack("!HBB", val[k:k + 4])
                if mode & 2:
                    out += struct.pack("!HBB", afi, safi, 1)
            if out:
                caps.append((69, out))
        elif code == 64 and gr and 64 not in seen:
            # graceful restart, helper only (no AFI/SAFI, restart time 120):
            # some daemons (FRR) send End-of-RIB only to GR-capable peers.
            caps.append((64, struct.pack("!H", 120)))
        seen.add(code)
    if (65 not in seen or not as4) and my_as > 65535:
        raise SystemExit("daemon did not offer 4-octet AS but our AS is > 65535")
    params = b""
    for code, val in caps:
        cap = struct.pack("!BB", code, len(val)) + val
        params += struct.pack("!BB", 2, len(cap)) + cap
    as2 = my_as if my_as <= 65535 else AS_TRANS
    body = struct.pack("!BHH", 4, as2, hold) + socket.inet_aton(my_id)
    body += struct.pack("!B", len(params)) + params
    return msg(OPEN, body), caps


def describe_caps(caps):
    names = {1: "mp", 2: "rr", 5: "ext-nh", 6: "ext-msg", 64: "gr", 65: "as4",
             69: "add-path", 70: "enh-rr", 71: "llgr", 73: "fqdn", 9: "role",
             128: "rr-old", 75: "sw-version"}
    out = []
    for code, val in caps:
        n = names.get(code, str(code))
        if code == 1:
            afi, _, safi = struct.unpack("!HBB", val)
            n += "(%d/%d)" % (afi, safi)
        elif code == 65:
            n += "(%d)" % struct.unpack("!I", val)
        elif code == 69:
            n += "(" + ",".join("%d/%d:%d" % struct.unpack("!HBB", val[k:k + 4])
                                for k in range(0, len(val), 4)) + ")"
        out.append(n)
    return " ".join(out)


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.closed = False

    def feed(self, timeout):
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return
        data = self.sock.recv(65536)
        if not data:
            self.closed = True
        self.buf += data

    def messages(self):
        while len(self.buf) >= 19:
            if self.buf[:16] != MARKER:
                raise SystemExit("bad marker in stream")
            ln = struct.unpack("!H", self.buf[16:18])[0]
            if ln < 19 or ln > 65535:
                raise SystemExit("bad length %d" % ln)
            if len(self.buf) < ln:
                return
            m, self.buf = self.buf[:ln], self.buf[ln:]
            yield m


def is_eor(m):
    body = m[19:]
    if body == b"\x00\x00\x00\x00":
        return "1/1"
    # MP_UNREACH only, empty NLRI
    if len(body) >= 4 and body[:2] == b"\x00\x00":
        alen = struct.unpack("!H", body[2:4])[0]
        attrs = body[4:4 + alen]
        if 4 + alen == len(body) and len(attrs) >= 6:
            flags, code = attrs[0], attrs[1]
            if code == 15:
                hl = 4 if flags & 0x10 else 3
                vlen = struct.unpack("!H", attrs[2:4])[0] if hl == 4 else attrs[2]
                if vlen == 3 and hl + vlen == len(attrs):
                    afi, safi = struct.unpack("!HB", attrs[hl:hl + 3])
                    return "%d/%d" % (afi, safi)
    return None


def main():
    ap = argparse.ArgumentParser()
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--connect", help="daemon address to connect to")
    g.add_argument("--listen", help="local address to listen on")
    ap.add_argument("--bind", help="local source address for --connect")
    ap.add_argument("--port", type=int, default=179)
    ap.add_argument("--as", dest="my_as", type=int, required=True)
    ap.add_argument("--id", dest="my_id", required=True)
    ap.add_argument("--hold", type=int, default=180)
    ap.add_argument("--no-addpath", action="store_true")
    ap.add_argument("--no-gr", action="store_true")
    ap.add_argument("--no-as4", action="store_true",
                    help="do not offer 4-octet AS (forces AS_TRANS/AS4_PATH)")
    ap.add_argument("--quiet", type=float, default=3.0)
    ap.add_argument("--timeout", type=float, default=90.0)
    ap.add_argument("--connect-timeout", type=float, default=30.0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    start = time.time()
    if a.connect:
        fam = socket.AF_INET6 if ":" in a.connect else socket.AF_INET
        while True:
            s = socket.socket(fam, socket.SOCK_STREAM)
            if a.bind:
                s.bind((a.bind, 0))
            try:
                s.connect((a.connect, a.port))
                break
            except OSError as e:
                s.close()
                if time.time() - start > a.connect_timeout:
                    raise SystemExit("connect failed: %s" % e)
                time.sleep(0.5)
    else:
        fam = socket.AF_INET6 if ":" in a.listen else socket.AF_INET
        ls = socket.socket(fam, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((a.listen, a.port))
        ls.listen(1)
        ls.settimeout(a.connect_timeout)
        s, peer = ls.accept()
        ls.close()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    log("session %s -> %s" % (s.getsockname()[0], s.getpeername()[0]))

    rd = Reader(s)
    recorded = []
    sent_open = False
    n_updates = 0
    last_update = None
    last_ka = time.time()
    eors = []
    their_ka = None
    while True:
        now = time.time()
        if now - start > a.timeout:
            log("overall timeout")
            break
        if last_update is not None and now - last_update >= a.quiet:
            break
        if sent_open and their_ka and now - last_ka > their_ka:
            s.sendall(msg(KEEPALIVE))
            last_ka = now
        rd.feed(0.2)
        for m in rd.messages():
            recorded.append(m)
            t = m[18]
            if t == OPEN:
                ver, as2, hold, bid, caps = parse_open(m[19:])
                log("their OPEN: as=%d hold=%d id=%s caps: %s" % (
                    as2, hold, socket.inet_ntoa(bid), describe_caps(caps)))
                our, ourcaps = build_open(caps, a.my_as, a.my_id, a.hold,
                                          addpath=not a.no_addpath, gr=not a.no_gr,
                                          as4=not a.no_as4)
                log("our OPEN caps: %s" % describe_caps(ourcaps))
                s.sendall(our + msg(KEEPALIVE))
                sent_open = True
                h = min(hold, a.hold)
                their_ka = h / 3 if h else None
                last_ka = time.time()
            elif t == UPDATE:
                n_updates += 1
                last_update = time.time()
                e = is_eor(m)
                if e:
                    eors.append(e)
            elif t == NOTIFICATION:
                log("NOTIFICATION from daemon: code %d subcode %d data %s" % (
                    m[19], m[20], m[21:].hex()))
                with open(a.out, "wb") as f:
                    f.write(b"".join(recorded))
                raise SystemExit(2)
        if rd.closed:
            log("connection closed by daemon")
            break
    try:
        s.sendall(msg(NOTIFICATION, b"\x06\x02"))
        time.sleep(0.2)
    except OSError:
        pass
    s.close()
    with open(a.out, "wb") as f:
        f.write(b"".join(recorded))
    log("wrote %s: %d messages, %d updates, EoR for %s" % (
        a.out, len(recorded), n_updates, ",".join(eors) or "-"))
    if n_updates == 0:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
