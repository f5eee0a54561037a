package io.sluice.admin;

/**
 * One column of a console result: its name and PostgreSQL type, as PgBouncer's RowDescription
 * gives them (tools such as pgbouncer_exporter read the types, not only the names).
 */
public record Column(String name, Type type) {
    /** The column types the console sends, with PostgreSQL's type OID and size. */
    public enum Type {
        TEXT(25, -1),
        INT4(23, 4),
        INT8(20, 8),
        NUMERIC(1700, -1),
        TIMESTAMPTZ(1184, 8);

        final int oid;
        final int size;

        Type(int oid, int size) {
            this.oid = oid;
            this.size = size;
        }
    }

    public static Column text(String name) {
        return new Column(name, Type.TEXT);
    }

    public static Column int4(String name) {
        return new Column(name, Type.INT4);
    }

    public static Column int8(String name) {
        return new Column(name, Type.INT8);
    }

    public static Column numeric(String name) {
        return new Column(name, Type.NUMERIC);
    }
}
