package io.sluice.session;

import io.netty.buffer.ByteBuf;
import io.sluice.auth.Md5Auth;
import io.sluice.auth.PasswordCheck;
import io.sluice.auth.ScramAuthException;
import io.sluice.auth.ScramServerExchange;
import io.sluice.auth.Secret;
import io.sluice.config.AuthType;
import io.sluice.protocol.BackendCodes;
import io.sluice.protocol.PgReader;
import io.sluice.protocol.PgWriter;
import io.sluice.protocol.ProtocolException;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;

/**
 * One client's authentication exchange with Sluice, per auth_type: trust, plain, md5 (which
 * turns into SCRAM for a user whose secret is SCRAM, as in PgBouncer) and scram-sha-256.
 *
 * <p>A user missing from auth_file goes through the very same exchange as a wrong password
 * (a random md5 salt, a mock SCRAM salt) and fails at the same point with the same message,
 * so an unauthenticated client learns nothing about which users exist.
 */
final class ClientAuth {
    /** Outcome of one step. */
    enum Step { CONTINUE, OK, FAILED }

    private enum Method { TRUST, PLAIN, MD5, SCRAM }

    private final SessionContext ctx;
    private final String user;
    private final Secret secret;
    private Method method;
    private byte[] md5Salt;
    private ScramServerExchange scram;
    private int scramStep;
    private String failure;
    /** The client's FATAL when it fails; null: the password methods' message. */
    private String failureMessage;

    ClientAuth(SessionContext ctx, String user) {
        this(ctx, user, ctx.authFile() == null ? null : ctx.authFile().secret(user).orElse(null));
    }

    /** With the secret auth_query found ({@code null}: none, refused as a wrong password is). */
    ClientAuth(SessionContext ctx, String user, Secret secret) {
        this.ctx = ctx;
        this.user = user;
        this.secret = secret;
    }

    /** Why it failed, for the log (never a password or SCRAM payload). */
    String failure() {
        return failure;
    }

    /** The SCRAM exchange, after a SCRAM login, for passthrough of its keys to the server. */
    ScramServerExchange scram() {
        return scram;
    }

    /** Whether the user's auth_file secret is a SCRAM secret (so its keys can log into the server). */
    boolean secretIsScram() {
        return secret instanceof Secret.Scram;
    }

    /** Writes the first authentication request to {@code out}, or returns OK/FAILED at once. */
    Step begin(ByteBuf out) {
        return begin(out, ctx.config().settings().authType(), null);
    }

    /**
     * As {@link #begin(ByteBuf)} with the method {@code type}; {@code clientCert}, the certificate
     * the client showed in its TLS handshake (null for none), for the cert method.
     */
    Step begin(ByteBuf out, AuthType type, X509Certificate clientCert) {
        switch (type) {
            case CERT:
                return certificate(clientCert);
            case TRUST:
            case ANY:
                method = Method.TRUST;
                if (type == AuthType.TRUST && ctx.authFile() != null && secret == null) {
                    failure = "user not in auth_file";
                    return Step.FAILED;
                }
                return Step.OK;
            case PLAIN:
                method = Method.PLAIN;
                PgWriter.authRequest(out, BackendCodes.AUTH_CLEARTEXT);
                return Step.CONTINUE;
            case MD5:
                if (secret instanceof Secret.Scram) {
                    return beginScram(out);
                }
                method = Method.MD5;
                md5Salt = new byte[4];
                ctx.loginRandom().nextBytes(md5Salt);
                PgWriter.authMd5(out, md5Salt);
                return Step.CONTINUE;
            case SCRAM_SHA_256:
                return beginScram(out);
            default:
                throw new IllegalStateException("auth_type " + type + " is rejected at start-up");
        }
    }

    /**
     * The cert method: the certificate, which the TLS handshake already verified against
     * client_tls_ca_file, must name the user as its common name (PostgreSQL's clientname=CN).
     */
    private Step certificate(X509Certificate cert) {
        failureMessage = "certificate authentication failed";
        if (cert == null) {
            failure = "TLS client certificate required";
            return Step.FAILED;
        }
        String cn = commonName(cert);
        if (secret == null && ctx.authFile() != null) {
            // As trust with an auth_file: only the users in it (PgBouncer's mock_auth).
            failure = "user not in auth_file";
            return Step.FAILED;
        }
        if (!user.equals(cn)) {
            failure = "TLS certificate name mismatch (CN " + cn + ")";
            return Step.FAILED;
        }
        return Step.OK;
    }

    /** The subject's CN, null when it has none. */
    static String commonName(X509Certificate cert) {
        try {
            var name = new javax.naming.ldap.LdapName(cert.getSubjectX500Principal().getName(
                    javax.security.auth.x500.X500Principal.RFC2253));
            String cn = null;
            for (var rdn : name.getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    cn = String.valueOf(rdn.getValue());
                }
            }
            return cn;
        } catch (javax.naming.InvalidNameException e) {
            return null;
        }
    }

    /** What the client is told when the login fails (PgBouncer's words for each method). */
    String failureMessage() {
        return failureMessage != null ? failureMessage : "password authentication failed";
    }

    private Step beginScram(ByteBuf out) {
        method = Method.SCRAM;
        int iterations = ctx.config().settings().scramIterations();
        Secret.Scram keys = secret == null ? null : ctx.scramKeys().keysFor(user, secret, iterations);
        scram = ScramServerExchange.start(user, keys, iterations, ctx.random());
        PgWriter.authSasl(out, "SCRAM-SHA-256");
        return Step.CONTINUE;
    }

    /** Handles one 'p' message; may append the next request to {@code out}. */
    Step onPasswordMessage(ByteBuf body, ByteBuf out) {
        switch (method) {
            case PLAIN: {
                String password = PgReader.cstring(body);
                if (secret != null && PasswordCheck.verifyCleartext(user, secret, password)) {
                    return Step.OK;
                }
                failure = secret == null ? "user not in auth_file" : "wrong password";
                return Step.FAILED;
            }
            case MD5: {
                String response = PgReader.cstring(body);
                if (secret != null && Md5Auth.verify(user, secret, md5Salt, response)) {
                    return Step.OK;
                }
                failure = secret == null ? "user not in auth_file" : "wrong password";
                return Step.FAILED;
            }
            case SCRAM:
                return onScram(body, out);
            default:
                throw new ProtocolException("unexpected password message");
        }
    }

    private Step onScram(ByteBuf body, ByteBuf out) {
        try {
            if (scramStep == 0) {
                String mechanism = PgReader.cstring(body);
                if (!"SCRAM-SHA-256".equals(mechanism)) {
                    failure = "client selected an invalid SASL authentication mechanism";
                    return Step.FAILED;
                }
                int len = body.readInt();
                if (len < 0 || len != body.readableBytes()) {
                    throw new ProtocolException("malformed SASLInitialResponse");
                }
                String first = body.toString(StandardCharsets.UTF_8);
                scramStep = 1;
                PgWriter.authSaslData(out, BackendCodes.AUTH_SASL_CONTINUE, scram.clientFirst(first));
                return Step.CONTINUE;
            }
            if (scramStep == 1) {
                scramStep = 2;
                String serverFinal = scram.clientFinal(body.toString(StandardCharsets.UTF_8));
                PgWriter.authSaslData(out, BackendCodes.AUTH_SASL_FINAL, serverFinal);
                return Step.OK;
            }
            throw new ProtocolException("unexpected SASL message");
        } catch (ScramAuthException e) {
            failure = e.getMessage();
            return Step.FAILED;
        }
    }
}
