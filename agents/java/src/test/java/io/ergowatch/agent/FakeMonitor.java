package io.ergowatch.agent;

import io.ergowatch.protocol.Ack;
import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.Codec;
import io.ergowatch.protocol.ErrorCode;
import io.ergowatch.protocol.ErrorFrame;
import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.FrameDecoder;
import io.ergowatch.protocol.FrameEncoder;
import io.ergowatch.protocol.Heartbeat;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Step;
import io.ergowatch.protocol.Welcome;
import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A monitor for tests: a ServerSocket on 127.0.0.1 that speaks EWP/1 with the protocol module's
 * codec, behaves like the real monitor where it matters (WELCOME with the highest recorded seq
 * of the session, dedup of seq ≤ recorded, PROTOCOL_ORDER and close on a gap, ACK + close after
 * BYE) and records everything it receives. Faults are injected by the test: no ACKs, refusing
 * HELLOs, forgetting records, dropping connections.
 */
final class FakeMonitor implements AutoCloseable {
  /** A STEP the monitor recorded (first time it saw its seq), with its session. */
  record Received(long session, Step step) {}

  /** One accepted connection and everything read from it. */
  final class Conn {
    final Socket socket;
    final AtomicInteger rawReads = new AtomicInteger();
    private final List<Frame> frames = new ArrayList<>();
    volatile Hello hello;
    volatile boolean ended;

    Conn(Socket socket) {
      this.socket = socket;
    }

    /** A copy of every frame read so far, HELLO first. */
    synchronized List<Frame> frames() {
      return List.copyOf(frames);
    }

    synchronized void add(Frame f) {
      frames.add(f);
    }

    List<Step> steps() {
      List<Step> out = new ArrayList<>();
      for (Frame f : frames()) {
        if (f instanceof Step s) {
          out.add(s);
        }
      }
      return out;
    }

    List<Long> seqs() {
      return steps().stream().map(Step::seq).toList();
    }

    long heartbeats() {
      return frames().stream().filter(f -> f instanceof Heartbeat).count();
    }

    List<Bye> byes() {
      return frames().stream().filter(f -> f instanceof Bye).map(f -> (Bye) f).toList();
    }

    void send(Frame frame) throws IOException {
      synchronized (socket) {
        OutputStream out = socket.getOutputStream();
        out.write(FrameEncoder.encode(frame));
        out.flush();
      }
    }

    /** Sends ACK(highest recorded seq of this connection's session). */
    void ack() {
      try {
        send(new Ack(recordedSeq(hello.session())));
      } catch (IOException e) {
        // the agent went away: nothing to acknowledge
      }
    }
  }

  private final ServerSocket server;
  private final List<Conn> connections = new CopyOnWriteArrayList<>();
  private final Map<Long, Long> recorded = new HashMap<>();
  private final List<Received> received = new ArrayList<>();
  private final List<String> violations = new CopyOnWriteArrayList<>();
  private final AtomicInteger duplicates = new AtomicInteger();
  private volatile Thread acceptor;
  private volatile boolean closed;
  volatile boolean autoAck = true;
  /** Answers a HELLO with an ERROR instead of a WELCOME when it returns non-null. */
  volatile Function<Hello, ErrorFrame> refuse = h -> null;

  private FakeMonitor() throws IOException {
    this(0);
  }

  private FakeMonitor(int port) throws IOException {
    server = new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
  }

  /** A monitor that accepts connections at once. */
  static FakeMonitor started() throws IOException {
    FakeMonitor m = new FakeMonitor();
    m.start();
    return m;
  }

  /**
   * A monitor that comes up on a given port (one from {@link #closedPort()}, where an agent has
   * been failing to connect) and accepts at once.
   */
  static FakeMonitor startedOn(int port) throws IOException {
    FakeMonitor m = new FakeMonitor(port);
    m.start();
    return m;
  }

  /**
   * A bound port that does not accept yet: agents connect (the kernel completes the TCP
   * handshake) and wait for a WELCOME until {@link #start()}.
   */
  static FakeMonitor notAccepting() throws IOException {
    return new FakeMonitor();
  }

  /** A local port where nothing listens (connections are refused). */
  static int closedPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  synchronized void start() {
    if (acceptor != null) {
      return;
    }
    acceptor = new Thread(this::acceptLoop, "fake-monitor-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  String address() {
    return "127.0.0.1:" + server.getLocalPort();
  }

  List<Conn> connections() {
    return connections;
  }

  Conn connection(int index) {
    return connections.get(index);
  }

  Conn last() {
    return connections.get(connections.size() - 1);
  }

  /** Every STEP recorded, in order, across sessions. */
  synchronized List<Received> received() {
    return List.copyOf(received);
  }

  synchronized List<Step> receivedSteps() {
    return received.stream().map(Received::step).toList();
  }

  synchronized int receivedCount() {
    return received.size();
  }

  synchronized long recordedSeq(long session) {
    return recorded.getOrDefault(session, 0L);
  }

  List<String> violations() {
    return violations;
  }

  int duplicates() {
    return duplicates.get();
  }

  /** Forgets the records of a session above {@code seq}, as if they were lost in flight. */
  synchronized void truncate(long session, long seq) {
    recorded.put(session, seq);
    received.removeIf(r -> r.session() == session && r.step().seq() > seq);
  }

  /** Forgets everything, as a monitor restarted without its log. */
  synchronized void forgetAll() {
    recorded.clear();
    received.clear();
  }

  /** Closes every open connection from the monitor's side. */
  void dropConnections() {
    for (Conn c : connections) {
      closeQuietly(c.socket);
    }
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        if (closed) {
          // On Linux a thread blocked in accept() keeps the listening socket alive after
          // close(), so a client may still get in: turn it away, as a closed monitor would.
          closeQuietly(s);
          return;
        }
        s.setTcpNoDelay(true);
        Conn c = new Conn(s);
        connections.add(c);
        Thread t = new Thread(() -> handle(c), "fake-monitor-conn-" + connections.size());
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void handle(Conn c) {
    FrameDecoder decoder = new FrameDecoder();
    try (Socket s = c.socket) {
      InputStream in = new BufferedInputStream(new CountingStream(s.getInputStream(), c.rawReads), 1 << 16);
      Frame first = decoder.read(in, Codec.DEFAULT_MAX_FRAME);
      c.add(first);
      if (!(first instanceof Hello hello)) {
        violations.add("first frame was " + first.type());
        c.send(new ErrorFrame(ErrorCode.PROTOCOL_ORDER, "expected HELLO"));
        return;
      }
      c.hello = hello;
      ErrorFrame refusal = refuse.apply(hello);
      if (refusal != null) {
        c.send(refusal);
        return;
      }
      c.send(new Welcome(recordedSeq(hello.session()), Codec.DEFAULT_MAX_FRAME));
      for (;;) {
        Frame f = decoder.read(in, Codec.DEFAULT_MAX_FRAME);
        c.add(f);
        if (f instanceof Step step) {
          String problem = accept(hello, step);
          if (problem != null) {
            violations.add(problem);
            c.send(new ErrorFrame(ErrorCode.PROTOCOL_ORDER, problem));
            return;
          }
          if (autoAck && in.available() == 0) {
            c.ack();
          }
        } else if (f instanceof Bye) {
          c.ack();
          return;
        } else if (f instanceof Hello) {
          violations.add("second HELLO");
          return;
        }
      }
    } catch (IOException e) {
      // the agent closed or the test dropped the connection
    } catch (RuntimeException e) {
      violations.add("fake monitor failed: " + e);
    } finally {
      c.ended = true;
    }
  }

  private synchronized String accept(Hello hello, Step step) {
    if (step.maxSeriesId() >= hello.series().size()) {
      return "series id " + step.maxSeriesId() + " >= n_series " + hello.series().size();
    }
    long last = recorded.getOrDefault(hello.session(), 0L);
    if (step.seq() <= last) {
      duplicates.incrementAndGet();
      return null;
    }
    if (step.seq() != last + 1) {
      return "seq " + step.seq() + " after " + last + " (a gap)";
    }
    recorded.put(hello.session(), step.seq());
    received.add(new Received(hello.session(), step));
    return null;
  }

  @Override
  public void close() throws IOException {
    closed = true;
    server.close();
    dropConnections();
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // already closed
    }
  }

  /** Counts the reads that reached the socket. */
  private static final class CountingStream extends FilterInputStream {
    private final AtomicInteger reads;

    CountingStream(InputStream in, AtomicInteger reads) {
      super(in);
      this.reads = reads;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        reads.incrementAndGet();
      }
      return n;
    }
  }
}
