package io.sluice.config;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A whole pgbouncer.ini, loaded and checked: settings, databases, users, and the warnings to
 * log at start-up. Immutable; a reload loads a new one and keeps the old one if this fails.
 */
public final class Config {
    static final String PGBOUNCER = "pgbouncer";
    static final String DATABASES = "databases";
    static final String USERS = "users";
    static final String PEERS = "peers";

    /** Would let everyone in or lock everyone out, so refused rather than ignored. */
    private static final Set<AuthType> UNSUPPORTED_AUTH =
            EnumSet.of(AuthType.PAM, AuthType.LDAP);
    /**
     * Password methods can't work without secrets, from auth_file or auth_query. trust may go
     * without: then any user name is accepted (with an auth_file, only the users in it, as in
     * PgBouncer).
     */
    private static final Set<AuthType> NEEDS_AUTH_FILE =
            EnumSet.of(AuthType.PLAIN, AuthType.MD5, AuthType.SCRAM_SHA_256);

    private final Path path;
    private final Settings settings;
    private final Map<String, DatabaseConfig> databases;
    private final DatabaseConfig fallback;
    private final Map<String, UserConfig> users;
    private final Map<String, String> peers;
    private final List<String> warnings;

    private Config(Path path, Settings settings, Map<String, DatabaseConfig> databases,
            DatabaseConfig fallback, Map<String, UserConfig> users, Map<String, String> peers,
            List<String> warnings) {
        this.path = path;
        this.settings = settings;
        this.databases = databases;
        this.fallback = fallback;
        this.users = users;
        this.peers = peers;
        this.warnings = warnings;
    }

    /**
     * Reads and checks {@code iniFile} and what it includes.
     *
     * @throws ConfigException naming file, line and key of the first problem
     */
    public static Config load(Path iniFile) throws ConfigException {
        return load(iniFile, null);
    }

    /**
     * Reads {@code iniFile} again for RELOAD. Settings only a restart can change keep
     * {@code running}'s values, as in PgBouncer, with a warning for each that the file changed.
     *
     * @throws ConfigException naming file, line and key of the first problem; {@code running}
     *     is then to be kept whole
     */
    public static Config reload(Path iniFile, Config running) throws ConfigException {
        return load(iniFile, running);
    }

    private static Config load(Path iniFile, Config running) throws ConfigException {
        IniReader.Result ini = IniReader.read(iniFile, Set.of(PGBOUNCER, DATABASES, USERS, PEERS));
        if (!ini.sectionsSeen().containsKey(PGBOUNCER)) {
            throw new ConfigException(iniFile, "[pgbouncer] section missing");
        }
        List<String> warnings = new ArrayList<>();
        Map<String, IniEntry> settingEntries = new LinkedHashMap<>();
        Map<String, DatabaseConfig> databases = new LinkedHashMap<>();
        DatabaseConfig fallback = null;
        Map<String, UserConfig> users = new LinkedHashMap<>();
        Map<String, String> peers = new LinkedHashMap<>();

        for (IniEntry e : ini.entries()) {
            switch (e.section()) {
                case PGBOUNCER -> {
                    if (!SettingSpec.ALL.containsKey(e.key())) {
                        throw e.error("unknown setting");
                    }
                    settingEntries.put(e.key(), e);
                }
                case DATABASES -> {
                    DatabaseConfig db = DatabaseConfig.parse(e);
                    if (db.name().equals(DatabaseConfig.FALLBACK)) {
                        fallback = db;
                    } else {
                        databases.put(db.name(), db);
                    }
                }
                case USERS -> users.put(e.key(), UserConfig.parse(e));
                case PEERS -> peers.put(e.key(), e.value());
                default -> throw new AssertionError(e.section());
            }
        }

        // One warning per key, pointing at the line that won, so a key repeated by tools
        // that append and RELOAD does not flood the log.
        for (IniEntry e : settingEntries.values()) {
            if (!Settings.IMPLEMENTED.contains(e.key())) {
                warnings.add("setting \"" + e.key() + "\" is accepted but not yet used by Sluice ("
                        + e.where() + ")");
            }
        }
        if (ini.sectionsSeen().containsKey(PEERS)) {
            warnings.add("section [peers] is accepted but not yet used by Sluice ("
                    + ini.sectionsSeen().get(PEERS) + ")");
        }

        if (running != null) {
            keepRestartOnly(settingEntries, running, warnings);
        }
        Path dir = iniFile.toAbsolutePath().getParent();
        Settings settings = new Settings(settingEntries, dir);
        checkAuth(iniFile, settings, settingEntries.get("auth_type"), anyAuthUser(settings, databases, fallback));

        return new Config(iniFile, settings, Collections.unmodifiableMap(databases), fallback,
                Collections.unmodifiableMap(users), Collections.unmodifiableMap(peers),
                List.copyOf(warnings));
    }

    /** Puts back the running values of the settings RELOAD cannot change, warning of each the file changed. */
    private static void keepRestartOnly(Map<String, IniEntry> entries, Config running, List<String> warnings) {
        Map<String, String> was = running.settings().explicitValues();
        for (String key : Settings.knownKeys()) {
            if (Settings.reloadable(key)) {
                continue;
            }
            IniEntry now = entries.get(key);
            String runningValue = running.settings().value(key);
            String fileValue = now == null ? Settings.defaultValue(key) : now.value();
            if (SettingSpec.sameMeaning(key, runningValue, fileValue)) {
                continue;
            }
            warnings.add("setting \"" + key + "\" cannot be changed by RELOAD (restart Sluice for it): keeping \""
                    + runningValue + "\"" + (now == null ? "" : " (" + now.where() + ")"));
            if (was.containsKey(key)) {
                entries.put(key, new IniEntry(PGBOUNCER, key, was.get(key), running.path(), 0));
            } else {
                entries.remove(key);
            }
        }
    }

    /** Whether users may come from auth_query: auth_user set globally or on a database. */
    private static boolean anyAuthUser(Settings settings, Map<String, DatabaseConfig> databases,
            DatabaseConfig fallback) {
        if (!settings.value("auth_user").isBlank()) {
            return true;
        }
        if (fallback != null && fallback.authUser() != null) {
            return true;
        }
        return databases.values().stream().anyMatch(d -> d.authUser() != null);
    }

    private static void checkAuth(Path iniFile, Settings settings, IniEntry authTypeLine, boolean authQuery)
            throws ConfigException {
        AuthType type = settings.authType();
        String problem = null;
        if (UNSUPPORTED_AUTH.contains(type)) {
            problem = "auth_type " + type.configName() + " is not supported by Sluice yet";
        } else if (type == AuthType.HBA && settings.value("auth_hba_file").isBlank()) {
            problem = "auth_hba_file is required for auth_type hba";
        } else if (NEEDS_AUTH_FILE.contains(type) && settings.authFile() == null && !authQuery) {
            problem = "auth_file (or auth_user, for auth_query) is required for auth_type " + type.configName();
        }
        if (problem == null) {
            return;
        }
        if (authTypeLine != null) {
            throw authTypeLine.error(problem);
        }
        throw new ConfigException(iniFile, problem + " (auth_type defaults to "
                + Settings.defaultValue("auth_type") + ")");
    }

    /**
     * This config with one [pgbouncer] setting changed, as the console's SET does (until the
     * next RELOAD reads the file again). A setting only a restart changes is left as it is, as in
     * PgBouncer.
     *
     * @throws ConfigException for an unknown key or a bad value; nothing is changed then
     */
    public Config withSetting(String key, String value) throws ConfigException {
        if (!Settings.knownKeys().contains(key)) {
            throw new ConfigException(path, "unknown parameter: " + key);
        }
        if (!Settings.reloadable(key)) {
            return this;
        }
        Map<String, IniEntry> entries = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : settings.explicitValues().entrySet()) {
            entries.put(e.getKey(), new IniEntry(PGBOUNCER, e.getKey(), e.getValue(), path, 0));
        }
        IniEntry set = new IniEntry(PGBOUNCER, key, value, path, 0);
        entries.put(key, set);
        Settings changed = new Settings(entries, path.toAbsolutePath().getParent());
        checkAuth(path, changed, entries.get("auth_type"), anyAuthUser(changed, databases, fallback));
        return new Config(path, changed, databases, fallback, users, peers, warnings);
    }

    /**
     * The logfile a config file names, read as leniently as can be, for reporting why that
     * file does not load; null when it cannot be told.
     */
    public static Path peekLogfile(Path iniFile) {
        try {
            IniReader.Result ini = IniReader.read(iniFile, Set.of(PGBOUNCER, DATABASES, USERS, PEERS));
            Path file = null;
            for (IniEntry e : ini.entries()) {
                if (e.section().equals(PGBOUNCER) && e.key().equals("logfile") && !e.value().isBlank()) {
                    Path p = Path.of(e.value().strip());
                    file = p.isAbsolute() ? p : iniFile.toAbsolutePath().getParent().resolve(p);
                }
            }
            return file;
        } catch (ConfigException | RuntimeException e) {
            return null;
        }
    }

    /** The main config file, as given to {@link #load}. */
    public Path path() {
        return path;
    }

    public Settings settings() {
        return settings;
    }

    /** The [databases] entries other than {@code *}, in file order. */
    public Map<String, DatabaseConfig> databases() {
        return databases;
    }

    /** The {@code *} entry, if any. */
    public Optional<DatabaseConfig> fallbackDatabase() {
        return Optional.ofNullable(fallback);
    }

    /** The [users] entries, in file order. */
    public Map<String, UserConfig> users() {
        return users;
    }

    /** The [peers] entries as written; Sluice does not act on them yet. */
    public Map<String, String> peers() {
        return peers;
    }

    /** Things to log at start-up and on reload: accepted but unimplemented settings. */
    public List<String> warnings() {
        return warnings;
    }

    /**
     * The entry serving database {@code name}: its own entry, else the {@code *} entry renamed
     * to it. Never the admin console's name: that is not a server database.
     */
    public Optional<DatabaseConfig> database(String name) {
        DatabaseConfig db = databases.get(name);
        if (db != null) {
            return Optional.of(db);
        }
        if (fallback == null || name.equals(DatabaseConfig.ADMIN_DATABASE)) {
            return Optional.empty();
        }
        return Optional.of(fallback.withName(name));
    }

    /** The [users] entry for {@code name}, if any. */
    public Optional<UserConfig> user(String name) {
        return Optional.ofNullable(users.get(name));
    }
}
