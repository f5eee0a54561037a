package io.sluice.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class NettyServerConnectorTest {
    @Test
    void serverConnectTimeoutZeroMeansNoTimeoutAsInPgBouncer() {
        assertThat(NettyServerConnector.connectTimeoutMillis(Duration.ZERO)).isZero();
        assertThat(NettyServerConnector.connectTimeoutMillis(Duration.ofMillis(1))).isEqualTo(1);
        assertThat(NettyServerConnector.connectTimeoutMillis(Duration.ofNanos(500_000))).isEqualTo(1);
        assertThat(NettyServerConnector.connectTimeoutMillis(Duration.ofSeconds(15))).isEqualTo(15_000);
        assertThat(NettyServerConnector.connectTimeoutMillis(Duration.ofNanos(Long.MAX_VALUE)))
                .isEqualTo(Integer.MAX_VALUE);
    }
}
