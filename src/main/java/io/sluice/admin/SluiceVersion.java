package io.sluice.admin;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;

/** Sluice's version, from the build (io/sluice/version.properties, filled in by Maven). */
public final class SluiceVersion {
    /** E.g. {@code 0.1.0-SNAPSHOT}; "unknown" if the build did not record it. */
    public static final String VERSION = load();

    private SluiceVersion() {
    }

    private static String load() {
        try (InputStream in = SluiceVersion.class.getResourceAsStream("/io/sluice/version.properties")) {
            if (in == null) {
                return "unknown";
            }
            Properties p = new Properties();
            p.load(in);
            String v = p.getProperty("version", "unknown");
            return v.startsWith("${") ? "unknown" : v;
        } catch (IOException e) {
            return "unknown";
        }
    }
}
