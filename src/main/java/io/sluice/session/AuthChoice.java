package io.sluice.session;

import io.netty.channel.Channel;
import io.sluice.auth.HbaFile;
import io.sluice.config.AuthType;
import io.sluice.config.DatabaseConfig;
import io.sluice.config.Settings;
import java.net.InetSocketAddress;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;

/**
 * How a client logging in is to prove who it is: auth_type, or under auth_type hba the method of
 * the first auth_hba_file rule for its connection; and whether its secret must first be looked
 * up with auth_query. Refusals carry PgBouncer's words.
 */
final class AuthChoice {
    /** The method to run, or the refusal: {@code refusal} is the client's FATAL, {@code why} the log's. */
    record Method(AuthType type, String refusal, String why) {
        static Method of(AuthType type) {
            return new Method(type, null, null);
        }

        static Method refused(String refusal, String why) {
            return new Method(null, refusal, why);
        }
    }

    /** An auth_query to run before the exchange: as {@code authUser} in {@code authDatabase}. */
    record Lookup(String authUser, String authDatabase, String query) {
    }

    /** The auth_types whose secrets auth_query can supply. */
    private static final Set<AuthType> PASSWORD_TYPES = EnumSet.of(AuthType.PLAIN, AuthType.MD5, AuthType.SCRAM_SHA_256);

    private AuthChoice() {
    }

    /** The method for this client, {@code tls}: its connection is encrypted. */
    static Method method(SessionContext ctx, Channel channel, String database, String user, boolean tls) {
        AuthType type = ctx.config().settings().authType();
        if (type == AuthType.ANY && !ConsoleRoute.isConsole(database)
                && ctx.config().database(database).map(d -> d.user() == null).orElse(false)) {
            return Method.refused("bouncer config error", "auth_type any needs a user= on database " + database);
        }
        return type == AuthType.HBA ? hba(ctx, channel, database, user, tls) : Method.of(type);
    }

    /** auth_type hba: peer, once checked, goes on as trust. */
    private static Method hba(SessionContext ctx, Channel channel, String database, String user, boolean tls) {
        HbaFile hba = ctx.hba();
        boolean unix = !(channel.remoteAddress() instanceof InetSocketAddress);
        HbaFile.Rule rule = null;
        if (hba != null) {
            HbaFile.Connection how = unix ? HbaFile.Connection.LOCAL
                    : tls ? HbaFile.Connection.HOST_TLS : HbaFile.Connection.HOST_PLAIN;
            rule = hba.match(how, unix ? null : ((InetSocketAddress) channel.remoteAddress()).getAddress(),
                    database, user);
        }
        if (rule == null) {
            return Method.refused("no authentication method is found", "no auth_hba_file rule matches");
        }
        String where = rule.file().getFileName() + ":" + rule.line();
        return switch (rule.method()) {
            case TRUST -> Method.of(AuthType.TRUST);
            case PASSWORD -> Method.of(AuthType.PLAIN);
            case MD5 -> Method.of(AuthType.MD5);
            case SCRAM_SHA_256 -> Method.of(AuthType.SCRAM_SHA_256);
            case CERT -> Method.of(AuthType.CERT);
            case PEER -> {
                String peer = unix ? PeerUser.of(channel) : null;
                yield user.equals(peer) ? Method.of(AuthType.TRUST)
                        : Method.refused("unix socket login rejected", "peer login refused: socket user " + peer
                                + " (" + where + ")");
            }
            // reject; and ldap, refused at start-up, so not reached.
            default -> Method.refused("login rejected", "rejected by " + where);
        };
    }

    /**
     * auth_query: a user missing from auth_file (or any user, without one), of a configured
     * database with an auth_user (its own or the global one), under a password method. Null: the
     * exchange goes on with what auth_file says (an unknown database looks up no one, and gets
     * the same exchange as an unknown user).
     */
    static Lookup lookup(SessionContext ctx, AuthType type, String database, String user) {
        if (!PASSWORD_TYPES.contains(type) || ConsoleRoute.isConsole(database)
                || (ctx.authFile() != null && ctx.authFile().secret(user).isPresent())) {
            return null;
        }
        Optional<DatabaseConfig> db = ctx.config().database(database);
        if (db.isEmpty()) {
            return null;
        }
        Settings settings = ctx.config().settings();
        String authUser = firstSet(db.get().authUser(), settings.value("auth_user"));
        if (authUser == null) {
            return null;
        }
        String authDb = firstSet(db.get().authDbname(), settings.value("auth_dbname"));
        return new Lookup(authUser, authDb == null ? database : authDb,
                firstSet(db.get().authQuery(), settings.value("auth_query")));
    }

    private static String firstSet(String a, String b) {
        if (a != null && !a.isBlank()) {
            return a;
        }
        return b == null || b.isBlank() ? null : b;
    }
}
