package io.sluice.session;

import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.uring.IoUringDomainSocketChannel;
import io.sluice.auth.UnixUsers;
import java.io.IOException;

/**
 * hba's peer method: the Unix user on the other end of a Unix-socket client (SO_PEERCRED, which
 * Netty's native transports read). On the NIO fallback the credentials are not to be had and
 * every peer login is refused.
 */
final class PeerUser {
    private PeerUser() {
    }

    /** The login name of the process that connected {@code ch}, null when it cannot be told. */
    static String of(Channel ch) {
        try {
            int uid;
            if (ch instanceof EpollDomainSocketChannel e) {
                uid = e.peerCredentials().uid();
            } else if (ch instanceof IoUringDomainSocketChannel u) {
                uid = u.peerCredentials().uid();
            } else {
                return null;
            }
            return UnixUsers.name(uid);
        } catch (IOException e) {
            return null;
        }
    }
}
