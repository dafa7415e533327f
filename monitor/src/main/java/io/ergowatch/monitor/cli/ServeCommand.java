package io.ergowatch.monitor.cli;

import io.ergowatch.monitor.Monitor;
import io.ergowatch.monitor.config.ConfigLoader;
import io.ergowatch.monitor.config.MonitorConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ergowatch serve}: run the monitor until SIGTERM/SIGINT, then shut down gracefully. */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Run the monitor: EWP/1 ingestion, /metrics, the JSON API.")
final class ServeCommand implements Callable<Integer> {
  @Option(names = "--config", paramLabel = "FILE", description = "YAML config file (keys as in docs/operations.md)")
  Path config;

  @Option(names = "--ingest-port", description = "EWP/1 TCP port (default 7479; 0 = any free port)")
  Integer ingestPort;

  @Option(names = "--http-port", description = "HTTP port for /metrics and the API (default 9479; 0 = any free port)")
  Integer httpPort;

  @Option(names = "--data-dir", paramLabel = "DIR", description = "data directory (default ./ergowatch-data)")
  Path dataDir;

  @Option(names = "--silence-timeout", paramLabel = "DURATION", description = "a run without data this long is silent (default 120s)")
  String silenceTimeout;

  @Option(names = "--token-file", paramLabel = "FILE",
      description = "require a token in every HELLO: one per line, optionally followed by the jobs it may write (see docs/operations.md)")
  Path tokenFile;

  @Override
  public Integer call() throws InterruptedException {
    MonitorConfig cfg = ConfigLoader.load(config, System.getenv(), flags());
    Monitor monitor = Monitor.start(cfg);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      monitor.close();
      stopped.countDown();
    }, "ergowatch-shutdown"));
    org.slf4j.LoggerFactory.getLogger("io.ergowatch").info(monitor.startupLine());
    stopped.await();
    return 0;
  }

  Map<String, String> flags() {
    Map<String, String> f = new LinkedHashMap<>();
    if (ingestPort != null) {
      f.put("ingest-port", ingestPort.toString());
    }
    if (httpPort != null) {
      f.put("http-port", httpPort.toString());
    }
    if (dataDir != null) {
      f.put("data-dir", dataDir.toString());
    }
    if (silenceTimeout != null) {
      f.put("silence-timeout", silenceTimeout);
    }
    if (tokenFile != null) {
      f.put("token-file", tokenFile.toString());
    }
    return f;
  }
}
