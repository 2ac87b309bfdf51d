"""Bounded capture of a command's output: the first and last bytes, and a count of the rest."""


class HeadTailBuffer:
    """Keeps at most `limit` bytes of a stream: its first `limit // 2` and its last `limit - limit // 2`.

    Args:
        limit: bytes kept in total (config `max_output_bytes`).
    """

    def __init__(self, limit: int) -> None:
        self._head_limit = limit // 2
        self._tail_limit = limit - self._head_limit
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0  #: bytes seen so far

    def append(self, data: bytes) -> None:
        """Add a chunk of the stream."""
        self.total += len(data)
        room = self._head_limit - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        self._tail += data
        del self._tail[: max(0, len(self._tail) - self._tail_limit)]

    @property
    def truncated(self) -> bool:
        """Whether some of the stream was cut (more than `limit` bytes were seen)."""
        return self.total > len(self._head) + len(self._tail)

    def text(self) -> str:
        """The kept bytes as UTF-8 (undecodable bytes replaced), with a marker where bytes were cut."""
        omitted = self.total - len(self._head) - len(self._tail)
        if not omitted:
            return (self._head + self._tail).decode(errors="replace")
        head, tail = self._head.decode(errors="replace"), self._tail.decode(errors="replace")
        return f"{head}\n[... {omitted} bytes of output omitted ...]\n{tail}"
