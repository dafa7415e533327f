package io.ergowatch.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ergowatch.dl4j.ErgowatchListener;
import io.ergowatch.dl4j.Level;
import io.ergowatch.monitor.testing.TestMonitor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * Real Deeplearning4j training → ErgowatchListener → monitor → STALLED_NONSTATIONARY: plain SGD
 * with a constant step on fresh noisy minibatches reaches a stationary distribution whose
 * gradient never vanishes (math.md §1, §6.4), the case the demo's dl4j-sgd-constant-lr shows.
 */
class Dl4jStallEndToEndTest {
  @TempDir
  Path dataDir;

  @Test
  void constantStepSgdOnFreshMinibatchesStallsWithoutStationarity() throws Exception {
    try (TestMonitor monitor = new TestMonitor(dataDir)) {
      MultiLayerNetwork net = Dl4jDemo.net(new Sgd(0.1), DataType.FLOAT, 10, new int[0], 1);
      double[] wStar = Dl4jDemo.teacher(10, 21);
      SplittableRandom rng = new SplittableRandom(22);
      ErgowatchListener listener = ErgowatchListener.builder().address("127.0.0.1:" + monitor.ingestPort())
          .run("dl4j-stall").job("dl4j-e2e").label("optimizer", "sgd").level(Level.STANDARD)
          .agent(a -> a.closeTimeout(Duration.ofSeconds(30))).build();
      net.addListeners(listener);
      for (int t = 0; t < 1500; t++) {
        net.fit(Dl4jDemo.regression(16, wStar, 0.5, rng, DataType.FLOAT));
      }
      listener.close();
      JsonNode run = new ObjectMapper().readTree(monitor.get("/api/runs/dl4j-stall").body());
      assertThat(run.get("steps").asLong()).isEqualTo(1500);
      assertThat(run.get("state").asText()).isEqualTo("stalled_nonstationary");
      assertThat(run.get("why").toString()).contains("loss stationary", "stationarity ratio Pi", "weights still move");
      assertThat(run.get("statistics").get("stationarity_ratio").asDouble()).isBetween(0.8, 1.2);
    }
  }
}
