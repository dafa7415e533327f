/**
 * The Java agent of ergowatch: streams a training run's records to the monitor over EWP/1
 * (docs/protocol.md) without ever blocking the training loop.
 *
 * <p>Public surface, deliberately small:
 * <ul>
 *   <li>{@link io.ergowatch.agent.ErgowatchAgent} — {@code builder()}, {@code record(...)},
 *       {@code seriesId(name)}, {@code flush(Duration)}, {@code close()}, the read-only counters
 *       ({@code ackedSeq}, {@code sentCount}, {@code ackedCount}, {@code recordedCount},
 *       {@code droppedCount}, {@code spooledCount}, {@code connected}, {@code session},
 *       {@code series}) and the {@code forceReconnect()} hook for tests and fault injection;
 *   <li>{@link io.ergowatch.agent.ErgowatchAgent.Builder} — the settings, validated as they are
 *       set, among them the optional spool on disk, {@code spool(Path dir, long maxBytes)}.
 * </ul>
 * Everything else is package-private: the record buffer ({@code RecordBuffer}, its in-memory
 * ring {@code MemoryRecordBuffer}), the in-flight window of sent-but-unacknowledged frames, the
 * network loop, the connection and the reconnect backoff, and the spool: {@code Spool} (the
 * segments, cursors, bound, acknowledgement and recovery of one run and rank's spool
 * directory), {@code SpoolEntry} (its on-disk format, framed like the monitor's record log),
 * {@code SpoolReader} (reads and checks entries) and {@code SpoolLock} (one live agent per
 * spool). The frames and the codec come from {@code io.ergowatch.protocol}; the agent does not
 * depend on the monitor.
 *
 * <p>Spool directory of a run and rank: {@code <dir>/<run>.rank-<rank>/} with segments {@code
 * 00000000000000000000.spool} (named by the index of their first record; entries {@code u32
 * length | u32 crc32c | body}, see {@code SpoolEntry}), {@code checkpoint} and {@code lock}.
 */
package io.ergowatch.agent;
