package io.ergowatch.dl4j;

/**
 * How much geometry {@link ErgowatchListener} measures, and the memory it takes. d is the number of
 * parameters watched (all of them, or those of the layers the filter keeps), in the network's data
 * type (4 bytes for FLOAT).
 *
 * <ul>
 *   <li>{@link #BASIC}: loss, lr, batch_size, nonfinite, grad_sq, weight_sq every step (the
 *       series of the PyTorch agent's basic level, plus weight_sq). Memory: none. Time: two BLAS
 *       dot products over d per step.
 *   <li>{@link #STANDARD}: + update_sq, grad_dot_update, update_dot_prev, ema_grad_dot,
 *       ema_dist_sq, ema_update_dot at geometry steps. Memory: 3d (the mean gradient g_t, needed
 *       after the updater overwrote the gradient view; the previous step; the EMA centre). Time:
 *       13 BLAS level-1 passes over d at a geometry step.
 *   <li>{@link #FULL}: + proj.0..proj.{k-1} at geometry steps and the lagged-reference probes
 *       ref_grad_dot, ref_dist_sq, ref_grad_sq, ref_probe_step. Memory: 3d + 2d per live probe
 *       (ceil(refLag / refEvery) of them, at most 8) + the k random directions: kept whole when
 *       k × d numbers take at most the projection cache (default 64 MiB, i.e. d ≤ 524,288 for
 *       k = 32 in FLOAT), else one block of k × 32768 regenerated per use (4 MiB for k = 32).
 * </ul>
 * Options at any level: per-layer gradient norms (no extra memory); sharpness (a twin network —
 * its parameters, gradients, updater state and probe-batch activations — plus 3d, and 2d more
 * when preconditioned for Adam, built at the first estimate). Buffers are allocated at the first iteration; nothing per step afterwards
 * beyond ND4J's small scalar results.
 */
public enum Level {
  BASIC,
  STANDARD,
  FULL
}
