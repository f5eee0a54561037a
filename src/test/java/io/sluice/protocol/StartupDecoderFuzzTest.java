package io.sluice.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.sluice.testing.Fuzz;
import io.sluice.testing.Hostile;
import io.sluice.testing.LeakCheck;
import io.sluice.testing.MeteredAllocator;
import io.sluice.testing.Seeds;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Hostile start-up packets fed to {@link StartupDecoder} cut into reads every which way: what it
 * decodes, hands on and refuses is the same as for the stream in one read; it fails only with a
 * ProtocolException (which ClientLogin turns into a FATAL), holds no more than what was sent,
 * and leaks nothing.
 */
@ExtendWith(LeakCheck.class)
class StartupDecoderFuzzTest {

    @Test
    void anyCutOfAStreamDecodesAsTheWholeStreamDoes() {
        Fuzz.check("StartupDecoder: cut as whole", 400, r -> Hostile.stream(r, Seeds.frontend(), 4, 5),
                Hostile.Stream::smaller, stream -> {
                    byte[] data = stream.bytes();
                    List<String> whole = decode(List.of(data));
                    assertThat(decode(stream.reads())).as("cut into reads").isEqualTo(whole);
                    for (List<byte[]> reads : Hostile.everySplit(data, 40)) {
                        assertThat(decode(reads)).as("%d reads", reads.size()).isEqualTo(whole);
                    }
                });
    }

    /**
     * Feeds {@code reads} until the decoder fails (the connection is closed then); returns what
     * came out: the requests, the bytes handed on after it removed itself, and its error.
     */
    private static List<String> decode(List<byte[]> reads) {
        MeteredAllocator alloc = new MeteredAllocator();
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setAllocator(alloc);
        ch.pipeline().addLast(new StartupDecoder());
        List<String> out = new ArrayList<>();
        ByteBuf rest = alloc.buffer();
        long sent = 0;
        try {
            for (byte[] r : reads) {
                sent += r.length;
                DecoderException failed = null;
                try {
                    ch.writeInbound(alloc.buffer(r.length).writeBytes(r));
                } catch (DecoderException e) {
                    failed = e;
                }
                // What was decoded before a failure in the same read reaches the next handler first.
                for (Object o; (o = ch.readInbound()) != null;) {
                    if (o instanceof ByteBuf b) {
                        rest.writeBytes(b);
                        b.release();
                    } else if (o instanceof StartupRequest.SslRequest) {
                        // Whether bytes followed it depends on the cut by design: what counts is
                        // what came with it, before Sluice answered (StartupDecoderTest checks it).
                        out.add("SslRequest");
                    } else {
                        out.add(o.toString());
                    }
                }
                if (failed != null) {
                    assertThat(failed.getCause()).as("what the decoder may fail with")
                            .isInstanceOf(ProtocolException.class);
                    out.add("error:" + failed.getCause().getMessage());
                    // ClientLogin closes the connection here: nothing after the error is decoded.
                    ch.pipeline().remove(StartupDecoder.class);
                    for (Object o; (o = ch.readInbound()) != null;) {
                        ((ByteBuf) o).release();
                    }
                    break;
                }
                // Only what was sent is held: never a buffer sized from a length field.
                assertThat(alloc.largest()).as("largest buffer").isLessThanOrEqualTo(4 * sent + 1024);
            }
            if (rest.isReadable()) {
                out.add("rest:" + ByteBufUtil.hexDump(rest));
            }
        } finally {
            rest.release();
            ch.finishAndReleaseAll();
        }
        assertThat(alloc.live()).as("bytes still held after the channel finished").isZero();
        return out;
    }
}
