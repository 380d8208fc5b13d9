"""Deterministic mock backend for eio: a whole standard environment in memory, and mock clocks, flows, network, domain manager."""

from . import backend, clock, domain_manager, flow, fs, loopback, net, process, stdio
from ._action import Action, Await, Raise, Return, Run, YieldThen
from ._handler import Handler, NotConfigured
from ._poller import DeadlockDetected
from .stdio import output

__all__ = [
    "Action",
    "Await",
    "DeadlockDetected",
    "Handler",
    "NotConfigured",
    "Raise",
    "Return",
    "Run",
    "YieldThen",
    "backend",
    "clock",
    "domain_manager",
    "flow",
    "fs",
    "loopback",
    "net",
    "output",
    "process",
    "stdio",
]
