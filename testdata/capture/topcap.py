#!/usr/bin/env python3
"""Wrap a golden .bgp file in a synthetic pcap (one TCP stream from port 179)
so Wireshark/tshark can decode it independently:
    topcap.py in.bgp out.pcap && tshark -r out.pcap -V -d tcp.port==179,bgp
The addresses (192.0.2.1 -> 192.0.2.2) are fake; only the payload matters.
Each BGP message goes in its own segment."""
import struct
import sys


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def main():
    data = open(sys.argv[1], "rb").read()
    out = open(sys.argv[2], "wb")
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    seq = 1000
    off = 0
    t = 0
    src, dst = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])
    while off < len(data):
        ln = struct.unpack("!H", data[off + 16:off + 18])[0]
        payload = data[off:off + ln]
        off += ln
        tcp = struct.pack("!HHIIBBHHH", 179, 40000, seq, 1, 5 << 4, 0x18, 65535, 0, 0)
        pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
        c = csum(pseudo + tcp + payload)
        tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 0, 0x4000, 64, 6, 0, src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        frame = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + tcp + payload
        out.write(struct.pack("<IIII", t, 0, len(frame), len(frame)))
        out.write(frame)
        seq += len(payload)
        t += 1


if __name__ == "__main__":
    main()
