package io.tmount.device;

import io.tmount.image.FileImage;
import io.tmount.nbd.NbdExport;
import io.tmount.nbd.NbdListen;
import io.tmount.nbd.NbdServer;
import io.tmount.os.MountTable;
import io.tmount.testing.HostState;
import io.tmount.testing.NoLeftovers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The fuse-loop backend for real: our NBD server → nbdfuse → loop device. */
@ExtendWith(NoLeftovers.class)
class FuseLoopAttacherTest {

    private static final int SIZE = 16 << 20;

    @TempDir
    Path dir;

    private Path file;
    private byte[] data;
    private FileImage image;
    private NbdServer server;
    private final FuseLoopAttacher attacher = FuseLoopAttacher.onThisHost();

    @BeforeEach
    void serve() throws IOException {
        data = new byte[SIZE];
        new Random(9).nextBytes(data);
        file = Files.write(dir.resolve("disk.img"), data);
        image = FileImage.open(file, false);
        server = NbdServer.start(NbdListen.unix(dir.resolve("nbd.sock")), new NbdExport("disk", "", image, false));
    }

    @AfterEach
    void stop() throws IOException {
        server.close();
        image.close();
    }

    @Test
    void isAvailableOnThisHost() {
        assertThat(attacher.unavailableReason()).isEmpty();
        assertThat(attacher.backend()).isEqualTo(AttachBackend.FUSE_LOOP);
    }

    @Test
    void attach_givesALoopDeviceWithTheExportsBytes_andWritesReachTheImage() throws IOException {
        Path work = Files.createDirectories(dir.resolve("work"));
        try (AttachedDevice device = attacher.attach(server.endpoint(), false, work)) {
            assertThat(device.devicePath().toString()).startsWith("/dev/loop");
            assertThat(device.slot()).isGreaterThanOrEqualTo(0);
            assertThat(device.record().helperPid()).isNotNull();
            try (RandomAccessFile dev = new RandomAccessFile(device.devicePath().toFile(), "rw")) {
                byte[] head = new byte[1 << 20];
                dev.readFully(head);
                assertThat(head).isEqualTo(Arrays.copyOf(data, 1 << 20));
                dev.seek(4 << 20);
                dev.write(new byte[8192]);
                dev.getFD().sync();
            }
        }
        byte[] after = Files.readAllBytes(file);
        assertThat(Arrays.copyOfRange(after, 4 << 20, (4 << 20) + 8192)).containsOnly(0);
        assertThat(work.resolve("fuse")).doesNotExist();
    }

    @Test
    void readOnlyAttach_refusesWritesToTheDevice() throws IOException {
        try (AttachedDevice device = attacher.attach(server.endpoint(), true, Files.createDirectories(dir.resolve("w")))) {
            assertThatThrownBy(() -> {
                try (RandomAccessFile dev = new RandomAccessFile(device.devicePath().toFile(), "rw")) {
                    dev.write(1);
                }
            }).isInstanceOf(IOException.class);
        }
        assertThat(Files.readAllBytes(file)).isEqualTo(data);
    }

    @Test
    void close_releasesLoopFuseAndNbdfuse() throws IOException {
        Path work = Files.createDirectories(dir.resolve("w"));
        AttachedDevice device = attacher.attach(server.endpoint(), false, work);
        Path fuse = work.resolve("fuse");
        long pid = device.record().helperPid();
        assertThat(MountTable.ofThisProcess().isMountPoint(fuse)).isTrue();
        assertThat(HostState.loopDevices()).anyMatch(l -> l.contains(fuse.toString()));
        device.close();
        assertThat(MountTable.ofThisProcess().isMountPoint(fuse)).isFalse();
        assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(fuse.toString()));
        assertThat(ProcessHandle.of(pid)).isEmpty();
    }

    @Test
    void attachToAMissingServer_failsWithNbdfusesReason_andLeavesNothing() throws IOException {
        Path work = Files.createDirectories(dir.resolve("w"));
        var missing = io.tmount.nbd.NbdEndpoint.unix(dir.resolve("nobody.sock"), "x");
        assertThatThrownBy(() -> attacher.attach(missing, false, work)).hasMessageContaining("nbdfuse exited");
        assertThat(work.resolve("fuse")).doesNotExist();
    }

    @Test
    void reclaim_takesApartWhatADeadProcessLeft() throws IOException {
        Path work = Files.createDirectories(dir.resolve("w"));
        AttachedDevice device = attacher.attach(server.endpoint(), false, work);
        DeviceRecord record = device.record();
        server.close(); // the owning process "died": its server is gone, the device and nbdfuse remain
        attacher.reclaim(record);
        assertThat(MountTable.ofThisProcess().isMountPoint(record.fuseDir())).isFalse();
        assertThat(HostState.loopDevices()).noneMatch(l -> l.contains(record.fuseDir().toString()));
        assertThat(ProcessHandle.of(record.helperPid()).filter(ProcessHandle::isAlive)).isEmpty();
    }
}
