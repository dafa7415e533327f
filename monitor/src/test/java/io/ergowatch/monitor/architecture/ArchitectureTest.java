package io.ergowatch.monitor.architecture;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The server's dependencies point one way, and the build fails when a change bends them:
 *
 * <pre>
 *   analytics   store            (pure core; a leaf that stores protocol frames)
 *        ↖      ↗
 *        pipeline                (per-run lanes: feeds the core, writes the log)
 *        ↗      ↖
 *   ingest      export           (EWP/1 in; Prometheus, JSON out — never each other)
 *        ↖      ↗
 *   config → cli, Monitor        (settings from keys; wiring and the command line)
 * </pre>
 *
 * The store sits below the pipeline, not beside ingest and export: it knows segments of EWP/1
 * frames and nothing of runs' analytics, and the pipeline decides when a record is durable. The
 * analytics core is pure (docs/math.md): no I/O, no clock, no Reactor, Netty or exporters.
 */
class ArchitectureTest {
  private static final String ROOT = "io.ergowatch.monitor";
  private static JavaClasses server;

  @BeforeAll
  static void importServer() {
    server = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages(ROOT);
  }

  @Test
  void layersDependOnlyDownwards() {
    layeredArchitecture().consideringOnlyDependenciesInLayers()
        .layer("analytics").definedBy(ROOT + ".analytics..")
        .layer("store").definedBy(ROOT + ".store..")
        .layer("pipeline").definedBy(ROOT + ".pipeline..")
        .layer("ingest").definedBy(ROOT + ".ingest..")
        .layer("export").definedBy(ROOT + ".export..")
        .layer("config").definedBy(ROOT + ".config..")
        .layer("top").definedBy(ROOT, ROOT + ".cli..")
        .whereLayer("top").mayNotBeAccessedByAnyLayer()
        .whereLayer("config").mayOnlyBeAccessedByLayers("top")
        .whereLayer("export").mayOnlyBeAccessedByLayers("top")
        .whereLayer("ingest").mayOnlyBeAccessedByLayers("config", "top")
        .whereLayer("pipeline").mayOnlyBeAccessedByLayers("ingest", "export", "config", "top")
        .whereLayer("store").mayOnlyBeAccessedByLayers("pipeline", "config", "top")
        .whereLayer("analytics").mayOnlyBeAccessedByLayers("pipeline", "ingest", "export", "config", "top")
        .check(server);
  }

  @Test
  void packagesAreFreeOfCycles() {
    slices().matching(ROOT + ".(*)..").should().beFreeOfCycles().check(server);
  }

  @Test
  void theAnalyticsCoreDoesNoIoReadsNoClockAndUsesNoReactor() {
    noClasses().that().resideInAPackage(ROOT + ".analytics..")
        .should().dependOnClassesThat().resideInAnyPackage("reactor..", "io.netty..", "io.prometheus..",
            "com.fasterxml..", "org.slf4j..", "java.io..", "java.nio..", "java.net..", "java.util.concurrent..")
        .orShould().callMethod(System.class, "nanoTime")
        .orShould().callMethod(System.class, "currentTimeMillis")
        .orShould().dependOnClassesThat().belongToAnyOf(java.time.Clock.class, java.time.Instant.class,
            java.time.LocalDateTime.class, Thread.class)
        .check(server);
  }

  @Test
  void thePipelineReadsTimeOnlyFromItsInjectedClock() {
    noClasses().that().resideInAPackage(ROOT + ".pipeline..")
        .should().callMethod(System.class, "nanoTime")
        .orShould().callMethod(System.class, "currentTimeMillis")
        .orShould().dependOnClassesThat().belongToAnyOf(java.time.Clock.class, java.time.Instant.class)
        .check(server);
  }
}
