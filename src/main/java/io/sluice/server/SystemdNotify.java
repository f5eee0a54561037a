package io.sluice.server;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDomainDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainDatagramPacket;
import io.netty.channel.unix.DomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;

/**
 * systemd's {@code Type=notify}: tells the service manager Sluice is ready, by a datagram to
 * {@code $NOTIFY_SOCKET} (sd_notify's protocol), sent with Netty's native Unix datagram
 * channel, the only one a JVM has. Nothing happens outside systemd.
 */
final class SystemdNotify {
    private SystemdNotify() {
    }

    static void ready(Logger log) {
        String socket = System.getenv("NOTIFY_SOCKET");
        if (socket == null || socket.isEmpty()) {
            return;
        }
        String message = "READY=1\nMAINPID=" + ProcessHandle.current().pid() + "\nSTATUS=accepting connections\n";
        if (!Epoll.isAvailable()) {
            log.warn("NOTIFY_SOCKET is set, but epoll (needed to write to it) is not available: {}",
                    Epoll.unavailabilityCause().toString());
            return;
        }
        // An abstract socket ("@name") is "\0name" on the wire.
        String path = socket.startsWith("@") ? "\0" + socket.substring(1) : socket;
        MultiThreadIoEventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        try {
            Channel ch = new Bootstrap().group(group).channel(EpollDomainDatagramChannel.class)
                    .handler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel c) {
                        }
                    }).bind(new DomainSocketAddress("")).sync().channel();
            ch.writeAndFlush(new DomainDatagramPacket(Unpooled.copiedBuffer(message, StandardCharsets.UTF_8),
                    new DomainSocketAddress(path))).sync();
            ch.close().sync();
            log.info("told systemd: ready");
        } catch (Exception e) {
            log.warn("could not notify systemd at {}: {}", socket, e.toString());
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }
}
