package io.tmount.device;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.tmount.TmountException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class AttachersTest {

    @TempDir
    Path dir;

    private Attachers withoutNbdModule() {
        NbdDevicePool none = new NbdDevicePool(dir.resolve("sys"), dir.resolve("dev"), 64, Duration.ZERO);
        return new Attachers(List.of(new KernelNbdAttacher(none, "nbd-client", Duration.ofSeconds(90), 1),
                FuseLoopAttacher.onThisHost()));
    }

    @Test
    void automatic_prefersKernelNbd_andFallsBackToFuseLoop() {
        assertThat(withoutNbdModule().select(null).backend()).isEqualTo(AttachBackend.FUSE_LOOP);
        FakeSysfs sysfs = new FakeSysfs(dir.resolve("sys2"), 1);
        NbdDevicePool loaded = new NbdDevicePool(sysfs.root(), dir.resolve("dev"), 1, Duration.ZERO);
        Attachers withModule = new Attachers(List.of(new KernelNbdAttacher(loaded, "/bin/true", Duration.ofSeconds(90), 1),
                FuseLoopAttacher.onThisHost()));
        assertThat(withModule.select(null).backend()).isEqualTo(AttachBackend.KERNEL_NBD);
    }

    @Test
    void requestedBackendTheHostLacks_isUnavailableWithTheReason() {
        assertThatThrownBy(() -> withoutNbdModule().select(AttachBackend.KERNEL_NBD))
                .isInstanceOf(TmountException.class)
                .hasMessageContaining("kernel-nbd cannot work on this host")
                .hasMessageContaining("modprobe nbd");
    }

    @Test
    void restoringAMountWhoseBackendTheHostLostNow_fallsBackToOneThatWorks_andSaysSoInTheLog() {
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        Logger logger = (Logger) LoggerFactory.getLogger(Attachers.class);
        logged.start();
        logger.addAppender(logged);
        try {
            assertThat(withoutNbdModule().forRestore(AttachBackend.KERNEL_NBD, "m1 at /mnt/x").backend())
                    .isEqualTo(AttachBackend.FUSE_LOOP);
            assertThat(logged.list).singleElement().satisfies(event -> {
                assertThat(event.getLevel()).isEqualTo(Level.WARN);
                assertThat(event.getFormattedMessage()).contains("m1 at /mnt/x", "kernel-nbd", "restoring it with fuse-loop");
            });
            logged.list.clear();
            assertThat(withoutNbdModule().forRestore(AttachBackend.FUSE_LOOP, "m2").backend())
                    .isEqualTo(AttachBackend.FUSE_LOOP);
            assertThat(logged.list).isEmpty();
        } finally {
            logger.detachAppender(logged);
        }
    }

    @Test
    void backendNames_parseAndRefuseUnknownOnes() {
        assertThat(AttachBackend.parse("fuse-loop")).isEqualTo(AttachBackend.FUSE_LOOP);
        assertThatThrownBy(() -> AttachBackend.parse("iscsi")).hasMessageContaining("accepted: kernel-nbd, fuse-loop");
    }
}
