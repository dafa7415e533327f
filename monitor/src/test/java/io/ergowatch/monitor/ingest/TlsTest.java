package io.ergowatch.monitor.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ergowatch.monitor.config.ConfigException;
import io.ergowatch.monitor.testing.RawClient;
import io.ergowatch.monitor.testing.TestMonitor;
import io.ergowatch.protocol.Ack;
import io.ergowatch.protocol.Bye;
import io.ergowatch.protocol.Hello;
import io.ergowatch.protocol.Mode;
import io.ergowatch.protocol.Step;
import io.ergowatch.protocol.Welcome;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.List;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** EWP/1 over TLS with a self-signed certificate generated for the test (JDK keytool). */
class TlsTest {
  private static final String PASSWORD = "test-password";
  @TempDir
  static Path dir;
  private static Path keystore;
  private static SSLContext client;

  @BeforeAll
  static void certificate() throws Exception {
    keystore = dir.resolve("monitor.p12");
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    Process p = new ProcessBuilder(keytool, "-genkeypair", "-alias", "monitor", "-keyalg", "EC", "-groupname", "secp256r1",
        "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1,dns:localhost", "-validity", "2", "-storetype", "PKCS12",
        "-keystore", keystore.toString(), "-storepass", PASSWORD, "-keypass", PASSWORD)
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as(out).isZero();
    KeyStore trust = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keystore)) {
      trust.load(in, PASSWORD.toCharArray());
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    tmf.init(trust);
    client = SSLContext.getInstance("TLS");
    client.init(null, tmf.getTrustManagers(), null);
  }

  private TestMonitor monitor(String sub) {
    return new TestMonitor(dir.resolve(sub), Map.of("tls-keystore", keystore.toString(), "tls-keystore-password", PASSWORD));
  }

  @Test
  void agentsTalkEwpOverTls() throws Exception {
    try (TestMonitor m = monitor("ok"); RawClient c = new RawClient(m.ingestPort(), client.getSocketFactory())) {
      c.send(new Hello("tls-run", "", "", 1, 0, 1, Mode.REPLICATED, List.of("loss"), List.of()));
      assertThat(c.read()).isInstanceOf(Welcome.class);
      c.send(Step.of(1, 1, 0, new int[] {0}, new double[] {0.5}), new Bye(Bye.Status.COMPLETED, ""));
      assertThat(c.readUntil(Ack.class)).isNotNull();
      assertThat(c.closedByPeer()).isTrue();
      assertThat(m.run("tls-run").orElseThrow().steps()).isEqualTo(1);
    }
  }

  @Test
  void theHttpSideIsServedOverHttps() throws Exception {
    try (TestMonitor m = monitor("https")) {
      java.net.http.HttpClient https = java.net.http.HttpClient.newBuilder().sslContext(client).build();
      var res = https.send(java.net.http.HttpRequest.newBuilder(
          java.net.URI.create("https://127.0.0.1:" + m.monitor().httpPort() + "/healthz")).build(),
          java.net.http.HttpResponse.BodyHandlers.ofString());
      assertThat(res.statusCode()).isEqualTo(200);
      assertThat(m.monitor().startupLine()).contains("EWP/1 over TLS", "HTTP on https://");
    }
  }

  @Test
  void theJavaAgentStreamsOverTls() throws Exception {
    try (TestMonitor m = monitor("agent")) {
      try (io.ergowatch.agent.ErgowatchAgent agent = io.ergowatch.agent.ErgowatchAgent.builder()
          .address("127.0.0.1:" + m.ingestPort()).run("tls-agent").series("loss").tls(client).build()) {
        for (int t = 0; t < 1000; t++) {
          agent.record(t, 1.0 / (t + 1));
        }
        assertThat(agent.flush(java.time.Duration.ofSeconds(20))).isTrue();
      }
      assertThat(m.run("tls-agent").orElseThrow().steps()).isEqualTo(1000);
    }
  }

  @Test
  void aPlaintextClientGetsNoWelcome() throws Exception {
    try (TestMonitor m = monitor("plain"); RawClient c = new RawClient(m.ingestPort())) {
      c.send(new Hello("plain-run", "", "", 1, 0, 1, Mode.REPLICATED, List.of("loss"), List.of()));
      assertThatThrownBy(c::read).isInstanceOf(IOException.class);
      assertThat(m.run("plain-run")).isEmpty();
    }
  }

  @Test
  void aWrongPasswordIsAConfigError() {
    assertThatThrownBy(() -> new TestMonitor(dir.resolve("bad"),
        Map.of("tls-keystore", keystore.toString(), "tls-keystore-password", "nope")))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("config key 'tls-keystore': cannot load " + keystore);
  }
}
