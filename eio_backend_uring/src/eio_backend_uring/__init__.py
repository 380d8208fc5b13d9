"""Linux io_uring backend for eio.

The backend talks to the kernel through its own small ring layer
(:mod:`eio_backend_uring._ring`), written with the standard library only:
``ctypes`` for the three io_uring system calls, ``mmap`` for the shared
submission and completion queues, and ``struct`` to fill and read their entries.
No third-party binding is used. The backend registers itself under the ``eio``
entry point group as ``uring``; it declares itself available only when
:func:`eio_backend_uring._ring.unavailable_reason` returns ``None``.
"""
