# The compiled accelerator (_accel.c) implements the reference class of _ring_core exactly.
from ._ring_core import RingCore as RingCore

CONSTANTS: dict[str, int]
