package io.tmount.image;

import io.tmount.store.ObjectInfo;
import io.tmount.store.ObjectStore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An object store in front of another that counts ranged reads and the bytes they return, and can slow them down
 * or make the next ones fail: a hand-written fake for cache tests.
 */
final class CountingStore implements ObjectStore {

    private final ObjectStore inner;
    final AtomicLong reads = new AtomicLong();
    final AtomicLong bytes = new AtomicLong();
    final AtomicInteger failNext = new AtomicInteger();
    volatile long delayMillis;

    CountingStore(ObjectStore inner) {
        this.inner = inner;
    }

    @Override
    public String url() {
        return inner.url();
    }

    @Override
    public boolean exists(String key) throws IOException {
        return inner.exists(key);
    }

    @Override
    public ObjectInfo info(String key) throws IOException {
        return inner.info(key);
    }

    @Override
    public int read(String key, long offset, ByteBuffer dst) throws IOException {
        if (failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            throw new IOException("injected store failure");
        }
        if (delayMillis > 0) {
            try {
                Thread.sleep(delayMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        int n = inner.read(key, offset, dst);
        reads.incrementAndGet();
        if (n > 0) {
            bytes.addAndGet(n);
        }
        return n;
    }

    @Override
    public void download(String key, Path target) throws IOException {
        inner.download(key, target);
    }

    @Override
    public void upload(String key, Path source) throws IOException {
        inner.upload(key, source);
    }

    @Override
    public void put(String key, byte[] content) throws IOException {
        inner.put(key, content);
    }

    @Override
    public byte[] get(String key) throws IOException {
        return inner.get(key);
    }

    @Override
    public void delete(String key) throws IOException {
        inner.delete(key);
    }

    @Override
    public List<String> folders() throws IOException {
        return inner.folders();
    }
}
