package io.sluice.metrics;

import java.util.concurrent.atomic.LongAdder;

/**
 * One pool's totals. LongAdder: every event loop adds, and a single shared counter would
 * bounce its cache line between cores on every message.
 */
public final class PoolCounters implements PoolMetrics {
    private final LongAdder clientParses = new LongAdder();
    private final LongAdder serverParses = new LongAdder();
    private final LongAdder binds = new LongAdder();

    @Override
    public void clientParse() {
        clientParses.increment();
    }

    @Override
    public void serverParse() {
        serverParses.increment();
    }

    @Override
    public void bind() {
        binds.increment();
    }

    public long clientParses() {
        return clientParses.sum();
    }

    public long serverParses() {
        return serverParses.sum();
    }

    public long binds() {
        return binds.sum();
    }
}
