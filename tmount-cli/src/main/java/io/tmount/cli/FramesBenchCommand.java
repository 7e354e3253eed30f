package io.tmount.cli;

import io.tmount.ByteSize;
import io.tmount.compress.Compression;
import io.tmount.compress.FrameCodec;
import io.tmount.compress.FrameTable;
import io.tmount.compress.FramedWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.Callable;

/**
 * Frames a file as a compressed build's data object is framed, then decodes every frame on one thread, from memory:
 * the decode-throughput reference of the compression benchmark (the {@code zstd -d} CLI decodes the same object).
 */
@Command(name = "frames-bench", hidden = true,
        description = "Benchmark helper: frame FILE into OUT, decode OUT's frames on one thread; print the times.")
final class FramesBenchCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "FILE")
    Path input;

    @Parameters(index = "1", paramLabel = "OUT")
    Path output;

    @Option(names = "--compression", required = true)
    String compression;

    @Option(names = "--frame-size", defaultValue = "2M")
    String frameSize;

    @Option(names = "--rounds", defaultValue = "3")
    int rounds;

    @Override
    public Integer call() throws IOException {
        try (FrameCodec codec = FrameCodec.of(Compression.parse(compression), 0)) {
            return run(codec);
        }
    }

    private int run(FrameCodec codec) throws IOException {
        long length = Files.size(input);
        long encodeStart = System.nanoTime();
        FramedWriter.Result result;
        try (FileChannel in = FileChannel.open(input);
             FileChannel out = FileChannel.open(output, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                     StandardOpenOption.TRUNCATE_EXISTING)) {
            result = new FramedWriter(codec, (int) ByteSize.parse(frameSize).bytes()).write(in, length, out);
        }
        long encodeNanos = System.nanoTime() - encodeStart;
        FrameTable table = result.table();
        ByteBuffer stored = ByteBuffer.allocateDirect((int) Files.size(output));
        try (FileChannel in = FileChannel.open(output)) {
            while (stored.hasRemaining() && in.read(stored) >= 0) {
                // read it all into memory: the decoder alone is timed
            }
        }
        ByteBuffer frame = ByteBuffer.allocateDirect(Math.max(4096, (int) ByteSize.parse(frameSize).bytes()));
        long best = Long.MAX_VALUE;
        for (int round = 0; round < rounds; round++) {
            long start = System.nanoTime();
            for (int f = 0; f < table.count(); f++) {
                ByteBuffer src = stored.duplicate();
                src.limit((int) table.endC(f)).position((int) table.startC(f));
                codec.decode(src, frame.clear(), table.sizeU(f));
            }
            best = Math.min(best, System.nanoTime() - start);
        }
        // bytes frames stored encodeMs decodeMs (best round)
        spec.commandLine().getOut().printf("%d %d %d %d %d%n", length, result.storedBytes(), table.count(),
                encodeNanos / 1_000_000, best / 1_000_000);
        return 0;
    }
}
