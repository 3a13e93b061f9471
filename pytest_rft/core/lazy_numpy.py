"""numpy, imported when first used.

Collecting suites never needs numpy (about 0.1 s to import); the statistics after sampling do.
``from .lazy_numpy import np`` gives a stand-in that imports numpy at its first attribute and
keeps each attribute it hands out, so later lookups cost what a module's do.
``import_while_waiting`` imports it (and scipy.special, for the statistics' t quantiles) on a
thread while the event loop waits for answers.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

SWITCH_INTERVAL = 0.0005
"""While numpy imports beside the event loop, the loop gets the GIL back within this (seconds)
rather than the default 5 ms each time an answer wakes it."""


class _Numpy:
    def __getattr__(self, name: str) -> Any:
        import numpy

        value = getattr(numpy, name)
        setattr(self, name, value)
        return value


np: Any = _Numpy()


def import_while_waiting() -> None:
    """Import numpy and scipy.special on a daemon thread (sampling waits on the network most
    of the time; the summaries after it need them)."""
    if "scipy.special" in sys.modules:
        return
    default = sys.getswitchinterval()

    def load() -> None:
        try:
            import numpy  # noqa: F401
            import scipy.special  # noqa: F401
        except Exception:  # noqa: BLE001 - the statistics will raise it where it is used
            pass
        finally:
            sys.setswitchinterval(default)

    sys.setswitchinterval(SWITCH_INTERVAL)
    threading.Thread(target=load, name="rft-import-numpy", daemon=True).start()
