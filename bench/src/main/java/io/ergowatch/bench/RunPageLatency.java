package io.ergowatch.bench;

import io.ergowatch.monitor.Monitor;
import io.ergowatch.monitor.config.ConfigLoader;
import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.Codec;
import io.ergowatch.protocol.FrameDecoder;
import io.ergowatch.protocol.FrameEncoder;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Mode;
import java.io.BufferedInputStream;
import java.io.EOFException;
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
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The run page's data path against a monitor holding many runs (issue 18: first paint ≤ 300 ms
 * with 1 000 runs): each run streams {@code --records} steps, then the page (GET /runs/{run})
 * and its data (GET /api/runs/{run}) are fetched for {@code --samples} random runs, one after
 * the other as a browser would, and the latencies printed. A browser's own parsing and drawing
 * is not in it.
 *
 * <pre>
 * java -cp bench/target/ergowatch-bench.jar io.ergowatch.bench.RunPageLatency --runs 1000 --records 300 --samples 200
 * </pre>
 */
public final class RunPageLatency {
  public static void main(String[] args) throws Exception {
    Map<String, String> a = new java.util.HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    int runs = Integer.parseInt(a.getOrDefault("runs", "1000"));
    int records = Integer.parseInt(a.getOrDefault("records", "300"));
    int samples = Integer.parseInt(a.getOrDefault("samples", "200"));
    Path dataDir = Files.createTempDirectory("ergowatch-runpage");
    Map<String, String> flags = Map.of("ingest-host", "127.0.0.1", "http-host", "127.0.0.1", "ingest-port", "0",
        "http-port", "0", "data-dir", dataDir.toString(), "max-connections", "100000");
    try (Monitor m = Monitor.start(ConfigLoader.load(null, Map.of(), flags))) {
      long t0 = System.nanoTime();
      for (int r = 0; r < runs; r++) {
        stream(m.ingestPort(), "page-" + r, records, r);
      }
      System.out.printf("streamed %d runs x %d records in %.1f s%n", runs, records, (System.nanoTime() - t0) / 1e9);
      HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
      String base = "http://127.0.0.1:" + m.httpPort();
      SplittableRandom rng = new SplittableRandom(1);
      for (int warm = 0; warm < 50; warm++) {
        get(http, base + "/api/runs/page-" + rng.nextInt(runs));
      }
      long[] page = new long[samples];
      long[] data = new long[samples];
      long[] both = new long[samples];
      for (int i = 0; i < samples; i++) {
        String run = "page-" + rng.nextInt(runs);
        long s0 = System.nanoTime();
        get(http, base + "/runs/" + run);
        long s1 = System.nanoTime();
        get(http, base + "/api/runs/" + run);
        long s2 = System.nanoTime();
        page[i] = s1 - s0;
        data[i] = s2 - s1;
        both[i] = s2 - s0;
      }
      print("GET /runs/{run} (the page)", page);
      print("GET /api/runs/{run} (its data)", data);
      print("both, in turn", both);
    } finally {
      try (java.util.stream.Stream<Path> s = Files.walk(dataDir)) {
        for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
          Files.deleteIfExists(p);
        }
      }
    }
  }

  private static void get(HttpClient http, String url) throws Exception {
    HttpResponse<byte[]> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(java.time.Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofByteArray());
    if (r.statusCode() != 200) {
      throw new IllegalStateException(url + " answered " + r.statusCode());
    }
  }

  private static void print(String what, long[] nanos) {
    long[] s = nanos.clone();
    Arrays.sort(s);
    System.out.printf("%-34s p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (%d requests)%n", what,
        s[s.length / 2] / 1e6, s[(int) (s.length * 0.9)] / 1e6, s[Math.min(s.length - 1, (int) (s.length * 0.99))] / 1e6,
        s[s.length - 1] / 1e6, s.length);
  }

  /** One run: HELLO, WELCOME, records steps of a noisy falling loss, BYE, the final ACK. */
  private static void stream(int port, String run, int records, long seed) throws Exception {
    SplittableRandom rng = new SplittableRandom(seed);
    try (Socket s = new Socket("127.0.0.1", port)) {
      OutputStream out = s.getOutputStream();
      InputStream in = new BufferedInputStream(s.getInputStream());
      FrameDecoder decoder = new FrameDecoder();
      out.write(FrameEncoder.encode(new Hello(run, "page", "", seed + 1, 0, 1, Mode.REPLICATED,
          List.of("loss", "lr", "grad_sq"), List.of())));
      out.flush();
      decoder.read(in, Codec.DEFAULT_MAX_FRAME); // WELCOME
      ByteBuffer buf = ByteBuffer.allocate(Codec.stepFrameBytes(3) * records);
      int[] ids = {0, 1, 2};
      double[] v = new double[3];
      for (int t = 0; t < records; t++) {
        v[0] = 1.0 / (1 + 0.01 * t) + 0.01 * rng.nextDouble();
        v[1] = 0.1;
        v[2] = 1 + rng.nextDouble();
        FrameEncoder.writeStep(buf, t + 1, t, System.currentTimeMillis() * 1_000_000L, ids, v, 3);
      }
      out.write(buf.array(), 0, buf.position());
      out.write(FrameEncoder.encode(new Bye(Bye.Status.COMPLETED, "")));
      out.flush();
      try {
        while (true) {
          decoder.read(in, Codec.DEFAULT_MAX_FRAME); // ACKs until the monitor closes after the final one
        }
      } catch (EOFException closed) {
        // done
      }
    }
  }
}
