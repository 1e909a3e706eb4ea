"""Stop signals handled like Ctrl-C, so a service manager's stop still closes files properly.

``docker stop``, ``systemctl stop`` and a closed SSH session send SIGTERM or SIGHUP, not SIGINT;
by default either kills Python on the spot, and a video being written is left without its
index (an MP4 with no ``moov`` atom plays nowhere). Inside :func:`stop_signals_interrupt` they
raise :class:`KeyboardInterrupt` in the main thread instead, so the code that drains on Ctrl-C
drains on them too.

>>> import signal
>>> with stop_signals_interrupt() as got:
...     signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
True
>>> got.signum is None and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
True
"""

from __future__ import annotations

import contextlib
import signal
import threading

# Set by every handler here before it raises. A KeyboardInterrupt raised while the main thread
# runs a finaliser (a __del__, a weakref callback, the garbage collector) is printed as "Exception
# ignored" and lost; a wait loop that checks this flag still sees the signal (the likely cause of a
# CI run of 2026-12-02 where `edgeseg run` ran on after SIGHUP).
_noticed = threading.Event()


def _interrupt():
    """What each handler here ends with: note the signal, then raise as Ctrl-C does."""
    _noticed.set()
    raise KeyboardInterrupt


def take_interrupt() -> bool:
    """True once for each stop signal or Ctrl-C that a handler here received since the last call."""
    if _noticed.is_set():
        _noticed.clear()
        return True
    return False


@contextlib.contextmanager
def ctrl_c_noticed():
    """Within the block Ctrl-C raises KeyboardInterrupt as Python's default handler does, and
    :func:`take_interrupt` also sees it. Does nothing outside the main thread or where the host
    installed its own SIGINT handler.

    >>> with ctrl_c_noticed():
    ...     signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    True
    >>> signal.getsignal(signal.SIGINT) is signal.default_int_handler
    True
    """
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield
        return

    previous = signal.signal(signal.SIGINT, lambda _signum, _frame: _interrupt())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class Received:
    """The stop signal that arrived, if any (``signum``), and the exit status it calls for."""

    def __init__(self):
        self.signum: int | None = None

    @property
    def exit_status(self) -> int:
        """128 + the signal number, the shell's convention (130 for Ctrl-C, 143 for SIGTERM)."""
        return 128 + (self.signum or signal.SIGINT)


@contextlib.contextmanager
def stop_signals_interrupt(names=("SIGTERM", "SIGHUP")):
    """Within the block, each named signal raises KeyboardInterrupt in the main thread.

    Outside the main thread (where Python cannot set handlers) it does nothing. A signal the
    process inherited as ignored (``nohup``) stays ignored. Previous handlers come back on exit.
    """
    got = Received()
    if threading.current_thread() is not threading.main_thread():
        yield got
        return

    def handler(signum, _frame):
        got.signum = signum
        _interrupt()

    previous = {}
    for name in names:
        sig = getattr(signal, name, None)  # SIGHUP does not exist on Windows
        if sig is None or signal.getsignal(sig) is signal.SIG_IGN:
            continue
        previous[sig] = signal.signal(sig, handler)
    try:
        yield got
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
