package io.tmount.image;

import io.tmount.ByteSize;
import io.tmount.TmountException;
import io.tmount.os.LinuxFiles;

import java.io.EOFException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A mount's copy-on-write layer over a read-only image. Writes go to a sparse file at the same offsets; a 4 KiB-block
 * map records which blocks are the overlay's own and which read as zeros (after TRIM or WRITE_ZEROES). Reads take the
 * overlay's blocks first, then the image below. FLUSH syncs the data, then saves the map, so every write acknowledged
 * before a flush survives a crash. Owns its files' descriptors, not the image below.
 */
public final class Overlay implements BlockImage, LocalAccess {

    public static final int BLOCK = 4096;
    private static final int STRIPES = 256;
    private static final int ZERO_WRITE_BYTES = 1 << 20;

    /** Where a block's bytes come from. */
    public enum Source { BELOW, OWN, ZERO }

    private final BlockImage lower;
    private final long size;
    private final long blocks;
    private final Path dataFile;
    private final FileChannel data;
    private final int holeFd;
    private final OverlayMap savedMap;
    private final OverlayBlocks map;
    private final SpaceReclaimer reclaimer;
    private final ReentrantLock[] stripes = new ReentrantLock[STRIPES];
    private final Object flushing = new Object();
    private final AtomicLong mutations = new AtomicLong();
    private final AtomicLong mutationsBeyondFirstBlock = new AtomicLong();

    /** The largest device a writable overlay covers: ext4's largest file with 4 KiB blocks (2^32 blocks). */
    static final long MAX_SIZE = 16L << 40;

    private Overlay(BlockImage lower, Path dataFile, FileChannel data, int holeFd, OverlayMap savedMap,
                    OverlayMap.Saved saved, SpaceReclaimer reclaimer) {
        this.lower = lower;
        this.reclaimer = reclaimer;
        this.size = lower.size();
        this.blocks = (size + BLOCK - 1) / BLOCK;
        this.dataFile = dataFile;
        this.data = data;
        this.holeFd = holeFd;
        this.savedMap = savedMap;
        this.map = new OverlayBlocks(blocks, saved);
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new ReentrantLock();
        }
    }

    /**
     * Opens the overlay kept in {@code dir} ({@code overlay.data}, {@code overlay.map}) over {@code lower}: an existing
     * one with the state of its last flush, or a new empty one.
     */
    public static Overlay open(BlockImage lower, Path dir) throws IOException {
        return open(lower, dir, SpaceReclaimer.NONE);
    }

    /**
     * The same; when the disk is full, {@code reclaimer} is asked to make room (the chunk cache gives way: what it
     * holds can be fetched again, an overlay's writes cannot be made again) before a write fails.
     */
    public static Overlay open(BlockImage lower, Path dir, SpaceReclaimer reclaimer) throws IOException {
        if (lower.size() > MAX_SIZE) {
            throw TmountException.invalid("a writable overlay covers at most %s (the largest file ext4 holds with "
                    + "4 KiB blocks, and 1 GiB of block maps in memory); this image is %s (%d bytes): use it read-only",
                    ByteSize.format(MAX_SIZE), ByteSize.format(lower.size()), lower.size());
        }
        Files.createDirectories(dir);
        Path dataFile = dir.resolve("overlay.data");
        OverlayMap map = new OverlayMap(dir.resolve("overlay.map"), lower.size(), BLOCK);
        OverlayMap.Saved saved = map.load();
        try (RandomAccessFile file = new RandomAccessFile(dataFile.toFile(), "rw")) {
            if (file.length() != lower.size()) {
                file.setLength(lower.size());
            }
        } catch (IOException e) {
            if (String.valueOf(e.getMessage()).contains("File too large")) { // EFBIG: the state dir's filesystem
                throw TmountException.invalid("the filesystem of %s cannot hold a file of %s, the size of the "
                        + "overlay this image needs: put the state dir on one that can (ext4, xfs)", dir,
                        ByteSize.format(lower.size()));
            }
            throw e;
        }
        FileChannel data = FileChannel.open(dataFile, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            return new Overlay(lower, dataFile, data, LinuxFiles.openReadWrite(dataFile), map, saved, reclaimer);
        } catch (IOException | RuntimeException e) {
            data.close();
            throw e;
        }
    }

    @Override
    public long size() {
        return size;
    }

    public Source source(long block) {
        return map.source(block);
    }

    @Override
    public void read(ByteBuffer dst, long offset) throws IOException {
        int limit = dst.limit();
        try {
            forEachRun(offset, offset + dst.remaining(), (source, position, n) -> {
                dst.limit(dst.position() + n);
                switch (source) {
                    case ZERO -> Zeros.fill(dst, n);
                    case OWN -> readOwn(dst, position);
                    case BELOW -> lower.read(dst, position);
                }
                dst.limit(limit);
            });
        } finally {
            dst.limit(limit);
        }
    }

    private interface RunAction {
        void run(Source source, long position, int length) throws IOException;
    }

    /** Bytes {@code [start, end)}, whose blocks all have one source. */
    record Run(Source source, long start, long end) {
        long length() {
            return end - start;
        }
    }

    /** The longest run of blocks of one source from {@code position}, cut at {@code end}: the one walk of the map. */
    Run runAt(long position, long end) {
        return map.runAt(position, end);
    }

    /** The same, counting only changes since the last {@link #mark}: older ones read as {@link Source#BELOW}. */
    Run runSinceMarkAt(long position, long end) {
        return map.runAt(position, end, true);
    }

    /**
     * What the overlay holds now is committed as a layer: diffs since the mark ({@link LayerDiff}) hold only what
     * changes from here on, for the next layer over that one. Call with nothing writing (a frozen filesystem).
     */
    public void mark() {
        map.mark();
    }

    /** Own blocks changed since the last mark (all of them when never marked). */
    public long ownBlocksSinceMark() {
        return map.ownCountSinceMark();
    }

    /** Calls {@code action} on each longest run of blocks of one source in {@code [offset, end)}, in order. */
    private void forEachRun(long offset, long end, RunAction action) throws IOException {
        for (long position = offset; position < end; ) {
            Run run = runAt(position, end);
            action.run(run.source(), position, (int) run.length());
            position = run.end();
        }
    }

    /** The overlay's own blocks are data, its zeroed blocks {@link Extent#SPARSE}; the rest is as the image below. */
    @Override
    public List<Extent> extents(long offset, long length) throws IOException {
        Extents out = new Extents();
        long position = offset;
        long end = offset + length;
        while (position < end && !out.full()) {
            Run run = runAt(position, end);
            long runEnd = run.end();
            switch (run.source()) {
                case OWN -> out.add(runEnd - position, 0);
                case ZERO -> out.add(runEnd - position, Extent.SPARSE);
                case BELOW -> {
                    List<Extent> below = lower.extents(position, runEnd - position);
                    out.addAll(below);
                    long got = below.stream().mapToLong(Extent::length).sum();
                    if (got < runEnd - position) {
                        return out.list(); // the image below answered for a prefix only: so do we
                    }
                }
            }
            position = runEnd;
        }
        return out.list();
    }

    @Override
    public void cache(long offset, long length) throws IOException {
        lower.cache(offset, length);
    }

    /** Whole blocks are written without reading anything; a partial block may copy up its old bytes from below. */
    @Override
    public boolean writesLocally(long offset, long length) {
        return (offset % BLOCK == 0 && (length % BLOCK == 0 || offset + length == size)) || readsLocally(offset, length);
    }

    /** Own blocks go out straight from the overlay's file, zeroed ones as zeros, the rest as the image below sends it. */
    @Override
    public boolean transfersDirectly(long offset, long length) {
        long below = map.firstBelow(offset, length);
        return below < 0 || LocalAccess.transfersDirectly(lower, below, offset + length - below);
    }

    @Override
    public long transferTo(long offset, int length, WritableByteChannel target) throws IOException {
        long[] waited = {0};
        forEachRun(offset, offset + length, (source, position, n) -> waited[0] += switch (source) {
            case ZERO -> Zeros.send(n, target);
            case OWN -> Sendfile.send(data, position, n, target, dataFile);
            case BELOW -> LocalAccess.transfer(lower, position, n, target);
        });
        return waited[0];
    }

    /** The overlay's own and zeroed blocks are local; the rest is as local as the image below. */
    @Override
    public boolean readsLocally(long offset, long length) {
        long below = map.firstBelow(offset, length);
        return below < 0 || LocalAccess.readsLocally(lower, below, offset + length - below);
    }

    /** Reads the overlay's own bytes at {@code offset} (whatever the map says): for commit. */
    public void readOwn(ByteBuffer dst, long offset) throws IOException {
        long position = offset;
        while (dst.hasRemaining()) {
            int n = data.read(dst, position);
            if (n < 0) {
                throw new EOFException(dataFile + " is shorter than the device");
            }
            position += n;
        }
    }

    /**
     * Whether the overlay holds a block of its own or zeroed beyond block 0: what a mount restored after a crash
     * has written before it (its write counts start again at 0 when the overlay is reopened).
     */
    public boolean changedBeyondFirstBlock() {
        return map.changedBeyondFirstBlock();
    }

    /** How many writes, trims and zeroings this overlay has taken since it was opened. */
    public long mutations() {
        return mutations.get();
    }

    /**
     * How many of them reached beyond block 0. ext4 keeps its superblock in block 0 and rewrites it when thawed and
     * at other bookkeeping moments, none of which changes a file; every change of content touches other blocks too.
     */
    public long mutationsBeyondFirstBlock() {
        return mutationsBeyondFirstBlock.get();
    }

    private void countMutation(long offset, long length) {
        mutations.incrementAndGet();
        if (offset + length > BLOCK) {
            mutationsBeyondFirstBlock.incrementAndGet();
        }
    }

    @Override
    public void write(ByteBuffer src, long offset) throws IOException {
        countMutation(offset, src.remaining());
        writeUncounted(src, offset);
    }

    private void writeUncounted(ByteBuffer src, long offset) throws IOException {
        int limit = src.limit();
        long position = offset;
        long end = offset + src.remaining();
        try {
            while (position < end) {
                long block = position / BLOCK;
                long blockStart = block * BLOCK;
                long blockEnd = Math.min(size, blockStart + BLOCK);
                if (position == blockStart && end >= blockEnd) {
                    // whole blocks: written in place, then claimed
                    long bodyEnd = Math.min(end, blockStart + (end - blockStart) / BLOCK * BLOCK);
                    if (end == size) {
                        bodyEnd = end;
                    }
                    src.limit(src.position() + (int) (bodyEnd - position));
                    writeData(src, position);
                    src.limit(limit);
                    claim(block, (bodyEnd + BLOCK - 1) / BLOCK);
                    position = bodyEnd;
                } else {
                    int n = (int) (Math.min(end, blockEnd) - position);
                    src.limit(src.position() + n);
                    writePartial(block, (int) (position - blockStart), src);
                    src.limit(limit);
                    position += n;
                }
            }
        } finally {
            src.limit(limit);
        }
    }

    /** Part of one block: if the block is not yet the overlay's, its old bytes are copied up first. */
    private void writePartial(long block, int inBlock, ByteBuffer src) throws IOException {
        long blockStart = block * BLOCK;
        int blockLength = (int) Math.min(BLOCK, size - blockStart);
        ReentrantLock lock = stripes[(int) (block % STRIPES)];
        lock.lock();
        try {
            if (source(block) == Source.OWN) {
                writeData(src, blockStart + inBlock);
                claim(block, block + 1); // already its own: counts as changed since the last mark
                return;
            }
            ByteBuffer whole = ByteBuffer.allocate(blockLength);
            if (source(block) == Source.BELOW) {
                lower.read(whole, blockStart);
            }
            whole.position(inBlock);
            whole.put(src);
            whole.clear(); // the whole block, old bytes after the new ones included
            writeData(whole, blockStart);
            claim(block, block + 1);
        } finally {
            lock.unlock();
        }
    }

    /** Blocks from..to-1, whose data is written, become the overlay's own. */
    private void claim(long from, long to) {
        map.claim(from, to);
    }

    private void writeData(ByteBuffer src, long offset) throws IOException {
        int start = src.position();
        try {
            writeFully(src, offset);
        } catch (IOException e) {
            if (!LinuxFiles.isNoSpace(e)) {
                throw e;
            }
            if (reclaimer.reclaim(src.remaining()) == 0) {
                throw new IOException("the state dir's disk is full: the overlay " + dataFile + " cannot grow (No "
                        + "space left on device), and no cached chunk was left to evict", e);
            }
            writeFully(src, offset + (src.position() - start)); // the rest, into the room made
        }
    }

    private void writeFully(ByteBuffer src, long offset) throws IOException {
        long position = offset;
        while (src.hasRemaining()) {
            position += data.write(src, position);
        }
    }

    @Override
    public void trim(long offset, long length) throws IOException {
        writeZeroes(offset, length, false);
    }

    /**
     * Whole blocks become zero blocks (their space is freed); partial blocks are written with zeros. With
     * {@code allocate} (NBD's NO_HOLE) the whole range is written with zeros instead: the overlay's own, allocated.
     */
    @Override
    public void writeZeroes(long offset, long length, boolean allocate) throws IOException {
        countMutation(offset, length);
        long end = offset + length;
        if (allocate) {
            writeZeroBytes(offset, end);
            return;
        }
        long firstWhole = (offset + BLOCK - 1) / BLOCK;
        long lastWhole = end == size ? blocks : end / BLOCK;
        if (firstWhole >= lastWhole) {
            writeZeroBytes(offset, end);
            return;
        }
        writeZeroBytes(offset, Math.min(end, firstWhole * BLOCK));
        map.zero(firstWhole, lastWhole); // reads give zeros from here on
        // frees the space where the filesystem can; either way the map makes these blocks read as zeros
        LinuxFiles.punchHoleIfSupported(holeFd, firstWhole * BLOCK, Math.min(size, lastWhole * BLOCK) - firstWhole * BLOCK);
        writeZeroBytes(Math.min(size, lastWhole * BLOCK), end);
    }

    private void writeZeroBytes(long from, long to) throws IOException {
        for (long position = from; position < to; ) {
            int n = (int) Math.min(ZERO_WRITE_BYTES, to - position);
            writeUncounted(ByteBuffer.allocate(n), position);
            position += n;
        }
    }

    /**
     * Makes every completed write durable: the map is captured first and saved only after the data is synced, so
     * the saved map never names a block whose bytes might not be on disk.
     */
    @Override
    public void flush() throws IOException {
        synchronized (flushing) {
            OverlayBlocks.Snapshot now = map.snapshot();
            data.force(false);
            savedMap.save(now.owned(), now.zeroed());
        }
    }

    /** Blocks that are the overlay's own data, and blocks that read as zeros. */
    public long ownBlocks() {
        return map.ownCount();
    }

    public long zeroBlocks() {
        return map.zeroCount();
    }

    public long blocks() {
        return blocks;
    }

    public BlockImage lower() {
        return lower;
    }

    @Override
    public void close() throws IOException {
        try {
            data.close();
        } finally {
            LinuxFiles.close(holeFd);
        }
    }
}
