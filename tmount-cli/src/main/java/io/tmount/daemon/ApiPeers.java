package io.tmount.daemon;

import io.tmount.TmountException;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.server.Request;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;

/**
 * Who may use the API: root, and the members of one configured group. The socket's mode keeps others out already;
 * this checks the peer's credentials as the kernel gives them (SO_PEERCRED), so a socket whose mode was widened by
 * mistake still lets nobody else in. Membership is the peer's primary group, or the group's member list in
 * {@code /etc/group} (how {@code usermod -aG} records it).
 */
final class ApiPeers {

    private final String group;
    private final Path groupFile;

    /** @param group the group allowed besides root, or null: root only */
    ApiPeers(String group, Path groupFile) {
        this.group = group;
        this.groupFile = groupFile;
    }

    static ApiPeers rootOnly() {
        return new ApiPeers(null, Path.of("/etc/group"));
    }

    /** Throws FORBIDDEN unless the request's peer may use the API. */
    void check(Request request) {
        EndPoint endPoint = request.getConnectionMetaData().getConnection().getEndPoint();
        if (!(endPoint instanceof SocketChannelEndPoint socket)) {
            throw new TmountException(TmountException.Kind.FORBIDDEN, "the API answers local unix socket peers only");
        }
        UnixDomainPrincipal peer = credentials(socket.getChannel());
        String user = peer.user().getName();
        if (user.equals("root") || user.equals("0") || (group != null && member(user, peer.group().getName()))) {
            return;
        }
        throw new TmountException(TmountException.Kind.FORBIDDEN, "the tmount API serves root"
                + (group == null ? "" : " and the members of group " + group) + " only, not user " + user
                + (group == null ? "; start the daemon with --api-group GROUP to let a group of users in" : ""));
    }

    private static UnixDomainPrincipal credentials(SocketChannel channel) {
        try {
            return channel.getOption(ExtendedSocketOptions.SO_PEERCRED);
        } catch (IOException | UnsupportedOperationException e) {
            throw new TmountException(TmountException.Kind.FORBIDDEN, "cannot read the API peer's credentials: "
                    + e.getMessage());
        }
    }

    private boolean member(String user, String primaryGroup) {
        return primaryGroup.equals(group) || members().map(m -> Arrays.asList(m).contains(user)).orElse(false);
    }

    private Optional<String[]> members() {
        try (var lines = Files.lines(groupFile)) {
            return lines.map(l -> l.split(":", -1)).filter(f -> f.length == 4 && f[0].equals(group)).findFirst()
                    .map(f -> f[3].isEmpty() ? new String[0] : f[3].split(","));
        } catch (IOException | java.io.UncheckedIOException e) {
            return Optional.empty();
        }
    }
}
