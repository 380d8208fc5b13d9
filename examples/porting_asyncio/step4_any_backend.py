"""Porting from asyncio, step 4: the program no longer needs asyncio at all.

``main`` is step 3's, unchanged: it only uses what ``env`` gives it. So
`eio_main.run` can pick the best backend of the machine (io_uring on
Linux) instead of asyncio. A program that still calls `run_asyncio`
somewhere keeps `eio_backend_asyncio.run` (or ``EIO_BACKEND=asyncio``).
"""

from __future__ import annotations

from step3_server import main

import eio_main

if __name__ == "__main__":
    eio_main.run(main)
