package io.ergowatch.agent;

import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.Codec;
import io.ergowatch.protocol.FrameEncoder;
import io.ergowatch.protocol.FrameException;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Label;
import io.ergowatch.protocol.Mode;
import io.ergowatch.protocol.Names;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams the records of one training run (one rank of it) to the ergowatch monitor over
 * EWP/1, without ever blocking or slowing the training loop.
 *
 * <pre>{@code
 * try (ErgowatchAgent agent = ErgowatchAgent.builder()
 *         .address("localhost:7479").run("resnet-lr0.1").job("sweep-7")
 *         .series("loss", "grad_sq", "lr").label("optimizer", "sgd").build()) {
 *   double[] values = new double[3];           // reuse it: record() copies
 *   for (long step = 0; step < steps; step++) {
 *     values[0] = loss; values[1] = gradSq; values[2] = lr;
 *     agent.record(step, values);               // never blocks, never allocates
 *   }
 * }
 * }</pre>
 *
 * <h2>Threads</h2>
 * {@link Builder#build()} starts one daemon thread, {@code ergowatch-agent-<run>}, and returns at once
 * without waiting for the monitor. That thread connects, sends HELLO, resends what the WELCOME
 * asks for, streams STEP frames in batches (many frames per write; a batch leaves when full,
 * when the agent was idle, or at most {@code flushInterval} after its first record), sends a
 * HEARTBEAT after {@code heartbeatInterval} without a STEP, and reconnects after any failure
 * with exponential backoff and full jitter. Each connection has a reader thread for ACKs.
 *
 * <p>{@code record()} may be called from any number of threads. It is lock-free: one atomic
 * increment claims a slot of a preallocated ring and a CAS on the slot's version marks it
 * (see {@code MemoryRecordBuffer}); it takes no lock, never waits and allocates nothing. Records
 * of one thread keep their order; records of several threads are ordered by their claims.
 *
 * <h2>Delivery, drops and seq numbers</h2>
 * A record stays in memory until the monitor acknowledges it, in two places: the ring
 * ({@code bufferCapacity} records not sent yet) and the in-flight window ({@code maxInFlight}
 * records sent but not acknowledged); with a spool ({@link Builder#spool}), also on disk. The
 * seq of a record is assigned by the network thread when the record enters the window,
 * immediately before its first send — not by {@code record()}, and never to a record in the
 * ring or waiting in the spool. Invariant: <em>the seqs of a session are 1..last with no hole,
 * and every seq above the last acknowledged one is still in the window</em>, because
 * <ul>
 *   <li>only the ring and the spool drop, and only unsent records, which have no seq yet: when
 *       the ring is full, the oldest unsent record is overwritten; when the spool is full, its
 *       oldest segment is deleted; both are counted in {@link #droppedCount()};
 *   <li>the window never drops: when it is full (the monitor is slow to ACK, or away) the
 *       network thread stops taking records from the ring, which then absorbs the backlog
 *       (and spills it to the spool);
 *   <li>after a reconnect the agent resends from WELCOME.acked_seq + 1, which is in the window.
 * </ul>
 * So the monitor never sees a gap (no PROTOCOL_ORDER), and a seq, once sent, always names the
 * same record (dedup stays exact). Once anything was dropped, every later STEP carries the
 * running total in the series {@code agent_dropped}, which every HELLO declares (appended after
 * the user's series). If a WELCOME reports less than the monitor had already acknowledged (it
 * lost records, e.g. restarted without its log), the agent starts a new session and renumbers
 * the records still in flight from 1.
 *
 * <p>If the monitor refuses the HELLO (UNAUTHORIZED, INVALID_NAME, UNSUPPORTED_VERSION,
 * BAD_FRAME, LIMIT_EXCEEDED) the agent logs it once and stops trying: records are then counted
 * as dropped. OVERLOADED, INTERNAL and other answers are retried with backoff.
 *
 * <p>{@link #close()} sends what is buffered, then BYE, and waits for the monitor's final ACK,
 * all within {@code closeTimeout}; what is still undelivered then counts as dropped (with a
 * spool: is kept in the spool, see below).
 *
 * <h2>Spool</h2>
 * Off by default; {@link Builder#spool(java.nio.file.Path, long)} turns it on. The records
 * always move in record order: ring → spool → window, or ring → window when the spool has
 * nothing waiting.
 * <ul>
 *   <li><b>Spilling.</b> When the ring holds half its capacity and the network thread cannot
 *       put the records into the window (disconnected, or the window is full), it moves the
 *       oldest unsent records to the spool; {@code record()} only wakes it for that (one
 *       volatile flag, no allocation, no I/O). The thread spills between network operations:
 *       while it is blocked in one (a connect, up to {@code connectTimeout}; waiting for a
 *       WELCOME or a stalled write, up to {@code readTimeout}), or if the training loop
 *       outruns the disk, the ring alone absorbs records and may still drop its oldest.
 *   <li><b>Draining.</b> Spooled records are sent before any record still in the ring, oldest
 *       first, as soon as the window has room. A record leaves the spool when the monitor
 *       acknowledges it, not when it is sent.
 *   <li><b>Bound.</b> When the spool holds {@code maxBytes}, its oldest segment (an eighth of
 *       the spool) is deleted; its records not yet sent are counted as dropped.
 *   <li><b>Close.</b> {@link #close()} first tries to deliver as without a spool; whatever is
 *       still undelivered at the deadline (in the ring, or sent but unacknowledged) is appended
 *       to the spool, which is then fsynced: {@link #spooledCount()} says how many.
 *   <li><b>Restart.</b> A new agent process of the same run and rank given the same directory
 *       recovers the spool at {@link Builder#build()} and sends its records before its own,
 *       after its own HELLO, under its own new session: seqs start again at 1, as for any
 *       restart (the monitor marks a rewind and continues the run). Records the old process
 *       had sent without an ACK may thus reach the monitor twice, once per session; a restart
 *       from a checkpoint repeats steps the same way. Two live agents cannot share a spool: the
 *       second one's {@code build()} fails (a lock file, released by the OS when a process
 *       dies).
 *   <li><b>Crash.</b> What survives a crash (kill -9, OOM) of the process is what is in the
 *       spool: records spilled (handed to the OS after every spill) and, after a clean close,
 *       everything undelivered. Records still only in memory at the crash — the ring's
 *       backlog (under half its capacity while spilling keeps up) and the in-flight records
 *       that did not come from the spool — are lost.
 *       A power failure can also lose the spool's tail since the last fsync (at close); a torn
 *       or corrupt tail is truncated at the next start, with a warning, never a crash. Records
 *       acknowledged in the last 200 ms before a crash may be sent again by the next process
 *       (the spool's checkpoint is written at most every 200 ms).
 *   <li><b>Errors.</b> A disk error logs once and turns the spool off for this agent; the
 *       training loop never sees it. A run the monitor refuses leaves its spool as it is, for a
 *       later agent with a corrected configuration; its new records are dropped as without a
 *       spool.
 *   <li><b>{@code agent_dropped}.</b> Spooled records carry the count of the agent that sends
 *       them, taken at send time; a restarted agent counts from 0.
 * </ul>
 *
 * <p>Record timestamps are taken in {@code record()}: Unix epoch nanoseconds from a monotonic
 * clock anchored to the wall clock.
 *
 * <p>This class must never block, slow down or throw into the training loop for anything the
 * network or the monitor does; {@code record()} throws only for a wrong call (bad arguments).
 * It never replaces NaN or ±Inf: they are sent bit for bit.
 */
public final class ErgowatchAgent implements AutoCloseable {
  /** The series every HELLO declares last: the number of records this agent dropped so far. */
  public static final String AGENT_DROPPED = "agent_dropped";
  /** The monitor's EWP/1 port. */
  public static final int DEFAULT_PORT = 7479;

  private static final Logger log = LoggerFactory.getLogger(ErgowatchAgent.class);
  /** Memory the default buffer capacity may take; runs with many series get fewer records. */
  private static final long DEFAULT_BUFFER_BYTES = 64L << 20;
  private static final long DEFAULT_WINDOW_BYTES = 16L << 20;
  private static final long MAX_BATCH_BYTES = 1L << 20;

  private final AgentConfig config;
  private final List<String> userSeries;
  private final int seriesCount;
  private final RecordBuffer buffer;
  private final EpochClock clock = new EpochClock();
  private final NetworkLoop loop;
  private final Thread thread;
  private final ThreadLocal<long[]> idScratch;
  private final AtomicBoolean closeStarted = new AtomicBoolean();
  private final AtomicBoolean warnedAfterClose = new AtomicBoolean();
  private volatile boolean closed;

  private final Spool spool;

  private ErgowatchAgent(AgentConfig config, Spool spool) {
    this.config = config;
    this.spool = spool;
    List<String> all = config.hello().series();
    this.userSeries = all.subList(0, config.userSeries());
    this.seriesCount = config.userSeries();
    this.buffer = new MemoryRecordBuffer(config.bufferCapacity(), seriesCount);
    int words = (seriesCount + 63) >>> 6;
    this.idScratch = ThreadLocal.withInitial(() -> new long[words]);
    this.loop = new NetworkLoop(config, buffer, clock, new SplittableRandom(new SecureRandom().nextLong()), spool);
    this.thread = new Thread(loop, "ergowatch-agent-" + config.hello().run());
    thread.setDaemon(true);
    loop.bind(thread);
  }

  public static Builder builder() {
    return new Builder();
  }

  // ---- recording ------------------------------------------------------------------------------

  /**
   * Records one value for every declared series, in the order of {@link Builder#series}.
   * NaN and ±Inf are data and are sent as they are. Never blocks; allocates nothing when given
   * an array (varargs with separate values allocate the array).
   *
   * @throws IllegalArgumentException if {@code step < 0} or the number of values is not the
   *     number of declared series
   */
  public void record(long step, double... values) {
    if (values.length != seriesCount) {
      throw new IllegalArgumentException("expected " + seriesCount + " values " + userSeries
          + ", got " + values.length);
    }
    checkStep(step);
    if (closed) {
      rejectAfterClose();
      return;
    }
    buffer.put(step, clock.nowNanos(), values);
    loop.signal();
  }

  /**
   * Records values for a subset of the series: {@code values[i]} for series id {@code
   * seriesIds[i]}, for i &lt; count. Ids come from {@link #seriesId(String)}; each at most once.
   * Never blocks; allocates nothing in steady state.
   *
   * @throws IllegalArgumentException for {@code step < 0}, a count outside the arrays, an id
   *     that is not a declared series, or an id given twice
   */
  public void record(long step, int[] seriesIds, double[] values, int count) {
    checkStep(step);
    if (count < 0 || count > seriesIds.length || count > values.length) {
      throw new IllegalArgumentException("count " + count + " must be within 0.." + Math.min(seriesIds.length,
          values.length) + " (ids: " + seriesIds.length + ", values: " + values.length + ")");
    }
    checkIds(seriesIds, count);
    if (closed) {
      rejectAfterClose();
      return;
    }
    buffer.put(step, clock.nowNanos(), seriesIds, values, count);
    loop.signal();
  }

  /**
   * The id of a declared series, for {@link #record(long, int[], double[], int)}.
   *
   * @throws IllegalArgumentException for a name that was not declared (or {@code agent_dropped})
   */
  public int seriesId(String name) {
    int id = userSeries.indexOf(name);
    if (id < 0) {
      if (AGENT_DROPPED.equals(name)) {
        throw new IllegalArgumentException("series \"agent_dropped\" is filled by the agent, not by record()");
      }
      throw new IllegalArgumentException("unknown series " + Names.quote(name) + "; declared: " + userSeries);
    }
    return id;
  }

  private static void checkStep(long step) {
    if (step < 0) {
      throw new IllegalArgumentException("step must be >= 0, got " + step);
    }
  }

  private void checkIds(int[] ids, int count) {
    long[] seen = idScratch.get();
    int i = 0;
    try {
      for (; i < count; i++) {
        int id = ids[i];
        if (id < 0 || id >= seriesCount) {
          throw new IllegalArgumentException("series id " + id + " is not a declared series (ids 0.."
              + (seriesCount - 1) + ")");
        }
        long bit = 1L << id;
        if ((seen[id >>> 6] & bit) != 0) {
          throw new IllegalArgumentException("series id " + id + " (" + userSeries.get(id) + ") appears twice");
        }
        seen[id >>> 6] |= bit;
      }
    } finally {
      for (int j = 0; j < i; j++) {
        seen[ids[j] >>> 6] = 0;
      }
    }
  }

  private void rejectAfterClose() {
    loop.reject();
    if (warnedAfterClose.compareAndSet(false, true)) {
      log.warn("ergowatch: record() after close() on run {}: the record is dropped", config.hello().run());
    }
  }

  // ---- flushing and closing ---------------------------------------------------------------------

  /**
   * Waits until every record recorded before this call is either acknowledged by the monitor
   * or dropped (see {@link #droppedCount()}), and asks the network thread to send at once.
   *
   * @return false if the timeout passed first (or the thread was interrupted; the flag is kept)
   */
  public boolean flush(Duration timeout) {
    return loop.awaitSettled(buffer.recordedCount(), timeout.toNanos());
  }

  /** Closes with status completed: see {@link #close(Bye.Status, String)}. */
  @Override
  public void close() {
    close(Bye.Status.COMPLETED, "");
  }

  /**
   * Ends the run: sends what is buffered (waiting at most {@code closeTimeout}), sends
   * BYE(status, message), waits briefly for the final ACK, closes the connection and stops the
   * network thread. Records still undelivered are counted as dropped. Idempotent: later calls
   * only wait for the first to finish. Later {@code record()} calls drop their record.
   *
   * @throws IllegalArgumentException if the message does not fit an EWP string
   */
  public void close(Bye.Status status, String message) {
    Bye bye;
    try {
      bye = new Bye(status, message);
    } catch (FrameException e) {
      throw new IllegalArgumentException("BYE " + e.getMessage(), e);
    }
    long timeout = config.closeTimeoutNanos();
    if (closeStarted.compareAndSet(false, true)) {
      closed = true;
      loop.requestClose(bye, timeout);
    }
    // The flush deadline, the final ACK and a connect in progress can each take a little more.
    long joinMillis = TimeUnit.NANOSECONDS.toMillis(timeout) + 2_000
        + TimeUnit.NANOSECONDS.toMillis(config.connectTimeoutNanos());
    try {
      thread.join(joinMillis);
      if (thread.isAlive()) {
        log.warn("ergowatch: network thread of run {} did not stop in {} ms; stopping it", config.hello().run(),
            joinMillis);
        loop.stop();
        thread.join(2_000);
      }
    } catch (InterruptedException e) {
      loop.stop();
      Thread.currentThread().interrupt();
    }
  }

  // ---- state, for tests, demos and health checks ------------------------------------------------

  /** True while a connection is established (between its WELCOME and its end). */
  public boolean connected() {
    return loop.connected();
  }

  /** The highest seq of the current session the monitor acknowledged. */
  public long ackedSeq() {
    return loop.ackedSeq();
  }

  /** Records written to the monitor at least once. */
  public long sentCount() {
    return loop.sentCount();
  }

  /** Records the monitor acknowledged. */
  public long ackedCount() {
    return loop.ackedCount();
  }

  /** Calls of {@code record()} that returned normally (whatever became of the record). */
  public long recordedCount() {
    return loop.recordedCount();
  }

  /**
   * Records dropped so far: overwritten in a full buffer (and, with a spool, deleted from a full
   * spool), recorded after close, or undelivered when the agent closed or the monitor refused
   * the run and not kept in the spool. May lag by a few records while the network thread is
   * moving records; exact once the agent is idle or closed. Once closed, {@code recordedCount()
   * + inherited − ackedCount() − spooledCount()}, where inherited counts the records of an
   * earlier agent process found in the spool.
   */
  public long droppedCount() {
    return loop.droppedCount();
  }

  /**
   * Records in the spool not yet acknowledged by the monitor: 0 without a spool. After the
   * agent ended, the records it left in the spool for the next agent of this run and rank.
   */
  public long spooledCount() {
    return loop.spooledCount();
  }

  /** Records waiting in the in-memory ring (not yet in the window or the spool): tests. */
  long bufferedCount() {
    return buffer.pendingCount();
  }

  /** Records of an earlier agent process this agent found in its spool at build(): tests. */
  long inheritedCount() {
    return loop.inheritedCount();
  }

  /** The current session id (a new one replaces it if the monitor lost acknowledged records). */
  public long session() {
    return loop.session();
  }

  /** The series of the HELLO, id = index: the declared ones, then {@code agent_dropped}. */
  public List<String> series() {
    return config.hello().series();
  }

  /**
   * For tests and fault injection: drops the current connection as if the network had failed;
   * the agent reconnects with its usual backoff and resends from the new WELCOME. Does nothing
   * while disconnected.
   */
  public void forceReconnect() {
    loop.forceReconnect();
  }

  /** Why the monitor refused this run ("CODE message"), or null: tests. */
  String refusal() {
    return loop.refusal();
  }

  /** True once the network thread has finished: tests. */
  boolean terminated() {
    return loop.terminated();
  }

  /**
   * Tests: ends the agent as if its process were killed. The network thread stops at once;
   * nothing more is sent, and nothing more is written to the spool (records only in memory are
   * lost); the spool's lock is released, as the OS would. Later record() calls are dropped.
   */
  void simulateCrash() {
    closed = true;
    closeStarted.set(true);
    loop.crash();
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void start() {
    thread.start();
  }

  @Override
  public String toString() {
    return "ErgowatchAgent[run=" + config.hello().run() + ", rank=" + config.hello().rank() + "/"
        + config.hello().world() + ", monitor=" + config.address() + (spool == null ? "" : ", spool=" + spool.dir())
        + "]";
  }

  // ---- builder ------------------------------------------------------------------------------------

  /**
   * Collects and validates the settings of an agent; {@link #build()} starts it. Each setter
   * checks its value at once and throws {@link IllegalArgumentException} naming the setting and
   * the offending value. Mutable and not thread-safe; the agent it builds is independent of it.
   */
  public static final class Builder {
    private String host = "localhost";
    private int port = DEFAULT_PORT;
    private String run;
    private String job = "";
    private String token = "";
    private final Set<String> series = new LinkedHashSet<>();
    private final Map<String, String> labels = new LinkedHashMap<>();
    private int rank = 0;
    private int world = 1;
    private Mode mode = Mode.REPLICATED;
    private Long session;
    private Integer bufferCapacity;
    private Integer maxInFlight;
    private int batchMaxRecords = 256;
    private Duration flushInterval = Duration.ofMillis(20);
    private Duration heartbeatInterval = Duration.ofSeconds(5);
    private Duration backoffInitial = Duration.ofMillis(100);
    private Duration backoffMax = Duration.ofSeconds(10);
    private Duration connectTimeout = Duration.ofSeconds(5);
    private Duration readTimeout = Duration.ofSeconds(30);
    private Duration closeTimeout = Duration.ofSeconds(10);
    private Path spoolDir;
    private javax.net.ssl.SSLContext tls;
    private long spoolMaxBytes;

    private Builder() {}

    /** The monitor, {@code host:port} ({@code [v6-address]:port} for IPv6). Default localhost:7479. */
    public Builder address(String address) {
      Objects.requireNonNull(address, "address");
      int colon = address.lastIndexOf(':');
      String h = colon > 0 ? address.substring(0, colon) : "";
      if (h.startsWith("[") && h.endsWith("]")) {
        h = h.substring(1, h.length() - 1);
      }
      if (h.isEmpty() || h.indexOf(':') >= 0 && !address.startsWith("[")) {
        throw new IllegalArgumentException("address " + Names.quote(address) + " must be host:port, e.g. localhost:7479");
      }
      int p;
      try {
        p = Integer.parseInt(address.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("address " + Names.quote(address) + " must be host:port, e.g. localhost:7479");
      }
      if (p < 1 || p > 65_535) {
        throw new IllegalArgumentException("address " + Names.quote(address) + " has port " + p + ", must be 1..65535");
      }
      this.host = h;
      this.port = p;
      return this;
    }

    /** The run id: 1..128 chars of [A-Za-z0-9._:-]. Required. */
    public Builder run(String run) {
      Objects.requireNonNull(run, "run");
      check(() -> Names.checkRun(run));
      this.run = run;
      return this;
    }

    /** The group of runs (a sweep, a project): 0..128 chars of [A-Za-z0-9._:-]. Default empty. */
    public Builder job(String job) {
      Objects.requireNonNull(job, "job");
      check(() -> Names.checkJob(job));
      this.job = job;
      return this;
    }

    /** The auth token, at most 256 UTF-8 bytes. Default empty (a monitor without auth). */
    public Builder token(String token) {
      Objects.requireNonNull(token, "token");
      check(() -> Names.checkToken(token));
      this.token = token;
      return this;
    }

    /**
     * Adds series names, 1..64 chars of [a-z0-9_.] each; their ids are 0, 1, 2, ... in the order
     * added, and {@code record(step, values)} takes values in that order. At least one is
     * required. {@code agent_dropped} is reserved: the agent declares it itself.
     */
    public Builder series(String... names) {
      for (String name : names) {
        Objects.requireNonNull(name, "series name");
        check(() -> Names.checkSeries(name));
        if (AGENT_DROPPED.equals(name)) {
          throw new IllegalArgumentException("series \"agent_dropped\" is reserved: the agent declares it"
              + " and fills it with its drop count");
        }
        if (series.contains(name)) {
          throw new IllegalArgumentException("duplicate series name " + Names.quote(name));
        }
        series.add(name);
      }
      return this;
    }

    /** Adds series names: see {@link #series(String...)}. */
    public Builder series(List<String> names) {
      return series(names.toArray(new String[0]));
    }

    /** Adds run metadata: key [a-z_][a-z0-9_]{0,63}, value at most 256 UTF-8 bytes. */
    public Builder label(String key, String value) {
      Objects.requireNonNull(key, "label key");
      Objects.requireNonNull(value, "label value");
      check(() -> new Label(key, value));
      if (labels.containsKey(key)) {
        throw new IllegalArgumentException("duplicate label key " + Names.quote(key));
      }
      labels.put(key, value);
      return this;
    }

    /** This process's rank among {@code world} ranks of the run. Default 0 of 1. */
    public Builder rank(int rank, int world) {
      if (world < 1) {
        throw new IllegalArgumentException("world must be >= 1, got " + world);
      }
      if (rank < 0 || rank >= world) {
        throw new IllegalArgumentException("rank " + rank + " must be within 0.." + (world - 1) + " (world " + world + ")");
      }
      this.rank = rank;
      this.world = world;
      return this;
    }

    /** How the ranks split the work. Default REPLICATED. */
    public Builder mode(Mode mode) {
      this.mode = Objects.requireNonNull(mode, "mode");
      return this;
    }

    /** The session id, any 64-bit value. Default: random (SecureRandom) per agent. */
    public Builder session(long session) {
      this.session = session;
      return this;
    }

    /**
     * Unsent records held in memory before the oldest are dropped. Default 65536, or fewer when
     * that would take more than 64 MiB (many series): the ring takes about {@code records × (40 +
     * 8 × series)} bytes, allocated by {@link #build()}.
     */
    public Builder bufferCapacity(int records) {
      this.bufferCapacity = atLeastOne("bufferCapacity", records);
      return this;
    }

    /**
     * Records sent but not yet acknowledged; when full, sending waits for ACKs (and the buffer
     * absorbs the backlog). Default 16384, or fewer when that would take more than 16 MiB: the
     * window takes about {@code records × (55 + 10 × series)} bytes.
     */
    public Builder maxInFlight(int records) {
      this.maxInFlight = atLeastOne("maxInFlight", records);
      return this;
    }

    /** STEP frames per write at most (and at most 1 MiB per write). Default 256. */
    public Builder batchMaxRecords(int records) {
      this.batchMaxRecords = atLeastOne("batchMaxRecords", records);
      return this;
    }

    /** The longest a record waits for a fuller batch while records keep coming. Default 20 ms. */
    public Builder flushInterval(Duration interval) {
      this.flushInterval = positive("flushInterval", interval);
      return this;
    }

    /** A HEARTBEAT goes out after this long without a STEP. Default 5 s. */
    public Builder heartbeatInterval(Duration interval) {
      this.heartbeatInterval = positive("heartbeatInterval", interval);
      return this;
    }

    /** Reconnect delays: full jitter under a bound doubling from initial to max. Default 100 ms, 10 s. */
    public Builder reconnectBackoff(Duration initial, Duration max) {
      positive("reconnectBackoff initial", initial);
      positive("reconnectBackoff max", max);
      if (max.compareTo(initial) < 0) {
        throw new IllegalArgumentException("reconnectBackoff max " + max + " must be >= initial " + initial);
      }
      this.backoffInitial = initial;
      this.backoffMax = max;
      return this;
    }

    /** TCP connect timeout. Default 5 s. */
    public Builder connectTimeout(Duration timeout) {
      this.connectTimeout = positive("connectTimeout", timeout);
      return this;
    }

    /**
     * How long to wait for the WELCOME, and for ACK progress while records are unacknowledged,
     * before the connection is given up and replaced. Default 30 s.
     */
    public Builder readTimeout(Duration timeout) {
      this.readTimeout = positive("readTimeout", timeout);
      return this;
    }

    /** How long {@link ErgowatchAgent#close()} waits for buffered records to be acknowledged. Default 10 s. */
    public Builder closeTimeout(Duration timeout) {
      this.closeTimeout = positive("closeTimeout", timeout);
      return this;
    }

    /**
     * Connects over TLS with this context (its trust managers decide which monitor certificates are
     * accepted; the host name is verified against the certificate). For a monitor started with
     * {@code tls-keystore}.
     */
    public Builder tls(javax.net.ssl.SSLContext context) {
      this.tls = Objects.requireNonNull(context, "tls context");
      return this;
    }

    /** Connects over TLS, trusting the JVM's default trust store. */
    public Builder tls() {
      try {
        return tls(javax.net.ssl.SSLContext.getDefault());
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException("no default TLS context in this JVM", e);
      }
    }

    /**
     * Keeps unacknowledged records on disk when memory does not hold them. Off by default: without
     * it, a full buffer drops its oldest unsent records.
     *
     * <p>The agent uses the subdirectory {@code <run>.rank-<rank>} of {@code dir} (created if
     * needed; {@code :} in the run id is written {@code %3A}), so the runs and ranks sharing a
     * directory never mix. Only the network thread reads and writes it; {@code record()} never
     * touches the disk. What it does:
     * <ul>
     *   <li>When the buffer is half full and its records cannot be sent (monitor away, or slow to
     *       acknowledge), the network thread moves the oldest ones to the spool; it sends spooled
     *       records first (oldest first, before newer buffered ones) once it can.
     *   <li>Only when the spool holds {@code maxBytes} are records dropped: the oldest eighth of
     *       the spool (one segment) at a time, counted in {@link #droppedCount()} and {@code
     *       agent_dropped}.
     *   <li>{@link ErgowatchAgent#close()} moves everything still undelivered to the spool
     *       instead of dropping it.
     *   <li>At {@link #build()}, records left in the spool by an earlier process of the same run
     *       and rank are recovered (a torn or corrupt tail is truncated with a warning) and sent
     *       first, after this agent's own HELLO and under its new session, numbered from seq 1.
     * </ul>
     * {@code build()} reads the spool once (recovery), on the calling thread. See the class
     * comment for what survives a crash.
     *
     * @param dir the directory for spools; may be shared by the runs and ranks on a machine
     * @param maxBytes disk bytes this run and rank's spool may take, at least 64 KiB (and
     *     8 of its largest records with many series)
     * @throws IllegalArgumentException if maxBytes is below 64 KiB
     */
    public Builder spool(Path dir, long maxBytes) {
      Objects.requireNonNull(dir, "spool dir");
      if (maxBytes < Spool.MIN_BYTES) {
        throw new IllegalArgumentException("spool maxBytes must be >= " + Spool.MIN_BYTES + " (64 KiB), got "
            + maxBytes);
      }
      this.spoolDir = dir;
      this.spoolMaxBytes = maxBytes;
      return this;
    }

    /**
     * Validates the whole configuration, opens the spool (if any), starts the network thread and
     * returns at once.
     *
     * @throws IllegalArgumentException if run or series are missing, the HELLO would exceed the
     *     default max_frame, or the spool's maxBytes is too small for this run's records
     * @throws IllegalStateException if another live agent uses the spool of this run and rank
     * @throws UncheckedIOException if the spool directory cannot be created, locked or read
     */
    public ErgowatchAgent build() {
      if (run == null) {
        throw new IllegalArgumentException("run is required");
      }
      if (series.isEmpty()) {
        throw new IllegalArgumentException("at least one series is required");
      }
      List<String> all = new ArrayList<>(series);
      all.add(AGENT_DROPPED);
      List<Label> labelList = new ArrayList<>();
      labels.forEach((k, v) -> labelList.add(new Label(k, v)));
      long sessionId = session != null ? session : new SecureRandom().nextLong();
      Hello hello;
      try {
        hello = new Hello(run, job, token, sessionId, rank, world, mode, all, labelList);
      } catch (FrameException e) {
        throw new IllegalArgumentException(e.getMessage(), e);
      }
      int helloBytes = FrameEncoder.encodedLength(hello) - Codec.LENGTH_BYTES;
      if (helloBytes > Codec.DEFAULT_MAX_FRAME) {
        throw new IllegalArgumentException("HELLO would be " + helloBytes + " bytes, more than max_frame "
            + Codec.DEFAULT_MAX_FRAME + ": declare fewer series or labels");
      }
      int u = series.size();
      long ringRecord = MemoryRecordBuffer.bytesPerRecord(u);
      long windowRecord = InFlightWindow.bytesPerRecord(u + 1);
      int capacity = bufferCapacity != null ? bufferCapacity
          : (int) Math.max(64, Math.min(65_536, DEFAULT_BUFFER_BYTES / ringRecord));
      int inFlight = maxInFlight != null ? maxInFlight
          : (int) Math.max(64, Math.min(16_384, DEFAULT_WINDOW_BYTES / windowRecord));
      fitsOneArray("bufferCapacity", capacity, (long) capacity * u, u);
      fitsOneArray("maxInFlight", inFlight, (long) inFlight * Codec.stepFrameBytes(u + 1), u);
      int batchMax = (int) Math.min(batchMaxRecords, Math.max(1, MAX_BATCH_BYTES / Codec.stepFrameBytes(u + 1)));
      AgentConfig config = new AgentConfig(host, port, hello, u, capacity, inFlight,
          batchMax, flushInterval.toNanos(), heartbeatInterval.toNanos(), backoffInitial.toNanos(),
          backoffMax.toNanos(), connectTimeout.toNanos(), readTimeout.toNanos(), closeTimeout.toNanos(),
          tls == null ? null : tls.getSocketFactory());
      Spool spool = null;
      if (spoolDir != null) {
        List<String> user = List.copyOf(series);
        long min = Spool.minBytes(run, user);
        if (spoolMaxBytes < min) {
          throw new IllegalArgumentException("spool maxBytes " + spoolMaxBytes + " is too small for records of " + u
              + " series: at least " + min);
        }
        spool = Spool.open(spoolDir, run, rank, user, spoolMaxBytes, sessionId);
      }
      ErgowatchAgent agent;
      try {
        agent = new ErgowatchAgent(config, spool);
      } catch (RuntimeException | Error e) {
        if (spool != null) {
          spool.abandon();
        }
        throw e;
      }
      agent.start();
      return agent;
    }

    private static void fitsOneArray(String setting, int records, long elements, int seriesCount) {
      if (elements > Integer.MAX_VALUE - 16) {
        throw new IllegalArgumentException(setting + " " + records + " with " + seriesCount
            + " series does not fit in memory arrays: lower " + setting);
      }
    }

    private static void check(Runnable nameCheck) {
      try {
        nameCheck.run();
      } catch (FrameException e) {
        throw new IllegalArgumentException(e.getMessage(), e);
      }
    }

    private static int atLeastOne(String setting, int value) {
      if (value < 1) {
        throw new IllegalArgumentException(setting + " must be >= 1, got " + value);
      }
      return value;
    }

    private static Duration positive(String setting, Duration value) {
      Objects.requireNonNull(value, setting);
      if (value.isNegative() || value.isZero()) {
        throw new IllegalArgumentException(setting + " must be > 0, got " + value);
      }
      if (value.compareTo(Duration.ofDays(1)) > 0) {
        throw new IllegalArgumentException(setting + " must be at most 1 day, got " + value);
      }
      return value;
    }
  }
}
