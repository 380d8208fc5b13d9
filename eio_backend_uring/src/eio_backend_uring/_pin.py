"""Buffer addresses ("pinning"): the memory address of a Python buffer, kept alive while the kernel uses it."""

from __future__ import annotations

import ctypes
import os
import sys
from typing import TYPE_CHECKING, Final, final

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, StrOrBytesPath, WriteableBuffer

if sys.platform != "linux":
    raise ImportError(f"eio_backend_uring._pin is Linux-only (platform is {sys.platform})")


# ---------------------------------------------------------------------------
# Buffer addresses ("pinning").
# ---------------------------------------------------------------------------


def bytes_data_offset() -> int:
    """Offset of a ``bytes`` object's data from its ``id()``, or 0 if unusable.

    On CPython ``id()`` is the object's address and a bytes object's data sits
    at a fixed offset after its header, so ``id(b) + offset`` is the data's
    address (~70 ns) where going through ``ctypes.c_char_p`` costs ~450 ns.
    The offset is measured here with ctypes, not assumed, and checked on a
    second object; any other implementation falls back to ctypes.
    """
    if sys.implementation.name != "cpython":
        return 0
    offsets: set[int] = set()
    for probe in (b"eio probe one", bytes(range(40))):
        address = ctypes.c_void_p.from_buffer(ctypes.c_char_p(probe)).value
        if address is None:
            return 0
        offsets.add(address - id(probe))
    offset = offsets.pop()
    return offset if not offsets and 0 < offset <= 128 else 0


BYTES_DATA_OFFSET: Final = bytes_data_offset()


def memoryview_buf_offset() -> int:
    """Offset of a memoryview's data address (its ``Py_buffer.buf``) from its ``id()``, or 0 if unusable.

    A memoryview object embeds the ``Py_buffer`` it exports, so on CPython
    reading the pointer at ``id(view) + offset`` gives the address of its
    first byte (~150 ns with ``ctypes.c_void_p.from_address``, where
    ``ctypes.c_char.from_buffer`` costs ~450 ns). The offset is found here by
    looking for a known address inside the object (read only within its
    ``sys.getsizeof``), checked on views at different offsets of different
    buffers; any doubt gives 0, and callers then use ctypes.
    """
    if sys.implementation.name != "cpython":
        return 0
    from_address = ctypes.c_void_p.from_address
    found: list[set[int]] = []
    for size, start in ((64, 0), (300, 17), (4096, 1000)):
        view = memoryview(bytearray(size))[start:]
        want = ctypes.addressof(ctypes.c_char.from_buffer(view))
        found.append({off for off in range(0, sys.getsizeof(view) - 7, 8) if from_address(id(view) + off).value == want})
    common = found[0].intersection(*found[1:])
    return common.pop() if len(common) == 1 else 0


MEMORYVIEW_BUF_OFFSET: Final = memoryview_buf_offset()
_void_at = ctypes.c_void_p.from_address


def writable_view_address(buf: bytearray | memoryview) -> tuple[int, int, object] | None:
    """``(address, nbytes, anchor)`` of a non-empty writable C-contiguous bytearray or memoryview, else None.

    The fast way to `pin_writable` (see `memoryview_buf_offset`); None means
    "use `pin_writable`", which also reports what is wrong with the buffer.
    The anchor is a memoryview of our own: it holds a buffer export of the
    underlying object (a bytearray can't be resized while it lives), and
    releasing the caller's view doesn't release it.
    """
    if not MEMORYVIEW_BUF_OFFSET:
        return None
    view = memoryview(buf)
    if view.readonly or not view.c_contiguous:
        return None
    nbytes = view.nbytes
    if not nbytes:
        return None
    return _void_at(id(view) + MEMORYVIEW_BUF_OFFSET).value or 0, nbytes, view


def bytes_address(data: bytes) -> int:
    """Address of the data of an exact ``bytes`` object (the object itself is the anchor)."""
    if BYTES_DATA_OFFSET:
        return id(data) + BYTES_DATA_OFFSET
    address = ctypes.c_void_p.from_buffer(ctypes.c_char_p(data)).value
    return address or 0


class _PyBuffer(ctypes.Structure):
    """CPython's ``Py_buffer``, to read the address of a read-only buffer."""

    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_void_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    ]
    buf: int | None
    len: int


# CPython's buffer protocol, for the addresses of read-only buffers. Indexing
# `pythonapi` (not attribute access) gives function objects of our own, so the
# argtypes set here cannot clash with anyone else's use of these functions.
_pythonapi = getattr(ctypes, "pythonapi", None)
if _pythonapi is not None:
    _get_buffer = _pythonapi["PyObject_GetBuffer"]
    _get_buffer.argtypes = [ctypes.py_object, ctypes.c_void_p, ctypes.c_int]
    _get_buffer.restype = ctypes.c_int
    _release_buffer = _pythonapi["PyBuffer_Release"]
    _release_buffer.argtypes = [ctypes.c_void_p]
    _release_buffer.restype = None


def _readonly_address(view: memoryview) -> int:
    """Address of a C-contiguous read-only buffer (~1 us).

    ctypes' ``from_buffer`` refuses read-only buffers and nothing else in the
    stdlib exposes the address of, say, ``memoryview(some_bytes)[n:]``, so ask
    CPython's buffer protocol directly. The buffer is released right away; the
    caller keeps ``view`` (a memoryview of its own, which the user cannot
    release) alive instead, and that keeps the memory where it is.
    """
    if _pythonapi is None:  # pragma: no cover - not CPython
        raise BufferError("read-only buffers other than bytes need CPython; pass bytes or a writable buffer")
    info = _PyBuffer()
    _get_buffer(view, ctypes.addressof(info), 0)  # PyBUF_SIMPLE: contiguous bytes; raises on error
    try:
        return info.buf or 0
    finally:
        _release_buffer(ctypes.addressof(info))


def pin_writable(buf: WriteableBuffer | Pinned) -> tuple[int, int, object]:
    """``(address, nbytes, anchor)`` of a writable buffer; keep ``anchor`` alive while in use.

    The anchor of a bytearray or writable memoryview is a ``ctypes.c_char``
    made with ``from_buffer``: it holds a buffer export of its own, so the
    object cannot be resized (``BufferError``) while the kernel may write into it.
    """
    if type(buf) is Pinned:
        if buf.readonly:
            raise TypeError("a writable buffer is required, this Pinned buffer is read-only")
        return buf.address, buf.nbytes, buf
    fast = writable_view_address(buf) if type(buf) is memoryview or type(buf) is bytearray else None
    if fast is not None:
        return fast
    view = memoryview(buf)
    if view.readonly:
        raise TypeError(f"a writable buffer is required, not read-only {type(buf).__name__}")
    nbytes = view.nbytes
    if nbytes == 0:
        return 0, 0, view
    anchor = ctypes.c_char.from_buffer(view)  # TypeError if not C-contiguous
    return ctypes.addressof(anchor), nbytes, anchor


def pin_readable(buf: ReadableBuffer | Pinned) -> tuple[int, int, object]:
    """``(address, nbytes, anchor)`` of any buffer the kernel will only read from."""
    if type(buf) is bytes:
        return bytes_address(buf), len(buf), buf
    if type(buf) is Pinned:
        return buf.address, buf.nbytes, buf
    view = memoryview(buf)
    nbytes = view.nbytes
    if nbytes == 0:
        return 0, 0, view
    if not view.readonly:
        anchor = ctypes.c_char.from_buffer(view)
        return ctypes.addressof(anchor), nbytes, anchor
    if not view.c_contiguous:
        raise BufferError("the buffer must be C-contiguous")
    return _readonly_address(view), nbytes, view


def span(address: int, nbytes: int, start: int, length: int) -> tuple[int, int]:
    """Narrow ``(address, nbytes)`` to ``[start, start + length)``, bounds-checked."""
    if start < 0 or start > nbytes:
        raise ValueError(f"start={start} outside a buffer of {nbytes} bytes")
    available = nbytes - start
    if length < 0:
        length = available
    elif length > available:
        raise ValueError(f"length={length} past the end of a buffer of {nbytes} bytes (start={start})")
    return address + start, length


@final
class Pinned:
    """A buffer whose address was taken once, for reuse across many operations.

    Taking an address costs ~500 ns (bytearray, writable memoryview) to ~1 us
    (read-only memoryview); a ``Pinned`` pays it once, after which passing it
    to a ``prep_*`` method costs a few attribute reads. Pool these for hot
    paths. While a ``Pinned`` exists its bytearray cannot be resized.

    Attributes: ``obj`` (the original object), ``address``, ``nbytes``,
    ``readonly`` (true for ``bytes`` and read-only views: usable for writes and
    sends only).
    """

    __slots__ = ("_anchor", "address", "nbytes", "obj", "readonly")

    def __init__(self, buf: ReadableBuffer) -> None:
        """Pin ``buf``: a bytes-like object exporting a C-contiguous buffer."""
        self.obj: ReadableBuffer = buf
        view = memoryview(buf)
        self.readonly: bool = view.readonly
        self.address: int
        self.nbytes: int
        self._anchor: object
        if self.readonly:
            self.address, self.nbytes, self._anchor = pin_readable(buf)
        else:
            self.address, self.nbytes, self._anchor = pin_writable(view)

    def __repr__(self) -> str:
        """Show what is pinned, not the contents."""
        kind = "read-only" if self.readonly else "writable"
        return f"<Pinned {kind} {type(self.obj).__name__} of {self.nbytes} bytes at {self.address:#x}>"


def path_bytes(path: StrOrBytesPath) -> bytes:
    """A NUL-terminated path for the kernel (fs encoding, like the ``os`` module)."""
    encoded = os.fsencode(path)
    if b"\0" in encoded:
        raise ValueError("embedded null byte in path")
    return encoded + b"\0"
