package io.ergowatch.monitor.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code ergowatch} command line. */
@Command(name = "ergowatch", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "Reactive streaming monitor for neural-network training runs.",
    footer = {"", "The demo (real Deeplearning4j runs and the monitor in one process) is its own program:",
        "  ./ergowatch demo   (module demo/, jar demo/target/ergowatch-demo.jar)"},
    subcommands = {ServeCommand.class, RunsCommand.class, StatusCommand.class, ReplayCommand.class, ExportCommand.class, ReportCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured picocli command line (tests execute it in-process). */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Main());
    cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
      if (ex instanceof io.ergowatch.monitor.config.ConfigException) {
        cmd.getErr().println("ergowatch: " + ex.getMessage());
        return 2;
      }
      if (ex instanceof CliException) {
        cmd.getErr().println("ergowatch " + cmd.getCommandName() + ": " + ex.getMessage());
        return ((CliException) ex).exitCode();
      }
      throw ex;
    });
    return cl;
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"ergowatch " + (v == null ? "dev" : v)};
    }
  }
}
