package io.tmount.nbd;

import io.tmount.image.BlockImage;
import io.tmount.image.FileImage;
import io.tmount.image.LocalAccess;
import io.tmount.testing.HostTool;
import io.tmount.testing.NoLeftovers;
import io.tmount.testing.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A host where sendfile is the slow way (made so: each sendfile also sleeps, reported as time waiting for the
 * client, as a slow socket would be): a connection measures both ways and then copies, and nbdcopy gets every byte
 * right through both.
 */
@ExtendWith(NoLeftovers.class)
class LargeReadPathServerTest {

    private static final int MIB = 1 << 20;
    private static final int SIZE_MIB = 768; // a warm-up and four probes of 64 MiB, then the chosen way

    @TempDir
    Path dir;

    /** A file image whose sendfile takes 10 ms longer, all of it reported as waiting for the client. */
    private static final class SlowSendfile implements BlockImage, LocalAccess {
        final FileImage file;
        final AtomicInteger sendfiles = new AtomicInteger();
        final AtomicInteger copies = new AtomicInteger();
        final AtomicLong lastSendfile = new AtomicLong(-1);

        SlowSendfile(FileImage file) {
            this.file = file;
        }

        @Override
        public long transferTo(long offset, int length, WritableByteChannel target) throws IOException {
            sendfiles.incrementAndGet();
            lastSendfile.accumulateAndGet(offset, Math::max);
            long waited = file.transferTo(offset, length, target);
            long start = System.nanoTime();
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
            return waited + System.nanoTime() - start;
        }

        @Override
        public void read(ByteBuffer dst, long offset) throws IOException {
            if (dst.remaining() > 32 * 1024) {
                copies.incrementAndGet();
            }
            file.read(dst, offset);
        }

        @Override
        public boolean readsLocally(long offset, long length) {
            return file.readsLocally(offset, length);
        }

        @Override
        public boolean writesLocally(long offset, long length) {
            return false;
        }

        @Override
        public boolean transfersDirectly(long offset, long length) {
            return file.transfersDirectly(offset, length);
        }

        @Override
        public long size() {
            return file.size();
        }

        @Override
        public void write(ByteBuffer src, long offset) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void trim(long offset, long length) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void writeZeroes(long offset, long length, boolean allocate) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() throws IOException {
            file.close();
        }
    }

    @Test
    void aConnectionWhoseSendfileIsSlowCopiesAndEveryByteArrives() throws IOException {
        String nbdcopy = HostTool.require("nbdcopy", "libnbd-bin").toString();
        Path disk = dir.resolve("disk.img");
        byte[] block = new byte[MIB];
        new Random(7).nextBytes(block);
        try (FileChannel out = FileChannel.open(disk, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (int i = 0; i < SIZE_MIB; i++) {
                ByteBuffer buffer = ByteBuffer.wrap(block);
                buffer.putInt(0, i); // every MiB differs: a block sent twice or out of place shows
                while (buffer.hasRemaining()) {
                    out.write(buffer);
                }
            }
        }
        try (SlowSendfile image = new SlowSendfile(FileImage.open(disk, true));
             NbdServer server = NbdServer.start(NbdListen.unix(dir.resolve("nbd.sock")),
                     new NbdExport("disk", "", image, true))) {
            Path copy = dir.resolve("copy.img");
            Run.ok(nbdcopy, "--connections=1", "--requests=16", "--request-size=" + MIB, server.endpoint().uri(),
                    copy.toString());
            assertThat(Files.mismatch(disk, copy)).isEqualTo(-1);
            // A warm-up of 64 reads by sendfile, probes alternate 64 reads each way, then everything is copied. (Reads also go to threads while
            // sendfile seems slow to the server's storage check, and a probe voided by a pause of the client is
            // measured again: so the counts are bounds, and the end of the image is where the choice shows.)
            String counts = "sendfiles " + image.sendfiles + ", copies " + image.copies + ", last sendfile at MiB "
                    + image.lastSendfile.get() / MIB;
            assertThat(image.sendfiles.get()).as(counts).isBetween(1, 384);
            assertThat(image.copies.get()).as(counts).isGreaterThanOrEqualTo(SIZE_MIB - 384);
            assertThat(image.lastSendfile.get()).as(counts).isLessThan((long) (SIZE_MIB - 128) * MIB);
        }
    }
}
