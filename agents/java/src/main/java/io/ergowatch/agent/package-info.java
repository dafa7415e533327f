/**
 * The Java agent of ergowatch: streams a training run's records to the monitor over EWP/1
 * (docs/protocol.md) without ever blocking the training loop.
 *
 * <p>Public surface, deliberately small:
 * <ul>
 *   <li>{@link io.ergowatch.agent.ErgowatchAgent} — {@code builder()}, {@code record(...)},
 *       {@code seriesId(name)}, {@code flush(Duration)}, {@code close()}, the read-only counters
 *       ({@code ackedSeq}, {@code sentCount}, {@code ackedCount}, {@code recordedCount},
 *       {@code droppedCount}, {@code connected}, {@code session}, {@code series}) and the
 *       {@code forceReconnect()} hook for tests and fault injection;
 *   <li>{@link io.ergowatch.agent.ErgowatchAgent.Builder} — the settings, validated as they are
 *       set.
 * </ul>
 * Everything else is package-private: the record buffer ({@code RecordBuffer}, its in-memory
 * ring {@code MemoryRecordBuffer}), the in-flight window of sent-but-unacknowledged frames, the
 * network loop, the connection and the reconnect backoff. The frames and the codec come from
 * {@code io.ergowatch.protocol}.
 */
package io.ergowatch.agent;
