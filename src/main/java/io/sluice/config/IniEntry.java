package io.sluice.config;

import java.nio.file.Path;

/** One {@code key = value} line of an INI file, with the section it falls in and where it was read. */
record IniEntry(String section, String key, String value, Path file, int line) {

    /** An error about this line, blaming {@code blamed} (usually the key). */
    ConfigException error(String blamed, String problem) {
        return new ConfigException(file, line, blamed, problem);
    }

    /** An error about this line's key. */
    ConfigException error(String problem) {
        return error(key, problem);
    }

    /** {@code FILE:LINE}, for warnings. */
    String where() {
        return file + ":" + line;
    }
}
