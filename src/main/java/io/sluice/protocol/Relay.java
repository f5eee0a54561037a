package io.sluice.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOutboundHandler;
import java.util.Map;

/**
 * Writes and flushes of relayed bytes. Where a channel's pipeline has no outbound handler (the
 * usual case: Sluice's own handlers are all inbound), they go straight to the channel's outbound
 * buffer, which is where Netty's pipeline would hand them after walking from its tail to its
 * head: that walk, per buffer and per flush, was a measurable part of the relay's CPU. A channel
 * with an outbound handler (TLS, say) is written through its pipeline as usual.
 *
 * <p>Called on the channel's event loop only, like the pipeline's own head.
 */
public final class Relay {
    private Relay() {
    }

    /** True when writes to {@code ch} may skip its pipeline: no handler in it acts on writes. */
    public static boolean canBypass(Channel ch) {
        for (Map.Entry<String, ChannelHandler> e : ch.pipeline()) {
            if (e.getValue() instanceof ChannelOutboundHandler) {
                return false;
            }
        }
        return true;
    }

    /** Queues {@code buf} for {@code ch}; owns {@code buf} from here on, as a pipeline write does. */
    public static void write(Channel ch, boolean bypass, ByteBuf buf) {
        if (bypass) {
            ch.unsafe().write(buf, ch.voidPromise());
        } else {
            ch.write(buf, ch.voidPromise());
        }
    }

    public static void flush(Channel ch, boolean bypass) {
        if (bypass) {
            ch.unsafe().flush();
        } else {
            ch.flush();
        }
    }
}
