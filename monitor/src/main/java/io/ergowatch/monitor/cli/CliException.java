package io.ergowatch.monitor.cli;

/** An expected failure of a command (bad option, monitor unreachable, unknown run): one line, no stack trace. */
final class CliException extends RuntimeException {
  private final int exitCode;

  CliException(String message) {
    this(message, 2);
  }

  CliException(String message, int exitCode) {
    super(message);
    this.exitCode = exitCode;
  }

  int exitCode() {
    return exitCode;
  }
}
