package io.sluice.pool;

import java.util.List;

/**
 * What one pool shard holds at one moment, taken on its loop so its counts agree with each
 * other: the clients and servers in each state, the longest wait, and (when asked for) a row
 * per connection.
 *
 * @param clients logged-in clients by {@link ClientState#ordinal}
 * @param servers servers by {@link ServerState#ordinal}
 * @param oldestWaitNanos System.nanoTime when the longest-waiting client began to wait; 0 for none
 * @param toReplace servers still from before the last RECONNECT or reload that replaces them
 */
public record ShardSnapshot(Pool pool, int loop, int[] clients, int[] servers, long oldestWaitNanos, int toReplace,
        List<ConnectionRow> clientRows, List<ConnectionRow> serverRows) {

    public int clients(ClientState state) {
        return clients[state.ordinal()];
    }

    public int servers(ServerState state) {
        return servers[state.ordinal()];
    }

    /**
     * {@code shard} now, on its loop: counts always, a row per connection with {@code rows}. The
     * wall clock of each time is derived from the one monotonic clock of the snapshot.
     */
    static ShardSnapshot of(PoolShard shard, boolean rows) {
        assert shard.loop().inEventLoop();
        Pool pool = shard.pool();
        int[] c = new int[ClientState.values().length];
        int[] v = new int[ServerState.values().length];
        for (ClientState st : ClientState.values()) {
            c[st.ordinal()] = shard.clientCount(st);
        }
        for (ServerState st : ServerState.values()) {
            v[st.ordinal()] = shard.serverCount(st);
        }
        ClientNode head = shard.waiters.peekFirst();
        long oldest = head == null ? 0 : head.sinceNanos;
        int[] toReplace = {0};
        int generation = pool.generation();
        for (ServerList l : shard.servers) {
            if (l != null) {
                l.forEach(s -> toReplace[0] += s.generation != generation ? 1 : 0);
            }
        }
        if (!rows) {
            return new ShardSnapshot(pool, shard.index, c, v, oldest, toReplace[0], java.util.List.of(), java.util.List.of());
        }
        long nowNanos = System.nanoTime();
        long nowMillis = System.currentTimeMillis();
        java.util.List<ConnectionRow> clientRows = new java.util.ArrayList<>();
        java.util.List<ConnectionRow> serverRows = new java.util.ArrayList<>();
        for (ClientState st : new ClientState[] {ClientState.ACTIVE, ClientState.WAITING, ClientState.IDLE}) {
            shard.clients[st.ordinal()].forEach(n -> clientRows.add(clientRow(n, nowNanos, nowMillis)));
        }
        for (ServerState st : ServerState.values()) {
            if (st != ServerState.CLOSED && st != ServerState.CLOSING) {
                shard.servers[st.ordinal()].forEach(s -> serverRows.add(s.row(nowNanos, nowMillis)));
            }
        }
        return new ShardSnapshot(pool, shard.index, c, v, oldest, toReplace[0], clientRows, serverRows);
    }

    private static ConnectionRow clientRow(ClientNode n, long nowNanos, long nowMillis) {
        PoolClient c = n.client();
        String state = switch (n.state) {
            case ACTIVE -> "active";
            case WAITING -> "waiting";
            default -> "idle";
        };
        long since = nowMillis - (nowNanos - n.sinceNanos) / 1_000_000;
        ServerConnection linked = c.linkedServer();
        return new ConnectionRow(c.id(), c.user(), c.database(), state, c.channel().remoteAddress(),
                c.channel().localAddress(), c.connectMillis(), since,
                n.state == ClientState.WAITING ? (nowNanos - n.sinceNanos) / 1000 : 0,
                linked == null ? 0 : linked.id(), 0, c.applicationName(), c.preparedStatements(), false,
                TlsInfo.of(c.channel()));
    }
}
