"""A loopback server speaking PostgreSQL's wire protocol that refuses every password, as a real server does.

The shared server trusts local connections, so a wrong password cannot be shown on it; this one answers the
startup with a password request and then the real server's error (SQLSTATE 28P01).
"""

from __future__ import annotations

import socket
import struct
import threading

_SSL_REQUEST, _GSS_REQUEST = 80877103, 80877104


class RefusingPostgres:
    def __init__(self):
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> RefusingPostgres:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._sock.close()
        self._thread.join(5)

    def url(self, user: str = "postgres") -> str:
        return f"postgresql+psycopg://{user}:wrong-password@127.0.0.1:{self.port}/postgres"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                try:
                    self._refuse(conn)
                except OSError:
                    pass

    @staticmethod
    def _read(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise OSError("client went away")
            data += chunk
        return data

    def _refuse(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        while True:  # SSL and GSS encryption requests first (answered "no"), then the startup message
            length, code = struct.unpack("!ii", self._read(conn, 8))
            self._read(conn, length - 8)
            if code in (_SSL_REQUEST, _GSS_REQUEST):
                conn.sendall(b"N")
                continue
            break
        conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
        kind = self._read(conn, 1)
        (length,) = struct.unpack("!i", self._read(conn, 4))
        self._read(conn, length - 4)
        if kind != b"p":
            return
        fields = b"".join(tag + text.encode() + b"\0" for tag, text in [
            (b"S", "FATAL"), (b"V", "FATAL"), (b"C", "28P01"),
            (b"M", 'password authentication failed for user "postgres"')]) + b"\0"
        conn.sendall(b"E" + struct.pack("!i", len(fields) + 4) + fields)
