# xsim_ws.py: a minimal WebSocket client (RFC 6455 over a plain socket) for the exchange-sim
# integration scripts; standard library only. Not a test itself.
import base64, os, socket, struct, time


def connect(port, path):
    """Opens path with an upgrade: (socket, status line, bytes read past the headers)."""
    s = socket.create_connection(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        if not d:
            break
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    return s, head.decode().split("\r\n")[0], rest


def frame(data, opcode=1, mask=True):
    data = data.encode() if isinstance(data, str) else data
    n = len(data)
    mb = 0x80 if mask else 0
    hdr = bytes([0x80 | opcode])
    if n < 126:
        hdr += bytes([mb | n])
    elif n < 65536:
        hdr += bytes([mb | 126]) + struct.pack(">H", n)
    else:
        hdr += bytes([mb | 127]) + struct.pack(">Q", n)
    if mask:
        m = os.urandom(4)
        hdr += m
        data = bytes(b ^ m[i % 4] for i, b in enumerate(data))
    return hdr + data


def frames(s, rest, total, quiet=None):
    """(opcode, payload) until the peer closes, `total` seconds pass, or (with quiet) nothing
    arrives for `quiet` seconds; pings are answered."""
    buf = rest
    end = time.time() + total
    while time.time() < end:
        s.settimeout(min(quiet or total, max(0.01, end - time.time())))
        while len(buf) >= 2:
            n = buf[1] & 127
            off = 2
            if n == 126:
                if len(buf) < 4:
                    break
                n = struct.unpack(">H", buf[2:4])[0]
                off = 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n = struct.unpack(">Q", buf[2:10])[0]
                off = 10
            if len(buf) < off + n:
                break
            op = buf[0] & 15
            if op == 9:
                s.sendall(frame(buf[off:off + n], 10))
            yield op, buf[off:off + n]
            buf = buf[off + n:]
        try:
            d = s.recv(1 << 16)
        except socket.timeout:
            if quiet:
                return
            continue
        if not d:
            return
        buf += d
