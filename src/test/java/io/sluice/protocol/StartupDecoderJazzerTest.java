package io.sluice.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import io.sluice.testing.MeteredAllocator;

/**
 * Coverage-guided fuzzing (Jazzer) of {@link StartupDecoder}: any bytes, cut into reads anywhere.
 * It fails only with a ProtocolException (which ClientLogin turns into a FATAL) and holds no
 * buffer afterwards. A plain test run replays the stored inputs; see docs/fuzzing.md.
 */
class StartupDecoderJazzerTest {
    @FuzzTest(maxDuration = "15s")
    void anyBytesCutAnywhere(FuzzedDataProvider data) {
        MeteredAllocator alloc = new MeteredAllocator();
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setAllocator(alloc);
        ch.pipeline().addLast(new StartupDecoder());
        try {
            while (data.remainingBytes() > 0 && ch.isOpen()) {
                byte[] read = data.consumeBytes(1 + data.consumeInt(0, 64));
                ch.writeInbound(alloc.buffer(read.length).writeBytes(read));
            }
            ch.finishAndReleaseAll();
        } catch (DecoderException e) {
            assertThat(e.getCause()).isInstanceOf(ProtocolException.class);
        } finally {
            Object o;
            while ((o = ch.readInbound()) != null) {
                ReferenceCountUtil.release(o);
            }
            try {
                ch.finishAndReleaseAll();
            } catch (DecoderException e) {
                assertThat(e.getCause()).isInstanceOf(ProtocolException.class);
            }
        }
        assertThat(alloc.live()).as("bytes held once the channel is closed").isZero();
    }
}
