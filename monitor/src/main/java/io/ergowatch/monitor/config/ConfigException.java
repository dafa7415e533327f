package io.ergowatch.monitor.config;

/** Bad configuration: the message names the key, where it came from and what was wrong. */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public ConfigException(String message) {
    super(message, null, false, false);
  }
}
