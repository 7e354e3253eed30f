package io.tmount.device;

import io.tmount.TmountException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The pool against a fake /sys/block tree: this host has no nbd module, so sysfs is the one part that has to be
 * faked (the files the kernel would show: nbdN/pid while connected, nbdN/size in 512-byte sectors).
 */
class NbdDevicePoolTest {

    @TempDir
    Path dir;

    private FakeSysfs sysfs;

    @BeforeEach
    void createDevices() throws IOException {
        sysfs = new FakeSysfs(dir.resolve("sys/block"), 4);
    }

    private NbdDevicePool pool(int size, Duration wait) {
        return new NbdDevicePool(sysfs.root(), dir.resolve("dev"), size, wait);
    }

    @Test
    void acquire_skipsDevicesTheKernelShowsBusy() throws IOException {
        sysfs.connect(0);
        sysfs.connect(1);
        NbdDevicePool pool = pool(4, Duration.ZERO);
        assertThat(pool.acquire()).isEqualTo(2);
        assertThat(pool.devicePath(2)).isEqualTo(dir.resolve("dev/nbd2"));
    }

    @Test
    void aDeviceWithASizeButNoPid_isNotFree() throws IOException {
        Files.writeString(sysfs.root().resolve("nbd0/size"), "2048\n");
        assertThat(pool(4, Duration.ZERO).acquire()).isEqualTo(1);
    }

    @Test
    void acquiredDevices_areNotHandedOutTwice_untilReleased() {
        NbdDevicePool pool = pool(2, Duration.ZERO);
        int first = pool.acquire();
        int second = pool.acquire();
        assertThat(first).isNotEqualTo(second);
        assertThatThrownBy(pool::acquire).isInstanceOf(TmountException.class);
        pool.release(first);
        assertThat(pool.acquire()).isEqualTo(first);
    }

    @Test
    void exhaustion_waitsThenFailsClearly() throws IOException {
        for (int i = 0; i < 4; i++) {
            sysfs.connect(i);
        }
        NbdDevicePool pool = pool(4, Duration.ofMillis(300));
        long start = System.nanoTime();
        assertThatThrownBy(pool::acquire)
                .isInstanceOf(TmountException.class)
                .hasMessageContaining("all 4 nbd devices").hasMessageContaining("NBD_POOL_SIZE")
                .satisfies(e -> assertThat(((TmountException) e).kind()).isEqualTo(TmountException.Kind.BUSY));
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(Duration.ofMillis(300));
    }

    @Test
    void exhaustion_endsWhenADeviceIsFreedWhileWaiting() throws Exception {
        for (int i = 0; i < 4; i++) {
            sysfs.connect(i);
        }
        NbdDevicePool pool = pool(4, Duration.ofSeconds(10));
        Thread freer = Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(200);
                sysfs.disconnect(3);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        assertThat(pool.acquire()).isEqualTo(3);
        freer.join();
    }

    @Test
    void poolSmallerThanTheModulesDevices_onlyUsesItsOwn() {
        NbdDevicePool pool = pool(2, Duration.ZERO);
        assertThat(List.of(pool.acquire(), pool.acquire())).containsExactlyInAnyOrder(0, 1);
        assertThatThrownBy(pool::acquire).hasMessageContaining("all 2 nbd devices");
    }

    @Test
    void noModule_isUnavailable_withTheModprobeHint() {
        NbdDevicePool pool = new NbdDevicePool(dir.resolve("empty"), dir.resolve("dev"), 8, Duration.ZERO);
        assertThat(pool.moduleLoaded()).isFalse();
        assertThatThrownBy(pool::acquire).hasMessageContaining("modprobe nbd nbds_max=8")
                .satisfies(e -> assertThat(((TmountException) e).kind()).isEqualTo(TmountException.Kind.UNAVAILABLE));
    }

    @Test
    void invalidSize_isRefused() {
        assertThatThrownBy(() -> pool(0, Duration.ZERO)).hasMessageContaining("nbd pool size (0)");
    }

    @Test
    void concurrentAcquireAndRelease_neverSharesADevice() throws Exception {
        NbdDevicePool pool = pool(4, Duration.ofSeconds(30));
        Set<Integer> inUse = ConcurrentHashMap.newKeySet();
        AtomicInteger overlaps = new AtomicInteger();
        try (ExecutorService threads = Executors.newFixedThreadPool(8)) {
            List<Future<?>> work = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                work.add(threads.submit(() -> {
                    for (int i = 0; i < 200; i++) {
                        int device = pool.acquire();
                        if (!inUse.add(device)) {
                            overlaps.incrementAndGet();
                        }
                        Thread.onSpinWait();
                        inUse.remove(device);
                        pool.release(device);
                    }
                    return null;
                }));
            }
            for (Future<?> f : work) {
                f.get();
            }
        }
        assertThat(overlaps).hasValue(0);
    }
}
