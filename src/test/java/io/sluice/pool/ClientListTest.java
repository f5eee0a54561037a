package io.sluice.pool;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The intrusive client list under the orders a pool shard uses it in. */
class ClientListTest {
    private static List<ClientNode> walk(ClientList l) {
        List<ClientNode> out = new ArrayList<>();
        l.forEach(out::add);
        return out;
    }

    @Test
    void keepsArrivalOrderAndForgetsClientsThatLeave() {
        ClientList q = new ClientList();
        ClientNode[] c = new ClientNode[5];
        for (int i = 0; i < c.length; i++) {
            c[i] = new ClientNode(null, 100 + i);
            q.addLast(c[i]);
        }
        assertThat(q.size()).isEqualTo(5);
        assertThat(q.peekFirst().sinceNanos()).isEqualTo(100);
        assertThat(q.remove(c[0])).isTrue();
        assertThat(q.remove(c[2])).isTrue();
        assertThat(q.remove(c[4])).isTrue();
        assertThat(q.remove(c[2])).isFalse();
        assertThat(walk(q)).containsExactly(c[1], c[3]);
        assertThat(q.peekFirst()).isSameAs(c[1]);
        assertThat(q.peekLast()).isSameAs(c[3]);
        q.remove(c[3]);
        q.remove(c[1]);
        assertThat(q.peekFirst()).isNull();
        assertThat(q.peekLast()).isNull();
        assertThat(q.isEmpty()).isTrue();
        // A client may come back to a list it left.
        q.addLast(c[1]);
        assertThat(q.peekFirst()).isSameAs(c[1]);
    }

    @Test
    void aClientIsInOneListOnly() {
        ClientList a = new ClientList();
        ClientList b = new ClientList();
        ClientNode c = new ClientNode(null, 1);
        a.addLast(c);
        assertThatThrownBy(() -> b.addLast(c)).isInstanceOf(IllegalStateException.class);
        assertThat(b.remove(c)).isFalse();
        assertThat(a.remove(c)).isTrue();
    }

    @Test
    void aWalkMayRemoveTheClientItIsGiven() {
        ClientList q = new ClientList();
        for (int i = 0; i < 4; i++) {
            q.addLast(new ClientNode(null, i));
        }
        q.forEach(n -> {
            if (n.sinceNanos() % 2 == 0) {
                q.remove(n);
            }
        });
        assertThat(walk(q)).extracting(ClientNode::sinceNanos).containsExactly(1L, 3L);
    }

    @Test
    void matchesAListUnderRandomUse() {
        Random r = new Random(42);
        ClientList q = new ClientList();
        List<ClientNode> model = new ArrayList<>();
        List<ClientNode> all = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            all.add(new ClientNode(null, i));
        }
        for (int step = 0; step < 20_000; step++) {
            ClientNode c = all.get(r.nextInt(all.size()));
            switch (r.nextInt(3)) {
                case 0 -> {
                    if (c.list == null) {
                        q.addLast(c);
                        model.add(c);
                    }
                }
                case 1 -> assertThat(q.remove(c)).isEqualTo(model.remove(c));
                default -> {
                    ClientNode first = q.peekFirst();
                    if (first != null) {
                        q.remove(first);
                    }
                    assertThat(first).isSameAs(model.isEmpty() ? null : model.remove(0));
                }
            }
            assertThat(q.size()).isEqualTo(model.size());
            assertThat(q.peekLast()).isSameAs(model.isEmpty() ? null : model.get(model.size() - 1));
        }
        assertThat(walk(q)).containsExactlyElementsOf(model);
    }
}
