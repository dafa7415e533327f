"""The codec against the shared golden byte vectors (agents/protocol/golden, hand-derived
from the spec by another engineer) and the repository's decisions (docs/protocol.md)."""

import math
import struct
import unittest

import support
from support import p


class GoldenVectorTest(unittest.TestCase):
    """Every ok vector decodes and re-encodes byte for byte, through the whole-frame path and
    the streaming reader fed one byte at a time; every malformed vector is rejected by both
    with exactly the ERROR code its header names."""

    @classmethod
    def setUpClass(cls):
        cls.vectors = support.golden_vectors()

    def test_the_shared_vectors_are_all_there(self):
        names = {v.name for v in self.vectors}
        self.assertGreaterEqual(len(names), 50)
        self.assertIn("hello-full", names)
        self.assertIn("over-max-frame", names)

    def test_ok_vectors_round_trip_byte_for_byte(self):
        for v in (v for v in self.vectors if v.ok):
            with self.subTest(v.name):
                self.assertEqual(v.length_prefix, len(v.data) - 4)
                frame = p.decode_frame(v.data, v.max_frame)
                self.assertEqual(frame.type.name, v.frame)
                self.assertEqual(p.encode(frame).hex(" "), v.data.hex(" "))
                reader = p.FrameReader(v.max_frame)
                got = []
                for i in range(len(v.data)):
                    reader.feed(v.data[i:i + 1])
                    got.extend(reader)
                self.assertEqual(len(got), 1)
                self.assertEqual(p.encode(got[0]), v.data)
                self.assertEqual(reader.buffered(), 0)

    def test_malformed_vectors_are_rejected_with_the_named_error(self):
        for v in (v for v in self.vectors if not v.ok):
            with self.subTest(v.name):
                with self.assertRaises(p.ProtocolError) as whole:
                    p.decode_frame(v.data, v.max_frame)
                self.assertEqual(whole.exception.code.name, v.error, whole.exception.message)
                # The exact message the Java decoder gives too (the vector's header pins it).
                self.assertIsNotNone(v.message, f"{v.name}: no '# message:' header line")
                self.assertEqual(whole.exception.message, v.message)
                reader = p.FrameReader(v.max_frame)
                if v.length_prefix > v.max_frame:
                    # Answered from the 4 length bytes alone, before any body arrives.
                    reader.feed(v.data[:4])
                    with self.assertRaises(p.ProtocolError) as streamed:
                        reader.next_frame()
                else:
                    self.assertEqual(v.length_prefix, len(v.data) - 4)
                    with self.assertRaises(p.ProtocolError) as streamed:
                        for i in range(len(v.data)):
                            reader.feed(v.data[i:i + 1])
                            reader.next_frame()
                self.assertEqual(streamed.exception.code, whole.exception.code)
                self.assertEqual(streamed.exception.message, whole.exception.message)

    def test_type_byte_matches_the_header(self):
        for v in self.vectors:
            if v.frame != "none":
                with self.subTest(v.name):
                    self.assertEqual(v.data[4], p.FrameType[v.frame])

    def test_step_nonfinite_values_decode_as_sent(self):
        v = next(v for v in self.vectors if v.name == "step-nonfinite")
        s = p.decode_frame(v.data)
        d = s.as_dict()
        self.assertTrue(math.isnan(d[3]))
        self.assertEqual(d[0], math.inf)
        self.assertEqual(d[1], -math.inf)
        self.assertEqual(math.copysign(1.0, d[2]), -1.0)


class CodecTest(unittest.TestCase):
    def test_nan_payload_bits_survive_a_round_trip(self):
        for bits in (0x7FF0000000000001, 0x7FF8DEADBEEF0001, 0xFFF8000000000000, 0x7FF4000000000000):
            with self.subTest(hex(bits)):
                entries = struct.pack(">HQ", 0, bits)
                frame = p.encode_step(1, 0, 0, 1, entries)
                again = p.encode(p.decode_frame(frame))
                self.assertEqual(again.hex(), frame.hex())

    def test_errors_carry_the_code_name_and_are_value_errors(self):
        e = p.ProtocolError(p.ErrorCode.INVALID_NAME, 'run "a/b" must be 1..128 chars of [A-Za-z0-9._:-]')
        self.assertIsInstance(e, ValueError)
        self.assertEqual(e.code.name, "INVALID_NAME")
        self.assertEqual(str(e), 'INVALID_NAME: run "a/b" must be 1..128 chars of [A-Za-z0-9._:-]')

    def test_hello_validation_names_the_code_and_the_value(self):
        cases = [
            (dict(run="a/b"), "INVALID_NAME", 'run "a/b" must be 1..128 chars of [A-Za-z0-9._:-]'),
            (dict(series=("loss", "loss")), "INVALID_NAME", 'duplicate series name "loss"'),
            (dict(series=("Loss",)), "INVALID_NAME", 'series name "Loss" must be 1..64 chars of [a-z0-9_.]'),
            (dict(world=0), "BAD_FRAME", "world must be >= 1, got 0"),
            (dict(rank=2, world=2), "BAD_FRAME", "rank 2 must be < world 2"),
            (dict(token="x" * 257), "LIMIT_EXCEEDED", "token is 257 bytes, at most 256 allowed"),
            (dict(labels=(("Key", "v"),)), "INVALID_NAME", 'label key "Key" must match [a-z_][a-z0-9_]{0,63}'),
        ]
        base = dict(run="r", job="", token="", session=1, rank=0, world=1, mode=p.Mode.REPLICATED,
                    series=("loss",), labels=())
        for change, code, message in cases:
            with self.subTest(change):
                with self.assertRaises(p.ProtocolError) as cm:
                    p.Hello(**{**base, **change})
                self.assertEqual(cm.exception.code.name, code)
                self.assertEqual(cm.exception.message, message)

    def test_step_rejects_seq_zero_and_repeated_ids(self):
        with self.assertRaises(p.ProtocolError) as cm:
            p.Step(0, 1, 0, (0,), (1.0,))
        self.assertEqual(cm.exception.message, "seq must be >= 1, got 0")
        with self.assertRaises(p.ProtocolError) as cm:
            p.Step(1, 1, 0, (3, 3), (1.0, 2.0))
        self.assertEqual(cm.exception.message, "series id 3 appears twice in one STEP")
        with self.assertRaises(p.ProtocolError) as cm:
            p.Step(1, 1 << 63, 0)
        self.assertEqual(cm.exception.code, p.ErrorCode.BAD_FRAME)

    def test_u64_fields_above_2_63_are_bad_frames_on_the_wire(self):
        frame = bytearray(p.encode(p.Ack(5)))
        frame[5] = 0x80
        with self.assertRaises(p.ProtocolError) as cm:
            p.decode_frame(bytes(frame))
        self.assertEqual(cm.exception.code, p.ErrorCode.BAD_FRAME)

    def test_length_checks(self):
        self.assertEqual(p.check_length(p.DEFAULT_MAX_FRAME), p.DEFAULT_MAX_FRAME)
        with self.assertRaises(p.ProtocolError) as cm:
            p.check_length(2_000_000)
        self.assertEqual(cm.exception.message, "frame length 2000000 exceeds max_frame 1048576")
        with self.assertRaises(p.ProtocolError) as cm:
            p.check_length(1 << 31, 1 << 32)
        self.assertEqual(cm.exception.code, p.ErrorCode.LIMIT_EXCEEDED)

    def test_reader_takes_good_frames_after_fragments_and_keeps_the_rest(self):
        frames = [p.Hello("run-1", "", "", 7, 0, 1, p.Mode.REPLICATED, ("loss",)), p.Step(1, 0, 5, (0,), (0.5,)),
                  p.Heartbeat(), p.Bye(p.ByeStatus.FAILED, "boom"), p.ErrorFrame(p.ErrorCode.OVERLOADED, "busy"),
                  p.Welcome(3, 1024)]
        data = b"".join(p.encode(f) for f in frames)
        for chunk in (1, 2, 3, 7, 64, len(data)):
            with self.subTest(chunk=chunk):
                r = p.FrameReader()
                got = []
                for i in range(0, len(data), chunk):
                    r.feed(data[i:i + chunk])
                    got.extend(r)
                self.assertEqual([p.encode(f) for f in got], [p.encode(f) for f in frames])

    def test_step_helpers_agree_with_the_frame_encoder(self):
        s = p.Step(9, 100, -5, (2, 0, 1), (1.5, -0.0, math.inf))
        self.assertEqual(p.encode_step(9, 100, -5, 3, p.encode_entries(s.ids, s.values)), p.encode(s))
        self.assertEqual(len(p.encode(s)), p.step_frame_bytes(3))

    def test_hello_repr_hides_the_token(self):
        h = p.Hello("r", "", "s3cret", 1, 0, 1, p.Mode.SHARDED, ("loss",))
        self.assertNotIn("s3cret", repr(h))


if __name__ == "__main__":
    unittest.main()
