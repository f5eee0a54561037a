package io.sluice.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.sluice.testing.LeakCheck;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(LeakCheck.class)
class RelayTest {
    @Test
    void inboundOnlyPipelineIsBypassedAndBytesArriveInOrder() {
        EmbeddedChannel ch = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
        assertThat(Relay.canBypass(ch)).isTrue();
        boolean bypass = Relay.canBypass(ch);
        Relay.write(ch, bypass, bytes("one "));
        Relay.write(ch, bypass, bytes("two"));
        assertThat((Object) ch.readOutbound()).as("nothing leaves before the flush").isNull();
        Relay.flush(ch, bypass);
        assertThat(drain(ch)).isEqualTo("one two");
        ch.finishAndReleaseAll();
    }

    @Test
    void anOutboundHandlerStillSeesEveryWrite() {
        List<String> seen = new ArrayList<>();
        EmbeddedChannel ch = new EmbeddedChannel(new ChannelOutboundHandlerAdapter() {
            @Override
            public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                seen.add(((ByteBuf) msg).toString(StandardCharsets.US_ASCII));
                ctx.write(msg, promise);
            }
        });
        boolean bypass = Relay.canBypass(ch);
        assertThat(bypass).isFalse();
        Relay.write(ch, bypass, bytes("sealed"));
        Relay.flush(ch, bypass);
        assertThat(seen).containsExactly("sealed");
        assertThat(drain(ch)).isEqualTo("sealed");
        ch.finishAndReleaseAll();
    }

    @Test
    void aWriteToAClosedChannelIsReleased() {
        EmbeddedChannel ch = new EmbeddedChannel(new ChannelInboundHandlerAdapter());
        ch.close();
        ByteBuf b = bytes("late");
        Relay.write(ch, true, b);
        assertThat(b.refCnt()).isZero();
    }

    private static ByteBuf bytes(String s) {
        return Unpooled.directBuffer().writeBytes(s.getBytes(StandardCharsets.US_ASCII));
    }

    private static String drain(EmbeddedChannel ch) {
        StringBuilder sb = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            sb.append(b.toString(StandardCharsets.US_ASCII));
            b.release();
        }
        return sb.toString();
    }
}
