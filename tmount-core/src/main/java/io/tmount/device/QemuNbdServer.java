package io.tmount.device;

import io.tmount.nbd.NbdEndpoint;
import io.tmount.os.HostTools;

import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The seed's engine: qemu-nbd serving a raw image file on a unix socket, instead of tmount's own server.
 * Runs as a child process until closed; {@code --persistent} keeps it up across client reconnects.
 */
public final class QemuNbdServer implements AutoCloseable {

    private static final String PROGRAM = "qemu-nbd";
    private static final long NBDMAGIC = 0x4e42444d41474943L;

    private final Process process;
    private final NbdEndpoint endpoint;
    private final Path logFile;

    private QemuNbdServer(Process process, NbdEndpoint endpoint, Path logFile) {
        this.process = process;
        this.endpoint = endpoint;
        this.logFile = logFile;
    }

    public static QemuNbdServer start(Path image, Path socket, String exportName, boolean readOnly, Duration readyTimeout)
            throws IOException {
        Path qemuNbd = HostTools.require(PROGRAM, "qemu-utils", "the qemu-nbd engine");
        Files.createDirectories(socket.getParent());
        Files.deleteIfExists(socket);
        List<String> command = new ArrayList<>(List.of(qemuNbd.toString(),
                "--socket=" + socket, "--format=raw", "--export-name=" + exportName,
                "--persistent", "--shared=16", "--cache=writeback", "--discard=unmap"));
        if (readOnly) {
            command.add("--read-only");
        }
        command.add(image.toString());
        Path logFile = socket.resolveSibling("qemu-nbd.log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(logFile.toFile()).start();
        QemuNbdServer server = new QemuNbdServer(process, NbdEndpoint.unix(socket, exportName), logFile);
        boolean ready = Helpers.await(readyTimeout, () -> !process.isAlive() || accepts(socket));
        if (!ready || !process.isAlive()) {
            String why = process.isAlive() ? "was not ready within " + readyTimeout.toSeconds() + " s"
                    : "exited with " + process.exitValue();
            String output = "";
            try {
                output = new String(Files.readAllBytes(logFile), java.nio.charset.StandardCharsets.UTF_8).strip();
            } catch (IOException unreadable) {
                // the exit status says enough
            } finally {
                server.close();
            }
            throw new IOException("qemu-nbd " + why + (output.isEmpty() ? "" : ": " + output));
        }
        return server;
    }

    /** Ready means it greets a client: qemu-nbd may listen before it has opened (or failed to open) the image. */
    private static boolean accepts(Path socket) {
        try (SocketChannel channel = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            ByteBuffer greeting = ByteBuffer.allocate(8);
            while (greeting.hasRemaining()) {
                if (channel.read(greeting) < 0) {
                    return false;
                }
            }
            return greeting.flip().getLong() == NBDMAGIC;
        } catch (IOException e) {
            return false;
        }
    }

    public NbdEndpoint endpoint() {
        return endpoint;
    }

    public long pid() {
        return process.pid();
    }

    /** Whether qemu-nbd died while serving, and then what to say about it. */
    public Optional<String> problem() {
        return process.isAlive() ? Optional.empty()
                : Optional.of("qemu-nbd (pid " + process.pid() + ") exited with " + process.exitValue()
                + ": every read and write fails; unmount and mount again");
    }

    /** Stops a qemu-nbd left behind by a process that is gone, if it still runs with a socket under {@code dir}. */
    public static void reclaim(Long pid, String dir) {
        Optional<ProcessHandle> process = Helpers.liveProcess(pid, PROGRAM, dir);
        process.ifPresent(p -> Helpers.stop(p, Duration.ofSeconds(5)));
    }

    @Override
    public void close() throws IOException {
        Helpers.stop(process.toHandle(), Duration.ofSeconds(5));
        Files.deleteIfExists(endpoint.unixSocket());
        Files.deleteIfExists(logFile);
    }
}
