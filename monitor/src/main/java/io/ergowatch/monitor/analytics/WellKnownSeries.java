package io.ergowatch.monitor.analytics;

/** Indices of the well-known series of a run (docs/protocol.md), -1 where the run does not send one. */
final class WellKnownSeries {
  int loss = -1;
  int lr = -1;
  int gradSq = -1;
  int gradLocalSq = -1;
  int batchSize = -1;
  int localBatchSize = -1;
  int nonfinite = -1;
  int weightSq = -1;
  int updateSq = -1;
  int updateDotPrev = -1;
  int emaGradDot = -1;
  int emaDistSq = -1;
  int emaUpdateDot = -1;
  int updateSteps = -1;
  int refGradDot = -1;
  int refDistSq = -1;
  int refGradSq = -1;
  int sharpness = -1;

  void assign(String name, int i) {
    switch (name) {
      case "loss": loss = i; break;
      case "lr": lr = i; break;
      case "grad_sq": gradSq = i; break;
      case "grad_local_sq": gradLocalSq = i; break;
      case "batch_size": batchSize = i; break;
      case "local_batch_size": localBatchSize = i; break;
      case "nonfinite": nonfinite = i; break;
      case "weight_sq": weightSq = i; break;
      case "update_sq": updateSq = i; break;
      case "update_dot_prev": updateDotPrev = i; break;
      case "ema_grad_dot": emaGradDot = i; break;
      case "ema_dist_sq": emaDistSq = i; break;
      case "ema_update_dot": emaUpdateDot = i; break;
      case "update_steps": updateSteps = i; break;
      case "ref_grad_dot": refGradDot = i; break;
      case "ref_dist_sq": refDistSq = i; break;
      case "ref_grad_sq": refGradSq = i; break;
      case "sharpness": sharpness = i; break;
      default: break;
    }
  }
}
