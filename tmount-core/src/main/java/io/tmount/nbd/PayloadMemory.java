package io.tmount.nbd;

import com.sun.management.HotSpotDiagnosticMXBean;

import java.lang.management.ManagementFactory;

/**
 * The payload budgets every NBD server of one process draws from, besides its own: one for the servers of mounts
 * (their clients are the kernel and nbdfuse) and one for exports (any client that reaches the socket), so clients of
 * exports can never take the memory mounts need. Together they stay within half the JVM's direct memory: without
 * this, 64 clients on each of a few exports announcing 32 MiB writes exhausted a 256 MiB heap's direct memory and
 * requests of unrelated mounts failed with OutOfMemoryError.
 */
public record PayloadMemory(PayloadBudget mounts, PayloadBudget exports) {

    /** Neither share goes below one maximal request. */
    static final long MIN_SHARE_BYTES = 32L << 20;

    /** Half of this JVM's direct memory, split evenly. */
    public static PayloadMemory ofThisJvm() {
        return ofTotal(maxDirectMemory() / 2);
    }

    public static PayloadMemory ofTotal(long bytes) {
        long share = Math.max(MIN_SHARE_BYTES, bytes / 2);
        return new PayloadMemory(new PayloadBudget(share), new PayloadBudget(share));
    }

    /** -XX:MaxDirectMemorySize, whose default (0) means the heap's maximum size. */
    static long maxDirectMemory() {
        try {
            String value = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                    .getVMOption("MaxDirectMemorySize").getValue();
            long configured = Long.parseLong(value);
            if (configured > 0) {
                return configured;
            }
        } catch (RuntimeException e) {
            // not a HotSpot JVM: fall back to the heap's size, HotSpot's default too
        }
        return Runtime.getRuntime().maxMemory();
    }
}
