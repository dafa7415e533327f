package io.ergowatch.monitor.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.ergowatch.monitor.testing.RawClient;
import io.ergowatch.monitor.testing.TestMonitor;
import io.ergowatch.protocol.Ack;
import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Mode;
import io.ergowatch.protocol.Step;
import java.io.EOFException;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GracefulShutdownTest {
  @TempDir
  Path dataDir;

  @Test
  void shutdownAppliesWhatWasReadSendsAFinalAckAndCloses() throws Exception {
    TestMonitor monitor = new TestMonitor(dataDir);
    int port = monitor.ingestPort();
    try (RawClient c = new RawClient(port)) {
      c.send(new Hello("drained", "", "", 1, 0, 1, Mode.REPLICATED, List.of("loss"), List.of()));
      c.read();
      List<Frame> steps = new ArrayList<>();
      for (int i = 1; i <= 2000; i++) {
        steps.add(Step.of(i, i, 0, new int[] {0}, new double[] {i}));
      }
      c.send(steps.toArray(new Frame[0]));
      // Wait until the monitor has read them all, then stop it while the connection is open.
      TestMonitor.await("2000 applied", java.time.Duration.ofSeconds(10),
          () -> monitor.run("drained").map(r -> r.steps() == 2000).orElse(false));
      CompletableFuture<Void> closing = CompletableFuture.runAsync(monitor::close);
      long lastAck = 0;
      try {
        while (true) {
          Frame f = c.read();
          if (f instanceof Ack) {
            lastAck = ((Ack) f).ackedSeq();
          }
        }
      } catch (EOFException closed) {
        // expected: the monitor closes after the final ACK
      }
      closing.get();
      assertThat(lastAck).isEqualTo(2000);
    }
    // No longer accepting.
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new RawClient(port).close())
        .isInstanceOf(ConnectException.class);
  }

  @Test
  void aPortInUseIsAConfigErrorThatNamesTheSetting() {
    try (TestMonitor first = new TestMonitor(dataDir)) {
      int port = first.ingestPort();
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> new TestMonitor(dataDir, java.util.Map.of("ingest-port", Integer.toString(port))))
          .isInstanceOf(io.ergowatch.monitor.config.ConfigException.class)
          .hasMessage("config key 'ingest-port': cannot listen on 127.0.0.1:" + port
              + " (address in use or not available); choose another port, or stop what uses it");
    }
  }

  @Test
  void closeIsIdempotent() throws IOException {
    TestMonitor monitor = new TestMonitor(dataDir);
    monitor.close();
    org.assertj.core.api.Assertions.assertThatCode(monitor::close).doesNotThrowAnyException();
  }
}
