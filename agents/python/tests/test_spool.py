"""The agent's disk spool (ergowatch.spool, Agent(spool_dir=...)) against the fake monitor:
spill when memory is full, drain oldest first after reconnecting, drop only when the spool is
full too, a restarted process resending under its new session, torn tails, the lock, and a
process killed with SIGKILL. Runs without torch."""

import builtins
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import textwrap
import threading
import unittest
from pathlib import Path

import support
from support import FakeMonitor, wait_until

import ergowatch
from ergowatch import spool as spool_mod

logging.getLogger("ergowatch").setLevel(logging.CRITICAL)  # the tests provoke every warning on purpose

FAST = dict(reconnect_backoff=(0.01, 0.05), close_timeout=5.0, flush_interval=0.005)
AWAY = dict(reconnect_backoff=(0.01, 0.05), close_timeout=0.1)  # for a monitor that is not there


def segments(directory: Path):
    return sorted(directory.glob("*" + spool_mod.SUFFIX))


def disk_bytes(directory: Path) -> int:
    """Bytes of the spool's segments now (one may vanish while they are listed)."""
    total = 0
    for f in segments(directory):
        try:
            total += f.stat().st_size
        except FileNotFoundError:
            pass  # deleted by the network thread meanwhile
    return total


def record_paced(agent, steps, capacity, **values):
    """Records each step, waiting whenever memory holds 3/4 of ``capacity``: the network thread
    then has time to spill, so record() itself never has to drop (the tests count drops)."""
    for step in steps:
        agent.record(step, **{k: (v(step) if callable(v) else v) for k, v in values.items()})
        if (step + 1) % 8 == 0:
            wait_until(lambda: len(agent._buffer) < capacity * 3 // 4, what="the network thread to spill")


class SpoolTestCase(unittest.TestCase):
    def setUp(self):
        self.dir = Path(tempfile.mkdtemp(prefix="ergowatch-spool-"))
        self.addCleanup(shutil.rmtree, self.dir, True)

    def away(self):
        m = FakeMonitor(listen=False)  # bound, not listening: connection refused
        self.addCleanup(m.close)
        return m


class SpillAndDrainTest(SpoolTestCase):
    def test_a_monitor_away_fills_the_spool_not_the_drop_count_and_it_drains_in_order(self):
        m = self.away()
        agent = ergowatch.Agent(m.address, "spill-1", series=["loss", "lr"], buffer_capacity=64,
                                spool_dir=self.dir, **FAST)
        record_paced(agent, range(3000), 64, loss=float, lr=0.1)
        wait_until(lambda: agent.spooled_count >= 3000 - 64, what="records on disk")
        self.assertEqual(agent.dropped_count, 0)
        on_disk = segments(self.dir / "spill-1" / "rank-0")
        self.assertTrue(on_disk)
        m.start()
        self.assertTrue(agent.flush(20))
        agent.close()
        values = m.values("spill-1")
        self.assertEqual([v["step"] for v in values], list(range(3000)), "oldest first, each once")
        self.assertEqual([v["loss"] for v in values[:3]], [0.0, 1.0, 2.0])
        self.assertTrue(all("agent_dropped" not in v for v in values))
        self.assertEqual([st.seq for _, st in m.all_steps("spill-1")], list(range(1, 3001)))
        self.assertEqual(len({h.session for h in m.hellos}), 1)
        self.assertEqual((agent.acked_count, agent.dropped_count, agent.spooled_count), (3000, 0, 0))
        self.assertEqual(segments(self.dir / "spill-1" / "rank-0"), [], "delivered: nothing left on disk")

    def test_a_monitor_that_stops_acknowledging_makes_memory_spill_too(self):
        with FakeMonitor() as m:
            m.acking = False
            agent = ergowatch.Agent(m.address, "spill-2", series=["loss"], buffer_capacity=64, max_in_flight=32,
                                    spool_dir=self.dir, **FAST)
            record_paced(agent, range(1000), 64, loss=float)
            wait_until(lambda: agent.spooled_count > 500, what="records on disk")
            m.acking = True
            agent.force_reconnect()  # resend from the monitor's acked_seq + 1, then the spool, then memory
            self.assertTrue(agent.flush(20))
            agent.close()
            self.assertEqual([v["step"] for v in m.values("spill-2")], list(range(1000)))
            self.assertEqual((agent.dropped_count, agent.spooled_count), (0, 0))

    def test_record_never_touches_the_disk(self):
        m = self.away()
        agent = ergowatch.Agent(m.address, "disk-1", series=["loss"], buffer_capacity=64, spool_dir=self.dir,
                                **AWAY)
        inside = threading.local()
        touched = []

        def guard(name, real):
            def wrapper(*args, **kwargs):
                if getattr(inside, "recording", False):
                    touched.append(name)
                return real(*args, **kwargs)
            return wrapper

        patched = [(os, "write"), (os, "open"), (os, "replace"), (os, "truncate"), (os, "unlink"), (os, "fsync"),
                   (builtins, "open"), (io, "open")]
        originals = [(mod, name, getattr(mod, name)) for mod, name in patched]
        for mod, name, real in originals:
            setattr(mod, name, guard(f"{mod.__name__}.{name}", real))
        try:
            for step in range(2000):
                inside.recording = True
                try:
                    agent.record(step, loss=1.0)
                finally:
                    inside.recording = False
                if step % 8 == 7:
                    wait_until(lambda: agent.spooled_count + agent.dropped_count >= step - 40, what="spilling")
            wait_until(lambda: agent.spooled_count >= 2000 - 64, what="records on disk")
        finally:
            for mod, name, real in originals:
                setattr(mod, name, real)
        agent.close()
        self.assertEqual(touched, [])
        self.assertEqual((agent.spooled_count, agent.dropped_count), (2000, 0))


class SpoolFullTest(SpoolTestCase):
    def test_a_full_spool_drops_its_oldest_records_and_says_so_in_agent_dropped(self):
        m = self.away()
        limit = spool_mod.MIN_SPOOL_BYTES
        agent = ergowatch.Agent(m.address, "full-1", series=["loss"], buffer_capacity=64, spool_dir=self.dir,
                                spool_max_bytes=limit, **FAST)
        d = self.dir / "full-1" / "rank-0"
        most = 0
        for start in range(0, 6000, 200):
            record_paced(agent, range(start, start + 200), 64, loss=float)
            # Measured once the network thread has spilled what it will (no spill due, then a
            # moment for an append in progress): listing and sizing the files while it deletes
            # one segment and grows the next would count both.
            wait_until(lambda: len(agent._buffer) < agent._spill_at, what="spilling")
            time.sleep(0.05)
            most = max(most, disk_bytes(d))
        wait_until(lambda: agent.spooled_count + agent.dropped_count >= 6000 - 64, what="records on disk")
        dropped = agent.dropped_count
        self.assertGreater(dropped, 3000)  # 64 KiB hold under 2000 records of one series (37 bytes each)
        self.assertLessEqual(most, limit)
        m.start()
        self.assertTrue(agent.flush(20))
        agent.close()
        values = m.values("full-1")
        self.assertEqual([v["step"] for v in values], list(range(dropped, 6000)), "the oldest were dropped")
        self.assertTrue(all(v["agent_dropped"] == float(dropped) for v in values))
        self.assertEqual([st.seq for _, st in m.all_steps("full-1")], list(range(1, 6001 - dropped)),
                         "dropped records never had a seq")
        self.assertEqual((agent.acked_count, agent.dropped_count), (6000 - dropped, dropped))

    def test_spool_settings_are_validated(self):
        with self.assertRaises(ValueError) as cm:
            ergowatch.Agent("127.0.0.1:1", "bad-1", series=["loss"], spool_dir=self.dir, spool_max_bytes=1000)
        self.assertIn("spool_max_bytes must be an integer >= 65536", str(cm.exception))
        self.assertFalse((self.dir / "bad-1").exists(), "a bad setting takes no lock and writes nothing")


class RestartTest(SpoolTestCase):
    def test_a_restarted_process_sends_the_spooled_records_first_in_its_new_session(self):
        m = self.away()
        first = ergowatch.Agent(m.address, "restart-1", series=["loss"], spool_dir=self.dir, **AWAY)
        for step in range(500):
            first.record(step, loss=float(step))
        first.close()
        self.assertEqual((first.spooled_count, first.dropped_count, first.acked_count), (500, 0, 0))
        m.start()
        second = ergowatch.Agent(m.address, "restart-1", series=["loss"], spool_dir=self.dir, **FAST)
        self.assertEqual(second.recovered_count, 500)
        for step in range(500, 700):
            second.record(step, loss=float(step))
        self.assertTrue(second.flush(20))
        second.close()
        self.assertEqual([h.session for h in m.hellos], [second.session], "only the new session speaks")
        self.assertNotEqual(first.session, second.session)
        values = m.values("restart-1")
        self.assertEqual([v["step"] for v in values], list(range(700)))
        self.assertEqual([v["loss"] for v in values], [float(s) for s in range(700)])
        self.assertEqual([st.seq for _, st in m.all_steps("restart-1")], list(range(1, 701)))
        self.assertEqual((second.acked_count, second.dropped_count, second.spooled_count), (700, 0, 0))
        self.assertEqual(segments(self.dir / "restart-1" / "rank-0"), [])

    def test_spooled_values_are_mapped_to_the_new_process_series_by_name(self):
        m = self.away()
        first = ergowatch.Agent(m.address, "rename-1", series=["loss", "lr", "acc"], spool_dir=self.dir, **AWAY)
        first.record(0, loss=0.5, lr=0.1, acc=0.9)
        first.record(1, loss=0.25, acc=0.95)
        first.close()
        m.start()
        logger = logging.getLogger("ergowatch")
        logger.setLevel(logging.WARNING)
        try:
            with self.assertLogs("ergowatch", logging.WARNING) as logs:
                second = ergowatch.Agent(m.address, "rename-1", series=["lr", "loss"], spool_dir=self.dir, **FAST)
        finally:
            logger.setLevel(logging.CRITICAL)
        self.assertIn("series ['acc'] that this agent does not declare", "\n".join(logs.output))
        second.record(2, loss=0.125, lr=0.1)
        self.assertTrue(second.flush(10))
        second.close()
        self.assertEqual(m.values("rename-1"), [{"step": 0, "loss": 0.5, "lr": 0.1}, {"step": 1, "loss": 0.25},
                                                {"step": 2, "loss": 0.125, "lr": 0.1}])
        self.assertEqual(m.hellos[0].series, ("lr", "loss", "agent_dropped"))

    def test_other_runs_and_ranks_keep_their_own_spool(self):
        m = self.away()
        a = ergowatch.Agent(m.address, "own-1", series=["loss"], rank=0, world=2, spool_dir=self.dir, **AWAY)
        b = ergowatch.Agent(m.address, "own-1", series=["loss"], rank=1, world=2, spool_dir=self.dir, **AWAY)
        c = ergowatch.Agent(m.address, "own:2", series=["loss"], spool_dir=self.dir, **AWAY)
        for agent, step in ((a, 10), (b, 20), (c, 30)):
            agent.record(step, loss=1.0)
            agent.close()
        self.assertTrue((self.dir / "own%3A2" / "rank-0").is_dir())
        m.start()
        with ergowatch.Agent(m.address, "own-1", series=["loss"], rank=1, world=2, spool_dir=self.dir,
                             **FAST) as again:
            self.assertEqual(again.recovered_count, 1)
            self.assertTrue(again.flush(10))
        self.assertEqual([v["step"] for v in m.values("own-1")], [20])


class RecoveryTest(SpoolTestCase):
    def spool_records(self, run, n):
        m = self.away()
        agent = ergowatch.Agent(m.address, run, series=["loss"], spool_dir=self.dir, **AWAY)
        for step in range(n):
            agent.record(step, loss=float(step))
        agent.close()
        self.assertEqual(agent.spooled_count, n)
        files = segments(self.dir / run / "rank-0")
        self.assertEqual(len(files), 1)
        return m, files[0]

    def recover(self, m, run):
        """A new agent on the spool; returns (its warnings, the steps the monitor received)."""
        m.start()
        logger = logging.getLogger("ergowatch")
        logger.setLevel(logging.WARNING)
        try:
            with self.assertLogs("ergowatch", logging.WARNING) as logs:
                agent = ergowatch.Agent(m.address, run, series=["loss"], spool_dir=self.dir, **FAST)
                logging.getLogger("ergowatch").warning("(recovered)")  # assertLogs needs one at least
        finally:
            logger.setLevel(logging.CRITICAL)
        self.assertTrue(agent.flush(10))
        agent.close()
        self.assertEqual(agent.dropped_count, 0)
        return "\n".join(logs.output), [v["step"] for v in m.values(run)]

    def test_a_torn_tail_is_truncated_with_a_warning(self):
        m, path = self.spool_records("torn-1", 100)
        data = path.read_bytes()
        entry = 8 + 19 + 10
        path.write_bytes(data + data[-entry:-entry + 20])  # a crash in the middle of a write
        warnings, steps = self.recover(m, "torn-1")
        self.assertRegex(warnings, r"torn or corrupt entry at byte %d \(20 bytes dropped\); truncated there"
                         % len(data))
        self.assertEqual(steps, list(range(100)))

    def test_a_corrupt_entry_is_truncated_with_what_follows(self):
        m, path = self.spool_records("crc-1", 100)
        data = bytearray(path.read_bytes())
        entry = 8 + 19 + 10
        data[-entry * 10 + 12] ^= 0x40  # a bit flipped in the step of the 10th record from the end
        path.write_bytes(bytes(data))
        warnings, steps = self.recover(m, "crc-1")
        self.assertIn("truncated there", warnings)
        self.assertEqual(steps, list(range(90)))

    def test_a_segment_without_a_valid_header_is_deleted(self):
        m, path = self.spool_records("header-1", 10)
        path.write_bytes(b"\x00" * 64)
        warnings, steps = self.recover(m, "header-1")
        self.assertIn("no valid header at byte 0", warnings)
        self.assertEqual(steps, [])
        self.assertFalse(path.exists())


class LockTest(SpoolTestCase):
    def test_a_second_live_agent_cannot_share_a_spool(self):
        m = self.away()
        first = ergowatch.Agent(m.address, "lock-1", series=["loss"], spool_dir=self.dir, **AWAY)
        try:
            with self.assertRaises(ergowatch.SpoolInUseError) as cm:
                ergowatch.Agent(m.address, "lock-1", series=["loss"], spool_dir=self.dir, **AWAY)
            self.assertIn(f"in use by another live agent (pid {os.getpid()})", str(cm.exception))
        finally:
            first.close()
        again = ergowatch.Agent(m.address, "lock-1", series=["loss"], spool_dir=self.dir, **AWAY)
        again.close()


_CHILD = textwrap.dedent("""
    import os, signal, sys, time
    sys.path.insert(0, {tests!r})
    import support
    from support import FakeMonitor, wait_until
    import ergowatch

    m = FakeMonitor(listen=False)
    agent = ergowatch.Agent(m.address, "killed-1", series=["loss", "lr"], buffer_capacity=64, spool_dir={spool!r},
                            spool_max_bytes=512 << 10, reconnect_backoff=(0.01, 0.05), flush_interval=0.005)
    for step in range(3000):                   # 47 bytes a record: 3 segments of 64 KiB
        agent.record(step, loss=float(step), lr=0.1)
        if step % 8 == 7:
            wait_until(lambda: agent.spooled_count >= step - 40, what="spilling")
    wait_until(lambda: agent.spooled_count >= 3000 - 64, what="records on disk")
    m.start()                                  # the monitor comes back and acknowledges a part
    wait_until(lambda: agent.acked_count >= 2000, what="a part delivered")
    m.acking = False
    time.sleep(0.3)                            # the consumed mark catches up with the last ACK
    print(agent.spooled_count, agent.acked_count, agent.dropped_count, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
""")


@unittest.skipUnless(hasattr(__import__("signal"), "SIGKILL"), "needs SIGKILL")
class KilledProcessTest(SpoolTestCase):
    def test_a_process_killed_with_sigkill_loses_nothing_it_spooled_and_resends_nothing_acknowledged(self):
        child = subprocess.run([sys.executable, "-c", _CHILD.format(tests=str(support.HERE), spool=str(self.dir))],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(child.returncode, -9, child.stderr)
        spooled, acked, dropped = map(int, child.stdout.split())
        self.assertEqual(dropped, 0)
        self.assertGreaterEqual(acked, 2000)
        d = self.dir / "killed-1" / "rank-0"
        self.assertTrue((d / "lock").read_text().strip().isdigit())
        self.assertTrue((d / "consumed").is_file())
        self.assertIn(len(segments(d)), (1, 2), "of 3 segments, the first (acknowledged) was deleted")
        with FakeMonitor() as m:
            agent = ergowatch.Agent(m.address, "killed-1", series=["loss", "lr"], spool_dir=self.dir, **FAST)
            self.assertEqual(agent.recovered_count, spooled)  # the lock of a dead process is free
            agent.record(5000, loss=5000.0, lr=0.1)
            self.assertTrue(agent.flush(20))
            agent.close()
            steps = [v["step"] for v in m.values("killed-1")]
        # The last < 32 records stayed in memory (under the spill mark): SIGKILL took them.
        self.assertGreaterEqual(spooled + acked, 3000 - 32)
        self.assertEqual(steps, list(range(acked, acked + spooled)) + [5000],
                         "the spooled records the monitor had not acknowledged, each once, oldest first")


if __name__ == "__main__":
    unittest.main()
