package io.ergowatch.monitor.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import io.ergowatch.monitor.analytics.AnalyticsSettings;
import io.ergowatch.monitor.store.FsyncPolicy;
import io.ergowatch.monitor.ingest.Limits;

/**
 * Builds a {@link MonitorConfig}: defaults, then a YAML file (flat keys such as
 * {@code ingest-port: 7479}), then {@code ERGOWATCH_*} environment variables
 * ({@code ERGOWATCH_INGEST_PORT}), then command-line flags; later sources win. Unknown keys
 * and bad values are errors that name the key and the source, never silently ignored.
 */
public final class ConfigLoader {
  /** The monitor's own keys, in documentation order. */
  private static final List<String> MONITOR_KEYS = List.of(
      "ingest-host", "ingest-port", "http-host", "http-port", "data-dir", "silence-timeout", "retention",
      "max-frame", "ack-interval", "idle-timeout", "rank-grace", "lanes", "drain-timeout", "fsync", "fsync-interval",
      "segment-bytes", "log-retention", "log-retention-bytes", "token-file", "max-connections", "max-runs",
      "max-series-per-run", "max-labels", "max-records-per-second", "tls-keystore", "tls-keystore-password");

  /** The analytics thresholds: {@code analytics.<name>} for each component of AnalyticsSettings. */
  public static final List<String> ANALYTICS_KEYS = analyticsKeys();

  /** Every key, in documentation order. */
  public static final List<String> KEYS = concat(MONITOR_KEYS, ANALYTICS_KEYS);

  private static List<String> analyticsKeys() {
    List<String> keys = new java.util.ArrayList<>();
    for (java.lang.reflect.RecordComponent c : AnalyticsSettings.class.getRecordComponents()) {
      keys.add("analytics." + kebab(c.getName()));
    }
    return List.copyOf(keys);
  }

  private static List<String> concat(List<String> a, List<String> b) {
    List<String> all = new java.util.ArrayList<>(a);
    all.addAll(b);
    return List.copyOf(all);
  }

  /** essMin → ess-min. */
  static String kebab(String camel) {
    return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(Locale.ROOT);
  }

  private static final Pattern DURATION = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  private ConfigLoader() {}

  /**
   * @param file YAML file, or null
   * @param env the process environment (only ERGOWATCH_* keys are read)
   * @param flags values given on the command line, by key
   */
  public static MonitorConfig load(Path file, Map<String, String> env, Map<String, String> flags) {
    Map<String, Sourced> values = new LinkedHashMap<>();
    if (file != null) {
      readYaml(file).forEach((k, v) -> values.put(k, new Sourced(v, file.toString())));
    }
    for (String key : KEYS) {
      String var = envName(key);
      if (env.containsKey(var)) {
        values.put(key, new Sourced(env.get(var), "environment variable " + var));
      }
    }
    for (Map.Entry<String, String> f : flags.entrySet()) {
      if (!KEYS.contains(f.getKey())) {
        throw new IllegalArgumentException("unknown flag key " + f.getKey());
      }
      values.put(f.getKey(), new Sourced(f.getValue(), "flag --" + f.getKey()));
    }
    MonitorConfig d = MonitorConfig.defaults();
    return new MonitorConfig(
        string(values, "ingest-host", d.ingestHost()),
        port(values, "ingest-port", d.ingestPort()),
        string(values, "http-host", d.httpHost()),
        port(values, "http-port", d.httpPort()),
        values.containsKey("data-dir") ? Path.of(values.get("data-dir").value) : d.dataDir(),
        duration(values, "silence-timeout", d.silenceTimeout()),
        duration(values, "retention", d.retention()),
        intIn(values, "max-frame", d.maxFrame(), 64, Integer.MAX_VALUE),
        duration(values, "ack-interval", d.ackInterval()),
        duration(values, "idle-timeout", d.idleTimeout()),
        duration(values, "rank-grace", d.rankGrace()),
        intIn(values, "lanes", d.lanes(), 1, 1024),
        duration(values, "drain-timeout", d.drainTimeout()),
        fsync(values, d.fsync()),
        duration(values, "fsync-interval", d.fsyncInterval()),
        bytes(values, "segment-bytes", d.segmentBytes(), 4096),
        duration(values, "log-retention", d.logRetention()),
        bytes(values, "log-retention-bytes", d.logRetentionBytes(), 1 << 20),
        values.containsKey("token-file") ? Path.of(values.get("token-file").value.trim()) : null,
        values.containsKey("tls-keystore") ? Path.of(values.get("tls-keystore").value.trim()) : null,
        values.containsKey("tls-keystore-password") ? values.get("tls-keystore-password").value : "",
        new Limits(
            intIn(values, "max-connections", d.limits().maxConnections(), 1, 1_000_000),
            intIn(values, "max-runs", d.limits().maxRuns(), 1, 10_000_000),
            intIn(values, "max-series-per-run", d.limits().maxSeriesPerRun(), 1, 65535),
            intIn(values, "max-labels", d.limits().maxLabels(), 0, 65535),
            intIn(values, "max-records-per-second", d.limits().maxRecordsPerSecond(), 0, Integer.MAX_VALUE)),
        analytics(values));
  }

  /** AnalyticsSettings from the defaults and any {@code analytics.*} keys, validated. */
  private static AnalyticsSettings analytics(Map<String, Sourced> values) {
    AnalyticsSettings d = AnalyticsSettings.defaults();
    java.lang.reflect.RecordComponent[] cs = AnalyticsSettings.class.getRecordComponents();
    Object[] args = new Object[cs.length];
    Class<?>[] types = new Class<?>[cs.length];
    for (int i = 0; i < cs.length; i++) {
      String key = "analytics." + kebab(cs[i].getName());
      types[i] = cs[i].getType();
      Sourced s = values.get(key);
      try {
        Object dflt = cs[i].getAccessor().invoke(d);
        if (s == null) {
          args[i] = dflt;
        } else if (types[i] == int.class) {
          args[i] = Integer.parseInt(s.value.trim());
        } else {
          double v = Double.parseDouble(s.value.trim());
          if (!Double.isFinite(v)) {
            throw bad(key, s, "must be a finite number");
          }
          args[i] = v;
        }
      } catch (NumberFormatException e) {
        throw bad(key, s, types[i] == int.class ? "is not an integer" : "is not a number");
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException(e);
      }
    }
    try {
      return AnalyticsSettings.class.getDeclaredConstructor(types).newInstance(args).validate();
    } catch (java.lang.reflect.InvocationTargetException e) {
      throw new ConfigException(e.getCause().getMessage());
    } catch (IllegalArgumentException e) {
      throw new ConfigException(e.getMessage());
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(e);
    }
  }

  /** ingest-port → ERGOWATCH_INGEST_PORT. */
  public static String envName(String key) {
    return "ERGOWATCH_" + key.toUpperCase(Locale.ROOT).replace('-', '_').replace('.', '_');
  }

  private static Map<String, String> readYaml(Path file) {
    JsonNode root;
    try {
      root = new ObjectMapper(new YAMLFactory()).readTree(Files.readAllBytes(file));
    } catch (java.nio.file.NoSuchFileException e) {
      throw new ConfigException("config file " + file + " does not exist");
    } catch (IOException e) {
      throw new ConfigException("config file " + file + " is not valid YAML: " + firstLine(e.getMessage()));
    }
    Map<String, String> out = new LinkedHashMap<>();
    if (root == null || root.isMissingNode() || root.isNull()) {
      return out;
    }
    if (!root.isObject()) {
      throw new ConfigException("config file " + file + " must be a mapping of keys to values, e.g. 'ingest-port: 7479'");
    }
    flatten("", root, file, out);
    return out;
  }

  /**
   * Keys as written, or nested: {@code analytics: {kappa-max: -0.6}} is the key
   * {@code analytics.kappa-max}, as in docs/operations.md.
   */
  private static void flatten(String prefix, JsonNode node, Path file, Map<String, String> out) {
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String key = prefix + e.getKey();
      if (e.getValue().isObject() && KEYS.stream().anyMatch(k -> k.startsWith(key + "."))) {
        flatten(key + ".", e.getValue(), file, out);
        continue;
      }
      if (!KEYS.contains(key)) {
        throw new ConfigException("unknown key '" + key + "' in " + file + "; known keys: " + String.join(", ", KEYS));
      }
      if (!e.getValue().isValueNode()) {
        throw new ConfigException("key '" + key + "' in " + file + " must be a single value");
      }
      out.put(key, e.getValue().asText());
    }
  }

  private static String firstLine(String s) {
    return s == null ? "" : s.lines().findFirst().orElse("");
  }

  private static String string(Map<String, Sourced> v, String key, String def) {
    Sourced s = v.get(key);
    if (s == null) {
      return def;
    }
    if (s.value.isBlank()) {
      throw bad(key, s, "must not be empty");
    }
    return s.value.trim();
  }

  private static int port(Map<String, Sourced> v, String key, int def) {
    return intIn(v, key, def, 0, 65535);
  }

  private static int intIn(Map<String, Sourced> v, String key, int def, int min, int max) {
    Sourced s = v.get(key);
    if (s == null) {
      return def;
    }
    try {
      int n = Integer.parseInt(s.value.trim());
      if (n < min || n > max) {
        throw bad(key, s, "must be between " + min + " and " + max);
      }
      return n;
    } catch (NumberFormatException e) {
      throw bad(key, s, "is not an integer");
    }
  }

  /** Parses 250ms, 30s, 5m, 1h, 2d (or a plain number of seconds). */
  public static Duration parseDuration(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    if (t.matches("\\d+")) {
      return Duration.ofSeconds(Long.parseLong(t));
    }
    Matcher m = DURATION.matcher(t);
    if (!m.matches()) {
      throw new IllegalArgumentException("not a duration");
    }
    long n = Long.parseLong(m.group(1));
    switch (m.group(2)) {
      case "ms": return Duration.ofMillis(n);
      case "s": return Duration.ofSeconds(n);
      case "m": return Duration.ofMinutes(n);
      case "h": return Duration.ofHours(n);
      default: return Duration.ofDays(n);
    }
  }

  private static Duration duration(Map<String, Sourced> v, String key, Duration def) {
    Sourced s = v.get(key);
    if (s == null) {
      return def;
    }
    Duration d;
    try {
      d = parseDuration(s.value);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw bad(key, s, "is not a duration (use e.g. 250ms, 30s, 5m, 1h, 2d)");
    }
    if (d.isZero()) {
      throw bad(key, s, "must be longer than 0");
    }
    return d;
  }

  private static FsyncPolicy fsync(Map<String, Sourced> v, FsyncPolicy def) {
    Sourced s = v.get("fsync");
    if (s == null) {
      return def;
    }
    try {
      return FsyncPolicy.parse(s.value);
    } catch (IllegalArgumentException e) {
      throw bad("fsync", s, "must be one of batch, interval, none");
    }
  }

  private static final Pattern BYTES = Pattern.compile("(\\d+)\\s*(|k|kib|m|mib|g|gib)");

  /** Parses 1048576, 64MiB, 512KiB, 10GiB (binary units; k/m/g accepted). */
  private static long bytes(Map<String, Sourced> v, String key, long def, long min) {
    Sourced s = v.get(key);
    if (s == null) {
      return def;
    }
    Matcher m = BYTES.matcher(s.value.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw bad(key, s, "is not a size (use e.g. 67108864, 64MiB, 10GiB)");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2);
    long mult = unit.startsWith("k") ? 1L << 10 : unit.startsWith("m") ? 1L << 20 : unit.startsWith("g") ? 1L << 30 : 1;
    long value = n * mult;
    if (value < min) {
      throw bad(key, s, "must be at least " + min + " bytes");
    }
    return value;
  }

  private static ConfigException bad(String key, Sourced s, String what) {
    return new ConfigException("config key '" + key + "' = '" + s.value + "' (from " + s.source + ") " + what);
  }

  private record Sourced(String value, String source) {}
}
