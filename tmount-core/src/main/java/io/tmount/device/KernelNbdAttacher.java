package io.tmount.device;

import io.tmount.nbd.NbdEndpoint;
import io.tmount.os.Commands;
import io.tmount.os.HostTools;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Attaches through the kernel's NBD client: takes a device from the pool and connects it to the export with
 * nbd-client (netlink), as production hosts with the nbd module do. The I/O timeout must stay above the slowest
 * request the server can take, or the kernel declares the connection dead.
 */
public final class KernelNbdAttacher implements Attacher {

    private static final Logger log = LoggerFactory.getLogger(KernelNbdAttacher.class);
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);

    private final NbdDevicePool pool;
    private final String nbdClient;
    private final Duration ioTimeout;
    private final int connections;

    /** {@code nbdClient} is the program to run ("nbd-client", or a stand-in in tests). */
    public KernelNbdAttacher(NbdDevicePool pool, String nbdClient, Duration ioTimeout, int connections) {
        this.pool = pool;
        this.nbdClient = nbdClient;
        this.ioTimeout = ioTimeout;
        this.connections = connections;
    }

    public NbdDevicePool pool() {
        return pool;
    }

    public static KernelNbdAttacher onThisHost(NbdDevicePool pool) {
        return new KernelNbdAttacher(pool, "nbd-client", Duration.ofSeconds(90), 1);
    }

    @Override
    public AttachBackend backend() {
        return AttachBackend.KERNEL_NBD;
    }

    @Override
    public Optional<String> unavailableReason() {
        if (!pool.moduleLoaded()) {
            return Optional.of("the nbd kernel module is not loaded (modprobe nbd nbds_max=" + pool.size() + ")");
        }
        if (!nbdClient.contains("/") && HostTools.find(nbdClient).isEmpty()) {
            return Optional.of("missing program: nbd-client (nbd-client)");
        }
        return Optional.empty();
    }

    @Override
    public AttachedDevice attach(NbdEndpoint endpoint, boolean readOnly, Path workDir) throws IOException {
        int index = pool.acquire();
        Path device = pool.devicePath(index);
        boolean connected = false;
        try {
            Commands.check(COMMAND_TIMEOUT, connectCommand(endpoint, device, readOnly));
            connected = true;
            if (!Helpers.await(Duration.ofSeconds(10), () -> pool.connected(index))) {
                throw new IOException(device + " did not come up after nbd-client connected it");
            }
            return new KernelNbdDevice(index, device);
        } catch (IOException | RuntimeException e) {
            // Only a device our nbd-client connected is ours to disconnect: if it failed, someone else may have
            // taken the device between the pool's check and the connect.
            if (connected) {
                try {
                    disconnect(index, device);
                } catch (IOException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            pool.release(index);
            throw e;
        }
    }

    List<String> connectCommand(NbdEndpoint endpoint, Path device, boolean readOnly) {
        List<String> command = new ArrayList<>(List.of(nbdClient));
        if (endpoint.unixSocket() != null) {
            command.addAll(List.of("-unix", endpoint.unixSocket().toString()));
        } else {
            command.addAll(List.of(endpoint.tcp().getHostString(), Integer.toString(endpoint.tcp().getPort())));
        }
        command.add(device.toString());
        command.addAll(List.of("-name", endpoint.exportName(), "-block-size", "4096",
                "-timeout", Long.toString(ioTimeout.toSeconds())));
        if (connections > 1) {
            command.addAll(List.of("-connections", Integer.toString(connections)));
        }
        if (readOnly) {
            command.add("-readonly");
        }
        return command;
    }

    private void disconnect(int index, Path device) throws IOException {
        if (pool.kernelFree(index)) {
            return;
        }
        Commands.check(COMMAND_TIMEOUT, nbdClient, "-d", device.toString());
        if (!Helpers.await(Duration.ofSeconds(10), () -> pool.kernelFree(index))) {
            throw new IOException(device + " is still connected after nbd-client -d");
        }
    }

    @Override
    public void reclaim(DeviceRecord record) {
        int index = record.slot();
        if (index < 0) {
            return;
        }
        pool.hold(index);
        try {
            disconnect(index, pool.devicePath(index));
        } catch (IOException e) {
            log.warn("cannot disconnect {}: {}", pool.devicePath(index), e.getMessage());
        } finally {
            pool.release(index);
        }
    }

    private final class KernelNbdDevice implements AttachedDevice {
        private final int index;
        private final Path device;

        KernelNbdDevice(int index, Path device) {
            this.index = index;
            this.device = device;
        }

        @Override
        public Path devicePath() {
            return device;
        }

        @Override
        public int slot() {
            return index;
        }

        @Override
        public DeviceRecord record() {
            return new DeviceRecord(AttachBackend.KERNEL_NBD, device, index, null, null);
        }

        @Override
        public Optional<String> problem() {
            if (!pool.connected(index)) {
                return Optional.of("the kernel disconnected " + device + " (its size is 0): every read and write "
                        + "fails; unmount and mount again");
            }
            return Optional.empty();
        }

        @Override
        public void close() throws IOException {
            try {
                disconnect(index, device);
            } finally {
                pool.release(index);
            }
        }
    }
}
