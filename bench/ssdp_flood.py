"""What the Manager's UPnP/SSDP answers cost a network: a flood of searches against a real Manager.

Starts a Manager (`bench/_harness.py`) with `autodiscoverable: true`, listening on all addresses
(`--listen-host 0.0.0.0`; give `127.0.0.1` to see that a loopback Manager opens no SSDP socket),
then sends `--queries` well-formed M-SEARCHes for Flamenco's service type from one loopback source
within about a second, and the same from this machine's address towards the network when it is not
a private one (a stand-in for a spoofed public source). It prints how many answers came back and
their size against the query's: the amplification an attacker gets.

    .venv/bin/python bench/ssdp_flood.py [--queries 5000] [--ssdp-port 1900] [--listen-host 0.0.0.0]

`--ssdp-port` other than 1900 sets `autodiscovery_port` (a Manager from before that setting always
uses 1900).
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import ManagerProcess  # noqa: E402

#: Where a Manager's answers may go: RFC 1918, link-local and loopback (Python's `is_private` also
#: counts documentation and other reserved ranges, which a LAN never uses).
PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
                                             "127.0.0.0/8")]
SEARCH = (b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\n"
          b"MX: 1\r\nST: urn:flamenco:manager:0\r\n\r\n")


def outward_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.123", 9))  # no packet is sent
            return s.getsockname()[0]
        except OSError:
            return None


def flood(source: str, target: tuple[str, int], queries: int, listen_s: float = 1.5) -> tuple[int, int, float]:
    """(answers, answer bytes, seconds spent sending) for `queries` searches from `source`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((source, 0))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    start = time.monotonic()
    for i in range(queries):
        sock.sendto(SEARCH, target)
        if i % 100 == 99:  # spread over about a second
            time.sleep(max(0.0, start + (i + 1) / queries - time.monotonic()))
    sent_s = time.monotonic() - start
    sock.settimeout(0.2)
    answers, size, deadline = 0, 0, time.monotonic() + listen_s
    while time.monotonic() < deadline:
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        answers, size = answers + 1, size + len(data)
    sock.close()
    return answers, size, sent_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--ssdp-port", type=int, default=1900)
    parser.add_argument("--listen-host", default="0.0.0.0")
    args = parser.parse_args()
    extra = {"autodiscovery_port": args.ssdp_port} if args.ssdp_port != 1900 else {}
    manager = ManagerProcess(autodiscoverable=True, **extra)
    cfg = yaml.safe_load(manager.config_path.read_text())
    cfg["listen"] = f"{args.listen_host}:{manager.port}"
    manager.config_path.write_text(yaml.safe_dump(cfg))
    with manager:
        time.sleep(1.0)  # the advertiser starts after the HTTP server
        print(f"query: {len(SEARCH)} bytes; manager listening on {args.listen_host}, ssdp port {args.ssdp_port}")
        sources = [("loopback", "127.0.0.1")]
        outward = outward_address()
        if outward and not any(ipaddress.ip_address(outward) in net for net in PRIVATE):
            sources.append(("non-private", outward))
        elif outward:
            print(f"({outward} is private: no non-private source to try from this machine)")
        for label, source in sources:
            answers, size, sent_s = flood(source, ("127.0.0.1" if label == "loopback" else source, args.ssdp_port),
                                          args.queries)
            each = size // answers if answers else 0
            print(f"{label} source {source}: {args.queries} queries in {sent_s:.2f} s -> {answers} answers, "
                  f"{size} bytes ({each} bytes each, {each / len(SEARCH):.1f}x the query)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
