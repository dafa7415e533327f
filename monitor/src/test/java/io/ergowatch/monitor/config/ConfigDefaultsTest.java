package io.ergowatch.monitor.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.ergowatch.monitor.analytics.AnalyticsSettings;
import io.ergowatch.monitor.dashboards.Repo;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every default is written once in code (the settings of the layer that uses it, composed by
 * MonitorConfig.defaults()) and once in docs/operations.md, and the two agree: loading each
 * documented default as if a user had set it gives exactly the defaults.
 */
class ConfigDefaultsTest {
  private static final Pattern ROW = Pattern.compile("(?m)^\\| `([a-z.-]+)` \\| ([^|]+) \\|");
  private static final Pattern CODE = Pattern.compile("`([^`]+)`");

  /** The table of docs/operations.md "Configuration": key → documented default cell. */
  private static Map<String, String> documentedKeys(String docs) {
    Map<String, String> rows = new LinkedHashMap<>();
    Matcher m = ROW.matcher(docs);
    while (m.find()) {
      if (!m.group(1).startsWith("analytics.") && !m.group(1).startsWith("ergowatch")) {
        assertThat(rows.put(m.group(1), m.group(2).trim())).as("key %s documented once", m.group(1)).isNull();
      }
    }
    return rows;
  }

  @Test
  void everyMonitorKeyIsDocumentedOnceWithItsDefault() {
    Map<String, String> docs = documentedKeys(Repo.text("docs/operations.md"));
    Map<String, String> flags = new LinkedHashMap<>();
    for (String key : ConfigLoader.KEYS) {
      if (key.startsWith("analytics.")) {
        continue;
      }
      assertThat(docs).as("docs/operations.md documents %s", key).containsKey(key);
      String cell = docs.get(key);
      Matcher v = CODE.matcher(cell);
      if (key.equals("lanes")) {
        assertThat(cell).isEqualTo("cores (≥ 2)");
        assertThat(MonitorConfig.defaults().lanes()).isEqualTo(Math.max(2, Runtime.getRuntime().availableProcessors()));
      } else if (v.find()) {
        flags.put(key, v.group(1));
      } else {
        assertThat(cell).as("%s: no value means none or empty", key).isIn("none", "empty");
      }
    }
    assertThat(ConfigLoader.load(null, Map.of(), flags)).isEqualTo(MonitorConfig.defaults());
  }

  @Test
  void everyAnalyticsThresholdIsDocumentedOnceWithItsDefault() {
    String docs = Repo.text("docs/operations.md");
    Map<String, String> flags = new LinkedHashMap<>();
    for (String line : docs.split("\n")) {
      if (!line.startsWith("| `analytics.") || line.startsWith("| `analytics.*`")) {
        continue;
      }
      // "| `analytics.pi-low` / `pi-high` | 0.8 / 1.2 | | `analytics.kappa-max` | −0.5 |": two tables side by side
      String[] cells = line.split("\\|");
      for (int c = 1; c + 1 < cells.length; c += 3) {
        List<String> names = new ArrayList<>();
        Matcher n = CODE.matcher(cells[c]);
        while (n.find()) {
          names.add(n.group(1).startsWith("analytics.") ? n.group(1) : "analytics." + n.group(1));
        }
        String[] values = cells[c + 1].trim().replace('−', '-').split(" / ");
        assertThat(values).as("defaults of %s", names).hasSameSizeAs(names);
        for (int i = 0; i < names.size(); i++) {
          assertThat(flags.put(names.get(i), values[i])).as("%s documented once", names.get(i)).isNull();
        }
      }
    }
    assertThat(flags.keySet()).containsExactlyInAnyOrderElementsOf(ConfigLoader.ANALYTICS_KEYS);
    assertThat(ConfigLoader.load(null, Map.of(), flags).analytics()).isEqualTo(AnalyticsSettings.defaults());
  }
}
