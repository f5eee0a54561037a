package io.sluice.session;

import io.netty.channel.ChannelHandler;

/**
 * Where a client of the admin database ({@code pgbouncer}, or {@code sluice}) goes once it has
 * authenticated. The server layer supplies it, so the session layer does not depend on the
 * console.
 */
public interface ConsoleRoute {
    /** The admin database names. */
    static boolean isConsole(String database) {
        return "pgbouncer".equals(database) || "sluice".equals(database);
    }

    /**
     * Whether {@code user} may use the console at all (admin_users or stats_users); checked after
     * authentication, so an unauthenticated client learns nothing from it.
     */
    boolean allows(String user);

    /** The handler that serves console client {@code id} logged in as {@code user}. */
    ChannelHandler open(long id, String user, String database, long connectMillis, String applicationName);
}
