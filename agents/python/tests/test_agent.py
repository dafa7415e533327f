"""The transport (ergowatch.Agent) against a fake EWP/1 monitor: delivery, resend from
acked + 1, drops and agent_dropped, refusal, heartbeat, close; and that record() never
blocks. Runs without torch."""

import logging
import random
import socket
import threading
import time
import unittest

import support
from support import FakeMonitor, p, wait_until

import ergowatch
from ergowatch.transport import Backoff

logging.getLogger("ergowatch").setLevel(logging.CRITICAL)  # the tests provoke every warning on purpose

FAST = dict(reconnect_backoff=(0.01, 0.05), close_timeout=5.0, flush_interval=0.005)


def seqs_of(monitor, run):
    return [st.seq for _, st in monitor.all_steps(run)]


class DeliveryTest(unittest.TestCase):
    def test_delivers_every_record_in_order_and_declares_agent_dropped_last(self):
        with FakeMonitor() as m:
            agent = ergowatch.Agent(m.address, "deliver-1", series=["loss", "lr", "proj.0"], job="sweep-7",
                                    labels={"optimizer": "sgd"}, rank=1, world=2, mode="sharded", **FAST)
            for step in range(500):
                agent.record(step, {"proj.0": -step}, loss=1.0 / (step + 1), lr=0.1)
            self.assertTrue(agent.flush(10))
            agent.close()
            hello = m.hellos[0]
            self.assertEqual(hello.series, ("loss", "lr", "proj.0", "agent_dropped"))
            self.assertEqual((hello.run, hello.job, hello.rank, hello.world, hello.mode),
                             ("deliver-1", "sweep-7", 1, 2, p.Mode.SHARDED))
            self.assertEqual(hello.labels, (("optimizer", "sgd"),))
            self.assertEqual(seqs_of(m, "deliver-1"), list(range(1, 501)))
            values = m.values("deliver-1")
            self.assertEqual([v["step"] for v in values], list(range(500)))
            self.assertEqual(values[9], {"step": 9, "loss": 0.1, "lr": 0.1, "proj.0": -9.0})
            self.assertTrue(all("agent_dropped" not in v for v in values))
            self.assertEqual(len(m.byes), 1)
            self.assertEqual(m.byes[0].status, p.ByeStatus.COMPLETED)
            self.assertEqual((agent.acked_count, agent.dropped_count, agent.sent_count), (500, 0, 500))

    def test_nan_and_infinities_are_sent_as_they_are(self):
        with FakeMonitor() as m, ergowatch.Agent(m.address, "nan-1", series=["loss", "grad_sq"], **FAST) as agent:
            agent.record(0, loss=float("nan"), grad_sq=float("inf"))
            agent.record(1, loss=-float("inf"), grad_sq=-0.0)
            self.assertTrue(agent.flush(5))
        v = m.values("nan-1")
        self.assertNotEqual(v[0]["loss"], v[0]["loss"])
        self.assertEqual((v[0]["grad_sq"], v[1]["loss"], str(v[1]["grad_sq"])), (float("inf"), -float("inf"), "-0.0"))

    def test_batches_many_frames_per_write(self):
        with FakeMonitor() as m:
            agent = ergowatch.Agent(m.address, "batch-1", series=["loss"], flush_interval=0.2, close_timeout=5)
            wait_until(lambda: agent.connected, what="connected")
            for step in range(1000):
                agent.record(step, loss=1.0)
            self.assertTrue(agent.flush(10))
            agent.close()
            self.assertEqual(m.step_count(), 1000)

    def test_record_after_close_is_dropped_and_close_twice_is_safe(self):
        with FakeMonitor() as m:
            agent = ergowatch.Agent(m.address, "close-1", series=["loss"], **FAST)
            agent.record(0, loss=1.0)
            agent.close("cancelled", "stopped by the user")
            agent.close()
            agent.record(1, loss=2.0)
            self.assertEqual(len(m.byes), 1)
            self.assertEqual((m.byes[0].status, m.byes[0].message), (p.ByeStatus.CANCELLED, "stopped by the user"))
            self.assertEqual((agent.recorded_count, agent.acked_count, agent.dropped_count), (2, 1, 1))

    def test_context_manager_reports_an_exception_as_failed(self):
        with FakeMonitor() as m:
            with self.assertRaises(KeyError):
                with ergowatch.Agent(m.address, "fail-1", series=["loss"], **FAST) as agent:
                    agent.record(0, loss=1.0)
                    raise KeyError("boom")
            self.assertEqual(m.byes[0].status, p.ByeStatus.FAILED)
            self.assertIn("KeyError", m.byes[0].message)
            self.assertEqual(m.step_count(), 1)

    def test_heartbeat_after_idle(self):
        with FakeMonitor() as m:
            with ergowatch.Agent(m.address, "beat-1", series=["loss"], heartbeat_interval=0.05, **FAST) as agent:
                agent.record(0, loss=1.0)
                wait_until(lambda: m.heartbeats >= 3, timeout=5, what="three heartbeats")

    def test_a_monitor_without_acks_leaves_records_unacknowledged_until_it_acks(self):
        with FakeMonitor() as m:
            m.acking = False
            agent = ergowatch.Agent(m.address, "window-1", series=["loss"], max_in_flight=5, **FAST)
            for step in range(50):
                agent.record(step, loss=float(step))
            wait_until(lambda: m.step_count() == 5, what="a full window")
            time.sleep(0.1)
            self.assertEqual(m.step_count(), 5)  # the window is full: nothing more goes out
            self.assertEqual(agent.dropped_count, 0)
            m.acking = True
            agent.force_reconnect()  # the monitor's state survives; the resend goes from its acked_seq + 1
            self.assertTrue(agent.flush(10))
            agent.close()
            self.assertEqual(seqs_of(m, "window-1"), list(range(1, 51)))
            self.assertEqual([v["loss"] for v in m.values("window-1")], [float(s) for s in range(50)])


class ResendTest(unittest.TestCase):
    def test_resends_from_welcome_acked_plus_one_after_a_lost_connection(self):
        with FakeMonitor(ack_every=10) as m:
            m.kill_after_steps = 25  # the connection dies with 20 acknowledged, 5 received, unacked
            agent = ergowatch.Agent(m.address, "resend-1", series=["loss"], **FAST)
            for step in range(25):
                agent.record(step, loss=float(step))
            wait_until(lambda: m.connections >= 2 or m.step_count() >= 25, what="the first connection to fill")
            m.kill_after_steps = None
            for step in range(25, 60):
                agent.record(step, loss=float(step))
            self.assertTrue(agent.flush(10))
            agent.close()
            self.assertGreaterEqual(m.connections, 2)
            self.assertEqual(len({h.session for h in m.hellos}), 1, "one session: a reconnect is not a restart")
            # Every seq exactly once, no gap (the fake monitor answers a gap with PROTOCOL_ORDER).
            self.assertEqual(seqs_of(m, "resend-1"), list(range(1, 61)))
            self.assertEqual([v["step"] for v in m.values("resend-1")], list(range(60)))
            self.assertEqual(m.errors_sent, [])
            self.assertEqual(agent.dropped_count, 0)

    def test_monitor_crash_mid_stream_loses_nothing(self):
        with FakeMonitor(ack_every=7) as m:
            agent = ergowatch.Agent(m.address, "crash-1", series=["loss", "lr"], **FAST)
            for step in range(2000):
                agent.record(step, loss=float(step), lr=0.5)
                if step % 400 == 399:
                    m.drop_connections()
            self.assertTrue(agent.flush(20))
            agent.close()
            self.assertEqual([v["step"] for v in m.values("crash-1")], list(range(2000)))
            self.assertEqual(m.errors_sent, [])

    def test_a_monitor_that_lost_records_gets_a_new_session_numbered_from_one(self):
        with FakeMonitor(ack_every=1) as m:
            m.acking = True
            agent = ergowatch.Agent(m.address, "lost-1", series=["loss"], **FAST)
            for step in range(10):
                agent.record(step, loss=1.0)
            self.assertTrue(agent.flush(5))
            first = agent.session
            m.acking = False
            for step in range(10, 15):
                agent.record(step, loss=2.0)
            wait_until(lambda: m.step_count() == 15, what="unacked records on the wire")
            m.welcome_acked = lambda session: 0  # the monitor restarted without its log
            m.acking = True
            agent.force_reconnect()
            self.assertTrue(agent.flush(10))
            agent.close()
            self.assertNotEqual(agent.session, first)
            renumbered = [st for s, st in m.all_steps("lost-1") if s.hello.session == agent.session]
            self.assertEqual([st.seq for st in renumbered], [1, 2, 3, 4, 5])
            self.assertEqual([st.step for st in renumbered], [10, 11, 12, 13, 14])


class DropTest(unittest.TestCase):
    def test_full_buffer_drops_the_oldest_unsent_and_says_so_in_agent_dropped(self):
        m = FakeMonitor(listen=False)  # bound, not listening: connection refused
        try:
            agent = ergowatch.Agent(m.address, "drops-1", series=["loss"], buffer_capacity=10, **FAST)
            for step in range(50):
                agent.record(step, loss=float(step))
            self.assertEqual(agent.dropped_count, 40)
            m.start()
            self.assertTrue(agent.flush(10))
            agent.record(50, loss=50.0)
            self.assertTrue(agent.flush(10))
            agent.close()
            values = m.values("drops-1")
            self.assertEqual([v["step"] for v in values], list(range(40, 51)))
            self.assertTrue(all(v["agent_dropped"] == 40.0 for v in values))
            self.assertEqual(seqs_of(m, "drops-1"), list(range(1, 12)), "dropped records never had a seq")
        finally:
            m.close()

    def test_record_never_blocks_when_nothing_listens(self):
        port = support.free_port()
        agent = ergowatch.Agent(f"127.0.0.1:{port}", "nobody-1", series=["loss", "lr", "grad_sq"],
                                buffer_capacity=1000, close_timeout=0.3)
        worst = 0.0
        start = time.perf_counter()
        for step in range(20000):
            t = time.perf_counter()
            agent.record(step, loss=1.0, lr=0.1, grad_sq=2.0)
            worst = max(worst, time.perf_counter() - t)
        total = time.perf_counter() - start
        self.assertLess(worst, 0.05, "one record() call took too long")
        self.assertLess(total, 5.0)
        self.assertEqual(agent.dropped_count, 19000)
        t = time.perf_counter()
        agent.close()
        self.assertLess(time.perf_counter() - t, 0.3 + 3.0)
        self.assertEqual(agent.dropped_count, 20000)

    def test_record_never_blocks_when_the_monitor_accepts_but_never_answers(self):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        try:
            agent = ergowatch.Agent(f"127.0.0.1:{server.getsockname()[1]}", "silent-1", series=["loss"],
                                    buffer_capacity=100, read_timeout=0.2, close_timeout=0.3)
            worst = 0.0
            for step in range(5000):
                t = time.perf_counter()
                agent.record(step, loss=1.0)
                worst = max(worst, time.perf_counter() - t)
            self.assertLess(worst, 0.05)
            agent.close()
            self.assertEqual(agent.dropped_count, 5000)
        finally:
            server.close()

    def test_refused_hello_is_not_retried(self):
        with FakeMonitor() as m:
            m.answer_hello = lambda h: p.ErrorFrame(p.ErrorCode.INVALID_NAME, "nope")
            agent = ergowatch.Agent(m.address, "refused-1", series=["loss"], **FAST)
            agent.record(0, loss=1.0)
            wait_until(lambda: agent.refusal is not None, what="the refusal")
            time.sleep(0.2)
            agent.record(1, loss=1.0)
            agent.close()
            self.assertEqual(len(m.hellos), 1)
            self.assertEqual(agent.refusal, "INVALID_NAME nope")
            self.assertEqual(agent.dropped_count, 2)

    def test_overloaded_is_retried_with_backoff(self):
        with FakeMonitor() as m:
            answers = [p.ErrorFrame(p.ErrorCode.OVERLOADED, "busy"), p.ErrorFrame(p.ErrorCode.INTERNAL, "bug")]
            m.answer_hello = lambda h: answers.pop(0) if answers else None
            with ergowatch.Agent(m.address, "retry-1", series=["loss"], **FAST) as agent:
                agent.record(0, loss=1.0)
                self.assertTrue(agent.flush(10))
            self.assertEqual(len(m.hellos), 3)
            self.assertEqual(m.step_count(), 1)


class ValidationTest(unittest.TestCase):
    def test_bad_names_raise_the_protocol_error_with_its_code(self):
        with self.assertRaises(ergowatch.ProtocolError) as cm:
            ergowatch.Agent("localhost:7479", "a/b", series=["loss"])
        self.assertEqual(cm.exception.code, ergowatch.ErrorCode.INVALID_NAME)
        with self.assertRaises(ValueError):
            ergowatch.Agent("localhost:7479", "r", series=["Loss"])
        with self.assertRaises(ValueError) as cm:
            ergowatch.Agent("localhost:7479", "r", series=["agent_dropped"])
        self.assertIn("reserved", str(cm.exception))
        with self.assertRaises(ValueError):
            ergowatch.Agent("localhost:7479", "r", series=[])
        with self.assertRaises(ValueError):
            ergowatch.Agent("localhost:7479", "r", series=["a", "a"])
        with self.assertRaises(ValueError) as cm:
            ergowatch.Agent("localhost", "r", series=["loss"])
        self.assertEqual(str(cm.exception), 'address "localhost" must be host:port, e.g. localhost:7479')
        with self.assertRaises(ValueError):
            ergowatch.Agent("localhost:7479", "r", series=["loss"], rank=2, world=2)
        with self.assertRaises(ValueError):
            ergowatch.Agent("localhost:7479", "r", series=["loss"], mode="diagonal")

    def test_record_rejects_wrong_calls_only(self):
        agent = ergowatch.Agent("127.0.0.1:1", "calls-1", series=["loss"], close_timeout=0.1)
        try:
            with self.assertRaises(ValueError) as cm:
                agent.record(0, acc=1.0)
            self.assertEqual(str(cm.exception), "unknown series \"acc\"; declared: ['loss']")
            with self.assertRaises(ValueError):
                agent.record(-1, loss=1.0)
            with self.assertRaises(ValueError):
                agent.record(0, loss="high")
            with self.assertRaises(ValueError) as cm:
                agent.record(0, agent_dropped=1.0)
            self.assertIn("filled by the agent", str(cm.exception))
            self.assertEqual(agent.recorded_count, 0)
        finally:
            agent.close()

    def test_ipv6_address_form(self):
        agent = ergowatch.Agent("[::1]:1", "v6-1", series=["loss"], close_timeout=0.1)
        agent.close()


class BackoffTest(unittest.TestCase):
    def test_full_jitter_under_a_doubling_capped_bound(self):
        b = Backoff(0.1, 1.0, random.Random(1))
        bounds = []
        for _ in range(8):
            bounds.append(b.ceiling())
            d = b.next_delay()
            self.assertLessEqual(d, bounds[-1])
            self.assertGreaterEqual(d, 0.0)
        self.assertEqual(bounds, [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0])
        b.reset()
        self.assertEqual(b.ceiling(), 0.1)
        delays = [Backoff(0.1, 1.0, random.Random(s)).next_delay() for s in range(200)]
        self.assertLess(min(delays), 0.01)  # full jitter: near zero happens
        self.assertGreater(max(delays), 0.09)


class ThreadSafetyTest(unittest.TestCase):
    def test_many_threads_record_concurrently(self):
        with FakeMonitor() as m:
            agent = ergowatch.Agent(m.address, "threads-1", series=["loss"], **FAST)

            def work(offset):
                for i in range(500):
                    agent.record(offset + i, loss=float(i))

            threads = [threading.Thread(target=work, args=(k * 1000,)) for k in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertTrue(agent.flush(10))
            agent.close()
            self.assertEqual(sorted(v["step"] for v in m.values("threads-1")),
                             sorted(k * 1000 + i for k in range(4) for i in range(500)))


if __name__ == "__main__":
    unittest.main()
