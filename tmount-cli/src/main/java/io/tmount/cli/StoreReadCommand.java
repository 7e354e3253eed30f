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
 * chunk cache uses, one ranged GET after another, and reports the throughput: the plain-download reference of the
 * S3 benchmark.
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

    @Override
    public Integer call() throws IOException {
        int chunkSize = (int) ByteSize.parse(chunk).bytes();
        String key = TemplateStore.rootfsKey(BuildId.of(build));
        ByteBuffer buffer = ByteBuffer.allocateDirect(chunkSize);
        long total = 0;
        try (ObjectStore store = main.settings().store().open()) {
            long start = System.nanoTime();
            for (String range : ranges) {
                String[] parts = range.split(":");
                if (parts.length != 2) {
                    throw TmountException.invalid("range '%s' is not OFFSET:LENGTH", range);
                }
                long offset = Long.parseLong(parts[0]);
                long end = offset + Long.parseLong(parts[1]);
                for (long position = offset; position < end; ) {
                    buffer.clear().limit((int) Math.min(chunkSize, end - position));
                    int n = store.read(key, position, buffer);
                    if (n <= 0) {
                        throw new IOException(key + " ended at " + position);
                    }
                    position += n;
                    total += n;
                }
            }
            long millis = Math.max(1, (System.nanoTime() - start) / 1_000_000);
            spec.commandLine().getOut().printf("%d %d%n", total, millis);
            spec.commandLine().getErr().printf("read %s in %d ms: %.1f MiB/s%n", ByteSize.format(total), millis,
                    total / 1048576.0 / (millis / 1000.0));
        }
        return 0;
    }
}
