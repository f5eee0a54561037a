package io.sluice.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.ongres.scram.client.ScramClient;
import com.ongres.scram.common.ScramFunctions;
import com.ongres.scram.common.ScramMechanism;
import com.ongres.scram.common.ServerFirstMessage;
import com.ongres.scram.common.StringPreparation;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Server-side SCRAM-SHA-256 against a real SCRAM client, RFC 7677 vectors, mocks and bad input. */
class ScramServerExchangeTest {

    private static final SecureRandom RND = new SecureRandom();
    private static final byte[] SALT = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final Secret.Scram KEYS = ScramKeys.derive("secret", SALT, 4096);

    private static ScramClient client(String password) {
        return ScramClient.builder()
                .advertisedMechanisms(List.of("SCRAM-SHA-256"))
                .username("*")
                .password(password.toCharArray())
                .stringPreparation(StringPreparation.POSTGRESQL_PREPARATION)
                .build();
    }

    @Test
    void fullExchangeSucceedsAndClientVerifiesServerSignature() throws Exception {
        ScramClient client = client("secret");
        ScramServerExchange server = ScramServerExchange.start("alice", KEYS, RND);

        String serverFirst = server.clientFirst(client.clientFirstMessage().toString());
        client.serverFirstMessage(serverFirst);
        String serverFinal = server.clientFinal(client.clientFinalMessage().toString());
        // Throws ScramInvalidServerSignatureException if the signature is wrong.
        client.serverFinalMessage(serverFinal);

        assertThat(server.succeeded()).isTrue();
        byte[] salted = ScramFunctions.saltedPassword(ScramMechanism.SCRAM_SHA_256,
                StringPreparation.POSTGRESQL_PREPARATION, "secret".toCharArray(), SALT, 4096);
        assertThat(server.clientKey()).isEqualTo(ScramFunctions.clientKey(ScramMechanism.SCRAM_SHA_256, salted));
    }

    @Test
    void recoveredClientKeyLogsInElsewhereWithoutPassword() throws Exception {
        ScramClient first = client("secret");
        ScramServerExchange s1 = ScramServerExchange.start("alice", KEYS, RND);
        first.serverFirstMessage(s1.clientFirst(first.clientFirstMessage().toString()));
        s1.clientFinal(first.clientFinalMessage().toString());

        // Passthrough: the pooler, knowing only ClientKey and ServerKey, logs in to "PostgreSQL".
        ScramClient pooler = ScramClient.builder()
                .advertisedMechanisms(List.of("SCRAM-SHA-256"))
                .username("*")
                .clientAndServerKey(s1.clientKey(), KEYS.serverKey())
                .build();
        ScramServerExchange backend = ScramServerExchange.start("alice", KEYS, RND);
        pooler.serverFirstMessage(backend.clientFirst(pooler.clientFirstMessage().toString()));
        pooler.serverFinalMessage(backend.clientFinal(pooler.clientFinalMessage().toString()));
        assertThat(backend.succeeded()).isTrue();
    }

    @Test
    void wrongPasswordFails() throws Exception {
        ScramClient client = client("wrong");
        ScramServerExchange server = ScramServerExchange.start("alice", KEYS, RND);
        client.serverFirstMessage(server.clientFirst(client.clientFirstMessage().toString()));
        String clientFinal = client.clientFinalMessage().toString();

        assertThatThrownBy(() -> server.clientFinal(clientFinal))
                .isInstanceOf(ScramAuthException.class)
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain(clientFinal.substring(clientFinal.indexOf("p=") + 2)));
        assertThat(server.succeeded()).isFalse();
        assertThatThrownBy(server::clientKey).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void unknownUserRunsMockExchangeWithStableSaltAndFails() throws Exception {
        String salt1 = mockRound("nobody");
        String salt2 = mockRound("nobody");
        String other = mockRound("somebody-else");
        assertThat(salt1).isEqualTo(salt2);
        assertThat(other).isNotEqualTo(salt1);
        assertThat(Base64.getDecoder().decode(salt1)).hasSize(16);
    }

    private static String mockRound(String user) throws Exception {
        ScramClient client = client("secret");
        ScramServerExchange server = ScramServerExchange.start(user, null, RND);
        String serverFirst = server.clientFirst(client.clientFirstMessage().toString());
        ServerFirstMessage parsed = client.serverFirstMessage(serverFirst);
        assertThat(parsed.getIterationCount()).isEqualTo(4096);
        String clientFinal = client.clientFinalMessage().toString();
        assertThatThrownBy(() -> server.clientFinal(clientFinal)).isInstanceOf(ScramAuthException.class);
        return parsed.getSalt();
    }

    @Test
    void scramIterationsGoesIntoDerivedKeysAndTheMockAlike() throws Exception {
        // scram_iterations = 10000: a plaintext secret's keys are derived with it, and an unknown
        // user's mock exchange says the same count, so the two cannot be told apart by it.
        ScramKeyCache cache = new ScramKeyCache(RND);
        Secret.Scram derived = cache.keysFor("alice", Secret.parse("secret"), 10_000);
        assertThat(derived.iterations()).isEqualTo(10_000);
        assertThat(cache.keysFor("alice", Secret.parse("secret"), 10_000)).isSameAs(derived);
        // A RELOAD that changes scram_iterations derives anew.
        assertThat(cache.keysFor("alice", Secret.parse("secret"), 4096).iterations()).isEqualTo(4096);

        ScramClient client = client("secret");
        ScramServerExchange known = ScramServerExchange.start("alice", derived, 10_000, RND);
        ServerFirstMessage first = client.serverFirstMessage(known.clientFirst(client.clientFirstMessage().toString()));
        assertThat(first.getIterationCount()).isEqualTo(10_000);
        known.clientFinal(client.clientFinalMessage().toString());

        ScramClient stranger = client("secret");
        ScramServerExchange mock = ScramServerExchange.start("nobody", null, 10_000, RND);
        assertThat(stranger.serverFirstMessage(mock.clientFirst(stranger.clientFirstMessage().toString()))
                .getIterationCount()).isEqualTo(10_000);
    }

    @Test
    void libpqStyleEmptyUserNameAndYFlagAreAccepted() throws Exception {
        for (String gs2 : new String[] {"n,,", "y,,"}) {
            String bare = "n=,r=libpqNonce123";
            ScramServerExchange server = ScramServerExchange.start("alice", KEYS, RND);
            String serverFirst = server.clientFirst(gs2 + bare);
            ServerFirstMessage sf = ServerFirstMessage.parseFrom(serverFirst, "libpqNonce123");

            String withoutProof = "c=" + Base64.getEncoder().encodeToString(gs2.getBytes(StandardCharsets.US_ASCII))
                    + ",r=" + sf.getNonce();
            String authMessage = bare + "," + serverFirst + "," + withoutProof;
            byte[] salted = ScramFunctions.saltedPassword(ScramMechanism.SCRAM_SHA_256,
                    StringPreparation.POSTGRESQL_PREPARATION, "secret".toCharArray(), SALT, 4096);
            byte[] clientKey = ScramFunctions.clientKey(ScramMechanism.SCRAM_SHA_256, salted);
            byte[] storedKey = ScramFunctions.storedKey(ScramMechanism.SCRAM_SHA_256, clientKey);
            byte[] proof = ScramFunctions.clientProof(clientKey,
                    ScramFunctions.clientSignature(ScramMechanism.SCRAM_SHA_256, storedKey, authMessage));

            String serverFinal = server.clientFinal(withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof));
            byte[] expected = ScramFunctions.serverSignature(ScramMechanism.SCRAM_SHA_256,
                    ScramFunctions.serverKey(ScramMechanism.SCRAM_SHA_256, salted), authMessage);
            assertThat(serverFinal).isEqualTo("v=" + Base64.getEncoder().encodeToString(expected));
        }
    }

    /** RFC 7677 section 3: user "user", password "pencil"; the exchange replayed byte for byte. */
    @Test
    void rfc7677ExampleExchange() throws Exception {
        Secret.Scram secret = (Secret.Scram) Secret.parse("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"
                + "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=");
        ScramServerExchange server = ScramServerExchange.start("user", secret,
                "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");

        assertThat(server.clientFirst("n,,n=user,r=rOprNGfwEbeRWgbNEkqO")).isEqualTo(
                "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
        assertThat(server.clientFinal("c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                + "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="))
                .isEqualTo("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
        assertThat(PasswordCheck.verifyCleartext("user", secret, "pencil")).isTrue();
    }

    @Test
    void channelBindingRequiredIsRejected() {
        ScramServerExchange server = ScramServerExchange.start("alice", KEYS, RND);
        assertThatThrownBy(() -> server.clientFirst("p=tls-server-end-point,,n=,r=abc"))
                .isInstanceOf(ScramAuthException.class).hasMessageContaining("channel binding");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "n", "n,", "x,,n=,r=abc", "n,,", "n,,r=abc", "n,,n=", "n,,n=,r=",
        "n,,n=,r=a\u00e9b", "n,,m=ext,n=,r=abc", "n,a=someone,n=,r=abc", "n,,n=,r=abc,bad", "n;,n=,r=abc",
        "\u0000\u0000\u0000"})
    void malformedClientFirstGivesScramAuthException(String message) {
        ScramServerExchange server = ScramServerExchange.start("alice", KEYS, RND);
        assertThatThrownBy(() -> server.clientFirst(message)).isInstanceOf(ScramAuthException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "c=biws", "c=biws,r=NONCE", "p=AAAA", "c=biws,p=AAAA", "c=!!!,r=NONCE,p=AAAA",
        "c=eSws,r=NONCE,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "c=biws,r=other,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "c=biws,r=NONCE,p=AAAA", "c=biws,r=NONCE,p=%%%", "c=biws,r=NONCE,1,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "r=NONCE,c=biws,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="})
    void malformedClientFinalGivesScramAuthException(String template) throws Exception {
        ScramServerExchange server = ScramServerExchange.start("alice", KEYS, RND);
        String serverFirst = server.clientFirst("n,,n=,r=abc");
        String fullNonce = serverFirst.substring(2, serverFirst.indexOf(','));
        String message = template.replace("NONCE", fullNonce);
        assertThatThrownBy(() -> server.clientFinal(message)).isInstanceOf(ScramAuthException.class);
    }

    @Test
    void nullMessageIsScramAuthException() {
        ScramServerExchange server = ScramServerExchange.start("alice", KEYS, RND);
        assertThatThrownBy(() -> server.clientFirst(null)).isInstanceOf(ScramAuthException.class);
    }

    @Test
    void callsOutOfOrderAreIllegalState() throws Exception {
        ScramServerExchange server = ScramServerExchange.start("alice", KEYS, RND);
        assertThatThrownBy(() -> server.clientFinal("c=biws")).isInstanceOf(IllegalStateException.class);
        ScramServerExchange failed = ScramServerExchange.start("alice", KEYS, RND);
        assertThatThrownBy(() -> failed.clientFirst("garbage")).isInstanceOf(ScramAuthException.class);
        assertThatThrownBy(() -> failed.clientFirst("n,,n=,r=abc")).isInstanceOf(IllegalStateException.class);
    }
}
