package io.ergowatch.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ergowatch.protocol.Codec;
import io.ergowatch.protocol.FrameDecoder;
import io.ergowatch.protocol.Step;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class InFlightWindowTest {

  private static PendingRecord record(long position, long step, double value) {
    PendingRecord r = new PendingRecord(2);
    r.position = position;
    r.step = step;
    r.timeNanos = 1_000 + step;
    r.count = 1;
    r.ids[0] = 0;
    r.values[0] = value;
    return r;
  }

  private static Step frame(InFlightWindow w, long seq) {
    ByteBuffer out = ByteBuffer.allocate(w.maxFrameBytes());
    w.copyFrame(seq, out);
    out.flip();
    return (Step) new FrameDecoder().decodeWithLength(out, Codec.DEFAULT_MAX_FRAME);
  }

  @Test
  void numbersRecordsContiguouslyFromOneAndEncodesThem() {
    InFlightWindow w = new InFlightWindow(4, 2);
    assertThat(w.append(record(7, 100, 1.5))).isEqualTo(1);
    assertThat(w.append(record(9, 101, Double.NaN))).isEqualTo(2);
    assertThat(frame(w, 1)).isEqualTo(Step.of(1, 100, 1_100, new int[] {0}, new double[] {1.5}));
    assertThat(frame(w, 2).seq()).isEqualTo(2);
    assertThat(w.positionOf(2)).isEqualTo(9);
    assertThat(w.size()).isEqualTo(2);
  }

  @Test
  void releasesOnlyUpToTheLastSeqAndNeverDropsWhenFull() {
    InFlightWindow w = new InFlightWindow(2, 2);
    w.append(record(0, 0, 0));
    w.append(record(1, 1, 1));
    assertThat(w.isFull()).isTrue();
    assertThatThrownBy(() -> w.append(record(2, 2, 2))).isInstanceOf(IllegalStateException.class);
    assertThat(w.release(1)).isEqualTo(1);
    assertThat(w.release(1)).isZero();
    assertThat(w.release(99)).isEqualTo(1);
    assertThat(w.isEmpty()).isTrue();
    assertThat(w.acked()).isEqualTo(2);
    assertThat(w.append(record(2, 2, 2))).isEqualTo(3);
  }

  @Test
  void slotsWrapAroundWithoutMixingFrames() {
    InFlightWindow w = new InFlightWindow(3, 2);
    for (int i = 0; i < 10; i++) {
      w.append(record(i, i, i * 0.5));
      assertThat(frame(w, i + 1).step()).isEqualTo(i);
      w.release(i);
    }
    assertThat(frame(w, 10).value(0)).isEqualTo(4.5);
  }

  @Test
  void newSessionRenumbersTheUnacknowledgedRecordsFromOne() {
    InFlightWindow w = new InFlightWindow(4, 2);
    for (int i = 0; i < 6; i++) {
      w.append(record(i, 100 + i, i));
      if (i < 3) {
        w.release(i + 1);
      }
    }
    // acked 3; in flight: seqs 4, 5, 6 = steps 103, 104, 105
    w.renumberFromOne();
    assertThat(w.acked()).isZero();
    assertThat(w.last()).isEqualTo(3);
    assertThat(frame(w, 1)).satisfies(s -> {
      assertThat(s.seq()).isEqualTo(1);
      assertThat(s.step()).isEqualTo(103);
    });
    assertThat(frame(w, 3).step()).isEqualTo(105);
    assertThat(w.positionOf(3)).isEqualTo(5);
    assertThat(w.append(record(6, 106, 6))).isEqualTo(4);
    assertThat(frame(w, 4).step()).isEqualTo(106);
  }

  @Test
  void skipToContinuesNumberingAfterTheMonitorsSeq() {
    InFlightWindow w = new InFlightWindow(4, 2);
    w.append(record(0, 0, 0));
    assertThat(w.skipTo(50)).isEqualTo(1);
    assertThat(w.isEmpty()).isTrue();
    assertThat(w.append(record(1, 1, 1))).isEqualTo(51);
    assertThat(frame(w, 51).seq()).isEqualTo(51);
  }

  @Test
  void readRecordDecodesAFrameBackWithoutAgentDroppedAndAfterARenumbering() {
    InFlightWindow w = new InFlightWindow(4, 3);
    PendingRecord r = new PendingRecord(3);
    r.position = 42;
    r.step = 7;
    r.timeNanos = 123;
    r.count = 3;
    r.ids[0] = 0;
    r.values[0] = Double.longBitsToDouble(0x7ff8_0000_0000_0123L);
    r.ids[1] = 1;
    r.values[1] = -0.0;
    r.ids[2] = 2; // agent_dropped, filled at send time
    r.values[2] = 5;
    w.append(record(1, 1, 1));
    w.append(r);
    w.release(1);
    w.renumberFromOne();

    PendingRecord out = new PendingRecord(3);
    w.readRecord(1, out, 2);
    assertThat(out.position).isEqualTo(42);
    assertThat(out.step).isEqualTo(7);
    assertThat(out.timeNanos).isEqualTo(123);
    assertThat(out.count).isEqualTo(2);
    assertThat(out.ids).startsWith(0, 1);
    assertThat(Double.doubleToRawLongBits(out.values[0])).isEqualTo(0x7ff8_0000_0000_0123L);
    assertThat(Double.doubleToRawLongBits(out.values[1])).isEqualTo(Double.doubleToRawLongBits(-0.0));
  }
}
