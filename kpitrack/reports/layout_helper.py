"""The helper process that lays reports out (kpitrack.reports.layout starts it:
`python -m kpitrack.reports.layout_helper PRIORITY`).

It reads requests from standard input and answers on standard output, each a length (8 bytes,
big-endian) and that many bytes: an HTML document in, a status byte and a PDF (or, for status
1, the error's text) out. It ends when its input closes: the web process that started it has
ended. Nothing else may write to its standard output, so the module's `print`s and WeasyPrint's
warnings go to standard error."""

import os
import struct
import sys

LENGTH = struct.Struct(">Q")
OK, ERROR = b"\x00", b"\x01"


def read_exactly(stream, size: int) -> bytes | None:
    """`size` bytes, or None when the stream ends first."""
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


def main(priority: int) -> int:
    try:
        os.setpriority(os.PRIO_PROCESS, 0, priority)
    except PermissionError:
        pass  # raising it back needs a privilege: it stays at the lower one it inherited
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    from kpitrack.reports.pdf import html_to_pdf

    while True:
        head = read_exactly(requests, LENGTH.size)
        if head is None:
            return 0
        html = read_exactly(requests, LENGTH.unpack(head)[0])
        if html is None:
            return 0
        try:
            status, body = OK, html_to_pdf(html.decode())
        except Exception as exc:  # noqa: BLE001 - told to the web process, which fails the job
            status, body = ERROR, f"{type(exc).__name__}: {exc}".encode()
        answers.write(status + LENGTH.pack(len(body)) + body)
        answers.flush()


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
