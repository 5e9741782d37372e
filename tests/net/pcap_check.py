#!/usr/bin/env python3
"""pcap_check.py — reads a tcpdump capture (Ethernet, IPv4, TCP; Python
standard library only) and reports, for the test of links between parties:

  --markers FILE   a file of markers, one per line in hex: prints each marker
                   found in any reassembled TCP stream (exit 1 when one is)
  --tls13          every TCP stream that carries data starts with a TLS
                   handshake record, and every ServerHello selects TLS 1.3
                   (supported_versions = 0x0304); exit 1 otherwise
Prints the number of streams and bytes it saw.

usage: pcap_check.py CAPTURE.pcap [--markers FILE] [--tls13]
       pcap_check.py --vocab-markers VOCAB.bin MARKERS.hex
         writes the markers the tests plant: three runs of 3 consecutive
         lines of a vocabulary (lines 40, 80, 120), hex, one per line
"""
import struct
import sys


def streams(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != 1:
        sys.exit("pcap_check: link type %d, expected Ethernet (1)" % linktype)
    off, segs = 24, {}
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(pkt) < 34 or pkt[12:14] != b"\x08\x00":
            continue
        ip = pkt[14:]
        ihl = (ip[0] & 15) * 4
        if ip[9] != 6:
            continue
        total = struct.unpack(">H", ip[2:4])[0]
        src, dst = ip[12:16], ip[16:20]
        tcp = ip[ihl:total]
        sport, dport, seq = struct.unpack(">HHI", tcp[:8])
        doff = (tcp[12] >> 4) * 4
        payload = tcp[doff:]
        if payload:
            segs.setdefault((src, sport, dst, dport), {})[seq] = payload
    out = {}
    for flow, by_seq in segs.items():
        buf, nxt = bytearray(), None
        for seq in sorted(by_seq):
            p = by_seq[seq]
            if nxt is not None and seq < nxt:  # a retransmission's overlap
                p = p[nxt - seq:]
            buf += p
            nxt = seq + len(by_seq[seq]) if nxt is None or seq + len(by_seq[seq]) > nxt else nxt
        out[flow] = bytes(buf)
    return out


def server_hello_version(stream):
    """The version a ServerHello at the start of stream selects, or None."""
    if len(stream) < 5 or stream[0] != 0x16:
        return None
    body = stream[5:5 + struct.unpack(">H", stream[3:5])[0]]
    if not body or body[0] != 2:
        return None
    p = 4 + 2 + 32
    p += 1 + body[p]
    p += 2 + 1
    end = p + 2 + struct.unpack(">H", body[p:p + 2])[0]
    p += 2
    version = struct.unpack(">H", body[4:6])[0]
    while p + 4 <= end:
        typ, ln = struct.unpack(">HH", body[p:p + 4])
        if typ == 0x002B and ln == 2:
            version = struct.unpack(">H", body[p + 4:p + 6])[0]
        p += 4 + ln
    return version


def main():
    args = sys.argv[1:]
    if not args:
        sys.exit(__doc__)
    if args[0] == "--vocab-markers":
        v = open(args[1], "rb").read().split(b"\n")
        with open(args[2], "w") as f:
            for i in (40, 80, 120):
                f.write(b"\n".join(v[i:i + 3]).hex() + "\n")
        return
    st = streams(args[0])
    print("pcap_check: %d TCP streams, %d payload bytes" % (len(st), sum(len(s) for s in st.values())))
    bad = 0
    if "--markers" in args:
        markers = [bytes.fromhex(m) for m in open(args[args.index("--markers") + 1]).read().split() if m]
        for m in markers:
            for flow, s in st.items():
                if m in s:
                    print("pcap_check: marker %r in the stream %s:%d -> %s:%d" % (
                        m[:40], ".".join(map(str, flow[0])), flow[1], ".".join(map(str, flow[2])), flow[3]))
                    bad = 1
                    break
    if "--tls13" in args:
        hellos = 0
        for flow, s in st.items():
            if s[:1] != b"\x16":
                print("pcap_check: stream %s:%d -> %s:%d does not start with a TLS handshake record" % (
                    ".".join(map(str, flow[0])), flow[1], ".".join(map(str, flow[2])), flow[3]))
                bad = 1
            v = server_hello_version(s)
            if v is not None:
                hellos += 1
                if v != 0x0304:
                    print("pcap_check: a ServerHello selects version 0x%04x, not TLS 1.3" % v)
                    bad = 1
        print("pcap_check: %d ServerHellos, all TLS 1.3" % hellos if not bad else "pcap_check: TLS check failed")
        if hellos == 0:
            print("pcap_check: no ServerHello seen")
            bad = 1
    sys.exit(bad)


if __name__ == "__main__":
    main()
