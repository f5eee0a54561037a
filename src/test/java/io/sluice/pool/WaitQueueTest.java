package io.sluice.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.channel.Channel;
import io.sluice.protocol.PgReader.ErrorFields;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class WaitQueueTest {
    /** Only what the queue touches: the client's slot for its node, and its name. */
    private static final class Client implements PoolClient {
        final int n;
        Waiter waiter;

        Client(int n) {
            this.n = n;
        }

        @Override public Waiter waiter() { return waiter; }
        @Override public void waiter(Waiter w) { waiter = w; }
        @Override public String logId() { return "C-" + n; }
        @Override public Channel channel() { throw new UnsupportedOperationException(); }
        @Override public boolean bypassPipeline() { throw new UnsupportedOperationException(); }
        @Override public void serverAssigned(ServerConnection server) { throw new UnsupportedOperationException(); }
        @Override public void serverUnavailable(String sqlState, String message) { throw new UnsupportedOperationException(); }
        @Override public boolean withholdsReady() { throw new UnsupportedOperationException(); }
        @Override public void serverReady(byte status) { throw new UnsupportedOperationException(); }
        @Override public void serverParameter(String name, String value) { throw new UnsupportedOperationException(); }
        @Override public void internalQueryDone(ErrorFields error) { throw new UnsupportedOperationException(); }
        @Override public void notParsed(java.util.List<String> names) { throw new UnsupportedOperationException(); }
        @Override public void serverWritable() { throw new UnsupportedOperationException(); }
        @Override public void serverLost(String reason) { throw new UnsupportedOperationException(); }
    }

    @Test
    void servesInArrivalOrderAndForgetsClientsThatLeave() {
        WaitQueue q = new WaitQueue();
        Client[] c = new Client[5];
        for (int i = 0; i < c.length; i++) {
            c[i] = new Client(i);
            q.addLast(c[i], 100 + i);
        }
        assertThat(q.size()).isEqualTo(5);
        assertThat(q.peekFirst().sinceNanos()).isEqualTo(100);
        assertThat(q.remove(c[0])).isTrue();
        assertThat(q.remove(c[2])).isTrue();
        assertThat(q.remove(c[4])).isTrue();
        assertThat(q.remove(c[2])).isFalse();
        assertThat(c[2].waiter()).isNull();
        assertThat(q.size()).isEqualTo(2);
        assertThat(q.peekFirst().client()).isSameAs(c[1]);
        assertThat(q.pollLast().client()).isSameAs(c[3]);
        assertThat(q.pollFirst().client()).isSameAs(c[1]);
        assertThat(q.pollFirst()).isNull();
        assertThat(q.pollLast()).isNull();
        assertThat(q.isEmpty()).isTrue();
        assertThat(c[1].waiter()).isNull();
        // Served clients may wait again.
        q.addLast(c[1], 200);
        assertThat(q.peekFirst().client()).isSameAs(c[1]);
    }

    @Test
    void aClientWaitsInOneQueueOnly() {
        WaitQueue a = new WaitQueue();
        WaitQueue b = new WaitQueue();
        Client c = new Client(1);
        a.addLast(c, 1);
        assertThatThrownBy(() -> b.addLast(c, 2)).isInstanceOf(IllegalStateException.class);
        assertThat(b.remove(c)).isFalse();
        assertThat(a.remove(c)).isTrue();
    }

    @Test
    void matchesAListUnderRandomUse() {
        Random r = new Random(42);
        WaitQueue q = new WaitQueue();
        List<Client> model = new ArrayList<>();
        List<Client> all = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            all.add(new Client(i));
        }
        for (int step = 0; step < 20_000; step++) {
            Client c = all.get(r.nextInt(all.size()));
            switch (r.nextInt(4)) {
                case 0 -> {
                    if (c.waiter() == null) {
                        q.addLast(c, step);
                        model.add(c);
                    }
                }
                case 1 -> assertThat(q.remove(c)).isEqualTo(model.remove(c));
                case 2 -> {
                    Waiter w = q.pollFirst();
                    assertThat(w == null ? null : w.client()).isSameAs(model.isEmpty() ? null : model.remove(0));
                }
                default -> {
                    Waiter w = q.pollLast();
                    assertThat(w == null ? null : w.client())
                            .isSameAs(model.isEmpty() ? null : model.remove(model.size() - 1));
                }
            }
            assertThat(q.size()).isEqualTo(model.size());
            assertThat(q.peekFirst() == null ? null : q.peekFirst().client())
                    .isSameAs(model.isEmpty() ? null : model.get(0));
        }
    }
}
