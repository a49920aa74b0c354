"""Running a thread below the event loop's scheduling priority (Linux).

The hashing threads keep every core they can get busy for as long as logins queue. At the
same niceness as the event loop they take their even share of the cores from it, and every
request that needs no hash (the gateway's verify, refresh, the current user) waits behind
them: a login flood slows the whole site. A few steps of niceness more leave the hashing
threads every cycle the loop does not want and give the loop the rest first.

On Linux, setpriority(2) with a thread's id changes that thread alone (the kernel schedules
threads as tasks); elsewhere `PRIO_PROCESS` would take a thread id for a process id, so
nothing is done there. Raising one's own niceness needs no privilege.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

# The largest niceness there is (setpriority(2)).
NICEST = 19

log = logging.getLogger("authsvc.thread_priority")


def lower_current_thread(steps: int) -> None:
    """Add `steps` to the calling thread's niceness, up to NICEST; never raises."""
    if steps <= 0 or sys.platform != "linux":
        return
    tid = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(NICEST, current + steps))
    except OSError as exc:
        # A thread pool whose initializer raises refuses all further work: run at the
        # priority we have rather than not at all.
        log.warning("could not lower a thread's scheduling priority: %s", exc)
