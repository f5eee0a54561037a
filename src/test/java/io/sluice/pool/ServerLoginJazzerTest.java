package io.sluice.pool;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.sluice.testing.EmbeddedSluice;
import io.sluice.testing.Seeds;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Coverage-guided fuzzing (Jazzer) of what a server says at login: its first connection answers
 * the start-up packet with any bytes, cut anywhere, and then closes or not. The waiting client
 * gets whole messages (a welcome or a FATAL), nothing escapes a handler, and no buffer is held
 * once the channels are closed.
 */
class ServerLoginJazzerTest {
    @FuzzTest(maxDuration = "15s")
    void aServerAnsweringTheLoginWithAnything(FuzzedDataProvider data) {
        boolean close = data.consumeBoolean();
        List<byte[]> reads = new ArrayList<>();
        while (data.remainingBytes() > 0) {
            reads.add(data.consumeBytes(1 + data.consumeInt(0, 200)));
        }
        EmbeddedSluice.Backend normal = EmbeddedSluice.postgres();
        EmbeddedSluice.Backend hostile = new EmbeddedSluice.Backend() {
            @Override
            public EmbeddedSluice.Reply login(int connection, Map<String, String> startup) {
                return connection == 0 ? new EmbeddedSluice.Reply(reads, close) : normal.login(connection, startup);
            }

            @Override
            public EmbeddedSluice.Reply message(int connection, byte type, byte[] body) {
                return connection == 0 ? EmbeddedSluice.Reply.NONE : normal.message(connection, type, body);
            }
        };
        EmbeddedSluice sluice = new EmbeddedSluice(EmbeddedSluice.config("auth_type = trust",
                "pool_mode = transaction"), hostile);
        try {
            EmbeddedSluice.Client client = sluice.connect().send(List.of(Seeds.STARTUP));
            client.view().assertWellFormed();
            client.close();
        } finally {
            sluice.close();
        }
        assertThat(sluice.escaped).as("what escaped Sluice's handlers").isEmpty();
        assertThat(sluice.alloc.live()).as("bytes held once every channel is closed").isZero();
    }
}
