"""Deterministic mock backend for eio, with mock clocks, flows, network and domain manager."""

from . import backend, clock
from ._poller import DeadlockDetected

__all__ = ["DeadlockDetected", "backend", "clock"]
