package io.ergowatch.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.ergowatch.dl4j.ErgowatchListener;
import io.ergowatch.dl4j.Level;
import io.ergowatch.monitor.testing.TestMonitor;
import java.nio.file.Path;
import java.time.Duration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** Real Deeplearning4j training → ErgowatchListener → agent → monitor → verdict. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Dl4jEndToEndTest {
  @TempDir
  static Path dataDir;
  private TestMonitor monitor;
  private final ObjectMapper mapper = new ObjectMapper();

  @BeforeAll
  void start() {
    monitor = new TestMonitor(dataDir);
  }

  @AfterAll
  void stop() {
    monitor.close();
  }

  /** Trains a 10 → 32 → 1 MLP with plain SGD on a fixed synthetic regression; returns the run's JSON. */
  private JsonNode train(String run, double lr, int steps) throws Exception {
    MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(7)
        .dataType(DataType.FLOAT).updater(new Sgd(lr)).weightInit(WeightInit.XAVIER).list()
        .layer(new DenseLayer.Builder().nIn(10).nOut(32).activation(Activation.TANH).build())
        .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MSE).nIn(32).nOut(1)
            .activation(Activation.IDENTITY).build())
        .build());
    net.init();
    Nd4j.getRandom().setSeed(11);
    INDArray x = Nd4j.randn(DataType.FLOAT, 256, 10);
    INDArray y = x.sum(true, 1).reshape(256, 1).mul(0.3);
    DataSet data = new DataSet(x, y);
    ErgowatchListener listener = ErgowatchListener.builder().address("127.0.0.1:" + monitor.ingestPort())
        .run(run).job("dl4j-e2e").label("optimizer", "sgd").level(Level.STANDARD)
        .agent(a -> a.closeTimeout(Duration.ofSeconds(30))).build();
    net.addListeners(listener);
    for (int t = 0; t < steps; t++) {
      net.fit(data);
    }
    listener.close(); // delivers everything and waits for the final ACK
    return mapper.readTree(monitor.get("/api/runs/" + run).body());
  }

  @Test
  void aStepSizeFarPastTheStabilityLimitDiverges() throws Exception {
    // lr 50 on this MLP: the loss overflows to Infinity within ~10 iterations (step 7 here)
    JsonNode run = train("dl4j-huge-lr", 50.0, 100);
    assertThat(run.get("state").asText()).isEqualTo("diverged");
    assertThat(run.get("why").toString()).containsAnyOf("loss is Infinity", "loss is NaN", "grad_sq is", "non-finite values");
  }

  @Test
  void aSmallStepSizeDoesNotDiverge() throws Exception {
    JsonNode run = train("dl4j-small-lr", 0.01, 100);
    assertThat(run.get("state").asText()).isNotEqualTo("diverged");
  }
}
