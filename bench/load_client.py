"""The simulated annotators' HTTP client for ``bench/annotate_load.py``."""

from __future__ import annotations

import socket


class Connection:
    """The annotators' HTTP/1.1 client: each POST written as one buffer, the answer read
    by its Content-Length (to the end where the server closes the connection).
    ``http.client`` parses every answer's headers through the email package; on these 2
    cores, shared with the server, the client's CPU per call is the server's loss."""

    def __init__(self, port: int, token: str):
        self.port, self.sock = port, None
        self.head = (
            f"Host: 127.0.0.1:{port}\r\nAuthorization: Token {token}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        request = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n" % (
            path.encode(),
            self.head,
            len(body),
        )
        self.sock.sendall(request + body)
        data = b""
        while b"\r\n\r\n" not in data:
            data += self._recv()
        head, data = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        if "transfer-encoding" in fields:
            raise ConnectionError(f"unexpected Transfer-Encoding: {fields['transfer-encoding']}")
        closing = fields.get("connection") == "close"
        if "content-length" in fields:
            while len(data) < int(fields["content-length"]):
                data += self._recv()
        else:
            closing = True
            while chunk := self.sock.recv(65536):
                data += chunk
        if closing:
            self.close()
        return status, data

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-answer")
        return chunk

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
