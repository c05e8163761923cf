"""A TCP proxy for tests: 127.0.0.1:<random port> → a real server, that can cut every live connection and
refuse new ones (`cut()`), then let them through again (`restore()`). Used to take the database away from a
console mid-session without touching the shared PostgreSQL server.
"""

from __future__ import annotations

import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str = "127.0.0.1", target_port: int = 5432):
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._open = True
        self._closed = False
        self._accepting = threading.Thread(target=self._accept, name="tcp-proxy-accept", daemon=True)
        self._accepting.start()

    # --- control ----------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._open

    def cut(self) -> None:
        """Break every live connection and refuse new ones until restore()."""
        with self._lock:
            self._open = False
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            _close_pair(pair)

    def restore(self) -> None:
        with self._lock:
            self._open = True

    def close(self) -> None:
        self.cut()
        self._closed = True
        try:
            # Wake the accept loop, then close the listener.
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            pass
        self._accepting.join(timeout=5)
        self._listener.close()

    def url(self, database_url: str) -> str:
        """`database_url` (a real server's) rewritten to go through this proxy."""
        from sqlalchemy.engine import make_url

        return make_url(database_url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def __enter__(self) -> "TcpProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- relaying ---------------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._closed:
                client.close()
                return
            with self._lock:
                refuse = not self._open
            if refuse:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            pair = (client, upstream)
            with self._lock:
                if not self._open:  # cut while we were connecting
                    _close_pair(pair)
                    continue
                self._pairs.append(pair)
            for src, dst in (pair, pair[::-1]):
                threading.Thread(target=self._pump, args=(src, dst, pair), name="tcp-proxy-pump", daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, pair) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        _close_pair(pair)
        with self._lock:
            if pair in self._pairs:
                self._pairs.remove(pair)


def _reset(sock: socket.socket) -> None:
    """Close with RST, as a dead network path or a stopped server looks to the client."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    sock.close()


def _close_pair(pair) -> None:
    for sock in pair:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass
