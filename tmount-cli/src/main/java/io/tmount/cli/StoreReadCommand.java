package io.tmount.cli;

import io.tmount.ByteSize;
import io.tmount.TmountException;
import io.tmount.store.BuildId;
import io.tmount.store.ObjectStore;
import io.tmount.store.TemplateStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.Callable;

/**
 * Reads byte ranges of a build's rootfs object straight from the store with the same client and chunk size the
 * chunk cache uses, one ranged GET after another or N at once, and reports the throughput: the plain-download
 * references of the S3 benchmark.
 */
@Command(name = "store-read", hidden = true,
        description = "Benchmark helper: read ranges of a build's rootfs from the store with ranged GETs; print the rate.")
final class StoreReadCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "BUILD")
    String build;

    @Option(names = "--ranges", required = true, split = ",", paramLabel = "OFFSET:LENGTH",
            description = "Byte ranges, read in this order.")
    String[] ranges;

    @Option(names = "--chunk", defaultValue = "4M", description = "Bytes per ranged GET (default ${DEFAULT-VALUE}).")
    String chunk;

    @Option(names = "--parallel", defaultValue = "1", paramLabel = "N",
            description = "Ranged GETs in flight at once (default ${DEFAULT-VALUE}: one after another).")
    int parallel;

    @Override
    public Integer call() throws IOException, InterruptedException {
        int chunkSize = (int) ByteSize.parse(chunk).bytes();
        if (parallel < 1) {
            throw TmountException.invalid("--parallel must be at least 1");
        }
        String key = TemplateStore.rootfsKey(BuildId.of(build));
        java.util.concurrent.ConcurrentLinkedQueue<long[]> pieces = new java.util.concurrent.ConcurrentLinkedQueue<>();
        for (String range : ranges) {
            String[] parts = range.split(":");
            if (parts.length != 2) {
                throw TmountException.invalid("range '%s' is not OFFSET:LENGTH", range);
            }
            long offset = Long.parseLong(parts[0]);
            long end = offset + Long.parseLong(parts[1]);
            for (long position = offset; position < end; position += chunkSize) {
                pieces.add(new long[]{position, Math.min(chunkSize, end - position)});
            }
        }
        java.util.concurrent.atomic.AtomicLong total = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicReference<IOException> failure = new java.util.concurrent.atomic.AtomicReference<>();
        try (ObjectStore store = main.settings().store().open()) {
            long start = System.nanoTime();
            java.util.List<Thread> readers = new java.util.ArrayList<>();
            for (int i = 0; i < parallel; i++) {
                readers.add(Thread.ofVirtual().start(() -> {
                    ByteBuffer buffer = ByteBuffer.allocateDirect(chunkSize);
                    long[] piece;
                    while (failure.get() == null && (piece = pieces.poll()) != null) {
                        try {
                            buffer.clear().limit((int) piece[1]);
                            store.readFully(key, piece[0], buffer);
                            total.addAndGet(piece[1]);
                        } catch (IOException e) {
                            failure.compareAndSet(null, e);
                        }
                    }
                }));
            }
            for (Thread reader : readers) {
                reader.join();
            }
            if (failure.get() != null) {
                throw failure.get();
            }
            long millis = Math.max(1, (System.nanoTime() - start) / 1_000_000);
            spec.commandLine().getOut().printf("%d %d%n", total.get(), millis);
            spec.commandLine().getErr().printf("read %s in %d ms with %d in flight: %.1f MiB/s%n",
                    ByteSize.format(total.get()), millis, parallel, total.get() / 1048576.0 / (millis / 1000.0));
        }
        return 0;
    }
}
