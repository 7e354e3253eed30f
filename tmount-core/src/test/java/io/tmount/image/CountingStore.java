package io.tmount.image;

import io.tmount.store.ObjectStore;
import io.tmount.testing.ForwardingStore;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * An object store in front of another that counts ranged reads and the bytes they return, and can slow them down
 * or make the next ones fail: a hand-written fake for cache tests.
 */
final class CountingStore extends ForwardingStore {

    final AtomicLong reads = new AtomicLong();
    final AtomicLong bytes = new AtomicLong();
    final AtomicInteger failNext = new AtomicInteger();
    volatile long delayMillis;

    CountingStore(ObjectStore inner) {
        super(inner);
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
}
