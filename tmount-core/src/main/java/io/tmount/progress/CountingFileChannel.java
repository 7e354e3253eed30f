package io.tmount.progress;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/** A file channel that counts the bytes read from and written to it into a {@link ProgressCounter}. */
public final class CountingFileChannel extends FileChannel {

    private final FileChannel channel;
    private final ProgressCounter counter;

    private CountingFileChannel(FileChannel channel, ProgressCounter counter) {
        this.channel = channel;
        this.counter = counter;
    }

    public static FileChannel of(FileChannel channel, ProgressCounter counter) {
        return counter == null ? channel : new CountingFileChannel(channel, counter);
    }

    private <T extends Number> T counted(T n) {
        counter.add(n.longValue());
        return n;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        return counted(channel.read(dst));
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        return counted(channel.read(dsts, offset, length));
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        return counted(channel.write(src));
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        return counted(channel.write(srcs, offset, length));
    }

    @Override
    public long position() throws IOException {
        return channel.position();
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
        channel.position(newPosition);
        return this;
    }

    @Override
    public long size() throws IOException {
        return channel.size();
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
        channel.truncate(size);
        return this;
    }

    @Override
    public void force(boolean metaData) throws IOException {
        channel.force(metaData);
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
        return counted(channel.transferTo(position, count, target));
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
        return counted(channel.transferFrom(src, position, count));
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
        return counted(channel.read(dst, position));
    }

    @Override
    public int write(ByteBuffer src, long position) throws IOException {
        return counted(channel.write(src, position));
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) throws IOException {
        return channel.map(mode, position, size);
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) throws IOException {
        return channel.lock(position, size, shared);
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) throws IOException {
        return channel.tryLock(position, size, shared);
    }

    @Override
    protected void implCloseChannel() throws IOException {
        channel.close();
    }
}
