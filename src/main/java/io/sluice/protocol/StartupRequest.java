package io.sluice.protocol;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** The first packet a client sends, before any typed message: one of four kinds. */
public sealed interface StartupRequest {

    /** StartupMessage: protocol version and the parameters (user, database, options...). */
    record Startup(int majorVersion, int minorVersion, Map<String, String> parameters) implements StartupRequest {
        public Startup {
            parameters = Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
        }

        public String user() {
            return parameters.get("user");
        }

        /** PostgreSQL's rule: the database defaults to the user name. */
        public String database() {
            String db = parameters.get("database");
            return db == null || db.isEmpty() ? user() : db;
        }
    }

    /**
     * SSLRequest. {@code followedByData}: more bytes came with it, before any answer. A client
     * waits for 'S' before its TLS handshake, so those bytes were not encrypted: a man in the
     * middle's injection (CVE-2021-3935), never to be read as the client's once TLS is on.
     */
    record SslRequest(boolean followedByData) implements StartupRequest {
    }

    record GssEncRequest() implements StartupRequest {
    }

    /** CancelRequest: the key the client was given in BackendKeyData. */
    record CancelRequest(int processId, int secretKey) implements StartupRequest {
    }
}
