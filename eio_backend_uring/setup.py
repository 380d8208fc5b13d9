"""Build the optional C accelerator of the io_uring backend (``eio_backend_uring._accel``).

Everything else is in pyproject.toml. ``optional=True``: without a C compiler or
the Python headers the build prints a warning and the package installs
without it; the backend then runs its pure-Python ring, which behaves the same.
Only CPython on Linux gets it (it uses the CPython C API and io_uring).
"""

import platform
import sys

from setuptools import Extension, setup

accelerator = Extension(
    "eio_backend_uring._accel",
    sources=["src/eio_backend_uring/_accel.c"],
    extra_compile_args=["-O2", "-std=gnu11"],
    optional=True,
)
wanted = sys.platform == "linux" and platform.python_implementation() == "CPython"
setup(ext_modules=[accelerator] if wanted else [])
