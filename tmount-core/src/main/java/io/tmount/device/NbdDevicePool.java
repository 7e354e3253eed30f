package io.tmount.device;

import io.tmount.TmountException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.BitSet;

/**
 * The host's /dev/nbdN devices, handed out one mount at a time. A device is free when the kernel says so
 * ({@code /sys/block/nbdN/pid} absent and {@code size} 0) and no caller of this pool holds it; the second
 * check covers the moment between handing a device out and the kernel seeing it connected.
 * Like e2b's pool, its size is configurable (NBD_POOL_SIZE) and bounded by the module's nbds_max.
 */
public final class NbdDevicePool {

    private final Path sysBlock;
    private final Path devDir;
    private final int size;
    private final Duration acquireTimeout;
    private final BitSet held = new BitSet();
    private int next;

    public NbdDevicePool(Path sysBlock, Path devDir, int size, Duration acquireTimeout) {
        if (size < 1) {
            throw TmountException.invalid("nbd pool size (%d) must be at least 1", size);
        }
        this.sysBlock = sysBlock;
        this.devDir = devDir;
        this.size = size;
        this.acquireTimeout = acquireTimeout;
    }

    public static NbdDevicePool onThisHost(int size, Duration acquireTimeout) {
        return new NbdDevicePool(Path.of("/sys/block"), Path.of("/dev"), size, acquireTimeout);
    }

    /** Whether the nbd module is loaded (its devices appear in sysfs). */
    public boolean moduleLoaded() {
        return Files.isDirectory(sysBlock.resolve("nbd0"));
    }

    public int size() {
        return size;
    }

    public Path devicePath(int index) {
        return devDir.resolve("nbd" + index);
    }

    /** Takes a free device, waiting up to the timeout for one to become free. */
    public int acquire() {
        if (!moduleLoaded()) {
            throw new TmountException(TmountException.Kind.UNAVAILABLE,
                    "no nbd devices: " + sysBlock.resolve("nbd0") + " is missing (load the module: modprobe nbd nbds_max=" + size + ")");
        }
        long deadline = System.nanoTime() + acquireTimeout.toNanos();
        while (true) {
            int index = tryAcquire();
            if (index >= 0) {
                return index;
            }
            if (System.nanoTime() > deadline) {
                throw new TmountException(TmountException.Kind.BUSY, String.format(
                        "all %d nbd devices of the pool (/dev/nbd0../dev/nbd%d) are in use; waited %d s for one. "
                                + "Unmount something, or raise the pool size (NBD_POOL_SIZE, at most the module's nbds_max)",
                        size, size - 1, acquireTimeout.toSeconds()));
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new TmountException(TmountException.Kind.FAILED, "interrupted while waiting for an nbd device");
            }
        }
    }

    /** A free device, or -1. Scans from where the last search stopped, so released devices rest a while. */
    synchronized int tryAcquire() {
        for (int i = 0; i < size; i++) {
            int index = (next + i) % size;
            if (!held.get(index) && kernelFree(index)) {
                held.set(index);
                next = (index + 1) % size;
                return index;
            }
        }
        return -1;
    }

    public synchronized void release(int index) {
        held.clear(index);
    }

    /** Devices this process holds (attached, or adopted from an earlier run). */
    public synchronized int inUse() {
        return held.cardinality();
    }

    /** Adopts a device found connected by an earlier process so that nobody else takes it until it is reclaimed. */
    public synchronized void hold(int index) {
        held.set(index);
    }

    /** Free in the kernel's eyes: the device exists, has no client pid and a zero size. */
    public boolean kernelFree(int index) {
        Path dir = sysBlock.resolve("nbd" + index);
        return Files.isDirectory(dir) && !Files.exists(dir.resolve("pid")) && sizeSectors(index) == 0;
    }

    /** Connected in the kernel's eyes: it has a size. */
    public boolean connected(int index) {
        return sizeSectors(index) > 0;
    }

    private long sizeSectors(int index) {
        try {
            return Long.parseLong(Files.readString(sysBlock.resolve("nbd" + index).resolve("size")).strip());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }
}
