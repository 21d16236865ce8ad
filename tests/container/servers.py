#!/usr/bin/env python3
"""Loopback servers for rootfs-test.sh's network cases (standard library only).

    servers.py CERT KEY PORTFILE LOGFILE

Starts an HTTPS server (GET / -> 200 "ok") with CERT/KEY and a plain HTTP
CONNECT proxy, both on 127.0.0.1 with ports chosen by the kernel, and a UDP
DNS responder on port 53 of the first free address of DNS_ADDRS (a
resolv.conf nameserver line takes no port); writes "<https port> <proxy port>
<dns address>" to PORTFILE once all listen ("none" for the address if port 53
is taken on each), and one line per tunnel ("CONNECT host:port") to LOGFILE.
Runs until killed.
"""
import http.server
import os
import select
import socket
import socketserver
import ssl
import struct
import sys
import threading


class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Proxy(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline().decode("latin-1").strip()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        method, target, _ = (line.split(" ") + ["", ""])[:3]
        if method != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        with open(LOG, "a") as log:
            log.write("CONNECT %s\n" % target)
        host, port = target.rsplit(":", 1)
        # The proxy resolves names itself, as a real one would; the tests
        # point the name at the loopback HTTPS server.
        upstream = socket.create_connection(("127.0.0.1", HTTPS_PORT), timeout=10)
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        client = self.connection
        try:
            while True:
                ready, _, _ = select.select([client, upstream], [], [], 15)
                if not ready:
                    return
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is client else client).sendall(data)
        finally:
            upstream.close()


class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


class ThreadedTCP(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


# The DNS responder: DNS_NAME has one A record, DNS_A; other types of it have
# no data (NOERROR, no answer, so an AAAA query does not spoil the A answer);
# every other name is NXDOMAIN. Nothing is forwarded anywhere.
DNS_NAME = "mlops-dns.test"
DNS_A = "127.0.0.9"
DNS_ADDRS = ("127.0.0.1", "127.0.0.77")


def dns_reply(query):
    if len(query) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", query[:6])
    if flags & 0x8000 or qdcount != 1:  # a response, or not one question
        return None
    labels, i = [], 12
    while i < len(query) and query[i]:
        if query[i] & 0xC0:  # no compression in a question
            return None
        labels.append(query[i + 1:i + 1 + query[i]].decode("latin-1"))
        i += 1 + query[i]
    if i + 5 > len(query):
        return None
    question = query[12:i + 5]
    qtype, qclass = struct.unpack("!HH", query[i + 1:i + 5])
    answers = b""
    if (flags >> 11) & 0xF:  # opcode other than QUERY: NOTIMP
        rcode = 4
    elif ".".join(labels).lower() != DNS_NAME:
        rcode = 3  # NXDOMAIN
    else:
        rcode = 0
        if qtype == 1 and qclass == 1:  # A IN
            answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(DNS_A)
    # QR, the query's opcode and RD, AA, RA.
    rflags = 0x8000 | (flags & 0x7900) | 0x0400 | 0x0080 | rcode
    return struct.pack("!HHHHHH", qid, rflags, 1, 1 if answers else 0, 0, 0) + question + answers


def dns_serve(sock):
    while True:
        try:
            query, peer = sock.recvfrom(4096)
            reply = dns_reply(query)
            if reply:
                sock.sendto(reply, peer)
        except Exception:
            pass


def dns_socket():
    for addr in DNS_ADDRS:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind((addr, 53))
            return sock
        except OSError:
            sock.close()
    return None


cert, key, portfile, LOG = sys.argv[1:5]
https = Threaded(("127.0.0.1", 0), Ok)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
https.socket = ctx.wrap_socket(https.socket, server_side=True)
HTTPS_PORT = https.server_address[1]
proxy = ThreadedTCP(("127.0.0.1", 0), Proxy)
threading.Thread(target=https.serve_forever, daemon=True).start()
dns = dns_socket()
if dns:
    threading.Thread(target=dns_serve, args=(dns,), daemon=True).start()
with open(portfile + ".tmp", "w") as f:
    f.write("%d %d %s\n" % (HTTPS_PORT, proxy.server_address[1],
                            dns.getsockname()[0] if dns else "none"))
os.rename(portfile + ".tmp", portfile)
proxy.serve_forever()
