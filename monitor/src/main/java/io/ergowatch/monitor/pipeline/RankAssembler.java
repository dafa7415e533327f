package io.ergowatch.monitor.pipeline;

import io.ergowatch.monitor.analytics.RunCore;
import io.ergowatch.monitor.analytics.SeriesPolicy;
import io.ergowatch.monitor.analytics.StepRecord;
import io.ergowatch.protocol.Mode;
import io.ergowatch.protocol.Step;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Map;
import java.util.TreeMap;

/**
 * Assembles one record per (run, step) from the ranks of a run (docs/protocol.md, "Ranks") and
 * feeds it to the run's core. Pure: time comes in as arguments.
 *
 * <p>With one rank a STEP goes straight through, allocation-free. With several, a step waits
 * until every rank has sent it, or until the grace period has passed (then it is processed as
 * partial); at most {@code maxPending} steps wait, after which the oldest is flushed as partial
 * so memory stays bounded whatever the ranks do.
 */
public final class RankAssembler {
  private final RunCore core;
  private final long graceNanos;
  private final int maxPending;
  private final StepRecord out = new StepRecord(16);
  private final TreeMap<Long, Pending> pending = new TreeMap<>();
  private final ArrayDeque<Pending> pool = new ArrayDeque<>();
  private SeriesPolicy[] policies = new SeriesPolicy[0];
  private int world = 1;
  private Mode mode = Mode.REPLICATED;

  public RankAssembler(RunCore core, long graceNanos, int maxPending) {
    this.core = core;
    this.graceNanos = graceNanos;
    this.maxPending = maxPending;
  }

  /** The run's shape from its latest HELLO. Waiting steps of the old shape are flushed. */
  public void configure(int world, Mode mode, long nowNanos) {
    if (world != this.world || mode != this.mode) {
      flushAll(nowNanos);
    }
    this.world = world;
    this.mode = mode;
  }

  /**
   * One rank's STEP, its ids mapped to run-level series indices through {@code mapping}.
   *
   * @param rewind the first record of a new session of a known (run, rank)
   */
  public void accept(int rank, Step step, int[] mapping, boolean rewind, long nowNanos) {
    if (world == 1) {
      out.reset(step.step(), step.timeNanos()).rewind(rewind);
      for (int i = 0; i < step.count(); i++) {
        out.put(mapping[step.seriesId(i)], step.value(i));
      }
      core.onRecord(out, nowNanos);
      return;
    }
    Pending p = pending.get(step.step());
    if (p == null) {
      if (pending.size() >= maxPending) {
        emit(pending.pollFirstEntry().getValue(), nowNanos);
      }
      p = pool.isEmpty() ? new Pending() : pool.pop();
      p.start(step.step(), nowNanos, core.seriesCount());
      pending.put(step.step(), p);
    }
    p.add(rank, step, mapping, rewind);
    if (p.ranks.cardinality() >= world) {
      pending.remove(step.step());
      emit(p, nowNanos);
    }
  }

  /** Flushes, as partial, every step that has waited longer than the grace period. */
  public void tick(long nowNanos) {
    while (!pending.isEmpty()) {
      Map.Entry<Long, Pending> first = pending.firstEntry();
      if (nowNanos - first.getValue().firstArrivalNanos < graceNanos) {
        // Steps arrive roughly in order; an older step still waiting keeps later ones waiting too.
        break;
      }
      pending.pollFirstEntry();
      emit(first.getValue(), nowNanos);
    }
  }

  /** Flushes every waiting step (shape change, shutdown). */
  public void flushAll(long nowNanos) {
    while (!pending.isEmpty()) {
      emit(pending.pollFirstEntry().getValue(), nowNanos);
    }
  }

  public int pendingSteps() {
    return pending.size();
  }

  private void emit(Pending p, long nowNanos) {
    refreshPolicies();
    out.reset(p.step, p.maxTimeNanos).rewind(p.rewind).partial(p.ranks.cardinality() < world);
    for (int i = 0; i < p.width; i++) {
      if (p.count[i] == 0) {
        continue;
      }
      double v;
      switch (policies[i]) {
        case MEAN: v = p.sum[i] / p.count[i]; break;
        case SUM: v = p.sum[i]; break;
        case SUM_IF_SHARDED: v = mode == Mode.SHARDED ? p.sum[i] : p.rank0[i]; break;
        case RANK0: v = p.rank0[i]; break;
        default: throw new AssertionError(policies[i]);
      }
      if (policies[i] == SeriesPolicy.RANK0 || (policies[i] == SeriesPolicy.SUM_IF_SHARDED && mode != Mode.SHARDED)) {
        if (!p.hasRank0[i]) {
          continue; // rank 0 never sent it: nothing trustworthy to report for this step
        }
      }
      out.put(i, v);
    }
    core.onRecord(out, nowNanos);
    pool.push(p);
  }

  private void refreshPolicies() {
    int n = core.seriesCount();
    if (policies.length < n) {
      int old = policies.length;
      policies = Arrays.copyOf(policies, n);
      for (int i = old; i < n; i++) {
        policies[i] = SeriesPolicy.of(core.seriesName(i));
      }
    }
  }

  /** One step waiting for its ranks. Reused through the pool. */
  private static final class Pending {
    long step;
    long firstArrivalNanos;
    long maxTimeNanos;
    boolean rewind;
    int width;
    double[] sum = new double[0];
    double[] rank0 = new double[0];
    int[] count = new int[0];
    boolean[] hasRank0 = new boolean[0];
    final BitSet ranks = new BitSet();

    void start(long step, long nowNanos, int seriesCount) {
      this.step = step;
      this.firstArrivalNanos = nowNanos;
      this.maxTimeNanos = Long.MIN_VALUE;
      this.rewind = false;
      this.ranks.clear();
      this.width = seriesCount;
      if (sum.length < seriesCount) {
        sum = new double[seriesCount];
        rank0 = new double[seriesCount];
        count = new int[seriesCount];
        hasRank0 = new boolean[seriesCount];
      } else {
        Arrays.fill(sum, 0, seriesCount, 0);
        Arrays.fill(count, 0, seriesCount, 0);
        Arrays.fill(hasRank0, 0, seriesCount, false);
      }
    }

    void add(int rank, Step s, int[] mapping, boolean rewindFlag) {
      if (ranks.get(rank)) {
        return; // the same rank twice for one step (a rewound session replaying it): first wins
      }
      ranks.set(rank);
      rewind |= rewindFlag;
      maxTimeNanos = Math.max(maxTimeNanos, s.timeNanos());
      for (int k = 0; k < s.count(); k++) {
        int i = mapping[s.seriesId(k)];
        if (i >= width) {
          grow(i + 1);
        }
        double v = s.value(k);
        sum[i] += v;
        count[i]++;
        if (rank == 0) {
          rank0[i] = v;
          hasRank0[i] = true;
        }
      }
    }

    private void grow(int n) {
      if (n > sum.length) {
        sum = Arrays.copyOf(sum, n);
        rank0 = Arrays.copyOf(rank0, n);
        count = Arrays.copyOf(count, n);
        hasRank0 = Arrays.copyOf(hasRank0, n);
      }
      Arrays.fill(sum, width, n, 0);
      Arrays.fill(count, width, n, 0);
      Arrays.fill(hasRank0, width, n, false);
      width = n;
    }
  }
}
