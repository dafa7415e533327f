package io.ergowatch.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ergowatch.dl4j.ErgowatchListener;
import io.ergowatch.dl4j.Level;
import io.ergowatch.monitor.testing.TestMonitor;
import java.nio.file.Path;
import java.time.Duration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The demo's learning-rate sweep on real Deeplearning4j training (math.md §6.9 with DL4J's MSE,
 * (ab − 1)², whose critical lr is 0.5): a two-layer linear network 1 → 1 → 1 trained by full-batch
 * GD from (a, b) = (0.2, 0.1) converges at lr 0.495, settles on a period-2 orbit at 0.55, neither
 * converges nor settles at 0.75 and diverges at 1.0; the monitor brackets the critical lr between
 * the last converged and the first non-converged run.
 */
class Dl4jSweepEndToEndTest {
  @TempDir
  Path dataDir;

  @Test
  void theSweepShowsThePhaseTransitionAndItsCriticalLearningRate() throws Exception {
    String[] expected = {"converged", "oscillating", null, "diverged"};
    ObjectMapper mapper = new ObjectMapper();
    try (TestMonitor monitor = new TestMonitor(dataDir)) {
      DataSet one = new DataSet(Nd4j.ones(DataType.DOUBLE, 1, 1), Nd4j.ones(DataType.DOUBLE, 1, 1));
      for (int i = 0; i < Dl4jDemo.SWEEP_LRS.length; i++) {
        double lr = Dl4jDemo.SWEEP_LRS[i];
        MultiLayerNetwork net = Dl4jDemo.twoLayerLinear(lr, 0.2, 0.1);
        assertThat(net.output(Nd4j.ones(DataType.DOUBLE, 1, 1)).getDouble(0)).isCloseTo(0.02, within(1e-15));
        String run = "dl4j-sweep-" + lr;
        ErgowatchListener listener = ErgowatchListener.builder().address("127.0.0.1:" + monitor.ingestPort())
            .run(run).job("dl4j-sweep").label("optimizer", "gd").label("lr", Double.toString(lr))
            .level(Level.STANDARD).agent(a -> a.closeTimeout(Duration.ofSeconds(30))).build();
        net.addListeners(listener);
        for (int t = 0; t < 3000; t++) {
          net.fit(one);
        }
        listener.close();
        JsonNode state = mapper.readTree(monitor.get("/api/runs/" + run).body()).get("state");
        if (expected[i] != null) {
          assertThat(state.asText()).as("lr %s", lr).isEqualTo(expected[i]);
        } else {
          assertThat(state.asText()).as("lr %s", lr).isNotIn("converged", "diverged");
        }
      }
      JsonNode job = mapper.readTree(monitor.get("/api/jobs/dl4j-sweep").body());
      assertThat(job.get("critical_lr_low").asDouble()).isEqualTo(0.495);
      assertThat(job.get("critical_lr_high").asDouble()).isEqualTo(0.55);
    }
  }
}
