package io.ergowatch.bench;

import io.ergowatch.monitor.Monitor;
import io.ergowatch.monitor.config.ConfigLoader;
import io.ergowatch.protocol.Ack;
import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.Codec;
import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.FrameDecoder;
import io.ergowatch.protocol.FrameEncoder;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Mode;
import java.io.BufferedInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * A bounded soak: {@code connections} agents stream at a steady rate into one monitor (in this
 * process, with its durable log) for {@code seconds}; every 10 s it prints the heap in use after a
 * GC (it must stay flat) and the records acknowledged; at the end every connection says BYE and
 * the run counts must equal what was sent (zero loss). Not run in CI.
 *
 * <pre>java -cp bench/target/ergowatch-bench.jar io.ergowatch.bench.Soak --connections 200 --seconds 600 --rate 50</pre>
 */
public final class Soak {
  public static void main(String[] args) throws Exception {
    Map<String, String> a = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    int connections = Integer.parseInt(a.getOrDefault("connections", "200"));
    int seconds = Integer.parseInt(a.getOrDefault("seconds", "600"));
    int rate = Integer.parseInt(a.getOrDefault("rate", "50")); // records/s per connection
    Map<String, String> flags = new HashMap<>(Map.of("ingest-host", "127.0.0.1", "http-host", "127.0.0.1",
        "ingest-port", "0", "http-port", "0", "data-dir", Files.createTempDirectory("ergowatch-soak").toString(),
        "max-connections", Integer.toString(connections + 10)));
    System.out.printf("soak: %d connections x %d records/s for %d s (%d records/s in all)%n", connections, rate, seconds,
        connections * rate);
    try (Monitor m = Monitor.start(ConfigLoader.load(null, Map.of(), flags))) {
      AtomicLong sent = new AtomicLong();
      AtomicLong acked = new AtomicLong();
      ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
      long end = System.nanoTime() + seconds * 1_000_000_000L;
      List<Thread> threads = new ArrayList<>();
      long[] perConn = new long[connections];
      for (int c = 0; c < connections; c++) {
        int conn = c;
        Thread t = new Thread(() -> {
          try {
            perConn[conn] = run(m.ingestPort(), conn, rate, end, sent, acked);
          } catch (Throwable e) {
            failures.add(e);
          }
        }, "soak-" + c);
        t.setDaemon(true);
        threads.add(t);
        t.start();
      }
      long start = System.nanoTime();
      System.out.println("  t(s)   heap after GC (MiB)   records sent   records acknowledged");
      while (System.nanoTime() < end && failures.isEmpty()) {
        Thread.sleep(10_000);
        System.gc();
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        System.out.printf("  %4d   %19.1f   %12d   %20d%n", (System.nanoTime() - start) / 1_000_000_000L,
            heap / 1048576.0, sent.get(), acked.get());
      }
      for (Thread t : threads) {
        t.join(120_000);
      }
      if (!failures.isEmpty()) {
        throw new IllegalStateException("a connection failed", failures.peek());
      }
      long counted = m.pipeline().snapshots().block().stream().mapToLong(r -> r.steps()).sum();
      long total = 0;
      for (long n : perConn) {
        total += n;
      }
      System.out.printf("sent %d, recorded %d, lost %d, duplicated %d%n", total, counted, Math.max(0, total - counted),
          Math.max(0, counted - total));
    }
  }

  /** One connection: HELLO, paced STEPs, BYE, final ACK; returns the records sent. */
  private static long run(int port, int conn, int rate, long end, AtomicLong sent, AtomicLong acked) throws Exception {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setTcpNoDelay(true);
      OutputStream out = s.getOutputStream();
      InputStream in = new BufferedInputStream(s.getInputStream());
      FrameDecoder decoder = new FrameDecoder();
      List<String> series = List.of("loss", "lr", "grad_sq", "update_sq", "ema_update_dot");
      out.write(FrameEncoder.encode(new Hello("soak-" + conn, "soak", "", conn + 1, 0, 1, Mode.REPLICATED, series, List.of())));
      out.flush();
      decoder.read(in, Codec.DEFAULT_MAX_FRAME);
      long[] lastAck = {0};
      Thread reader = new Thread(() -> {
        try {
          while (true) {
            Frame f = decoder.read(in, Codec.DEFAULT_MAX_FRAME);
            if (f instanceof Ack ack) {
              acked.addAndGet(ack.ackedSeq() - lastAck[0]);
              lastAck[0] = ack.ackedSeq();
            }
          }
        } catch (Exception closed) {
          // end of the connection
        }
      });
      reader.setDaemon(true);
      reader.start();
      int[] ids = {0, 1, 2, 3, 4};
      double[] v = new double[5];
      ByteBuffer buf = ByteBuffer.allocate(Codec.stepFrameBytes(5) * 16);
      java.util.SplittableRandom rng = new java.util.SplittableRandom(conn);
      long seq = 0;
      long interval = 1_000_000_000L * 10 / rate; // 10 records per write
      long next = System.nanoTime();
      while (System.nanoTime() < end) {
        buf.clear();
        for (int k = 0; k < 10; k++) {
          seq++;
          v[0] = 1 + 0.1 * rng.nextGaussian();
          v[1] = 0.1;
          v[2] = 1 + rng.nextGaussian() * 0.1;
          v[3] = 0.01;
          v[4] = -0.005;
          FrameEncoder.writeStep(buf, seq, seq, System.currentTimeMillis() * 1_000_000L, ids, v, 5);
        }
        out.write(buf.array(), 0, buf.position());
        sent.addAndGet(10);
        next += interval;
        LockSupport.parkNanos(Math.max(0, next - System.nanoTime()));
      }
      out.write(FrameEncoder.encode(new Bye(Bye.Status.COMPLETED, "")));
      out.flush();
      reader.join(60_000);
      return seq;
    }
  }
}
