"""Ctrl-C: every fiber unwinds (finally blocks, switch hooks), then one short traceback.

Each program prints ``ready`` once it is blocked, gets SIGINT, and must exit
by KeyboardInterrupt with a single traceback that names the user's own call,
after its clean-up ran.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest
from test_cancel_stress import os_backends

PROGRAMS = {
    "blocked in a sleep": """
        async def main(env):
            try:
                print("ready", flush=True)
                await eio.time.sleep(env.clock, 100)
            finally:
                print("main unwound", flush=True)
    """,
    "blocked reading a socket in a switch": """
        async def main(env):
            async with eio.Switch.run() as sw:
                sw.on_release(lambda: print("switch released", flush=True))
                sock = await eio.net.listen(sw, env.net, eio.net.Tcp(eio.net.LOOPBACK_V4, 0))
                flow = await eio.net.connect(sw, env.net, eio.net.listening_addr(sock))
                print("ready", flush=True)
                await eio.flow.read_all(flow)
    """,
    "a busy fiber beside a blocked one": """
        async def main(env):
            async with eio.Switch.run() as sw:
                async def busy():
                    print("ready", flush=True)
                    while True:
                        sum(range(1000))
                        await eio.fiber.yield_()

                async def sleeper():
                    try:
                        await eio.time.sleep(env.clock, 100)
                    finally:
                        print("sleeper unwound", flush=True)

                eio.fiber.fork(sw, sleeper)
                eio.fiber.fork(sw, busy)
    """,
}

EXPECTED_CLEANUP = {
    "blocked in a sleep": "main unwound",
    "blocked reading a socket in a switch": "switch released",
    "a busy fiber beside a blocked one": "sleeper unwound",
}


@pytest.mark.parametrize("backend", os_backends())
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_ctrl_c_unwinds_and_prints_one_short_traceback(backend: str, name: str) -> None:
    source = (
        "import eio, eio.net, eio_main\n" + textwrap.dedent(PROGRAMS[name]) + f"\neio_main.run(main, backend={backend!r})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", source], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert out == EXPECTED_CLEANUP[name] + "\n"
    assert err.count("Traceback") == 1, err
    assert "During handling" not in err and "Cancelled" not in err, err
    assert err.splitlines()[-1] == "KeyboardInterrupt", err
    assert 'File "<string>", line' in err.splitlines()[1], err
    assert len(err.splitlines()) <= 7, err
    assert proc.returncode == -signal.SIGINT
