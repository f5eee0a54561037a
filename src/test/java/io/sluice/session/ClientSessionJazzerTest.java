package io.sluice.session;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.sluice.testing.ClientView;
import io.sluice.testing.EmbeddedSluice;
import io.sluice.testing.Seeds;
import java.util.ArrayList;
import java.util.List;

/**
 * Coverage-guided fuzzing (Jazzer) of a client's side of Sluice: a start-up packet and then any
 * bytes, cut anywhere, in transaction mode against a scripted PostgreSQL. Nothing escapes a
 * handler, what the client reads is whole messages, no buffer is held once the channels are
 * closed, and the next client is served.
 */
class ClientSessionJazzerTest {
    private static final byte[] SELECT = Seeds.msg('Q', Seeds.cstr("SELECT 1"));
    private static final String[] MODES = {"session", "transaction", "statement"};

    @FuzzTest(maxDuration = "15s")
    void aLoggedInClientSendingAnything(FuzzedDataProvider data) {
        String mode = MODES[data.consumeInt(0, MODES.length - 1)];
        boolean loggedIn = data.consumeBoolean();
        List<byte[]> reads = new ArrayList<>();
        if (loggedIn) {
            reads.add(Seeds.STARTUP);
        }
        while (data.remainingBytes() > 0) {
            reads.add(data.consumeBytes(1 + data.consumeInt(0, 200)));
        }
        EmbeddedSluice sluice = new EmbeddedSluice(EmbeddedSluice.config("auth_type = trust", "pool_mode = " + mode),
                EmbeddedSluice.postgres());
        try {
            EmbeddedSluice.Client client = sluice.connect().send(reads);
            client.view().assertWellFormed();
            client.close();
            EmbeddedSluice.Client next = sluice.connect().send(List.of(Seeds.STARTUP, SELECT));
            ClientView view = next.view();
            assertThat(view.summary()).as("the next client").endsWith("C:SELECT 1|", "Z:I");
        } finally {
            sluice.close();
        }
        assertThat(sluice.escaped).as("what escaped Sluice's handlers").isEmpty();
        assertThat(sluice.alloc.live()).as("bytes held once every channel is closed").isZero();
    }
}
