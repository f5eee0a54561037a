package io.sluice.session;

import io.netty.buffer.ByteBuf;
import io.sluice.config.Settings;
import io.sluice.protocol.PgWriter;
import io.sluice.protocol.StartupRequest;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Which StartupMessage parameters a client may send, as PgBouncer decides it: tracked ones
 * are kept, ignore_startup_parameters are dropped, {@code _pq_.} options and newer minor
 * versions get NegotiateProtocolVersion, anything else refuses the connection.
 */
final class StartupCheck {
    private StartupCheck() {
    }

    /**
     * Fills {@code tracked} from the start-up parameters and appends NegotiateProtocolVersion to
     * {@code out} when due. Returns null when the client may go on, else its FATAL message.
     */
    static String apply(StartupRequest.Startup startup, Settings settings, TrackedParameters tracked,
            SocketAddress remote, ByteBuf out) {
        List<String> unsupportedOptions = new ArrayList<>();
        for (Map.Entry<String, String> e : startup.parameters().entrySet()) {
            String name = e.getKey();
            if (name.equals("user") || name.equals("database")) {
                continue;
            }
            if (name.startsWith("_pq_.")) {
                unsupportedOptions.add(name);
                continue;
            }
            String problem = tracked.acceptStartup(name, e.getValue(), settings.ignoreStartupParameters());
            if (problem != null) {
                return problem;
            }
        }
        if (settings.applicationNameAddHost() && remote instanceof InetSocketAddress a) {
            tracked.addHostToApplicationName(a.getAddress().getHostAddress() + ":" + a.getPort());
        }
        if (startup.minorVersion() > 0 || !unsupportedOptions.isEmpty()) {
            PgWriter.negotiateProtocolVersion(out, 0, unsupportedOptions);
        }
        return null;
    }
}
