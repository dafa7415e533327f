package io.ergowatch.monitor.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
  @TempDir
  Path dir;

  @Test
  void defaultsMatchTheDocumentedPortsAndTimeouts() {
    MonitorConfig c = ConfigLoader.load(null, Map.of(), Map.of());
    assertThat(c.ingestPort()).isEqualTo(7479);
    assertThat(c.httpPort()).isEqualTo(9479);
    assertThat(c.silenceTimeout()).isEqualTo(Duration.ofSeconds(120));
    assertThat(c.retention()).isEqualTo(Duration.ofHours(1));
    assertThat(c.maxFrame()).isEqualTo(1 << 20);
    assertThat(c.idleTimeout()).isEqualTo(Duration.ofSeconds(60));
  }

  @Test
  void fileThenEnvironmentThenFlagsLaterWins() throws Exception {
    Path f = Files.writeString(dir.resolve("c.yml"), "ingest-port: 1000\nhttp-port: 2000\nretention: 2h\nsilence-timeout: 5m\n");
    MonitorConfig c = ConfigLoader.load(f, Map.of("ERGOWATCH_HTTP_PORT", "3000", "ERGOWATCH_RETENTION", "30m", "PATH", "/bin"),
        Map.of("retention", "10m"));
    assertThat(c.ingestPort()).isEqualTo(1000);
    assertThat(c.httpPort()).isEqualTo(3000);
    assertThat(c.retention()).isEqualTo(Duration.ofMinutes(10));
    assertThat(c.silenceTimeout()).isEqualTo(Duration.ofMinutes(5));
  }

  @Test
  void unknownKeyInTheFileIsAnErrorThatNamesIt() throws Exception {
    Path f = Files.writeString(dir.resolve("c.yml"), "ingest-prot: 1000\n");
    assertThatThrownBy(() -> ConfigLoader.load(f, Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("unknown key 'ingest-prot' in " + f + "; known keys: ingest-host, ingest-port");
  }

  @Test
  void badValuesNameTheKeyTheValueAndTheSource() throws Exception {
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of("ERGOWATCH_SILENCE_TIMEOUT", "soon"), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessage("config key 'silence-timeout' = 'soon' (from environment variable ERGOWATCH_SILENCE_TIMEOUT) "
            + "is not a duration (use e.g. 250ms, 30s, 5m, 1h, 2d)");
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("http-port", "70000")))
        .isInstanceOf(ConfigException.class)
        .hasMessage("config key 'http-port' = '70000' (from flag --http-port) must be between 0 and 65535");
    Path f = Files.writeString(dir.resolve("c.yml"), "lanes: many\n");
    assertThatThrownBy(() -> ConfigLoader.load(f, Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessage("config key 'lanes' = 'many' (from " + f + ") is not an integer");
  }

  @Test
  void missingOrMalformedFilesAreClearErrors() throws Exception {
    Path missing = dir.resolve("nope.yml");
    assertThatThrownBy(() -> ConfigLoader.load(missing, Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class).hasMessage("config file " + missing + " does not exist");
    Path list = Files.writeString(dir.resolve("list.yml"), "- a\n- b\n");
    assertThatThrownBy(() -> ConfigLoader.load(list, Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("must be a mapping of keys to values");
  }

  @Test
  void analyticsThresholdsAreConfigurableByKey() throws Exception {
    Path f = Files.writeString(dir.resolve("c.yml"), "analytics.ess-min: 80\nanalytics.pi-low: 0.7\n");
    MonitorConfig c = ConfigLoader.load(f, Map.of("ERGOWATCH_ANALYTICS_WINDOW_MAX", "8192"), Map.of());
    assertThat(c.analytics().essMin()).isEqualTo(80);
    assertThat(c.analytics().piLow()).isEqualTo(0.7);
    assertThat(c.analytics().windowMax()).isEqualTo(8192);
    assertThat(c.analytics().piHigh()).isEqualTo(1.2);
    assertThatThrownBy(() -> ConfigLoader.load(null, Map.of(), Map.of("analytics.pi-low", "2")))
        .isInstanceOf(ConfigException.class)
        .hasMessage("config key 'analytics.pi-low' = 2.0 is out of range");
    Path bad = Files.writeString(dir.resolve("bad.yml"), "analytics.ess-min: many\n");
    assertThatThrownBy(() -> ConfigLoader.load(bad, Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessage("config key 'analytics.ess-min' = 'many' (from " + bad + ") is not a number");
  }

  @Test
  void nestedKeysAreTheDottedOnes() throws Exception {
    Path f = Files.writeString(dir.resolve("nested.yml"), "analytics:\n  kappa-max: -0.6\n  ess-min: 70\nlanes: 3\n");
    MonitorConfig c = ConfigLoader.load(f, Map.of(), Map.of());
    assertThat(c.analytics().kappaMax()).isEqualTo(-0.6);
    assertThat(c.analytics().essMin()).isEqualTo(70);
    Path typo = Files.writeString(dir.resolve("typo.yml"), "analytics:\n  kapa-max: -0.6\n");
    assertThatThrownBy(() -> ConfigLoader.load(typo, Map.of(), Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("unknown key 'analytics.kapa-max' in " + typo + "; known keys: ");
  }

  @Test
  void durationsAcceptTheDocumentedUnits() {
    assertThat(ConfigLoader.parseDuration("250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(ConfigLoader.parseDuration("30s")).isEqualTo(Duration.ofSeconds(30));
    assertThat(ConfigLoader.parseDuration("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(ConfigLoader.parseDuration("1h")).isEqualTo(Duration.ofHours(1));
    assertThat(ConfigLoader.parseDuration("2d")).isEqualTo(Duration.ofDays(2));
    assertThat(ConfigLoader.parseDuration("90")).isEqualTo(Duration.ofSeconds(90));
  }
}
