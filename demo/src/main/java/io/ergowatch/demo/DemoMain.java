package io.ergowatch.demo;

import io.ergowatch.monitor.cli.Main;
import picocli.CommandLine;

/**
 * The entry point of demo/target/ergowatch-demo.jar: the monitor's command line
 * ({@code serve}, {@code help}) plus {@code demo}. The server's own jar has no demo, so it
 * carries no Deeplearning4j.
 */
public final class DemoMain {
  private DemoMain() {}

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  public static CommandLine commandLine() {
    return Main.commandLine().addSubcommand("demo", new DemoCommand());
  }
}
