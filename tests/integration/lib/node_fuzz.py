#!/usr/bin/env python3
"""Hostile network input against alpaserve node ports (CAF BASP, plain or TLS).

Sends, from several threads for --duration seconds, to every --port: random bytes, truncated
BASP frames, BASP headers announcing huge payloads, valid-looking BASP handshakes (followed by
a huge header), TLS ClientHellos (and full handshakes without a certificate), half-open and
silent connections. With --tls-cert/--tls-key (a certificate of the cluster's CA) the BASP cases
are also sent inside an authenticated TLS session. Meanwhile it samples VmRSS of every --pid.

Prints the tries and outcomes per case, the RSS of each process before and at its peak, and
exits 1 when a process died or its RSS rose by more than --max-rss-jump bytes.
"""
import argparse
import collections
import os
import random
import socket
import ssl
import struct
import sys
import threading
import time

BASP_HEADER = struct.Struct(">BBBBIQQQ")  # operation, 2 x padding, flags, payload_len, ...
OPS = range(0, 7)  # server_handshake .. heartbeat


def basp_header(op, payload_len, flags=0, zero_ids=False):
    if zero_ids:  # what a real handshake carries
        return BASP_HEADER.pack(op, 0, 0, flags, payload_len, 0, 0, 0)
    return BASP_HEADER.pack(op, 0, 0, flags, payload_len, random.getrandbits(64),
                            random.getrandbits(64), random.getrandbits(64))


def rss_of(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class Fuzzer:
    def __init__(self, args):
        self.args = args
        self.host = args.host
        self.ports = args.port
        self.outcomes = collections.Counter()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.held = []
        self.tls_client = None
        if args.tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.load_cert_chain(args.tls_cert, args.tls_key)
            self.tls_client = ctx
        anon = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        anon.check_hostname = False
        anon.verify_mode = ssl.CERT_NONE
        self.tls_anon = anon

    def record(self, case, outcome):
        with self.lock:
            self.outcomes[(case, outcome)] += 1

    def connect(self, port, timeout=2.0):
        s = socket.create_connection((self.host, port), timeout=timeout)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return s

    @staticmethod
    def closed_by_peer(s, wait):
        """Whether the node closes the connection within `wait` seconds (reads what it sends)."""
        end = time.time() + wait
        try:
            while time.time() < end:
                s.settimeout(max(0.01, end - time.time()))
                data = s.recv(65536)
                if not data:
                    return True
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError, OSError):
            return True
        return False

    def send_all(self, s, data):
        try:
            s.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            return False

    # --- the cases -------------------------------------------------------------------------
    def case_random_bytes(self, port):
        s = self.connect(port)
        ok = self.send_all(s, os.urandom(random.randint(1, 8192)))
        closed = self.closed_by_peer(s, 0.3)
        s.close()
        return "closed by node" if closed or not ok else "open after 0.3 s"

    def case_truncated_frame(self, port):
        s = self.connect(port)
        if random.random() < 0.5:
            data = basp_header(random.choice(OPS), random.randint(1, 4096))[: random.randint(1, 31)]
        else:
            n = random.randint(8, 4096)
            data = basp_header(random.choice(OPS), n) + os.urandom(random.randint(0, n - 1))
        self.send_all(s, data)
        closed = self.closed_by_peer(s, 0.2)
        s.close()
        return "closed by node" if closed else "waiting for the rest (we closed)"

    def huge_header(self):
        return basp_header(random.choice(OPS),
                           random.randint(self.args.max_message_bytes + 1, 0xFFFFFFFF))

    def case_huge_header(self, port):
        s = self.connect(port)
        self.send_all(s, self.huge_header())
        closed = self.closed_by_peer(s, 1.0)
        s.close()
        return "refused (closed by node)" if closed else "NOT closed within 1 s"

    @staticmethod
    def recv_exactly(s, n, wait=2.0):
        s.settimeout(wait)
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                raise ConnectionResetError("closed")
            data += chunk
        return data

    def handshake(self, s):
        """Completes a BASP handshake on s as a new node would; False when the node refused."""
        hdr = BASP_HEADER.unpack(self.recv_exactly(s, BASP_HEADER.size))
        server = self.recv_exactly(s, hdr[4]) if hdr[4] > 0 else b""
        if hdr[0] != 0 or len(server) < 32:
            return False
        node_id = bytearray(server[:32])
        node_id[8:32] = os.urandom(24)  # pid and host id of a node that does not exist
        self.send_all(s, basp_header(1, len(node_id), zero_ids=True) + bytes(node_id))
        return not self.closed_by_peer(s, 0.2)

    def case_handshake_then_held(self, port, wrap=None):
        """After a handshake, announces a payload within the limit and sends only part of it,
        holding the connection: the node commits the buffer; all of them share one budget."""
        s = self.connect(port)
        if wrap is not None:
            s = wrap(s)
        if not self.handshake(s):
            s.close()
            return "handshake refused (closed by node)"
        n = random.randint(2 << 20, self.args.max_message_bytes)
        self.send_all(s, basp_header(2, n) + os.urandom(1024))
        closed = self.closed_by_peer(s, 0.3)
        if closed:
            s.close()
            return "refused (pending budget exhausted)"
        with self.lock:
            self.held.append((time.time() + random.uniform(1, 3), s))
        return "accepted, held 1-3 s"

    def case_handshake_then_huge(self, port, wrap=None):
        """Completes a BASP handshake as a new node would (the node's own handshake, read from
        the connection, gives the node-id layout; host id and pid are made up), then announces a
        huge payload."""
        s = self.connect(port)
        if wrap is not None:
            s = wrap(s)
        if not self.handshake(s):
            s.close()
            return "handshake refused (closed by node)"
        self.send_all(s, self.huge_header())
        closed = self.closed_by_peer(s, 1.0)
        s.close()
        return "huge header after handshake refused" if closed else "NOT closed within 1 s"

    def case_under_limit_payload(self, port):
        # Within the limit but before a handshake: above the 1 MiB first-message limit.
        s = self.connect(port)
        self.send_all(s, basp_header(2, random.randint(2 << 20, self.args.max_message_bytes)))
        closed = self.closed_by_peer(s, 1.0)
        s.close()
        return "refused before handshake" if closed else "NOT closed within 1 s"

    def case_client_hello(self, port):
        bio_in, bio_out = ssl.MemoryBIO(), ssl.MemoryBIO()
        obj = self.tls_anon.wrap_bio(bio_in, bio_out)
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello = bio_out.read()
        s = self.connect(port)
        mode = random.choice(["hello", "hello+garbage", "half hello"])
        data = hello if mode == "hello" else hello + os.urandom(512) if mode == "hello+garbage" \
            else hello[: len(hello) // 2]
        self.send_all(s, data)
        closed = self.closed_by_peer(s, 0.5)
        s.close()
        return f"{mode}: " + ("closed by node" if closed else "answered or waiting (we closed)")

    def case_tls_no_cert(self, port):
        s = self.connect(port)
        try:
            t = self.tls_anon.wrap_socket(s)
            t.settimeout(2)
            t.sendall(self.huge_header())
            data = t.recv(100)
            t.close()
            return "TLS without a certificate: closed" if not data else "TLS WITHOUT CERT ANSWERED"
        except (ssl.SSLError, OSError):
            s.close()
            return "TLS without a certificate: refused"

    def case_half_open(self, port):
        s = self.connect(port)
        mode = random.choice(["silent", "partial header", "shut_wr"])
        if mode == "partial header":
            self.send_all(s, basp_header(1, 100)[:10])
        elif mode == "shut_wr":
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        with self.lock:
            self.held.append((time.time() + random.uniform(1, 5), s))
        return mode + " (held 1-5 s)"

    def cases(self):
        cases = [("random bytes", self.case_random_bytes),
                 ("BASP handshake + held payload within the limit", self.case_handshake_then_held),
                 ("truncated BASP frame", self.case_truncated_frame),
                 ("BASP header, huge payload", self.case_huge_header),
                 ("BASP payload > 1 MiB before handshake", self.case_under_limit_payload),
                 ("BASP handshake + huge header", self.case_handshake_then_huge),
                 ("TLS ClientHello", self.case_client_hello),
                 ("half-open", self.case_half_open)]
        if self.args.tls:
            cases.append(("TLS handshake without certificate", self.case_tls_no_cert))
        if self.tls_client is not None:
            wrap = lambda s: self.tls_client.wrap_socket(s)
            cases.append(("TLS (cluster cert) + BASP handshake + huge header",
                          lambda port: self.case_handshake_then_huge(port, wrap)))
            cases.append(("TLS (cluster cert) + BASP handshake + held payload",
                          lambda port: self.case_handshake_then_held(port, wrap)))
        return cases

    def worker(self):
        cases = self.cases()
        while not self.stop.is_set():
            name, fn = random.choice(cases)
            port = random.choice(self.ports)
            try:
                outcome = fn(port)
            except ConnectionRefusedError as e:
                outcome = f"connect failed ({type(e).__name__})"
            except socket.timeout:
                outcome = "no answer within 2 s (TLS port: no plain BASP handshake)" \
                    if self.args.tls else "no answer within 2 s"
            except (ssl.SSLError, OSError) as e:
                outcome = f"closed by node ({type(e).__name__})"
            self.record(name, outcome)
            self.reap(False)

    def reap(self, everything):
        now = time.time()
        with self.lock:
            keep = []
            for deadline, s in self.held:
                if everything or deadline <= now:
                    s.close()
                else:
                    keep.append((deadline, s))
            self.held = keep


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, action="append", required=True)
    ap.add_argument("--pid", type=int, action="append", default=[])
    ap.add_argument("--duration", type=float, default=30)
    ap.add_argument("--threads", type=int, default=6)
    ap.add_argument("--max-message-bytes", type=int, default=80 << 20)
    ap.add_argument("--max-rss-jump", type=int, default=80 << 20)
    ap.add_argument("--tls", action="store_true")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    random.seed(args.seed)

    base = {pid: rss_of(pid) for pid in args.pid}
    peak = dict(base)
    fz = Fuzzer(args)

    def sampler():
        while not fz.stop.is_set():
            for pid in args.pid:
                r = rss_of(pid)
                if r is not None and (peak[pid] is None or r > peak[pid]):
                    peak[pid] = r
            time.sleep(0.05)

    threads = [threading.Thread(target=fz.worker, daemon=True) for _ in range(args.threads)]
    st = threading.Thread(target=sampler, daemon=True)
    st.start()
    for t in threads:
        t.start()
    time.sleep(args.duration)
    fz.stop.set()
    for t in threads:
        t.join(timeout=10)
    fz.reap(True)
    st.join(timeout=2)

    total = sum(fz.outcomes.values())
    print(f"fuzz: {total} tries in {args.duration:.0f} s on ports {args.port}"
          f" ({'TLS' if args.tls else 'plain text'})")
    for (case, outcome), n in sorted(fz.outcomes.items()):
        print(f"  {n:6d}  {case}: {outcome}")
    bad = False
    for pid in args.pid:
        alive = os.path.exists(f"/proc/{pid}")
        b, p = base[pid], peak[pid]
        jump = (p or 0) - (b or 0)
        print(f"  pid {pid}: {'alive' if alive else 'DEAD'}, RSS {(b or 0) / 2**20:.1f} MiB before,"
              f" peak {(p or 0) / 2**20:.1f} MiB (+{jump / 2**20:.1f} MiB;"
              f" limit +{args.max_rss_jump / 2**20:.0f} MiB)")
        if not alive or jump > args.max_rss_jump:
            bad = True
    not_closed = sum(n for (c, o), n in fz.outcomes.items() if "NOT closed" in o or "ANSWERED" in o)
    if not_closed:
        print(f"  {not_closed} hostile connections were not refused")
        bad = True
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
