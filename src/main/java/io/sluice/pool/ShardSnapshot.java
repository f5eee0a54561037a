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
}
