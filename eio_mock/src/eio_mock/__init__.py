"""Deterministic mock backend for eio, with mock clocks, flows, network and domain manager."""

from . import backend, clock, domain_manager, flow, net
from ._action import Action, Await, Raise, Return, Run, YieldThen
from ._handler import Handler, NotConfigured
from ._poller import DeadlockDetected

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
    "net",
]
