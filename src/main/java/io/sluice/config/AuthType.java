package io.sluice.config;

import java.util.Locale;

/** How clients prove who they are: PgBouncer's {@code auth_type}. */
public enum AuthType {
    ANY, TRUST, PLAIN, MD5, SCRAM_SHA_256, CERT, HBA, PAM, LDAP;

    /**
     * Parses PgBouncer's spelling ({@code scram-sha-256}, {@code md5}...), ignoring case.
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static AuthType parse(String value) {
        for (AuthType type : values()) {
            if (type.configName().equalsIgnoreCase(value.trim())) {
                return type;
            }
        }
        throw new IllegalArgumentException("invalid auth_type \"" + value
                + "\" (expected any, trust, plain, md5, scram-sha-256, cert, hba, pam or ldap)");
    }

    /** The spelling used in pgbouncer.ini. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
