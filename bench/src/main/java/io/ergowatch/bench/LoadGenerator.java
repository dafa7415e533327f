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
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loopback load: many agent connections → one monitor (in this process), or → the bare
 * Reactor Netty baseline. Each connection sends pre-encoded STEP frames in batches (many
 * frames per write), optionally paced to a total rate. Prints records/s ingested and, for
 * the monitor, percentiles of the lag from send to visible on /metrics (polled every 10 ms,
 * so each sample is an upper bound within ~10 ms plus a scrape); records sent in the first
 * {@code --warmup} seconds (default 2: JIT compilation, the runs' first windows) are left out
 * of the lag percentiles.
 *
 * <pre>
 * java -cp bench/target/ergowatch-bench.jar io.ergowatch.bench.LoadGenerator \
 *     --target monitor --connections 16 --records 100000 --values 20 --batch 64 [--rate 200000]
 * </pre>
 */
public final class LoadGenerator {
  public static void main(String[] args) throws Exception {
    Map<String, String> a = parse(args);
    String target = a.getOrDefault("target", "monitor");
    int connections = Integer.parseInt(a.getOrDefault("connections", "16"));
    int records = Integer.parseInt(a.getOrDefault("records", "100000"));
    int values = Integer.parseInt(a.getOrDefault("values", "20"));
    int batch = Integer.parseInt(a.getOrDefault("batch", "64"));
    double rate = Double.parseDouble(a.getOrDefault("rate", "0"));
    double warmup = Double.parseDouble(a.getOrDefault("warmup", "2"));
    String probeMode = a.getOrDefault("probe", "histogram");
    if (!List.of("histogram", "metrics", "true", "false").contains(probeMode)) {
      throw new IllegalArgumentException("--probe is histogram (default), metrics or false, got " + probeMode);
    }
    boolean probe = probeMode.equals("metrics") || probeMode.equals("true");
    boolean histogram = probeMode.equals("histogram");
    List<String> targets = List.of(target.split(","));
    int repeats = Integer.parseInt(a.getOrDefault("repeats", "1"));
    for (String t : targets) {
      if (!List.of("bare", "monitor").contains(t)) {
        throw new IllegalArgumentException("--target is a comma-separated list of bare and monitor, got " + t);
      }
    }
    System.out.printf("targets=%s repeats=%d connections=%d records/conn=%d values=%d batch=%d rate=%s warmup=%.1fs%n",
        targets, repeats, connections, records, values, batch, rate > 0 ? String.format("%.0f/s", rate) : "max", warmup);
    Map<String, List<Double>> rates = new HashMap<>();
    for (int rep = 0; rep < repeats; rep++) {
      for (String t : targets) { // interleaved: each repeat runs every target once, in the same process
        Result r = t.equals("bare") ? runBare(connections, records, values, batch, rate, warmup)
            : runMonitor(a, connections, records, values, batch, rate, warmup, probe, histogram);
        System.out.print(t + ": ");
        r.print();
        rates.computeIfAbsent(t, x -> new ArrayList<>()).add(r.steadyRate());
      }
    }
    if (targets.size() > 1 || repeats > 1) {
      summary(targets, rates);
    }
  }

  private static Result runBare(int connections, int records, int values, int batch, double rate, double warmup)
      throws Exception {
    try (BareNettyServer bare = new BareNettyServer()) {
      return drive(bare.port(), false, connections, records, values, batch, rate, () -> bare.steps.sum(), null, warmup);
    }
  }

  private static Result runMonitor(Map<String, String> a, int connections, int records, int values, int batch,
      double rate, double warmup, boolean probe, boolean histogram) throws Exception {
    Path dataDir = Files.createTempDirectory("ergowatch-load");
    Map<String, String> flags = new HashMap<>(Map.of("ingest-host", "127.0.0.1", "http-host", "127.0.0.1",
        "ingest-port", "0", "http-port", "0", "data-dir", dataDir.toString()));
    if (a.containsKey("fsync")) {
      flags.put("fsync", a.get("fsync")); // batch (the monitor's default), interval or none
    }
    try (Monitor m = Monitor.start(ConfigLoader.load(null, Map.of(), flags))) {
      String metrics = "http://127.0.0.1:" + m.httpPort() + "/metrics";
      LagWindow lag = histogram ? new LagWindow(metrics, warmup) : null;
      Result r = drive(m.ingestPort(), true, connections, records, values, batch, rate, m.pipeline()::recordsApplied,
          probe ? metrics : null, warmup);
      if (lag != null) {
        lag.finish();
      }
      return r;
    } finally {
      deleteTree(dataDir); // a run writes ~250 B per record of log: gigabytes after a few repeats
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (java.util.stream.Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** Medians over the repeats of the steady-state rate, and each target's against bare's. */
  private static void summary(List<String> targets, Map<String, List<Double>> rates) {
    Double bare = rates.containsKey("bare") ? median(rates.get("bare")) : null;
    System.out.println("| target | records/s after the warm-up, median (min-max) | against bare |");
    System.out.println("|---|---|---|");
    for (String t : targets) {
      List<Double> r = rates.get(t);
      double med = median(r);
      System.out.printf("| %s | %.2f M (%.2f-%.2f, %d runs) | %s |%n", t, med / 1e6, r.stream().mapToDouble(x -> x).min()
          .orElse(0) / 1e6, r.stream().mapToDouble(x -> x).max().orElse(0) / 1e6, r.size(),
          bare == null || t.equals("bare") ? "-" : String.format("%.0f%%", 100 * med / bare));
    }
  }

  private static double median(List<Double> xs) {
    double[] v = xs.stream().mapToDouble(x -> x).sorted().toArray();
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  /**
   * Bytes allocated by the server's threads (everything in this process but the generator's own
   * senders, ACK readers, probes and main), from the JVM's per-thread allocation counters.
   */
  static final class ServerAllocation {
    private static final List<String> GENERATOR = List.of("sender-", "acks-", "probe", "lag-window", "main");
    private final com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    private final Map<Long, Long> atStart = new HashMap<>();

    ServerAllocation() {
      for (Map.Entry<Long, Long> e : serverThreads().entrySet()) {
        atStart.put(e.getKey(), e.getValue());
      }
    }

    long bytesSinceStart() {
      long total = 0;
      for (Map.Entry<Long, Long> e : serverThreads().entrySet()) {
        total += e.getValue() - atStart.getOrDefault(e.getKey(), 0L);
      }
      return total;
    }

    private Map<Long, Long> serverThreads() {
      Map<Long, Long> out = new HashMap<>();
      for (Thread t : Thread.getAllStackTraces().keySet()) {
        String name = t.getName();
        if (GENERATOR.stream().noneMatch(name::startsWith)) {
          long bytes = threads.getThreadAllocatedBytes(t.getId());
          if (bytes >= 0) {
            out.put(t.getId(), bytes);
          }
        }
      }
      return out;
    }
  }

  interface Counter {
    long count() throws Exception;
  }

  /**
   * @param steadyRecords records ingested after the warm-up (JIT, first windows), in
   *     {@code steadySeconds}; the whole run when it ended before the warm-up did
   */
  record Result(long records, double seconds, long steadyRecords, double steadySeconds, double serverBytesPerRecord,
      long[] latencyNanos) {
    double steadyRate() {
      return steadyRecords / steadySeconds;
    }

    void print() {
      System.out.printf("ingested %d records in %.2f s: %.0f records/s; after the warm-up %.0f records/s;"
          + " server threads allocated %.0f B per record%n", records, seconds, records / seconds, steadyRate(),
          serverBytesPerRecord);
      if (latencyNanos != null && latencyNanos.length > 0) {
        Arrays.sort(latencyNanos);
        System.out.printf("send -> visible on /metrics (%d samples after the warm-up): p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms%n",
            latencyNanos.length, pct(0.50), pct(0.90), pct(0.99), latencyNanos[latencyNanos.length - 1] / 1e6);
      }
    }

    private double pct(double q) {
      return latencyNanos[(int) Math.min(latencyNanos.length - 1, Math.floor(q * latencyNanos.length))] / 1e6;
    }
  }

  static Result drive(int port, boolean ewp, int connections, int records, int values, int batch, double rate,
      Counter counter, String metricsUrl, double warmupSeconds) throws Exception {
    long[][] sendTimes = new long[connections][records];
    AtomicBoolean done = new AtomicBoolean();
    ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
    Thread probe = null;
    if (metricsUrl != null) {
      long notBefore = System.nanoTime() + (long) (warmupSeconds * 1e9);
      probe = new Thread(() -> probe(metricsUrl, sendTimes, done, latencies, notBefore), "probe");
      probe.setDaemon(true);
    }
    ServerAllocation allocation = new ServerAllocation();
    List<Thread> senders = new ArrayList<>();
    ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    double perConnRate = rate > 0 ? rate / connections : 0;
    long start = System.nanoTime();
    for (int c = 0; c < connections; c++) {
      int conn = c;
      Thread t = new Thread(() -> {
        try {
          send(port, ewp, conn, records, values, batch, perConnRate, sendTimes[conn]);
        } catch (Throwable e) {
          failures.add(e);
        }
      }, "sender-" + c);
      senders.add(t);
      t.start();
    }
    if (probe != null) {
      probe.start();
    }
    long expected = (long) connections * records;
    long seen = 0;
    long warmupEnd = start + (long) (warmupSeconds * 1e9);
    long markTime = -1;
    long markCount = 0;
    while ((seen = counter.count()) < expected && failures.isEmpty()) {
      if (markTime < 0 && System.nanoTime() >= warmupEnd) {
        markTime = System.nanoTime();
        markCount = seen;
      }
      Thread.sleep(5);
    }
    long end = System.nanoTime();
    double seconds = (end - start) / 1e9;
    if (markTime < 0) {
      markTime = start;
      markCount = 0;
    }
    done.set(true);
    for (Thread t : senders) {
      t.join(30_000);
    }
    if (!failures.isEmpty()) {
      throw new IllegalStateException("a sender failed", failures.peek());
    }
    if (seen != expected) {
      throw new IllegalStateException("ingested " + seen + " records, expected " + expected);
    }
    return new Result(seen, seconds, seen - markCount, (end - markTime) / 1e9, allocation.bytesSinceStart() / (double) seen,
        latencies.stream().mapToLong(Long::longValue).toArray());
  }

  private static void send(int port, boolean ewp, int conn, int records, int values, int batch, double rate,
      long[] sendTimes) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setTcpNoDelay(true);
      OutputStream out = s.getOutputStream();
      InputStream in = new BufferedInputStream(s.getInputStream());
      FrameDecoder decoder = new FrameDecoder();
      List<String> series = new ArrayList<>();
      for (int i = 0; i < values; i++) {
        series.add(i == 0 ? "loss" : "s" + i);
      }
      out.write(FrameEncoder.encode(new Hello("load-" + conn, "load", "", conn + 1, 0, 1, Mode.REPLICATED, series, List.of())));
      out.flush();
      Thread acks = null;
      if (ewp) {
        decoder.read(in, Codec.DEFAULT_MAX_FRAME); // WELCOME
        acks = new Thread(() -> {
          try {
            while (true) {
              Frame f = decoder.read(in, Codec.DEFAULT_MAX_FRAME);
              if (f instanceof Ack && ((Ack) f).ackedSeq() >= records) {
                return;
              }
            }
          } catch (IOException e) {
            // closed
          }
        });
        acks.setName("acks-" + conn);
        acks.setDaemon(true);
        acks.start();
      }
      int[] ids = new int[values];
      double[] vals = new double[values];
      for (int i = 0; i < values; i++) {
        ids[i] = i;
      }
      ByteBuffer buf = ByteBuffer.allocate(Codec.stepFrameBytes(values) * batch);
      long interval = rate > 0 ? (long) (batch * 1e9 / rate) : 0;
      long next = System.nanoTime();
      for (int sent = 0; sent < records; ) {
        if (interval > 0) {
          long wait = next - System.nanoTime();
          if (wait > 0) {
            LockSupport.parkNanos(wait);
          }
          next += interval;
        }
        buf.clear();
        int n = Math.min(batch, records - sent);
        long now = System.nanoTime();
        long wall = System.currentTimeMillis() * 1_000_000L;
        for (int k = 0; k < n; k++) {
          int seq = sent + k + 1;
          vals[0] = 1.0 / seq;
          for (int i = 1; i < values; i++) {
            vals[i] = i;
          }
          sendTimes[seq - 1] = now;
          FrameEncoder.writeStep(buf, seq, seq - 1, wall, ids, vals, values);
        }
        out.write(buf.array(), 0, buf.position());
        sent += n;
      }
      out.flush();
      if (ewp) {
        out.write(FrameEncoder.encode(new Bye(Bye.Status.COMPLETED, "")));
        out.flush();
        try {
          acks.join(60_000);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  private static void probe(String url, long[][] sendTimes, AtomicBoolean done, ConcurrentLinkedQueue<Long> out,
      long notBefore) {
    HttpClient http = HttpClient.newHttpClient();
    Pattern p = Pattern.compile("(?m)^ergowatch_last_step\\{job=\"load\",run=\"load-(\\d+)\"} (\\S+)$");
    long[] lastSeen = new long[sendTimes.length];
    Arrays.fill(lastSeen, -1);
    while (!done.get()) {
      try {
        String body = http.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString()).body();
        long now = System.nanoTime();
        Matcher m = p.matcher(body);
        while (m.find()) {
          int conn = Integer.parseInt(m.group(1));
          long step = (long) Double.parseDouble(m.group(2));
          if (step > lastSeen[conn] && step >= 0 && step < sendTimes[conn].length) {
            lastSeen[conn] = step;
            long sent = sendTimes[conn][(int) step];
            if (sent >= notBefore) { // the warm-up (JIT, first windows) is not steady state
              out.add(now - sent);
            }
          }
        }
        TimeUnit.MILLISECONDS.sleep(10);
      } catch (Exception e) {
        return;
      }
    }
  }

  /**
   * The lag from agent send to analytics done, read from the monitor's own histogram
   * ({@code ergowatch_pipeline_lag_seconds}, agent wall clock in the STEP against the monitor's):
   * one scrape when the warm-up ends and one at the end, so that neither the warm-up nor a
   * 100 Hz scraper (whose snapshots cost the lanes far more than Prometheus does) is in it.
   * Quantiles are interpolated within the histogram's buckets.
   */
  static final class LagWindow {
    private static final Pattern BUCKET =
        Pattern.compile("(?m)^ergowatch_pipeline_lag_seconds_bucket\\{[^}]*le=\"([^\"]+)\"[^}]*} (\\S+)$");
    private final String url;
    private final Thread atWarmupEnd;
    private volatile double[][] first;

    LagWindow(String url, double warmupSeconds) {
      this.url = url;
      atWarmupEnd = new Thread(() -> {
        try {
          TimeUnit.MILLISECONDS.sleep((long) (warmupSeconds * 1000));
          first = scrape();
        } catch (Exception e) {
          first = null;
        }
      }, "lag-window");
      atWarmupEnd.setDaemon(true);
      atWarmupEnd.start();
    }

    void finish() throws Exception {
      atWarmupEnd.join();
      double[][] end = scrape();
      if (first == null) {
        System.out.println("send -> applied: the run ended before the warm-up did; no lag window");
        return;
      }
      int k = end[0].length;
      double[] bounds = end[0];
      double[] counts = new double[k];
      for (int i = 0; i < k; i++) {
        counts[i] = end[1][i] - first[1][i];
      }
      double total = counts[k - 1];
      if (total <= 0) {
        System.out.println("send -> applied: no records after the warm-up");
        return;
      }
      System.out.printf("send -> applied (monitor's lag histogram, %.0f records after the warm-up): p50 %.1f ms,"
          + " p90 %.1f ms, p99 %.1f ms; %.2f%% within 100 ms%n", total, q(bounds, counts, 0.5) * 1e3,
          q(bounds, counts, 0.9) * 1e3, q(bounds, counts, 0.99) * 1e3, 100 * at(bounds, counts, 0.1) / total);
    }

    private static double at(double[] bounds, double[] cum, double le) {
      for (int i = 0; i < bounds.length; i++) {
        if (bounds[i] == le) {
          return cum[i];
        }
      }
      return Double.NaN;
    }

    private static double q(double[] bounds, double[] cum, double p) {
      double target = p * cum[cum.length - 1];
      double lower = 0;
      double below = 0;
      for (int i = 0; i < bounds.length; i++) {
        if (cum[i] >= target) {
          if (Double.isInfinite(bounds[i])) {
            return lower; // beyond the last finite bound: report it as a lower bound
          }
          double inBucket = cum[i] - below;
          return inBucket <= 0 ? bounds[i] : lower + (bounds[i] - lower) * (target - below) / inBucket;
        }
        lower = bounds[i];
        below = cum[i];
      }
      return lower;
    }

    private double[][] scrape() throws Exception {
      String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url)).build(),
          HttpResponse.BodyHandlers.ofString()).body();
      List<double[]> rows = new ArrayList<>();
      Matcher m = BUCKET.matcher(body);
      while (m.find()) {
        String le = m.group(1);
        rows.add(new double[] {le.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(le),
            Double.parseDouble(m.group(2))});
      }
      rows.sort((x, y) -> Double.compare(x[0], y[0]));
      double[][] out = new double[2][rows.size()];
      for (int i = 0; i < rows.size(); i++) {
        out[0][i] = rows.get(i)[0];
        out[1][i] = rows.get(i)[1];
      }
      return out;
    }
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("usage: --key value ... (bad argument " + args[i] + ")");
      }
      m.put(args[i].substring(2), args[++i]);
    }
    return m;
  }
}
