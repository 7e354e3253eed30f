package io.tmount.device;

import io.tmount.TmountException;
import io.tmount.nbd.NbdEndpoint;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The kernel-nbd attacher's own logic (pool use, nbd-client command lines, disconnect and release on every path)
 * with a stand-in nbd-client that plays the kernel's part on a fake sysfs. The real driver is not on this host.
 */
class KernelNbdAttacherTest {

    @TempDir
    Path dir;

    private FakeSysfs sysfs;
    private NbdDevicePool pool;
    private Path log;
    private Path client;

    @BeforeEach
    void setUp() throws IOException {
        sysfs = new FakeSysfs(dir.resolve("sys/block"), 2);
        pool = new NbdDevicePool(sysfs.root(), dir.resolve("dev"), 2, Duration.ofMillis(200));
        log = dir.resolve("calls.log");
        client = fakeClient("0");
    }

    /** An nbd-client that records its arguments and connects/disconnects the fake device; exits with {@code status}. */
    private Path fakeClient(String status) throws IOException {
        Path script = dir.resolve("nbd-client-" + status);
        Files.writeString(script, String.join("\n",
                "#!/bin/sh",
                "echo \"$*\" >> " + log,
                "if [ \"$1\" = -d ]; then n=$(basename \"$2\"); rm -f " + sysfs.root() + "/$n/pid; echo 0 > " + sysfs.root() + "/$n/size; exit 0; fi",
                "[ " + status + " = 0 ] || { echo 'Negotiation failed' >&2; exit " + status + "; }",
                "for a in \"$@\"; do case \"$a\" in */nbd[0-9]*) n=$(basename \"$a\");; esac; done",
                "echo 4242 > " + sysfs.root() + "/$n/pid; echo 2048 > " + sysfs.root() + "/$n/size",
                ""));
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return script;
    }

    private KernelNbdAttacher attacher(Path nbdClient) {
        return new KernelNbdAttacher(pool, nbdClient.toString(), Duration.ofSeconds(90), 1);
    }

    @Test
    void attach_connectsAPoolDeviceWithNbdClient_andCloseDisconnectsAndReleasesIt() throws IOException {
        NbdEndpoint endpoint = NbdEndpoint.unix(dir.resolve("nbd.sock"), "build-1");
        AttachedDevice device = attacher(client).attach(endpoint, false, dir);
        assertThat(device.devicePath()).isEqualTo(dir.resolve("dev/nbd0"));
        assertThat(device.slot()).isZero();
        assertThat(pool.kernelFree(0)).isFalse();
        assertThat(device.record()).isEqualTo(new DeviceRecord(AttachBackend.KERNEL_NBD, dir.resolve("dev/nbd0"), 0, null, null));
        assertThat(device.problem()).isEmpty();
        sysfs.disconnect(0); // what the kernel does when it gives up on the connection: size 0, no client pid
        assertThat(device.problem()).hasValueSatisfying(p -> assertThat(p).contains("the kernel disconnected "
                + dir.resolve("dev/nbd0")));
        sysfs.connect(0);
        assertThat(Files.readAllLines(log)).containsExactly(
                "-unix " + dir.resolve("nbd.sock") + " " + dir.resolve("dev/nbd0") + " -name build-1 -block-size 4096 -timeout 90");

        device.close();
        assertThat(Files.readAllLines(log)).last().isEqualTo("-d " + dir.resolve("dev/nbd0"));
        assertThat(pool.kernelFree(0)).isTrue();
        assertThat(List.of(pool.tryAcquire(), pool.tryAcquire())).contains(0); // released back to the pool
    }

    @Test
    void readOnlyAndTcpEndpoints_makeTheMatchingCommandLine() {
        KernelNbdAttacher attacher = new KernelNbdAttacher(pool, "nbd-client", Duration.ofSeconds(30), 4);
        List<String> command = attacher.connectCommand(
                NbdEndpoint.tcp(new InetSocketAddress("127.0.0.1", 10809), "b"), Path.of("/dev/nbd3"), true);
        assertThat(command).containsExactly("nbd-client", "127.0.0.1", "10809", "/dev/nbd3", "-name", "b",
                "-block-size", "4096", "-timeout", "30", "-connections", "4", "-readonly");
    }

    @Test
    void failedConnect_releasesTheDevice_andSaysWhy() throws IOException {
        NbdEndpoint endpoint = NbdEndpoint.unix(dir.resolve("nbd.sock"), "b");
        assertThatThrownBy(() -> attacher(fakeClient("1")).attach(endpoint, false, dir))
                .hasMessageContaining("Negotiation failed");
        assertThat(List.of(pool.tryAcquire(), pool.tryAcquire())).contains(0);
    }

    @Test
    void exhaustedPool_isTheClearError() throws IOException {
        sysfs.connect(0);
        sysfs.connect(1);
        assertThatThrownBy(() -> attacher(client).attach(NbdEndpoint.unix(dir.resolve("s"), "b"), false, dir))
                .isInstanceOf(TmountException.class).hasMessageContaining("all 2 nbd devices");
    }

    @Test
    void reclaim_disconnectsADeviceLeftConnected() throws IOException {
        sysfs.connect(1);
        attacher(client).reclaim(new DeviceRecord(AttachBackend.KERNEL_NBD, dir.resolve("dev/nbd1"), 1, null, null));
        assertThat(pool.kernelFree(1)).isTrue();
        assertThat(Files.readAllLines(log)).containsExactly("-d " + dir.resolve("dev/nbd1"));
    }

    @Test
    void unavailable_withoutTheModule() {
        NbdDevicePool none = new NbdDevicePool(dir.resolve("nothing"), dir.resolve("dev"), 64, Duration.ZERO);
        assertThat(new KernelNbdAttacher(none, client.toString(), Duration.ofSeconds(90), 1).unavailableReason())
                .hasValueSatisfying(r -> assertThat(r).contains("nbd kernel module is not loaded"));
        assertThat(attacher(client).unavailableReason()).isEmpty();
    }
}
