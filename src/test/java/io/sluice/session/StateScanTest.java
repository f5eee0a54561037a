package io.sluice.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.sluice.pool.LeftState;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Which statements StateScan takes for session state, from a Query's or a Parse's text. */
class StateScanTest {
    private static int query(String sql) {
        ByteBuf b = Unpooled.copiedBuffer(sql + "\0", StandardCharsets.UTF_8);
        try {
            return StateScan.query(b, b.readableBytes());
        } finally {
            b.release();
        }
    }

    @Test
    void sessionSetsAreStateAndTransactionScopedOnesAreNot() {
        assertThat(query("SET search_path = x")).isEqualTo(LeftState.SET);
        assertThat(query("  set\tstatement_timeout to 0")).isEqualTo(LeftState.SET);
        assertThat(query("SET ROLE app")).isEqualTo(LeftState.SET);
        assertThat(query("set session authorization 'u'")).isEqualTo(LeftState.SET);
        assertThat(query("-- note\n/* c */ SET x = 1")).isEqualTo(LeftState.SET);
        assertThat(query("begin; set x = 1; commit")).isEqualTo(LeftState.SET);
        assertThat(query("SET LOCAL x = 1")).isZero();
        assertThat(query("set transaction isolation level serializable")).isZero();
        assertThat(query("SET CONSTRAINTS ALL DEFERRED")).isZero();
        assertThat(query("BEGIN; SET LOCAL search_path = a; SELECT 1; COMMIT")).isZero();
        assertThat(query("select 'x; set y = 1'")).as("inside a string").isZero();
        assertThat(query("select settings from t")).isZero();
        assertThat(query("settings")).isZero();
        assertThat(query("RESET ALL")).isZero();
    }

    @Test
    void advisoryLocksListenAndTempTables() {
        assertThat(query("select pg_advisory_lock(1)")).isEqualTo(LeftState.ADVISORY_LOCK);
        assertThat(query("SELECT PG_TRY_ADVISORY_LOCK_SHARED(1, 2)")).isEqualTo(LeftState.ADVISORY_LOCK);
        assertThat(query("select pg_advisory_xact_lock(1)")).as("released at the transaction's end").isZero();
        assertThat(query("select pg_advisory_unlock(1)")).isZero();
        assertThat(query("select 'pg_advisory_lock(1)'")).as("inside a string").isZero();
        assertThat(query("LISTEN ch")).isEqualTo(LeftState.LISTEN);
        assertThat(query("create temp table t(x int)")).isEqualTo(LeftState.TEMP_TABLE);
        assertThat(query("CREATE TEMPORARY TABLE t AS SELECT 1")).isEqualTo(LeftState.TEMP_TABLE);
        assertThat(query("create local temp table t(x int)")).isEqualTo(LeftState.TEMP_TABLE);
        assertThat(query("create global temporary table t(x int)")).isEqualTo(LeftState.TEMP_TABLE);
        assertThat(query("create table temp_stuff(x int)")).isZero();
        assertThat(query("set x = 1; listen c; select pg_advisory_lock(2)"))
                .isEqualTo(LeftState.SET | LeftState.LISTEN | LeftState.ADVISORY_LOCK);
    }

    @Test
    void parseSkipsTheStatementNameAndAPartlyReadMessageIsScannedAsFarAsItIsRead() {
        ByteBuf b = Unpooled.copiedBuffer("set_x\0set x = 1\0\0\0", StandardCharsets.UTF_8);
        assertThat(StateScan.parse(b, b.readableBytes())).isEqualTo(LeftState.SET);
        b.release();
        ByteBuf named = Unpooled.copiedBuffer("s1\0select 1\0\0\0", StandardCharsets.UTF_8);
        assertThat(StateScan.parse(named, named.readableBytes())).isZero();
        named.release();
        // Only the first bytes of a long Query have arrived: what is there is scanned, no further.
        ByteBuf part = Unpooled.copiedBuffer("set x = 1; sel", StandardCharsets.UTF_8);
        assertThat(StateScan.query(part, 100_000)).isEqualTo(LeftState.SET);
        part.release();
        ByteBuf cut = Unpooled.copiedBuffer("se", StandardCharsets.UTF_8);
        assertThat(StateScan.query(cut, 100)).isZero();
        cut.release();
    }
}
