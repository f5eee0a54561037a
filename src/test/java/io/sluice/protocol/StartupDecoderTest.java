package io.sluice.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.sluice.testing.LeakCheck;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakCheck.class)
class StartupDecoderTest {

    private static byte[] startup(Map<String, String> params) {
        ByteBuf b = Unpooled.buffer();
        PgWriter.startup(b, params);
        byte[] out = ByteBufUtil.getBytes(b);
        b.release();
        return out;
    }

    private static byte[] ssl() {
        return new byte[] {0, 0, 0, 8, 0x04, (byte) 0xd2, 0x16, 0x2f};
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void sslRequestThenStartupSplitAtEveryByte() {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", "alice");
        params.put("database", "shop");
        params.put("application_name", "psql");
        byte[] data = concat(ssl(), concat(startup(params), new byte[] {'Q', 0, 0, 0, 5, 0}));
        for (int cut = 0; cut <= data.length; cut++) {
            EmbeddedChannel ch = new EmbeddedChannel(new StartupDecoder());
            ch.writeInbound(Unpooled.wrappedBuffer(data, 0, cut));
            ch.writeInbound(Unpooled.wrappedBuffer(data, cut, data.length - cut));
            // Bytes behind the SSLRequest in the same read are told (an injection, CVE-2021-3935,
            // when TLS is then started); a cut right after it leaves none behind it.
            assertThat((Object) ch.readInbound()).isEqualTo(new StartupRequest.SslRequest(cut != 8));
            StartupRequest.Startup s = ch.readInbound();
            assertThat(s.user()).isEqualTo("alice");
            assertThat(s.database()).isEqualTo("shop");
            assertThat(s.parameters()).containsEntry("application_name", "psql");
            // The decoder is gone and the bytes after the start-up packet are handed on, whole.
            assertThat(ch.pipeline().get(StartupDecoder.class)).isNull();
            ByteBuf rest = Unpooled.buffer();
            for (Object o; (o = ch.readInbound()) != null;) {
                ByteBuf b = (ByteBuf) o;
                rest.writeBytes(b);
                b.release();
            }
            assertThat(ByteBufUtil.getBytes(rest)).containsExactly('Q', 0, 0, 0, 5, 0);
            rest.release();
            assertThat(ch.finish()).isFalse();
        }
    }

    @Test
    void oneByteAtATime() {
        byte[] data = startup(Map.of("user", "bob"));
        EmbeddedChannel ch = new EmbeddedChannel(new StartupDecoder());
        for (byte b : data) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        StartupRequest.Startup s = ch.readInbound();
        assertThat(s.user()).isEqualTo("bob");
        assertThat(s.database()).as("database defaults to the user name").isEqualTo("bob");
        assertThat(ch.finish()).isFalse();
    }

    @Test
    void cancelRequest() {
        ByteBuf b = Unpooled.buffer();
        PgWriter.cancelRequest(b, 1234, -99);
        EmbeddedChannel ch = new EmbeddedChannel(new StartupDecoder());
        ch.writeInbound(b);
        StartupRequest.CancelRequest c = ch.readInbound();
        assertThat(c.processId()).isEqualTo(1234);
        assertThat(c.secretKey()).isEqualTo(-99);
        ch.finish();
    }

    @Test
    void oversizedStartupPacketIsRejectedFromItsHeader() {
        EmbeddedChannel ch = new EmbeddedChannel(new StartupDecoder());
        ByteBuf b = Unpooled.buffer().writeInt(10_001).writeInt(FrontendCodes.PROTOCOL_3_0);
        assertThatThrownBy(() -> ch.writeInbound(b))
                .isInstanceOf(DecoderException.class).hasMessageContaining("invalid startup packet length 10001");
        ch.finishAndReleaseAll();
    }

    @Test
    void lengthBelowMinimumIsRejected() {
        EmbeddedChannel ch = new EmbeddedChannel(new StartupDecoder());
        assertThatThrownBy(() -> ch.writeInbound(Unpooled.buffer().writeInt(3)))
                .isInstanceOf(DecoderException.class).hasMessageContaining("invalid startup packet length 3");
        ch.finishAndReleaseAll();
    }

    @Test
    void unknownProtocolVersionIsRejected() {
        EmbeddedChannel ch = new EmbeddedChannel(new StartupDecoder());
        ByteBuf b = Unpooled.buffer().writeInt(9).writeInt(2 << 16).writeByte(0);
        assertThatThrownBy(() -> ch.writeInbound(b))
                .isInstanceOf(DecoderException.class).hasMessageContaining("unsupported frontend protocol 2.0");
        ch.finishAndReleaseAll();
    }

    @Test
    void unterminatedParametersAreRejected() {
        EmbeddedChannel ch = new EmbeddedChannel(new StartupDecoder());
        ByteBuf b = Unpooled.buffer().writeInt(12).writeInt(FrontendCodes.PROTOCOL_3_0).writeBytes("user".getBytes());
        assertThatThrownBy(() -> ch.writeInbound(b))
                .isInstanceOf(DecoderException.class).hasMessageContaining("invalid startup packet layout");
        ch.finishAndReleaseAll();
    }
}
