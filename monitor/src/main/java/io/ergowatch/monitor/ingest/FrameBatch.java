package io.ergowatch.monitor.ingest;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/**
 * Whole EWP/1 frames, length prefixes included, cut from one read of a connection: up to
 * {@link #MAX_FRAMES} of them in one buffer, so that the connection's Reactor chain and the hop
 * to the run's lane cost once per batch, not once per frame (agents write many frames at once).
 * Reference-counted: Reactor Netty releases it after the session has decoded it.
 */
final class FrameBatch extends DefaultByteBufHolder {
  /** Frames per batch at most: bounds what a connection can queue for its lane (prefetch). */
  static final int MAX_FRAMES = 64;

  private final int frames;

  FrameBatch(ByteBuf frames, int count) {
    super(frames);
    this.frames = count;
  }

  /** Frames in {@link #content()}. */
  int frames() {
    return frames;
  }
}
