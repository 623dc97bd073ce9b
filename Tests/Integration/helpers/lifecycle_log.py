"""The kubelet node e2e lifecycle tests' assertions (kubernetes/kubernetes
test/e2e_node/container_lifecycle_pod_construction.go: containerOutputList), over the event log
the `actor` helper and the recorders write: `NAME EVENT DETAIL MONOTONIC_NS PID` lines.

The e2e containers log "Starting"/"Started" when they start, "Exiting" when they end by
themselves or after a handled SIGTERM (nothing when SIGKILLed) and "Looping" while they loop;
the actor logs `start`, `exit` and (with --loop) `loop` at the same moments. As in the e2e, the
log is sorted by time, a name may appear several times (a restart), and each helper looks for
the first matching line at or after an index:

    log = LifecycleLog(u.events())
    log.starts_before("init-1", "init-2")      # init-2 started after init-1 had
    log.exits_before("regular-1", "sidecar-1") # sidecar-1 exited after regular-1 had
    log.has_restarted("sidecar-1")

Each helper raises AssertionError (with the whole log) where the e2e's returns an error, so that
a test reads like the e2e's `framework.ExpectNoError(results.StartsBefore(a, b))`; `holds()`
turns one into a bool for the e2e's `gomega.Expect(err).To(gomega.HaveOccurred())`.
Times are CLOCK_MONOTONIC nanoseconds, the clock time.monotonic_ns() reads."""

START, EXIT, LOOP, SIGNAL = "start", "exit", "loop", "signal"


# Start lines this close together, with nothing between them, are put in spawn order (see below).
SPAWN_RACE_NS = 100 * 1000000


class LifecycleLog:
    def __init__(self, events):
        # Stable: lines written by one process keep their order when their times tie.
        entries = sorted(events, key=lambda e: e[3])
        # The kubelet starts one container at a time (the CRI's StartContainer returns before the
        # next); usher spawns a sidecar without a startup probe and the next entry back to back,
        # so their first lines race each other to the log. usher spawns in order and the pid
        # namespace hands out pids in order: a run of start lines with nothing else between them,
        # written within SPAWN_RACE_NS, is put in pid order, which is the order of the spawns.
        out, i = [], 0
        while i < len(entries):
            j = i
            while (j + 1 < len(entries) and entries[j + 1][1] == START and entries[i][1] == START
                   and entries[j + 1][3] - entries[i][3] <= SPAWN_RACE_NS):
                j += 1
            run = entries[i:j + 1]
            if len(run) > 1:
                times = [e[3] for e in run]
                run = [(*e[:3], t, e[4]) for e, t in zip(sorted(run, key=lambda e: e[4]), times)]
            out.extend(run)
            i = j + 1
        self.entries = out

    def __str__(self):
        if not self.entries:
            return "(no events)"
        t0 = self.entries[0][3]
        return "\n".join(f"{i:3}) +{(e[3] - t0) / 1e6:9.1f} ms  {e[0]} {e[1]} {e[2]} (pid {e[4]})"
                         for i, e in enumerate(self.entries))

    def _fail(self, message):
        raise AssertionError(f"{message}, got\n{self}")

    # --- lookups (findIndex, FindIndex, TimeOfStart, TimeOfLastLoop) --------------------------
    def find_index(self, name, event, start=0, detail=None):
        """The index of the first `name event` line at or after `start`, or -1."""
        for i in range(max(start, 0), len(self.entries)):
            e = self.entries[i]
            if e[0] == name and e[1] == event and (detail is None or e[2] == detail):
                return i
        return -1

    def find_last_index(self, name, event):
        found = -1
        for i, e in enumerate(self.entries):
            if e[0] == name and e[1] == event:
                found = i
        return found

    def index(self, name, event, start=0, detail=None):
        """FindIndex: like find_index, but a missing line is an assertion error."""
        i = self.find_index(name, event, start, detail)
        if i == -1:
            self._fail(f"couldn't find {name} {event}{' ' + detail if detail else ''}")
        return i

    def all(self, name, event, detail=None):
        return [e for e in self.entries if e[0] == name and e[1] == event and (detail is None or e[2] == detail)]

    def at(self, i):
        return self.entries[i]

    def time_of(self, name, event, nth=0, detail=None):
        """The time (ns) of the nth (0-based) `name event` line."""
        found = self.all(name, event, detail)
        if len(found) <= nth:
            self._fail(f"couldn't find {name} {event} number {nth + 1}")
        return found[nth][3]

    def time_of_start(self, name):
        return self.time_of(name, START)

    def time_of_last_loop(self, name):
        i = self.find_last_index(name, LOOP)
        if i == -1:
            self._fail(f"couldn't find that {name} ever looped")
        return self.entries[i][3]

    def count(self, name, event):
        return len(self.all(name, event))

    # --- the e2e assertions -------------------------------------------------------------------
    def starts(self, name):
        if self.find_index(name, START) == -1:
            self._fail(f"couldn't find that {name} ever started")

    def doesnt_start(self, name):
        if self.find_index(name, START) != -1:
            self._fail(f"found {name} started, but didn't expect to")

    def exits(self, name):
        if self.find_index(name, EXIT) == -1:
            self._fail(f"couldn't find that {name} ever exited")

    def starts_before(self, lhs, rhs):
        """rhs starts (again, for the same name) after lhs has started."""
        lhs_start = self.find_index(lhs, START)
        if lhs_start == -1:
            self._fail(f"couldn't find that {lhs} ever started")
        if self.find_index(rhs, START, lhs_start + 1) == -1:
            self._fail(f"couldn't find that {rhs} started after {lhs}")

    def doesnt_start_after(self, lhs, rhs):
        """lhs does not start after rhs has started."""
        rhs_start = self.find_index(rhs, START)
        if rhs_start == -1:
            self._fail(f"couldn't find that {rhs} ever started")
        if self.find_index(lhs, START, rhs_start + 1) != -1:
            self._fail(f"expected {lhs} to not start after {rhs}")

    def exits_before(self, lhs, rhs):
        """rhs exits after lhs has exited."""
        lhs_exit = self.find_index(lhs, EXIT)
        if lhs_exit == -1:
            self._fail(f"couldn't find that {lhs} ever exited")
        if self.find_index(rhs, EXIT, lhs_exit + 1) == -1:
            self._fail(f"couldn't find that {rhs} exited after {lhs} exited")

    def run_together_lhs_first(self, lhs, rhs):
        """rhs starts after lhs started and before lhs exited, and both exit."""
        lhs_start = self.find_index(lhs, START)
        if lhs_start == -1:
            self._fail(f"couldn't find that {lhs} ever started")
        rhs_start = self.find_index(rhs, START, lhs_start + 1)
        if rhs_start == -1:
            self._fail(f"couldn't find that {rhs} ever started (after {lhs} had)")
        lhs_exit = self.find_index(lhs, EXIT, lhs_start + 1)
        if lhs_exit == -1:
            self._fail(f"couldn't find that {lhs} ever exited")
        if rhs_start > lhs_exit:
            self._fail(f"expected {rhs} to start before exiting {lhs}")
        rhs_exit = self.find_index(rhs, EXIT, rhs_start + 1)
        if rhs_exit == -1:
            self._fail(f"couldn't find that {rhs} ever exited")
        if lhs_start > rhs_exit:
            self._fail(f"expected {lhs} to start before exiting {rhs}")

    def run_together(self, lhs, rhs):
        if not self.holds(self.run_together_lhs_first, lhs, rhs):
            self.run_together_lhs_first(rhs, lhs)

    def has_restarted(self, name):
        i = self.find_index(name, START)
        if i == -1:
            self._fail(f"couldn't find that {name} ever started")
        if self.find_index(name, START, i + 1) == -1:
            self._fail(f"couldn't find that {name} ever restarted")

    def has_not_restarted(self, name):
        i = self.find_index(name, START)
        if i == -1:
            self._fail(f"couldn't find that {name} ever started")
        if self.find_index(name, START, i + 1) != -1:
            self._fail(f"found that {name} restarted but wasn't expected to")

    # --- beyond the e2e: signals and time windows ---------------------------------------------
    def signalled(self, name, nth=0):
        """The time (ns) of the nth signal `name` received (any signal)."""
        return self.time_of(name, SIGNAL, nth)

    def not_signalled(self, name):
        if self.all(name, SIGNAL):
            self._fail(f"{name} received a signal, but wasn't expected to")

    def within(self, what, t, after, low_ms, high_ms):
        """`t` falls between low_ms and high_ms after the instant `after` (all ns)."""
        took = (t - after) / 1e6
        if not low_ms <= took <= high_ms:
            self._fail(f"{what}: {took:.0f} ms, expected between {low_ms} and {high_ms} ms")
        return took

    def together(self, what, times, tolerance_ms):
        """The instants `times` (ns) lie within tolerance_ms of one another."""
        spread = (max(times) - min(times)) / 1e6
        if spread > tolerance_ms:
            self._fail(f"{what}: {spread:.0f} ms apart, expected at most {tolerance_ms} ms")
        return spread

    @staticmethod
    def holds(check, *args):
        """True when check(*args) passes: for the e2e's expected errors."""
        try:
            check(*args)
        except AssertionError:
            return False
        return True
