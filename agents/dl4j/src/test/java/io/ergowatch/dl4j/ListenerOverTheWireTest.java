package io.ergowatch.dl4j;

import static org.assertj.core.api.Assertions.assertThat;

import io.ergowatch.dl4j.TinyNets.Capture;
import io.ergowatch.protocol.Ack;
import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.Codec;
import io.ergowatch.protocol.Frame;
import io.ergowatch.protocol.FrameDecoder;
import io.ergowatch.protocol.FrameEncoder;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Label;
import io.ergowatch.protocol.Step;
import io.ergowatch.protocol.Welcome;
import java.io.BufferedInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.nd4j.linalg.api.buffer.DataType;

/** The real path: listener → ErgowatchAgent → EWP/1 over TCP → a minimal fake monitor. */
class ListenerOverTheWireTest {

  @Test
  @Timeout(30)
  void hellosTheSeriesAndStreamsEveryIteration() throws Exception {
    List<Step> steps = new CopyOnWriteArrayList<>();
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      CompletableFuture<Hello> hello = CompletableFuture.supplyAsync(() -> serve(server, steps));
      ErgowatchListener listener = ErgowatchListener.builder()
          .address("127.0.0.1:" + server.getLocalPort()).run("mlp-1").job("tests").label("beta1", "0.95")
          .level(Level.FULL).projections(4, 1).reference(2, 3).geometryEvery(2)
          .agent(a -> a.closeTimeout(Duration.ofSeconds(5)))
          .build();
      MultiLayerNetwork net = TinyNets.mlp(TinyNets.updater("adam", 0.05), DataType.FLOAT);
      Capture capture = new Capture();
      net.addListeners(capture, listener);
      for (int i = 0; i < 6; i++) {
        net.fit(TinyNets.batch(i, DataType.FLOAT));
      }
      listener.close();
      Hello h = hello.get(20, TimeUnit.SECONDS);

      List<String> expected = new java.util.ArrayList<>(ErgowatchListener.seriesNames(Level.FULL, 4));
      expected.add("agent_dropped");
      assertThat(h.series()).containsExactlyElementsOf(expected);
      assertThat(h.run()).isEqualTo("mlp-1");
      assertThat(h.job()).isEqualTo("tests");
      // optimizer read from the model's updater at the first iteration; a label given wins
      assertThat(h.labels()).contains(new Label("optimizer", "adam"), new Label("beta1", "0.95"),
          new Label("framework", "dl4j"), new Label("level", "full"), new Label("ema_alpha", "0.04"),
          new Label("params", Long.toString(net.numParams())));
      assertThat(h.labels()).filteredOn(l -> l.key().equals("beta1")).hasSize(1);
      assertThat(steps).extracting(Step::step).containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
      for (int t = 0; t < 6; t++) {
        Step s = steps.get(t);
        java.util.Map<String, Double> byName = new java.util.HashMap<>();
        for (int i = 0; i < s.count(); i++) {
          byName.put(h.series().get(s.seriesId(i)), s.value(i));
        }
        assertThat(byName.get("loss")).isEqualTo(capture.seen.get(t).score());
        assertThat(byName).containsKeys("lr", "batch_size", "grad_sq", "weight_sq", "nonfinite");
        assertThat(byName.containsKey("proj.3")).isEqualTo(t % 2 == 0);
        assertThat(byName.containsKey("ema_dist_sq")).isEqualTo(t % 2 == 0);
        assertThat(byName.containsKey("ref_probe_step")).isEqualTo(t == 3 || t == 5);
      }
    }
  }

  /** Accepts one connection, WELCOMEs it, ACKs every STEP, answers BYE with the final ACK. */
  private static Hello serve(ServerSocket server, List<Step> steps) {
    try (Socket socket = server.accept()) {
      InputStream in = new BufferedInputStream(socket.getInputStream());
      OutputStream out = socket.getOutputStream();
      FrameDecoder decoder = new FrameDecoder();
      Hello hello = (Hello) decoder.read(in, Codec.DEFAULT_MAX_FRAME);
      out.write(FrameEncoder.encode(new Welcome(0, Codec.DEFAULT_MAX_FRAME)));
      long last = 0;
      while (true) {
        Frame f = decoder.read(in, Codec.DEFAULT_MAX_FRAME);
        if (f instanceof Step s) {
          steps.add(s);
          last = s.seq();
          out.write(FrameEncoder.encode(new Ack(last)));
        } else if (f instanceof Bye) {
          out.write(FrameEncoder.encode(new Ack(last)));
          out.flush();
          return hello;
        }
      }
    } catch (java.io.IOException | io.ergowatch.protocol.FrameException e) {
      throw new java.io.UncheckedIOException(new java.io.IOException(e));
    }
  }
}
