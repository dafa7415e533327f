package io.ergowatch.monitor.analytics;

/**
 * How the values of one series from the ranks of a run combine into the run's value for a
 * step (docs/protocol.md, "Ranks").
 */
public enum SeriesPolicy {
  /** Averaged over the ranks that sent it: loss, grad_local_sq and user series. */
  MEAN,
  /** Taken from rank 0: lr, batch sizes, probe step, sharpness, a block's length. */
  RANK0,
  /** Additive geometry: summed over all ranks when SHARDED, from rank 0 when REPLICATED. */
  SUM_IF_SHARDED,
  /** Always summed: counters every rank keeps for itself (agent_dropped). */
  SUM;

  /** The policy of a series name: the well-known ones of docs/protocol.md, MEAN for user series. */
  public static SeriesPolicy of(String name) {
    if (name.startsWith("proj.")) {
      return SUM_IF_SHARDED;
    }
    switch (name) {
      case "lr": case "batch_size": case "local_batch_size": case "ref_probe_step": case "sharpness":
      case "update_steps":
        return RANK0;
      case "nonfinite": case "grad_sq": case "weight_sq": case "update_sq": case "update_dot_prev":
      case "grad_dot_update": case "ema_grad_dot": case "ema_dist_sq": case "ema_update_dot":
      case "ref_grad_dot": case "ref_dist_sq": case "ref_grad_sq":
        return SUM_IF_SHARDED;
      case "agent_dropped":
        return SUM;
      default:
        return MEAN;
    }
  }
}
