package io.ergowatch.protocol;

/**
 * One EWP/1 frame. Every implementation is immutable and valid by construction: its
 * constructor enforces what docs/protocol.md says about a single frame, so an encoder can
 * never put an invalid frame on the wire.
 */
public sealed interface Frame
    permits Hello, Step, Heartbeat, Bye, Welcome, Ack, ErrorFrame {

  FrameType type();
}
