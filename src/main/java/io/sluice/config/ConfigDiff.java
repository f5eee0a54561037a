package io.sluice.config;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * What RELOAD would change: every difference between the running config and a newly loaded one,
 * in [pgbouncer] settings, [databases] (the {@code *} fallback included) and [users]. Immutable.
 *
 * <p>Values are compared by what they mean, not how they are spelled: {@code on} for {@code 1},
 * {@code port=5432} for no port, {@code reserve_pool} for {@code reserve_pool_size} are no
 * change. [peers] is not compared (Sluice does not act on it), nor the contents of auth_file:
 * those are read apart from this config.
 */
public final class ConfigDiff {

    /**
     * One [pgbouncer] setting whose value changed. The values are the effective ones, as written
     * or the default when the file does not set it.
     *
     * @param reloadable false when the new value takes effect only after a restart
     */
    public record SettingChange(String key, String oldValue, String newValue, boolean reloadable) {
    }

    /**
     * One [databases] entry in both configs whose values differ.
     *
     * @param changedKeys the connection-string keys that changed meaning, in a fixed order
     *     (host first); a key is named by its current spelling ({@code reserve_pool_size})
     */
    public record DatabaseChange(String name, DatabaseConfig before, DatabaseConfig after,
            List<String> changedKeys) {

        public DatabaseChange {
            changedKeys = List.copyOf(changedKeys);
        }

        /**
         * Whether servers already logged in no longer match the entry: where they connect
         * (host, port, load_balance_hosts), as whom (dbname, user, password), or what their
         * login set (connect_query, application_name, client_encoding, datestyle, timezone).
         * Such servers must be replaced, as PgBouncer does by closing each once released; any
         * other change (pool_size, pool_mode, limits...) applies to the servers there are.
         */
        public boolean replacesServers() {
            for (String key : changedKeys) {
                if (SERVER_LOGIN_KEYS.contains(key)) {
                    return true;
                }
            }
            return false;
        }

        /** Names the keys only: the entries hold the password, and this text ends up in logs. */
        @Override
        public String toString() {
            return "DatabaseChange[" + name + ": " + String.join(", ", changedKeys)
                    + (replacesServers() ? "; servers replaced]" : "]");
        }
    }

    /**
     * One [users] entry in both configs whose values differ.
     *
     * @param changedKeys the keys that changed meaning, in a fixed order
     */
    public record UserChange(String name, UserConfig before, UserConfig after, List<String> changedKeys) {

        public UserChange {
            changedKeys = List.copyOf(changedKeys);
        }
    }

    /**
     * The keys fixed when a server logs in. PgBouncer 1.25 (loader.c parse_database) replaces
     * servers on host, port, dbname, user, connect_query and load_balance_hosts; Sluice adds the
     * password, so that a wrong new one shows at once rather than when the pool next grows, and
     * the startup parameters, which old servers would keep. auth_user/auth_dbname/auth_query, which
     * PgBouncer counts too, are about looking clients up, not about the servers Sluice opens.
     */
    private static final Set<String> SERVER_LOGIN_KEYS = Set.of("host", "port", "load_balance_hosts",
            "dbname", "user", "password", "connect_query", "application_name", "client_encoding",
            "datestyle", "timezone");

    /** One compared key: its name in the file and what it means in an entry. */
    private record Key<T>(String name, Function<T, Object> meaning) {
    }

    /**
     * Every key [databases] accepts (see DatabaseConfig.parse); one missing here would make a
     * change to it go unseen by RELOAD.
     */
    private static final List<Key<DatabaseConfig>> DATABASE_KEYS = List.of(
            db("host", DatabaseConfig::hosts),
            db("port", DatabaseConfig::port),
            db("load_balance_hosts", d -> d.raw().get("load_balance_hosts")),
            // Through effectiveDbname, so writing the entry's own name as dbname is no change.
            db("dbname", DatabaseConfig::effectiveDbname),
            db("user", DatabaseConfig::user),
            db("password", DatabaseConfig::password),
            db("connect_query", DatabaseConfig::connectQuery),
            db("application_name", DatabaseConfig::applicationName),
            db("client_encoding", DatabaseConfig::clientEncoding),
            db("datestyle", DatabaseConfig::dateStyle),
            db("timezone", DatabaseConfig::timeZone),
            db("pool_mode", DatabaseConfig::poolMode),
            db("pool_size", DatabaseConfig::poolSize),
            db("min_pool_size", DatabaseConfig::minPoolSize),
            db("reserve_pool_size", DatabaseConfig::reservePoolSize),
            db("max_db_connections", DatabaseConfig::maxDbConnections),
            db("max_db_client_connections", d -> d.raw().get("max_db_client_connections")),
            db("server_lifetime", d -> d.raw().get("server_lifetime")),
            db("auth_user", d -> d.raw().get("auth_user")),
            db("auth_dbname", d -> d.raw().get("auth_dbname")),
            db("auth_query", d -> d.raw().get("auth_query")));

    /** Every key [users] accepts (see UserConfig.parse). */
    private static final List<Key<UserConfig>> USER_KEYS = List.of(
            user("pool_mode", UserConfig::poolMode),
            user("pool_size", UserConfig::poolSize),
            user("reserve_pool_size", UserConfig::reservePoolSize),
            user("max_user_connections", UserConfig::maxUserConnections),
            user("max_user_client_connections", u -> u.raw().get("max_user_client_connections")),
            user("query_timeout", u -> u.raw().get("query_timeout")),
            user("idle_transaction_timeout", u -> u.raw().get("idle_transaction_timeout")),
            user("transaction_timeout", u -> u.raw().get("transaction_timeout")),
            user("client_idle_timeout", u -> u.raw().get("client_idle_timeout")),
            user("query_wait_timeout", u -> u.raw().get("query_wait_timeout")));

    private final List<SettingChange> settingChanges;
    private final List<SettingChange> nonReloadableChanges;
    private final List<DatabaseConfig> databasesAdded;
    private final List<DatabaseConfig> databasesRemoved;
    private final List<DatabaseChange> databasesChanged;
    private final List<UserConfig> usersAdded;
    private final List<UserConfig> usersRemoved;
    private final List<UserChange> usersChanged;

    private ConfigDiff(List<SettingChange> settingChanges, List<DatabaseConfig> databasesAdded,
            List<DatabaseConfig> databasesRemoved, List<DatabaseChange> databasesChanged,
            List<UserConfig> usersAdded, List<UserConfig> usersRemoved, List<UserChange> usersChanged) {
        this.settingChanges = List.copyOf(settingChanges);
        this.nonReloadableChanges = settingChanges.stream().filter(c -> !c.reloadable()).toList();
        this.databasesAdded = List.copyOf(databasesAdded);
        this.databasesRemoved = List.copyOf(databasesRemoved);
        this.databasesChanged = List.copyOf(databasesChanged);
        this.usersAdded = List.copyOf(usersAdded);
        this.usersRemoved = List.copyOf(usersRemoved);
        this.usersChanged = List.copyOf(usersChanged);
    }

    /** Everything that differs from {@code running} in {@code loaded}. */
    public static ConfigDiff between(Config running, Config loaded) {
        List<SettingChange> settings = new ArrayList<>();
        for (SettingSpec.Spec spec : SettingSpec.ALL.values()) {
            String before = running.settings().value(spec.key());
            String after = loaded.settings().value(spec.key());
            if (!SettingSpec.meaning(spec.kind(), before).equals(SettingSpec.meaning(spec.kind(), after))) {
                settings.add(new SettingChange(spec.key(), before, after, spec.reloadable()));
            }
        }

        List<DatabaseConfig> dbAdded = new ArrayList<>();
        List<DatabaseConfig> dbRemoved = new ArrayList<>();
        List<DatabaseChange> dbChanged = new ArrayList<>();
        compare(withFallback(running), withFallback(loaded), DATABASE_KEYS, DatabaseChange::new,
                dbAdded, dbRemoved, dbChanged);

        List<UserConfig> userAdded = new ArrayList<>();
        List<UserConfig> userRemoved = new ArrayList<>();
        List<UserChange> userChanged = new ArrayList<>();
        compare(running.users(), loaded.users(), USER_KEYS, UserChange::new,
                userAdded, userRemoved, userChanged);

        return new ConfigDiff(settings, dbAdded, dbRemoved, dbChanged, userAdded, userRemoved, userChanged);
    }

    /** How a change record is made from an entry's name, both versions and the keys that differ. */
    private interface ChangeFactory<T, C> {
        C make(String name, T before, T after, List<String> changedKeys);
    }

    /** Sorts entries by name into added (loaded order), removed (running order) and changed. */
    private static <T, C> void compare(Map<String, T> running, Map<String, T> loaded, List<Key<T>> keys,
            ChangeFactory<T, C> factory, List<T> added, List<T> removed, List<C> changed) {
        for (Map.Entry<String, T> e : loaded.entrySet()) {
            T before = running.get(e.getKey());
            if (before == null) {
                added.add(e.getValue());
                continue;
            }
            List<String> differing = new ArrayList<>();
            for (Key<T> key : keys) {
                if (!Objects.equals(key.meaning().apply(before), key.meaning().apply(e.getValue()))) {
                    differing.add(key.name());
                }
            }
            if (!differing.isEmpty()) {
                changed.add(factory.make(e.getKey(), before, e.getValue(), differing));
            }
        }
        for (Map.Entry<String, T> e : running.entrySet()) {
            if (!loaded.containsKey(e.getKey())) {
                removed.add(e.getValue());
            }
        }
    }

    /** The [databases] entries with {@code *} last, so the fallback is diffed like any other entry. */
    private static Map<String, DatabaseConfig> withFallback(Config config) {
        Map<String, DatabaseConfig> all = new LinkedHashMap<>(config.databases());
        config.fallbackDatabase().ifPresent(f -> all.put(DatabaseConfig.FALLBACK, f));
        return all;
    }

    private static Key<DatabaseConfig> db(String name, Function<DatabaseConfig, Object> meaning) {
        return new Key<>(name, meaning);
    }

    private static Key<UserConfig> user(String name, Function<UserConfig, Object> meaning) {
        return new Key<>(name, meaning);
    }

    /** Whether the two configs mean the same: RELOAD has nothing to do. */
    public boolean isEmpty() {
        return settingChanges.isEmpty() && databasesAdded.isEmpty() && databasesRemoved.isEmpty()
                && databasesChanged.isEmpty() && usersAdded.isEmpty() && usersRemoved.isEmpty()
                && usersChanged.isEmpty();
    }

    /** Every [pgbouncer] setting whose value changed, reloadable or not, alphabetically. */
    public List<SettingChange> settingChanges() {
        return settingChanges;
    }

    /**
     * The changed settings RELOAD cannot apply (listen_addr, listen_port, unix_socket_*, pidfile,
     * user, ...): each wants a "cannot be changed by RELOAD, restart needed" in the log. Diffed
     * against the previous reload's config, a change is reported once although it stays
     * unapplied; diff against the start-up config to report it on every reload.
     */
    public List<SettingChange> nonReloadableChanges() {
        return nonReloadableChanges;
    }

    /**
     * Entries only the loaded config has, in file order, {@code *} last. A name until now
     * served by {@code *} shows here too, while its pool already exists.
     */
    public List<DatabaseConfig> databasesAdded() {
        return databasesAdded;
    }

    /**
     * Entries only the running config has (as they were), {@code *} last. A name removed while
     * a {@code *} remains is still served, by the fallback.
     */
    public List<DatabaseConfig> databasesRemoved() {
        return databasesRemoved;
    }

    /** Entries in both that differ, in the loaded file's order, {@code *} last. */
    public List<DatabaseChange> databasesChanged() {
        return databasesChanged;
    }

    /** [users] entries only the loaded config has, in file order. */
    public List<UserConfig> usersAdded() {
        return usersAdded;
    }

    /** [users] entries only the running config has, as they were. */
    public List<UserConfig> usersRemoved() {
        return usersRemoved;
    }

    /** [users] entries in both that differ, in the loaded file's order. */
    public List<UserChange> usersChanged() {
        return usersChanged;
    }
}
