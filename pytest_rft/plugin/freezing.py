"""The cyclic GC around collection: paused while suites are collected, then what collection
made is frozen (it lives to the end of the session); an earlier session's frozen objects are
released when the next one starts (pytester, IDEs)."""

from __future__ import annotations

import gc

import pytest

GC_PAUSED = pytest.StashKey[bool]()


def pause(config: pytest.Config) -> None:
    """No cyclic GC while suites are collected: each full collection walks every node made so
    far, over and over (a third of the time at 100,000 items). It resumes when collection ends."""
    if gc.isenabled() and not config.stash.get(GC_PAUSED, False):
        gc.disable()
        config.stash[GC_PAUSED] = True


def resume_frozen(config: pytest.Config) -> None:
    """After collecting suites, the cyclic GC resumes with everything collected frozen: the
    nodes live to the end of the session, and no collection need walk them again (pytest's own
    ``gc.collect()`` at exit took 0.6 s at 100,000 items). ``release_frozen`` lets them go."""
    if config.stash.get(GC_PAUSED, False):
        config.stash[GC_PAUSED] = False
        gc.freeze()
        gc.enable()


def release_frozen() -> None:
    """What an earlier session in this process froze (after its collection and its sampling)
    becomes collectable again when the next session starts: a process that runs pytest more
    than once (pytester, IDEs) keeps nothing for good. Not at the session's end: a one-off run
    would then walk every node in the interpreter's final collection (0.4 s at 2,000 items)."""
    if gc.get_freeze_count():
        gc.unfreeze()
