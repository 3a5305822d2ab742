"""An HTTP/1.1 upstream in a process of its own, for the failover tests (started and stopped
by servers.KillableUpstream):

    python3 killable_upstream.py PORT NAME DELAY STATUS_PATH

It answers every request 200 with NAME after DELAY seconds and prints "ready" once it listens.
On SIGUSR1 it writes down what it holds at that moment and dies at once by SIGKILL, so that
the kernel closes every socket as in a crash.  STATUS_PATH gets one JSON object:

  inflight  requests read and not answered
  unread    connections with request bytes not read yet (in the kernel or in our buffer)
  fresh     connections (accepted, or still in the accept queue) on which nothing was asked
            yet: a request is on its way
  served    requests answered
"""
import fcntl
import json
import os
import select
import signal
import struct
import sys
import termios
import time

from servers import ServerBase, asks_close


class KillableServer(ServerBase):
    """Connections are read and answered only under self.lock, and crash() takes it: request
    bytes are either still in the kernel (FIONREAD sees them) or read and counted, never in
    between."""

    def __init__(self, port: int, name: bytes, delay: float, status_path: str):
        self.response = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s"
                         % (len(name), name))
        self.delay = delay
        self.status_path = status_path
        self.state: dict = {}    # cid -> [bytes read but not yet a complete head, served, busy]
        self.served = 0
        super().__init__(port=port, backlog=1024)

    def accepted(self, cid: int) -> None:
        self.state[cid] = [0, 0, False]

    def handle(self, c, cid: int) -> None:
        c.setblocking(False)
        st = self.state[cid]
        buf = b""
        try:
            while True:
                with self.lock:
                    i = buf.find(b"\r\n\r\n")
                    if i >= 0:
                        st[2] = True
                if i < 0:
                    select.select([c], [], [], 1.0)
                    with self.lock:
                        try:
                            d = c.recv(65536)
                        except BlockingIOError:
                            continue
                        if not d:
                            return
                        buf += d
                        st[0] = len(buf)
                        i = buf.find(b"\r\n\r\n")
                        if i < 0:
                            continue
                        st[2] = True
                head, buf = buf[:i + 4], buf[i + 4:]
                if self.delay:
                    time.sleep(self.delay)
                with self.lock:
                    c.setblocking(True)
                    c.sendall(self.response)
                    c.setblocking(False)
                    self.served += 1
                    st[0], st[1], st[2] = len(buf), st[1] + 1, False
                if asks_close(head):
                    return
        finally:
            with self.lock:
                self.state.pop(cid, None)

    def crash(self, signum, frame) -> None:
        """SIGUSR1: under the lock nothing is read or answered.  Count what is in flight, write
        it down and die at once."""
        self.lock.acquire()
        held = [(sock, self.state[cid]) for cid, sock in self.open_sockets().items()
                if cid in self.state]     # (not the ones whose handler is returning)
        self.listener.setblocking(False)
        while True:                       # connections waiting in the accept queue
            try:
                c, _ = self.listener.accept()
            except OSError:
                break
            held.append((c, [0, 0, False]))
        inflight = unread = fresh = 0
        for c, (buffered, n, busy) in held:
            try:
                q = struct.unpack("i", fcntl.ioctl(c.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
            except OSError:
                q = 0
            if busy:
                inflight += 1             # a request read, its answer not sent
            elif q or buffered:
                unread += 1               # request bytes not read yet
            elif n == 0:
                fresh += 1                # connected, nothing asked yet: a request is on its way
        tmp = self.status_path + ".tmp"
        with open(tmp, "w") as out:
            json.dump({"inflight": inflight, "unread": unread, "fresh": fresh,
                       "served": self.served}, out)
        os.rename(tmp, self.status_path)
        os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    port, name, delay, status_path = int(sys.argv[1]), sys.argv[2].encode(), float(sys.argv[3]), sys.argv[4]
    server = KillableServer(port, name, delay, status_path)
    signal.signal(signal.SIGUSR1, server.crash)
    print("ready", flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
