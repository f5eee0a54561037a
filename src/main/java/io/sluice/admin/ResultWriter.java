package io.sluice.admin;

import io.netty.buffer.ByteBuf;
import io.sluice.protocol.BackendCodes;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Writes one console result: RowDescription from typed columns, then rows whose values are
 * checked against the column types as they are added, then CommandComplete. A row with a
 * value of the wrong type or count is a bug in the command, caught here rather than shipped to
 * a tool that parses the column as a number.
 */
final class ResultWriter {
    private final ByteBuf out;
    private final List<Column> columns;
    private int rowStart = -1;
    private int col;
    private int rows;

    /** Starts a result on {@code out} with {@code columns}. */
    ResultWriter(ByteBuf out, List<Column> columns) {
        this.out = out;
        this.columns = columns;
        int start = begin(BackendCodes.ROW_DESCRIPTION);
        out.writeShort(columns.size());
        for (Column c : columns) {
            cstring(c.name());
            out.writeInt(0); // table OID
            out.writeShort(0); // column number
            out.writeInt(c.type().oid);
            out.writeShort(c.type().size);
            out.writeInt(-1); // type modifier
            out.writeShort(0); // text format
        }
        end(start);
    }

    /** Begins a row: its values follow, one per column, in order. */
    ResultWriter row() {
        finishRow();
        rowStart = begin(BackendCodes.DATA_ROW);
        out.writeShort(columns.size());
        col = 0;
        return this;
    }

    ResultWriter text(String value) {
        return value(Column.Type.TEXT, value);
    }

    ResultWriter int4(long value) {
        return value(Column.Type.INT4, Long.toString(value));
    }

    ResultWriter int8(long value) {
        return value(Column.Type.INT8, Long.toString(value));
    }

    ResultWriter numeric(String value) {
        return value(Column.Type.NUMERIC, value);
    }

    /** A NULL of any type. */
    ResultWriter nul() {
        next(null);
        out.writeInt(-1);
        return this;
    }

    private ResultWriter value(Column.Type type, String value) {
        if (value == null) {
            return nul();
        }
        next(type);
        byte[] b = value.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.writeBytes(b);
        return this;
    }

    private void next(Column.Type type) {
        if (rowStart < 0 || col >= columns.size()) {
            throw new IllegalStateException("value past the last column of " + columns);
        }
        Column c = columns.get(col);
        if (type != null && type != c.type()) {
            throw new IllegalStateException("column " + c.name() + " is " + c.type() + ", not " + type);
        }
        col++;
    }

    private void finishRow() {
        if (rowStart >= 0) {
            if (col != columns.size()) {
                throw new IllegalStateException("row has " + col + " of " + columns.size() + " values");
            }
            end(rowStart);
            rowStart = -1;
            rows++;
        }
    }

    /** Ends the result with CommandComplete {@code tag} ("SHOW"). */
    void complete(String tag) {
        finishRow();
        int start = begin(BackendCodes.COMMAND_COMPLETE);
        cstring(tag);
        end(start);
    }

    /** The buffer written to: the caller's to send once {@link #complete} has run. */
    ByteBuf out() {
        return out;
    }

    int rows() {
        return rows;
    }

    private int begin(byte type) {
        out.writeByte(type);
        int at = out.writerIndex();
        out.writeInt(0);
        return at;
    }

    private void end(int at) {
        out.setInt(at, out.writerIndex() - at);
    }

    private void cstring(String s) {
        out.writeCharSequence(s, StandardCharsets.UTF_8);
        out.writeByte(0);
    }
}
