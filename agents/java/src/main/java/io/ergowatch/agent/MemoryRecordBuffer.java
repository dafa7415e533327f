package io.ergowatch.agent;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The in-memory {@link RecordBuffer}: a bounded ring of records in flat primitive arrays,
 * lock-free for any number of producers, read by one consumer, overwriting the oldest record
 * when full.
 *
 * <p>Design (a lossy multi-producer, single-consumer ring with a seqlock per slot):
 * <ul>
 *   <li>A producer claims position {@code p} with one {@code getAndIncrement} on {@code head};
 *       {@code p} lives in slot {@code p % capacity}. It marks the slot "writing p" with a CAS on
 *       the slot's version, copies step, time, values and a presence bitmask into the slot's
 *       part of the flat arrays, then publishes "published p" with a release store. No lock,
 *       no wait, no allocation.
 *   <li>Claiming slot {@code p % capacity} overwrites position {@code p - capacity}: when the
 *       consumer has not taken it yet, that is exactly "drop the oldest unsent record". The
 *       consumer finds the newer version in the slot and counts the older position as dropped.
 *   <li>The consumer reads a slot's version, copies the record, and reads the version again
 *       (seqlock); a record overwritten while being copied is counted as dropped, never handed
 *       out torn.
 *   <li>Two producers in the same slot (only when a producer stalls for {@code capacity}
 *       claims mid-copy): the later one gives up on its record and leaves a marker, so the
 *       consumer counts it as dropped instead of waiting for it. A claimed position that stays
 *       unwritten for {@value #STALL_NANOS} ns (a producer thread that died mid-call) is
 *       skipped and counted too, so the consumer can never be stuck.
 * </ul>
 *
 * <p>Values are stored densely by series id with a presence bitmask, so a record of every
 * series is two array copies. Memory: about {@code capacity × (8 × series + 40)} bytes.
 *
 * <p>Must never block or allocate in {@code put}, and must never hand out a record twice or a
 * mix of two records.
 */
final class MemoryRecordBuffer implements RecordBuffer {
  /** A claimed position left unwritten this long is given up by the consumer. */
  static final long STALL_NANOS = 2_000_000_000L;

  private static final VarHandle LONGS = MethodHandles.arrayElementVarHandle(long[].class);

  private final int capacity;
  private final int series;
  private final int maskWords;
  private final long[] fullMask;

  /** Per slot: 0 never used, 2p+1 while position p is written, 2p+2 once p is published. */
  private final long[] versions;
  /** Per slot: p+1 when the producer of position p gave up on this slot, else older or 0. */
  private final long[] abandoned;
  private final long[] steps;
  private final long[] times;
  private final double[] values;
  private final long[] masks;

  private final AtomicLong head = new AtomicLong();
  /** Consumer only writes: every position below was taken or dropped. */
  private volatile long tail;
  /** Consumer only writes: positions it found lost. Written after {@code tail}. */
  private volatile long dropped;

  private long stalledPosition = -1;
  private long stalledSince;

  /** Memory one record slot takes, for sizing: versions, step, time, values and mask. */
  static long bytesPerRecord(int series) {
    return 32L + 8L * series + 8L * ((series + 63) >>> 6);
  }

  /**
   * @param capacity records held at most, ≥ 1
   * @param series values per record (the user series), ≥ 1
   */
  MemoryRecordBuffer(int capacity, int series) {
    if (capacity < 1 || series < 1) {
      throw new IllegalArgumentException("capacity and series must be >= 1, got " + capacity + ", " + series);
    }
    this.capacity = capacity;
    this.series = series;
    this.maskWords = (series + 63) >>> 6;
    this.fullMask = new long[maskWords];
    for (int id = 0; id < series; id++) {
      fullMask[id >>> 6] |= 1L << id;
    }
    versions = new long[capacity];
    abandoned = new long[capacity];
    steps = new long[capacity];
    times = new long[capacity];
    values = new double[Math.multiplyExact(capacity, series)];
    masks = new long[Math.multiplyExact(capacity, maskWords)];
  }

  @Override
  public void put(long step, long timeNanos, double[] vals) {
    long p = head.getAndIncrement();
    int s = slot(p);
    if (!claim(p, s)) {
      return;
    }
    steps[s] = step;
    times[s] = timeNanos;
    System.arraycopy(vals, 0, values, s * series, series);
    System.arraycopy(fullMask, 0, masks, s * maskWords, maskWords);
    LONGS.setRelease(versions, s, published(p));
  }

  @Override
  public void put(long step, long timeNanos, int[] ids, double[] vals, int count) {
    long p = head.getAndIncrement();
    int s = slot(p);
    if (!claim(p, s)) {
      return;
    }
    steps[s] = step;
    times[s] = timeNanos;
    int maskBase = s * maskWords;
    int valueBase = s * series;
    Arrays.fill(masks, maskBase, maskBase + maskWords, 0L);
    for (int i = 0; i < count; i++) {
      int id = ids[i];
      values[valueBase + id] = vals[i];
      masks[maskBase + (id >>> 6)] |= 1L << id;
    }
    LONGS.setRelease(versions, s, published(p));
  }

  /** Marks slot s "writing p"; false when the record of p is lost instead. */
  private boolean claim(long p, int s) {
    long writing = writing(p);
    for (;;) {
      long v = (long) LONGS.getVolatile(versions, s);
      if (v >= writing) {
        // A position at least one lap newer already owns the slot: p is lost; the consumer
        // sees the newer version and counts it.
        return false;
      }
      if ((v & 1L) != 0) {
        // An older producer is still copying into this slot. Never wait for it: give up on p
        // and tell the consumer so.
        LONGS.setRelease(abandoned, s, p + 1);
        return false;
      }
      if (LONGS.compareAndSet(versions, s, v, writing)) {
        VarHandle.storeStoreFence();
        return true;
      }
    }
  }

  @Override
  public boolean take(PendingRecord out) {
    long t = tail;
    for (;;) {
      long h = head.get();
      if (t >= h) {
        return false;
      }
      if (h - t > capacity) {
        // Whole laps were overwritten while nobody read: skip them in one go.
        long lost = h - capacity - t;
        t = h - capacity;
        advance(t, lost);
        continue;
      }
      int s = slot(t);
      long v = (long) LONGS.getAcquire(versions, s);
      long published = published(t);
      if (v == published) {
        copyOut(s, out);
        VarHandle.loadLoadFence();
        long again = (long) LONGS.getAcquire(versions, s);
        out.position = t;
        t++;
        if (again == v) {
          tail = t;
          stalledPosition = -1;
          return true;
        }
        advance(t, 1); // overwritten while we copied: the record is gone
        continue;
      }
      if (v > published) {
        t++;
        advance(t, 1); // overwritten by a newer lap before we got to it
        continue;
      }
      if (v != writing(t) && (long) LONGS.getAcquire(abandoned, s) == t + 1) {
        t++;
        advance(t, 1); // its producer gave up
        continue;
      }
      // Claimed but not yet published: wait for it, unless it has been so long that its
      // producer must be gone.
      long now = System.nanoTime();
      if (stalledPosition != t) {
        stalledPosition = t;
        stalledSince = now;
        return false;
      }
      if (now - stalledSince < STALL_NANOS) {
        return false;
      }
      stalledPosition = -1;
      t++;
      advance(t, 1);
    }
  }

  private void copyOut(int s, PendingRecord out) {
    out.step = steps[s];
    out.timeNanos = times[s];
    int valueBase = s * series;
    int maskBase = s * maskWords;
    int n = 0;
    for (int w = 0; w < maskWords; w++) {
      long bits = masks[maskBase + w];
      while (bits != 0) {
        int id = (w << 6) + Long.numberOfTrailingZeros(bits);
        bits &= bits - 1;
        if (id < series) { // a torn mask could hold anything; the seqlock check rejects it
          out.ids[n] = id;
          out.values[n] = values[valueBase + id];
          n++;
        }
      }
    }
    out.count = n;
  }

  /** tail first, then dropped: a concurrent droppedCount() may undercount, never overcount. */
  private void advance(long newTail, long lost) {
    tail = newTail;
    dropped = dropped + lost;
  }

  @Override
  public long discardAll() {
    long h = head.get();
    long t = tail;
    if (h <= t) {
      return 0;
    }
    stalledPosition = -1;
    advance(h, h - t);
    return h - t;
  }

  @Override
  public long consumedPosition() {
    return tail;
  }

  @Override
  public long recordedCount() {
    return head.get();
  }

  @Override
  public long droppedCount() {
    long d = dropped;
    long t = tail;
    long h = head.get();
    // Positions more than a lap behind head are certainly overwritten, even before the
    // consumer gets to them (it does not read while the monitor is away).
    return d + Math.max(0, h - capacity - t);
  }

  @Override
  public long pendingCount() {
    long n = head.get() - tail;
    return n <= 0 ? 0 : Math.min(n, capacity);
  }

  @Override
  public boolean hasPending() {
    return head.get() > tail;
  }

  @Override
  public int capacity() {
    return capacity;
  }

  private int slot(long position) {
    return (int) (position % capacity);
  }

  private static long writing(long position) {
    return 2 * position + 1;
  }

  private static long published(long position) {
    return 2 * position + 2;
  }
}
