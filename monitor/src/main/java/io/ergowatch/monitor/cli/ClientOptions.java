package io.ergowatch.monitor.cli;

import java.net.URI;
import picocli.CommandLine.Option;

/** The options of the commands that ask a live monitor: where it is, JSON or text, colour. */
final class ClientOptions {
  static final String DEFAULT_URL = "http://localhost:9479";

  @Option(names = "--url", paramLabel = "URL", defaultValue = "${env:ERGOWATCH_URL:-" + DEFAULT_URL + "}",
      description = "the monitor's HTTP address (default ${DEFAULT-VALUE}; environment ERGOWATCH_URL)")
  String url;

  @Option(names = "--json", description = "print the monitor's JSON as it is (for scripts)")
  boolean json;

  @Option(names = "--color", paramLabel = "WHEN", defaultValue = "auto",
      description = "colour the states: auto (on a terminal, unless NO_COLOR is set), always or never")
  String color;

  MonitorClient client() {
    URI base;
    try {
      base = URI.create(url.endsWith("/") ? url.substring(0, url.length() - 1) : url);
    } catch (IllegalArgumentException e) {
      throw new CliException("--url " + url + " is not a URL: " + e.getMessage());
    }
    if (base.getScheme() == null || !base.getScheme().matches("https?") || base.getHost() == null) {
      throw new CliException("--url " + url + " is not an http:// or https:// address with a host");
    }
    return new MonitorClient(base);
  }

  Ansi ansi() {
    switch (color) {
      case "always":
        return new Ansi(true);
      case "never":
        return new Ansi(false);
      case "auto":
        return new Ansi(System.console() != null && System.getenv("NO_COLOR") == null
            && !"dumb".equals(System.getenv("TERM")));
      default:
        throw new CliException("--color is auto, always or never, got " + color);
    }
  }
}
