package io.sluice.pool;

import com.ongres.scram.client.ScramClient;
import com.ongres.scram.common.ClientFirstMessage;
import com.ongres.scram.common.ScramFunctions;
import com.ongres.scram.common.ScramMechanism;
import com.ongres.scram.common.ServerFirstMessage;
import com.ongres.scram.common.StringPreparation;
import com.ongres.scram.common.exception.ScramException;
import io.netty.buffer.ByteBuf;
import io.sluice.auth.Md5Auth;
import io.sluice.auth.Secret;
import io.sluice.protocol.BackendCodes;
import io.sluice.protocol.PgReader;
import io.sluice.protocol.PgReader.ErrorFields;
import io.sluice.protocol.PgWriter;
import io.sluice.protocol.SqlState;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Sluice logging into PostgreSQL as a client: answers the server's authentication requests
 * (trust, cleartext, md5, SCRAM-SHA-256) with the pool's credentials.
 */
final class ServerLogin {
    private final PoolConfig config;
    private final Pool pool;
    private ScramClient scram;
    /**
     * The most PBKDF2 iterations a server may ask for. They run on the event loop (once per pool
     * and salt): a server, or anything answering on its port, asking for 2^31 held the loop for
     * minutes. PostgreSQL's default is 4096; a million takes about half a second here.
     */
    static final int MAX_SCRAM_ITERATIONS = 1_000_000;
    private String clientNonce;
    private boolean done;
    private ErrorFields error;

    ServerLogin(PoolConfig config, Pool pool) {
        this.config = config;
        this.pool = pool;
    }

    Map<String, String> startupParameters() {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("user", config.serverUser());
        p.put("database", config.serverDatabase());
        p.putAll(config.startupParameters());
        return p;
    }

    boolean done() {
        return done;
    }

    boolean failed() {
        return error != null;
    }

    ErrorFields error() {
        return error;
    }

    void finish() {
        done = true;
    }

    void fail(ErrorFields e) {
        error = e;
    }

    void fail(String message) {
        error = new ErrorFields("FATAL", SqlState.PROTOCOL_VIOLATION, message, null, null);
    }

    /** Reads one AuthenticationXXX request and appends the answer (if any) to {@code reply}. */
    void onAuthRequest(ByteBuf body, ByteBuf reply) {
        int code = body.readInt();
        Secret secret = config.serverSecret();
        switch (code) {
            case BackendCodes.AUTH_OK:
                return;
            case BackendCodes.AUTH_CLEARTEXT:
                if (!(secret instanceof Secret.Plain plain)) {
                    throw new IllegalStateException("server asked for a cleartext password for user \""
                            + config.serverUser() + "\" but Sluice has no plain password for it");
                }
                PgWriter.password(reply, plain.password());
                return;
            case BackendCodes.AUTH_MD5: {
                if (!(secret instanceof Secret.Plain) && !(secret instanceof Secret.Md5)) {
                    throw new IllegalStateException("server asked for an md5 password for user \""
                            + config.serverUser() + "\" but Sluice has no plain or md5 password for it");
                }
                byte[] salt = new byte[4];
                body.readBytes(salt);
                PgWriter.password(reply, Md5Auth.clientResponse(config.serverUser(), secret, salt));
                return;
            }
            case BackendCodes.AUTH_SASL: {
                List<String> mechanisms = new ArrayList<>();
                while (body.isReadable()) {
                    String m = PgReader.cstring(body);
                    if (m.isEmpty()) {
                        break;
                    }
                    mechanisms.add(m);
                }
                if (!mechanisms.contains("SCRAM-SHA-256")) {
                    throw new IllegalStateException("server offers no SASL mechanism Sluice supports: " + mechanisms);
                }
                var stage = ScramClient.builder()
                        .advertisedMechanisms(List.of("SCRAM-SHA-256"))
                        .username("*");
                if (secret instanceof Secret.Plain plain) {
                    scram = stage.password(plain.password().toCharArray())
                            .stringPreparation(StringPreparation.POSTGRESQL_PREPARATION).build();
                } else if (secret instanceof Secret.Scram) {
                    byte[][] keys = pool.scramPassthroughKeys();
                    if (keys == null) {
                        throw new IllegalStateException("server asked for SCRAM for user \"" + config.serverUser()
                                + "\": Sluice holds only a SCRAM secret, which can log in only after a client"
                                + " of this user has authenticated with SCRAM");
                    }
                    scram = stage.clientAndServerKey(keys[0], keys[1]).build();
                } else {
                    throw new IllegalStateException("server asked for SCRAM for user \"" + config.serverUser()
                            + "\" but Sluice has no plain password or SCRAM keys for it");
                }
                ClientFirstMessage first = scram.clientFirstMessage();
                clientNonce = first.getClientNonce();
                PgWriter.saslInitialResponse(reply, "SCRAM-SHA-256", first.toString());
                return;
            }
            case BackendCodes.AUTH_SASL_CONTINUE: {
                requireScram();
                String serverFirst = body.toString(StandardCharsets.UTF_8);
                try {
                    int iterations = ServerFirstMessage.parseFrom(serverFirst, clientNonce).getIterationCount();
                    if (iterations > MAX_SCRAM_ITERATIONS) {
                        throw new IllegalStateException("server asked for " + iterations + " SCRAM iterations, more"
                                + " than Sluice computes (" + MAX_SCRAM_ITERATIONS + ")");
                    }
                    if (secret instanceof Secret.Plain plain) {
                        scram = withDerivedKeys(plain, serverFirst);
                    }
                    scram.serverFirstMessage(serverFirst);
                } catch (ScramException e) {
                    throw new IllegalStateException("SCRAM exchange with server failed: " + e.getMessage());
                }
                PgWriter.saslResponse(reply, scram.clientFinalMessage().toString());
                return;
            }
            case BackendCodes.AUTH_SASL_FINAL: {
                requireScram();
                try {
                    scram.serverFinalMessage(body.toString(StandardCharsets.UTF_8));
                } catch (ScramException e) {
                    throw new IllegalStateException("server's SCRAM signature did not verify: " + e.getMessage());
                }
                return;
            }
            default:
                throw new IllegalStateException("server asked for unsupported authentication method " + code);
        }
    }

    /**
     * PBKDF2 with the role's salt costs milliseconds of an event loop per login: the keys are
     * derived once per pool and salt, and this login goes on with them (same client nonce).
     */
    private ScramClient withDerivedKeys(Secret.Plain plain, String serverFirst) throws ScramException {
        String nonce = clientNonce;
        ServerFirstMessage first = ServerFirstMessage.parseFrom(serverFirst, nonce);
        byte[][] keys = pool.serverScramKeys(first.getSalt(), first.getIterationCount(), () -> {
            byte[] salted = ScramFunctions.saltedPassword(ScramMechanism.SCRAM_SHA_256,
                    StringPreparation.POSTGRESQL_PREPARATION, plain.password().toCharArray(),
                    Base64.getDecoder().decode(first.getSalt()), first.getIterationCount());
            return new byte[][] {ScramFunctions.clientKey(ScramMechanism.SCRAM_SHA_256, salted),
                ScramFunctions.serverKey(ScramMechanism.SCRAM_SHA_256, salted)};
        });
        ScramClient client = ScramClient.builder()
                .advertisedMechanisms(List.of("SCRAM-SHA-256"))
                .username("*")
                .clientAndServerKey(keys[0], keys[1])
                .nonceSupplier(() -> nonce)
                .build();
        client.clientFirstMessage();
        return client;
    }

    private void requireScram() {
        if (scram == null) {
            throw new IllegalStateException("SASL message from server outside a SCRAM exchange");
        }
    }
}
