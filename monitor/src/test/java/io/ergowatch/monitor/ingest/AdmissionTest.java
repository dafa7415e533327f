package io.ergowatch.monitor.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ergowatch.monitor.config.ConfigException;
import io.ergowatch.monitor.testing.RawClient;
import io.ergowatch.monitor.testing.TestMonitor;
import io.ergowatch.protocol.ErrorCode;
import io.ergowatch.protocol.ErrorFrame;
import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Label;
import io.ergowatch.protocol.Mode;
import io.ergowatch.protocol.Step;
import io.ergowatch.protocol.Welcome;
import java.nio.file.Files;
import java.time.Duration;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Token authentication and the per-client limits of issue 7, on a real monitor. */
class AdmissionTest {
  @TempDir
  Path dir;

  private static Hello hello(String run, String job, String token, List<String> series, List<Label> labels) {
    return new Hello(run, job, token, 1, 0, 1, Mode.REPLICATED, series, labels);
  }

  /** The ergowatch_connections gauge of a live exposition, as printed ("4" for 4.0). */
  private static String connections(TestMonitor m) {
    try {
      java.util.regex.Matcher v = java.util.regex.Pattern.compile("\nergowatch_connections ([0-9.]+)\n")
          .matcher(m.get("/metrics").body());
      return v.find() ? v.group(1).replaceFirst("\\.0$", "") : "absent";
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static ErrorFrame error(RawClient c) throws Exception {
    Frame f = c.read();
    assertThat(f).isInstanceOf(ErrorFrame.class);
    assertThat(c.closedByPeer()).isTrue();
    return (ErrorFrame) f;
  }

  @Test
  void tokensAreRequiredAndScopedPerJob() throws Exception {
    Path tokens = Files.writeString(dir.resolve("tokens"),
        "# ops: anything\nops-token-0123456789 *\n# the sweep bot: sweep-* only\nsweep-token-0123456789 sweep-*\n");
    try (TestMonitor m = new TestMonitor(dir.resolve("data"), Map.of("token-file", tokens.toString()))) {
      try (RawClient c = new RawClient(m.ingestPort())) {
        c.send(hello("r1", "any", "", List.of("loss"), List.of()));
        ErrorFrame e = error(c);
        assertThat(e.code()).isEqualTo(ErrorCode.UNAUTHORIZED);
        assertThat(e.message()).isEqualTo("this monitor requires a token (HELLO.token is empty)");
      }
      try (RawClient c = new RawClient(m.ingestPort())) {
        c.send(hello("r1", "any", "wrong-token-0123456789", List.of("loss"), List.of()));
        assertThat(error(c).message()).isEqualTo("token not recognised");
      }
      try (RawClient c = new RawClient(m.ingestPort())) {
        c.send(hello("r1", "prod", "sweep-token-0123456789", List.of("loss"), List.of()));
        assertThat(error(c).message()).isEqualTo("token not allowed for job \"prod\"");
      }
      try (RawClient c = new RawClient(m.ingestPort())) {
        c.send(hello("r1", "sweep-7", "sweep-token-0123456789", List.of("loss"), List.of()));
        assertThat(c.read()).isInstanceOf(Welcome.class);
      }
      try (RawClient c = new RawClient(m.ingestPort())) {
        c.send(hello("r2", "prod", "ops-token-0123456789", List.of("loss"), List.of()));
        assertThat(c.read()).isInstanceOf(Welcome.class);
      }
      assertThat(m.get("/metrics").body()).containsPattern("ergowatch_frames_rejected_total\\{reason=\"unauthorized\"} 3");
    }
  }

  @Test
  void aBadTokenFileIsAConfigError() throws Exception {
    Path empty = Files.writeString(dir.resolve("empty"), "# nothing\n");
    assertThatThrownBy(() -> new TestMonitor(dir.resolve("d1"), Map.of("token-file", empty.toString())))
        .isInstanceOf(ConfigException.class).hasMessage("config key 'token-file': " + empty + " holds no token");
    Path shortToken = Files.writeString(dir.resolve("short"), "abc\n");
    assertThatThrownBy(() -> new TestMonitor(dir.resolve("d2"), Map.of("token-file", shortToken.toString())))
        .isInstanceOf(ConfigException.class)
        .hasMessage("config key 'token-file': " + shortToken + " line 1: a token must be at least 16 characters");
  }

  @Test
  void limitsOnRunsSeriesLabelsConnectionsAndRate() throws Exception {
    Map<String, String> limits = Map.of("max-runs", "2", "max-series-per-run", "3", "max-labels", "1",
        "max-connections", "3", "max-records-per-second", "100");
    try (TestMonitor m = new TestMonitor(dir.resolve("data"), limits)) {
      try (RawClient a = new RawClient(m.ingestPort()); RawClient b = new RawClient(m.ingestPort())) {
        a.send(hello("run-a", "", "", List.of("loss"), List.of()));
        assertThat(a.read()).isInstanceOf(Welcome.class);
        b.send(hello("run-b", "", "", List.of("loss"), List.of()));
        assertThat(b.read()).isInstanceOf(Welcome.class);
        try (RawClient c = new RawClient(m.ingestPort())) {
          c.send(hello("run-c", "", "", List.of("loss"), List.of()));
          ErrorFrame e = error(c);
          assertThat(e.code()).isEqualTo(ErrorCode.LIMIT_EXCEEDED);
          assertThat(e.message()).isEqualTo("the monitor holds 2 runs, its limit (max-runs); run run-c not accepted");
        }
        // The refused connection is released when the server closes it (after its ERROR linger), not
        // when the client does: wait for that, or the next HELLO may find three still open.
        TestMonitor.await("the refused connection released", Duration.ofSeconds(10),
            () -> connections(m).equals("2"));
        // Three connections are open (a, b and c, once c is welcomed): the fourth is refused.
        try (RawClient c = new RawClient(m.ingestPort())) {
          // rank 1 of run-a: a third live connection, replacing none
          c.send(new Hello("run-a", "", "", 1, 1, 2, Mode.REPLICATED, List.of("loss"), List.of()));
          assertThat(c.read()).isInstanceOf(Welcome.class);
          try (RawClient d = new RawClient(m.ingestPort())) {
            ErrorFrame e = error(d);
            assertThat(e.code()).isEqualTo(ErrorCode.OVERLOADED);
            assertThat(e.message()).isEqualTo("the monitor has 3 connections open, its limit; retry later");
          }
        }
      }
      try (RawClient c = new RawClient(m.ingestPort())) {
        c.send(hello("run-a", "", "", List.of("loss", "lr", "grad_sq", "acc"), List.of()));
        ErrorFrame e = error(c);
        assertThat(e.code()).isEqualTo(ErrorCode.LIMIT_EXCEEDED);
        assertThat(e.message()).isEqualTo("run run-a would have 4 series, more than the limit of 3 (max-series-per-run)");
      }
      try (RawClient c = new RawClient(m.ingestPort())) {
        c.send(hello("run-a", "", "", List.of("loss"), List.of(new Label("a", "1"), new Label("b", "2"))));
        assertThat(error(c).message()).isEqualTo("HELLO carries 2 labels, more than the limit of 1 (max-labels)");
      }
      try (RawClient c = new RawClient(m.ingestPort())) {
        c.send(hello("run-b", "", "", List.of("loss"), List.of()));
        c.read();
        List<Frame> flood = new ArrayList<>();
        for (int i = 1; i <= 500; i++) {
          flood.add(Step.of(i, i, 0, new int[] {0}, new double[] {1}));
        }
        c.send(flood.toArray(new Frame[0]));
        ErrorFrame e = c.readUntil(ErrorFrame.class);
        assertThat(e.code()).isEqualTo(ErrorCode.OVERLOADED);
        assertThat(e.message()).startsWith("more than 100 records in one second on this connection");
      }
    }
  }

  /**
   * A burst of concurrent connects admits exactly max-connections (the count is taken atomically;
   * a check of the set's size followed by an add admitted more), every other one is refused with
   * OVERLOADED and reads that ERROR frame (no reset), and the slots come back when they close.
   */
  @Test
  void concurrentConnectsNeverExceedTheConnectionLimit() throws Exception {
    int max = 4;
    int clients = 32;
    try (TestMonitor m = new TestMonitor(dir.resolve("burst"), Map.of("max-connections", String.valueOf(max)))) {
      java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(clients);
      java.util.concurrent.CountDownLatch answered = new java.util.concurrent.CountDownLatch(clients);
      java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
      java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(clients);
      List<java.util.concurrent.Future<Frame>> answers = new ArrayList<>();
      try {
        for (int i = 0; i < clients; i++) {
          String run = "burst-" + i;
          answers.add(pool.submit(() -> {
            start.await();
            try (RawClient c = new RawClient(m.ingestPort())) {
              c.send(hello(run, "", "", List.of("loss"), List.of()));
              Frame f;
              try {
                f = c.read();
              } finally {
                answered.countDown();
              }
              release.await(); // every admitted connection stays open until all have answered
              return f;
            }
          }));
        }
        assertThat(answered.await(30, java.util.concurrent.TimeUnit.SECONDS)).as("every client answered").isTrue();
        assertThat(connections(m)).isEqualTo(String.valueOf(max));
        release.countDown();
        int welcomed = 0;
        for (var a : answers) {
          Frame f = a.get(30, java.util.concurrent.TimeUnit.SECONDS);
          if (f instanceof Welcome) {
            welcomed++;
          } else {
            assertThat(f).isInstanceOf(ErrorFrame.class);
            assertThat(((ErrorFrame) f).code()).isEqualTo(ErrorCode.OVERLOADED);
            assertThat(((ErrorFrame) f).message()).isEqualTo("the monitor has " + max
                + " connections open, its limit; retry later");
          }
        }
        assertThat(welcomed).isEqualTo(max);
      } finally {
        release.countDown();
        pool.shutdownNow();
      }
      TestMonitor.await("slots released", java.time.Duration.ofSeconds(10),
          () -> connections(m).equals("0"));
      try (RawClient c = new RawClient(m.ingestPort())) {
        c.send(hello("after-burst", "", "", List.of("loss"), List.of()));
        assertThat(c.read()).isInstanceOf(Welcome.class);
      }
    }
  }

  @Test
  void nanAndInfinityInEverySeriesNeverBreakAStatistic() throws Exception {
    try (TestMonitor m = new TestMonitor(dir.resolve("nan"))) {
      List<String> series = io.ergowatch.sim.GradientDescent.SERIES;
      try (RawClient c = new RawClient(m.ingestPort())) {
        c.send(hello("nan-run", "", "", series, List.of()));
        c.read();
        int[] ids = new int[series.size()];
        for (int i = 0; i < ids.length; i++) {
          ids[i] = i;
        }
        java.util.SplittableRandom rng = new java.util.SplittableRandom(3);
        double[] specials = {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, -0.0, Double.MAX_VALUE,
            Double.MIN_VALUE, 1e300, -1e300};
        List<Frame> steps = new ArrayList<>();
        for (int t = 1; t <= 3000; t++) {
          double[] v = new double[ids.length];
          for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextInt(4) == 0 ? specials[rng.nextInt(specials.length)] : rng.nextGaussian();
          }
          steps.add(Step.of(t, t, 0, ids, v));
        }
        c.send(steps.toArray(new Frame[0]));
        c.send(new io.ergowatch.protocol.Bye(io.ergowatch.protocol.Bye.Status.COMPLETED, ""));
        assertThat(c.closedByPeer()).isTrue();
      }
      var r = m.run("nan-run").orElseThrow();
      assertThat(r.steps()).isEqualTo(3000);
      assertThat(r.state().label()).isEqualTo("diverged"); // a non-finite loss is a divergence
      assertThat(m.get("/metrics").statusCode()).isEqualTo(200);
      assertThat(m.get("/api/runs/nan-run").statusCode()).isEqualTo(200);
    }
  }
}
