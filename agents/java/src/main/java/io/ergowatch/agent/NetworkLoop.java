package io.ergowatch.agent;

import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.Codec;
import io.ergowatch.protocol.ErrorFrame;
import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.FrameEncoder;
import io.ergowatch.protocol.FrameException;
import io.ergowatch.protocol.Heartbeat;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Welcome;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's network thread: connects, says HELLO, resends what the WELCOME says is missing,
 * streams STEP frames in batches, sends HEARTBEATs, applies ACKs, reconnects with backoff, and
 * on close flushes, says BYE and waits for the final ACK.
 *
 * <p>It owns the consumer side of the {@link RecordBuffer} and the whole {@link InFlightWindow};
 * other threads only read its volatile counters and call {@link #signal}, {@link #requestClose},
 * {@link #forceReconnect}, {@link #stop} and {@link #awaitSettled}.
 *
 * <p>Seq numbering: a record gets its seq when it enters the window, just before its first
 * send, from the window's contiguous counter. The buffer can drop records (only unsent ones);
 * the window never drops any. So the seqs of a session are exactly 1..last without holes, and
 * every seq above the monitor's acked_seq is still in the window for a resend.
 *
 * <p>With a {@link Spool}, this thread is the only one that touches the disk. When the ring's
 * backlog reaches half its capacity and the records cannot go into the window (disconnected,
 * or the window is full), it spills them, oldest first, to the spool ({@link #spill});
 * {@code record()} wakes it for that ({@link #signal}). It takes records from the spool before
 * the ring, so they leave in record order. Order on disk: the spool always holds a prefix of
 * the unacknowledged records, in order: before the first ring record is spilled, the window's
 * records that have no copy on disk yet (seqs above {@code diskSeq}) are appended, and while
 * the spool has records to take, nothing is taken from the ring. So appending at close (the
 * window's rest, then the ring) keeps the order, and the records in flight that came from the
 * spool ({@code (acked, diskSeq]}) are exactly the newest ones it handed out, which is how
 * ACKs are passed on to it ({@link Spool#acknowledge}). At close everything undelivered goes to
 * the spool for the next agent process; a spool I/O error turns the spool off, never this
 * thread.
 *
 * <p>Must never block a producer, log a stack trace for an expected network condition, or
 * retry a run the monitor refused.
 */
final class NetworkLoop implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(ErgowatchAgent.class);
  /** Wait for a record claimed by a producer but not yet published. */
  private static final long CLAIMED_WAIT_NANOS = 50_000L;
  private static final long REANCHOR_NANOS = TimeUnit.SECONDS.toNanos(10);
  private static final long REFUSED_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  /** The final ACK after BYE gets at least this long, even when the close deadline passed. */
  private static final long BYE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final long DROP_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(60);

  private final AgentConfig config;
  private final RecordBuffer buffer;
  private final EpochClock clock;
  private final InFlightWindow window;
  private final PendingRecord pending;
  private final ByteBuffer batch;
  private final byte[] heartbeat = FrameEncoder.encode(Heartbeat.INSTANCE);
  private final Backoff backoff;
  private final RandomGenerator random;
  private final int droppedSeriesId;
  private final String address;
  /** Null when the agent has no spool. */
  private final Spool spool;
  /** Ring backlog at which records are spilled to the spool; 0 without a spool. */
  private final long spillAt;
  private final AtomicLong rejected = new AtomicLong();
  private final AtomicBoolean sleeping = new AtomicBoolean();
  private final AtomicInteger waiters = new AtomicInteger();
  private final Object progressLock = new Object();

  private Hello hello;
  private byte[] helloBytes;
  private Thread thread;

  // Read by other threads, written by the network thread.
  private volatile Connection current;
  private volatile Socket connecting;
  private volatile boolean connected;
  private volatile long session;
  private volatile long ackedSeq;
  private volatile long ackedRecords;
  private volatile long sentRecords;
  private volatile long windowDrops;
  /** Every record at a buffer position below this one is acknowledged or dropped. */
  private volatile long settled;
  private volatile String refusal;
  private volatile boolean terminated;

  // Written by other threads.
  private volatile boolean closing;
  private volatile Bye bye = new Bye(Bye.Status.COMPLETED, "");
  private volatile long closeDeadline;
  private volatile boolean stopped;
  /** Test hook: end as a killed process would, leaving the spool as it is on disk. */
  private volatile boolean crashed;
  /** Set by a producer that found the ring's backlog at {@code spillAt}; cleared before parking. */
  private volatile boolean spillWanted;

  // Network thread only.
  private long highestSentSeq;
  private long lastReanchor = System.nanoTime();
  private boolean outage;
  private boolean welcomed;
  /** A connect was attempted after the close was requested (so backoffs apply again). */
  private boolean attemptedSinceClose;
  private long droppedLogged;
  private long lastDropLog;
  /** Window seqs up to this one have a copy in the spool (those above acked are the newest taken from it). */
  private long diskSeq;

  NetworkLoop(AgentConfig config, RecordBuffer buffer, EpochClock clock, RandomGenerator random, Spool spool) {
    this.config = config;
    this.spool = spool;
    this.spillAt = spool == null ? 0 : Math.max(1, buffer.capacity() / 2);
    this.buffer = buffer;
    this.clock = clock;
    this.random = random;
    this.hello = config.hello();
    this.helloBytes = FrameEncoder.encode(hello);
    this.session = hello.session();
    int maxValues = hello.series().size();
    this.droppedSeriesId = maxValues - 1;
    this.window = new InFlightWindow(config.maxInFlight(), maxValues);
    this.pending = new PendingRecord(maxValues);
    this.batch = ByteBuffer.allocate(Math.multiplyExact(config.batchMaxRecords(), window.maxFrameBytes()));
    this.backoff = new Backoff(config.backoffInitialNanos(), config.backoffMaxNanos(), random);
    this.address = config.address();
  }

  /** The thread that will run this loop; call once, before starting it. */
  void bind(Thread networkThread) {
    this.thread = networkThread;
  }

  @Override
  public void run() {
    try {
      while (!stopped) {
        if (refusal != null) {
          discardAll();
          if (closing) {
            break;
          }
          LockSupport.parkNanos(this, REFUSED_POLL_NANOS);
          continue;
        }
        if (closing && (System.nanoTime() - closeDeadline >= 0 || !hasWork() && !welcomed)) {
          // Past the deadline; or nothing to deliver and the monitor never knew this run.
          // Otherwise reconnect: a run it knows should end with a BYE.
          break;
        }
        spillIfBacklog();
        Connection c = connect();
        if (c != null && stream(c)) {
          break;
        }
      }
    } catch (RuntimeException | Error e) {
      log.error("ergowatch: the network thread of run {} failed; its records are no longer sent", hello.run(), e);
      throw e;
    } finally {
      finish();
    }
  }

  // ---- connecting ---------------------------------------------------------------------------

  /** One attempt: a live connection after its WELCOME, or null (after waiting out a backoff). */
  private Connection connect() {
    if (closing) {
      attemptedSinceClose = true;
    }
    Socket socket = new Socket();
    connecting = socket;
    Connection c = null;
    Frame answer;
    try {
      if (stopped) {
        return null;
      }
      InetSocketAddress target = new InetSocketAddress(config.host(), config.port());
      c = Connection.open(socket, target, address, millis(config.connectTimeoutNanos()),
          millis(config.readTimeoutNanos()), thread, config.tls());
      answer = c.handshake(helloBytes);
    } catch (IOException e) {
      close(c, socket);
      unreachable(Connection.describe(e));
      return null;
    } catch (FrameException e) {
      close(c, socket);
      unreachable("bad answer to HELLO: " + e);
      return null;
    } finally {
      connecting = null;
    }
    if (answer instanceof ErrorFrame e) {
      c.close();
      refusedOrRetry(e);
      return null;
    }
    if (!(answer instanceof Welcome w)) {
      c.close();
      unreachable("monitor answered HELLO with " + answer.type() + " instead of WELCOME");
      return null;
    }
    if (window.maxFrameBytes() - Codec.LENGTH_BYTES > w.maxFrame()) {
      c.close();
      refuse("its max_frame " + w.maxFrame() + " is smaller than this run's largest STEP ("
          + (window.maxFrameBytes() - Codec.LENGTH_BYTES) + " bytes)");
      return null;
    }
    if (!welcome(w)) {
      c.close();
      return null; // new session: the caller reconnects at once with the new HELLO
    }
    try {
      long readTimeout = config.readTimeoutNanos();
      int tickMs = Math.max(10, Math.min(1000, millis(readTimeout) / 2));
      c.startReader(thread.getName() + "-reader", tickMs, readTimeout);
    } catch (IOException e) {
      c.close();
      unreachable(Connection.describe(e));
      return null;
    }
    current = c;
    connected = true;
    welcomed = true;
    outage = false;
    backoff.reset();
    String resend = window.isEmpty() ? "" : ", resending from seq " + (window.acked() + 1);
    log.info("ergowatch: connected to {} as run {} rank {}/{} (session {}){}", address, hello.run(),
        hello.rank(), hello.world(), Long.toHexString(session), resend);
    return c;
  }

  /**
   * Applies a WELCOME to the window.
   *
   * @return false when the monitor lost records it had acknowledged: a new session was started
   *     and the connection must be replaced
   */
  private boolean welcome(Welcome w) {
    long a = w.ackedSeq();
    if (a < window.acked()) {
      long oldSession = session;
      long oldAcked = window.acked();
      long base = window.acked();
      window.renumberFromOne();
      highestSentSeq = Math.max(0, highestSentSeq - base);
      diskSeq = Math.max(0, diskSeq - base);
      newSession();
      ackedSeq = 0;
      publishProgress();
      log.warn("ergowatch: monitor at {} knows seq {} of session {} but had acknowledged {}: it lost records;"
          + " continuing as new session {} with the {} unacknowledged records renumbered from 1",
          address, a, Long.toHexString(oldSession), oldAcked, Long.toHexString(session), window.size());
      return false;
    }
    if (a > window.last()) {
      log.warn("ergowatch: monitor at {} has seq {} of session {} but this agent sent only up to {};"
          + " numbering continues at {}", address, a, Long.toHexString(session), window.last(), a + 1);
      ackedRecords += window.skipTo(a);
      highestSentSeq = a;
    } else {
      ackedRecords += window.release(a);
    }
    spoolAcknowledge();
    ackedSeq = window.acked();
    publishProgress();
    return true;
  }

  private void newSession() {
    long s = random.nextLong();
    hello = new Hello(hello.run(), hello.job(), hello.token(), s, hello.rank(), hello.world(), hello.mode(),
        hello.series(), hello.labels());
    helloBytes = FrameEncoder.encode(hello);
    session = s;
  }

  private void refusedOrRetry(ErrorFrame e) {
    switch (e.code()) {
      case UNAUTHORIZED, INVALID_NAME, UNSUPPORTED_VERSION, BAD_FRAME, LIMIT_EXCEEDED ->
          refuse(e.code() + " " + e.message());
      default -> {
        long delay = backoff.nextDelayNanos();
        log.warn("ergowatch: monitor at {} answered the HELLO of run {} with {} {}; retrying in {} ms",
            address, hello.run(), e.code(), e.message(), millis(delay));
        outage = true;
        pause(delay);
      }
    }
  }

  private void refuse(String why) {
    refusal = why;
    connected = false;
    log.error("ergowatch: monitor at {} refused run {} rank {}/{}: {}; not retrying,"
        + " records of this run are being dropped", address, hello.run(), hello.rank(), hello.world(), why);
    dropInFlight();
    discardAll();
  }

  /**
   * Gives up on the records in flight: counted as dropped, never as acknowledged; those with a
   * copy in the spool stay there, to be taken again (by the next agent process).
   */
  private void dropInFlight() {
    long onDisk = spoolUsable() ? Math.max(0, diskSeq - window.acked()) : 0;
    long n = window.size() - onDisk;
    window.release(window.last());
    windowDrops += n;
    if (spoolUsable()) {
      spool.untake();
    }
  }

  private void unreachable(String reason) {
    connected = false;
    long delay = backoff.nextDelayNanos();
    if (!outage) {
      outage = true;
      log.warn("ergowatch: cannot reach the monitor at {}: {}; retrying in {} ms, buffering up to {} records{}",
          address, reason, millis(delay), buffer.capacity(), spool == null ? ""
              : ", then spooling up to " + spool.maxBytes() + " bytes in " + spool.dir());
    } else {
      log.debug("ergowatch: cannot reach the monitor at {}: {}; retrying in {} ms", address, reason, millis(delay));
    }
    pause(delay);
  }

  /**
   * Waits out a backoff. A close requested meanwhile ends it at once (one prompt attempt to
   * deliver and say BYE); during a close it ends at the close deadline.
   */
  private void pause(long delayNanos) {
    long until = System.nanoTime() + delayNanos;
    while (!stopped && !(closing && !attemptedSinceClose)) {
      long now = System.nanoTime();
      long limit = closing && closeDeadline - until < 0 ? closeDeadline : until;
      if (now - limit >= 0) {
        return;
      }
      logDrops(now);
      if (spillIfBacklog()) {
        continue;
      }
      LockSupport.parkNanos(this, limit - now);
    }
  }

  // ---- streaming ----------------------------------------------------------------------------

  /**
   * Streams on a live connection until it fails (false, after the backoff) or the agent has
   * closed (true).
   */
  private boolean stream(Connection c) {
    long flushInterval = config.flushIntervalNanos();
    long heartbeatInterval = config.heartbeatIntervalNanos();
    long readTimeout = config.readTimeoutNanos();
    int batchMax = config.batchMaxRecords();
    int frameMax = window.maxFrameBytes();
    long now = System.nanoTime();
    long sendSeq = window.acked() + 1;
    long lastStep = now - flushInterval; // idle: the first records go out at once
    long lastBeat = now;
    long lastAckProgress = now;
    long batchStart = now;
    int batched = 0;
    batch.clear();
    try {
      for (;;) {
        if (c.failed()) {
          return disconnected(c);
        }
        if (stopped) {
          c.close();
          return true;
        }
        now = System.nanoTime();
        if (now - lastReanchor >= REANCHOR_NANOS) {
          clock.reanchor();
          lastReanchor = now;
        }
        long a = c.acked();
        if (a > window.acked()) {
          applyAck(a);
          lastAckProgress = now;
        }
        if (sendSeq <= window.acked()) {
          sendSeq = window.acked() + 1;
        }
        boolean closingNow = closing;
        if (closingNow && (sendSeq > window.last() && !hasUnsent() || now - closeDeadline >= 0)) {
          // Everything is on the wire (or time is up): the final ACK of the BYE covers it.
          if (batched > 0) {
            c.write(batch.array(), 0, batch.position());
            sentUpTo(sendSeq - 1);
          }
          return sayBye(c) || disconnected(c);
        }

        boolean batchFull = false;
        boolean windowFull = false;
        for (;;) {
          if (batched >= batchMax || batch.remaining() < frameMax) {
            batchFull = true;
            break;
          }
          if (sendSeq <= window.last()) {
            if (batched++ == 0) {
              batchStart = now;
            }
            window.copyFrame(sendSeq, batch);
            sendSeq++;
            continue;
          }
          if (window.isFull()) {
            windowFull = true;
            break;
          }
          // The spool holds older records than the ring: it goes first.
          boolean fromSpool = spool != null && spool.hasUntaken();
          if (fromSpool ? !spool.take(pending) : !buffer.take(pending)) {
            if (fromSpool && !spool.hasUntaken()) {
              continue; // the rest of the spool was unreadable (counted): on with the ring
            }
            break;
          }
          appendDropped(pending);
          if (window.isEmpty()) {
            lastAckProgress = now;
          }
          window.append(pending);
          if (fromSpool) {
            diskSeq = window.last();
          }
        }
        publishProgress();

        if (batched > 0) {
          if (batchFull || windowFull || closingNow || waiters.get() > 0
              || now - lastStep >= flushInterval || now - batchStart >= flushInterval) {
            c.write(batch.array(), 0, batch.position());
            sentUpTo(sendSeq - 1);
            batch.clear();
            batched = 0;
            lastStep = now;
            continue;
          }
        } else if (now - later(lastStep, lastBeat) >= heartbeatInterval) {
          c.write(heartbeat, 0, heartbeat.length);
          lastBeat = now;
          continue;
        }
        if (!window.isEmpty() && now - lastAckProgress >= readTimeout) {
          c.fail("no ACK from the monitor for " + millis(now - lastAckProgress) + " ms");
          continue;
        }
        logDrops(now);

        long due = later(lastStep, lastBeat) + heartbeatInterval;
        due = earlier(due, lastReanchor + REANCHOR_NANOS);
        if (!window.isEmpty()) {
          due = earlier(due, lastAckProgress + readTimeout);
        }
        if (batched > 0) {
          parkUntil(earlier(due, batchStart + flushInterval)); // lingering for a fuller batch
        } else if (windowFull) {
          if (spillIfBacklog()) {
            continue; // the monitor is slow: the ring's backlog went to the spool
          }
          parkUntil(due); // the reader wakes us on ACK, record() when the ring needs a spill
        } else if (buffer.hasPending()) {
          LockSupport.parkNanos(this, CLAIMED_WAIT_NANOS); // a producer is mid-copy
        } else {
          sleeping.set(true);
          if (!buffer.hasPending() && !closing && waiters.get() == 0) {
            parkUntil(due);
          }
          sleeping.set(false);
        }
      }
    } catch (IOException e) {
      // Connection.write has recorded the reason in c.
      return disconnected(c);
    }
  }

  /** Adds the running drop total to a record once anything was dropped. */
  private void appendDropped(PendingRecord r) {
    long d = totalDropped();
    if (d > 0) {
      r.ids[r.count] = droppedSeriesId;
      r.values[r.count] = d;
      r.count++;
    }
  }

  private void applyAck(long a) {
    if (a > window.last()) {
      log.warn("ergowatch: monitor at {} acknowledged seq {} but this agent sent only up to {}",
          address, a, window.last());
    }
    ackedRecords += window.release(a);
    spoolAcknowledge();
    ackedSeq = window.acked();
    publishProgress();
  }

  /** Passes ACKs on to the spool: of the records taken from it, those still in flight stay. */
  private void spoolAcknowledge() {
    if (spool != null) {
      spool.acknowledge(Math.max(0, diskSeq - window.acked()));
    }
  }

  private boolean spoolUsable() {
    return spool != null && spool.usable();
  }

  /**
   * Spills when the ring's backlog has reached {@code spillAt}; clears the producers' wake-up
   * request first, so a request made after this check wakes the next park.
   *
   * @return true if it spilled
   */
  private boolean spillIfBacklog() {
    if (spillAt == 0) {
      return false;
    }
    spillWanted = false;
    if (!spoolUsable() || buffer.pendingCount() < spillAt) {
      return false;
    }
    spill(false);
    return true;
  }

  /**
   * Moves the ring's oldest unsent records to the spool: the backlog seen now, or everything
   * (at close). First, if the spool has nothing left to take, the window's records without a
   * copy on disk go there (as taken), so that the spool stays a prefix of the unacknowledged
   * records in order. Then hands the appends to the OS.
   */
  private void spill(boolean everything) {
    spillWanted = false;
    if (!spoolUsable()) {
      return;
    }
    if (!spool.hasUntaken()) {
      for (long seq = Math.max(diskSeq, window.acked()) + 1; seq <= window.last(); seq++) {
        window.readRecord(seq, pending, droppedSeriesId);
        if (!spool.append(pending, true)) {
          return; // the spool failed (logged): the window keeps its records
        }
        diskSeq = seq;
      }
    }
    long n = everything ? Long.MAX_VALUE : buffer.pendingCount();
    while (n-- > 0 && spool.usable() && buffer.take(pending)) {
      spool.append(pending, false);
    }
    spool.flush();
    publishProgress();
  }

  private void sentUpTo(long seq) {
    if (seq > highestSentSeq) {
      sentRecords += seq - highestSentSeq;
      highestSentSeq = seq;
    }
  }

  /**
   * Sends BYE and waits (bounded) for the monitor's final ACK and close.
   *
   * @return true when the run is over: everything acknowledged, or out of time; false when the
   *     connection ended with records unacknowledged and there is time to reconnect for them
   */
  private boolean sayBye(Connection c) throws IOException {
    byte[] b = FrameEncoder.encode(bye);
    c.write(b, 0, b.length);
    long until = later(closeDeadline, System.nanoTime() + BYE_WAIT_NANOS);
    // The monitor answers BYE with its final ACK and closes: wait for the close.
    while (!c.failed() && !stopped) {
      long left = until - System.nanoTime();
      if (left <= 0) {
        break;
      }
      LockSupport.parkNanos(this, left);
    }
    long a = c.acked();
    if (a > window.acked()) {
      applyAck(a);
    }
    if (!window.isEmpty() && !stopped && System.nanoTime() - closeDeadline < 0) {
      return false;
    }
    c.close();
    current = null;
    connected = false;
    return true;
  }

  private boolean disconnected(Connection c) {
    c.close();
    current = null;
    connected = false;
    outage = true;
    ErrorFrame error = c.error();
    if (error != null) {
      long delay = backoff.maxDelayNanos();
      log.error("ergowatch: monitor at {} ended the connection of run {} with {} {}; reconnecting in {} ms",
          address, hello.run(), error.code(), error.message(), millis(delay));
      pause(delay);
    } else {
      long delay = backoff.nextDelayNanos();
      log.warn("ergowatch: disconnected from {}: {}; reconnecting in {} ms", address, c.failure(), millis(delay));
      pause(delay);
    }
    return false;
  }

  // ---- progress and shutdown ----------------------------------------------------------------

  private boolean hasWork() {
    return hasUnsent() || !window.isEmpty();
  }

  /** Records not yet in the window: in the ring or waiting in the spool. */
  private boolean hasUnsent() {
    return buffer.hasPending() || spool != null && spool.hasUntaken();
  }

  private void discardAll() {
    buffer.discardAll();
    publishProgress();
  }

  /** Publishes how far records are settled; ackedSeq is published only where ACKs apply. */
  private void publishProgress() {
    if (!window.isEmpty()) {
      settled = window.positionOf(window.acked() + 1);
    } else if (spool != null && spool.hasUntaken()) {
      settled = Math.min(spool.nextPosition(), buffer.consumedPosition());
    } else {
      settled = buffer.consumedPosition();
    }
    if (waiters.get() > 0) {
      synchronized (progressLock) {
        progressLock.notifyAll();
      }
    }
  }

  private void logDrops(long now) {
    long d = totalDropped();
    if (d > droppedLogged && (lastDropLog == 0 || now - lastDropLog >= DROP_LOG_INTERVAL_NANOS)) {
      if (spool == null) {
        log.warn("ergowatch: buffer of run {} is full ({} records): dropped the oldest unsent records, {} so far",
            hello.run(), buffer.capacity(), d);
      } else {
        log.warn("ergowatch: buffer ({} records) and spool ({} of {} bytes in {}) of run {} could not hold the backlog:"
            + " dropped the oldest unsent records, {} so far", buffer.capacity(), spool.bytes(), spool.maxBytes(),
            spool.dir(), hello.run(), d);
      }
      droppedLogged = d;
      lastDropLog = now | 1L;
    }
  }

  private void finish() {
    Connection c = current;
    if (c != null) {
      c.close();
    }
    current = null;
    connected = false;
    long unsent;
    long unacked = window.size();
    if (spool != null && crashed) {
      spool.abandon(); // as a killed process: what is on disk stays, memory is lost
      unsent = buffer.discardAll();
      window.release(window.last());
    } else if (spoolUsable() && refusal == null) {
      unsent = buffer.pendingCount();
      spill(true); // everything undelivered, in order, for the next agent process
      dropInFlight();
      unsent += buffer.discardAll(); // only if the spool failed meanwhile
      spool.close();
    } else {
      unsent = buffer.discardAll();
      dropInFlight();
      if (spool != null) {
        spool.close();
      }
    }
    terminated = true;
    publishProgress();
    synchronized (progressLock) {
      progressLock.notifyAll();
    }
    long kept = spooledCount();
    if (kept > 0 && !crashed) {
      log.warn("ergowatch: run {} rank {} closed with {} records the monitor never acknowledged: they are kept in the"
          + " spool {}, and the next agent of this run and rank sends them", hello.run(), hello.rank(), kept,
          spool.dir());
    } else if (unsent + unacked > 0 && refusal == null) {
      log.warn("ergowatch: run {} closed with {} records undelivered ({} never sent, {} not acknowledged)",
          hello.run(), unsent + unacked, unsent, unacked);
    }
    long inherited = inheritedCount();
    log.info("ergowatch: run {} closed: {} records recorded{}, {} acknowledged, {} dropped{}",
        hello.run(), recordedCount(),
        inherited > 0 ? " (and " + inherited + " of an earlier agent, from the spool)" : "",
        ackedRecords, droppedCount(), spool != null ? ", " + kept + " kept in the spool" : "");
  }

  // ---- called from other threads ------------------------------------------------------------

  /** Wakes the network thread if it sleeps for lack of records; cheap when it does not. */
  void signal() {
    if (sleeping.get() && sleeping.compareAndSet(true, false)) {
      LockSupport.unpark(thread);
    } else if (spillAt > 0 && !spillWanted && buffer.pendingCount() >= spillAt) {
      spillWanted = true; // the ring is half full: time to move its oldest records to the spool
      LockSupport.unpark(thread);
    }
  }

  /** Starts the close: flush until the deadline, then BYE. */
  void requestClose(Bye b, long timeoutNanos) {
    bye = b;
    closeDeadline = System.nanoTime() + timeoutNanos;
    closing = true;
    LockSupport.unpark(thread);
  }

  /** Gives up on everything at once: closes the connection or the connect in progress. */
  void stop() {
    stopped = true;
    Socket s = connecting;
    if (s != null) {
      Connection.closeQuietly(s);
    }
    Connection c = current;
    if (c != null) {
      c.fail("agent stopped");
    }
    LockSupport.unpark(thread);
  }

  /** Test hook: stops like a killed process, without writing anything more to the spool. */
  void crash() {
    crashed = true;
    stop();
  }

  void forceReconnect() {
    Connection c = current;
    if (c != null) {
      c.fail("reconnect forced (test hook)");
    }
  }

  /** Counts a record() after close as dropped. */
  long reject() {
    return rejected.incrementAndGet();
  }

  /**
   * Waits until every record below {@code position} is acknowledged or dropped.
   *
   * @return false on timeout or interrupt (the interrupt flag is kept)
   */
  boolean awaitSettled(long position, long timeoutNanos) {
    if (settled >= position) {
      return true;
    }
    long deadline = System.nanoTime() + timeoutNanos;
    waiters.incrementAndGet();
    LockSupport.unpark(thread);
    try {
      synchronized (progressLock) {
        while (settled < position) {
          if (terminated) {
            return settled >= position;
          }
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            return false;
          }
          TimeUnit.NANOSECONDS.timedWait(progressLock, left);
        }
        return true;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } finally {
      waiters.decrementAndGet();
    }
  }

  boolean connected() {
    return connected;
  }

  long session() {
    return session;
  }

  long ackedSeq() {
    return ackedSeq;
  }

  long ackedCount() {
    return ackedRecords;
  }

  long sentCount() {
    return sentRecords;
  }

  long recordedCount() {
    return buffer.recordedCount() + rejected.get();
  }

  long droppedCount() {
    if (terminated) {
      return recordedCount() + inheritedCount() - ackedRecords - spooledCount();
    }
    return totalDropped();
  }

  private long totalDropped() {
    return buffer.droppedCount() + windowDrops + rejected.get() + (spool == null ? 0 : spool.droppedCount());
  }

  /** Records in the spool not yet acknowledged (after the end: kept for the next agent). */
  long spooledCount() {
    return spool == null ? 0 : spool.liveCount();
  }

  /** Records of an earlier agent process found in the spool at start. */
  long inheritedCount() {
    return spool == null ? 0 : spool.inherited();
  }

  /** Why the monitor refused this run ("CODE message"), or null. */
  String refusal() {
    return refusal;
  }

  boolean terminated() {
    return terminated;
  }

  // ---- helpers -------------------------------------------------------------------------------

  private static void close(Connection c, Socket socket) {
    if (c != null) {
      c.close();
    } else {
      Connection.closeQuietly(socket);
    }
  }

  private static void parkUntil(long due) {
    long left = due - System.nanoTime();
    if (left > 0) {
      LockSupport.parkNanos(left);
    }
  }

  private static long later(long a, long b) {
    return a - b >= 0 ? a : b;
  }

  private static long earlier(long a, long b) {
    return a - b <= 0 ? a : b;
  }

  private static int millis(long nanos) {
    return (int) Math.min(Integer.MAX_VALUE, TimeUnit.NANOSECONDS.toMillis(nanos));
  }
}
