package io.tmount.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.IntConsumer;

/**
 * Objects by key ({@code buildId/rootfs.ext4}): the only thing tmount asks of a template store.
 * Keys are relative, '/'-separated, without empty, '.' or '..' segments.
 */
public interface ObjectStore extends AutoCloseable {

    /** The store's URL, for messages and listings ({@code file:///var/lib/tmount/templates}). */
    String url();

    boolean exists(String key) throws IOException;

    /** The object's size and version; {@link NoSuchObjectException} when absent. */
    ObjectInfo info(String key) throws IOException;

    /** The object's size; {@link NoSuchObjectException} when absent. */
    default long size(String key) throws IOException {
        return info(key).size();
    }

    /** Reads up to {@code dst.remaining()} bytes from {@code offset}; returns the count, -1 at the end. */
    int read(String key, long offset, ByteBuffer dst) throws IOException;

    /**
     * As {@link #read}, telling {@code arrived} {@code dst}'s position whenever bytes have arrived: the bytes before it
     * are final (a body that breaks off is asked for again from where it stopped, never from before). By default it
     * is told once, at the end.
     */
    default int read(String key, long offset, ByteBuffer dst, IntConsumer arrived) throws IOException {
        int n = read(key, offset, dst);
        if (n > 0) {
            arrived.accept(dst.position());
        }
        return n;
    }

    /** Fills all of {@code dst} from {@code offset}; an object that ends first is an {@link java.io.EOFException}. */
    default void readFully(String key, long offset, ByteBuffer dst) throws IOException {
        readFully(key, offset, dst, position -> {
        });
    }

    /** As {@link #readFully}, telling {@code arrived} how far {@code dst} is filled as bytes arrive ({@link #read}). */
    default void readFully(String key, long offset, ByteBuffer dst, IntConsumer arrived) throws IOException {
        long position = offset;
        while (dst.hasRemaining()) {
            int n = read(key, position, dst, arrived);
            if (n < 0) {
                throw new java.io.EOFException(key + " ends at " + position + ", " + dst.remaining()
                        + " bytes short of what was asked");
            }
            position += n;
        }
    }

    /** Copies the whole object to a local file (replacing it). */
    void download(String key, Path target) throws IOException;

    /** Stores a local file under the key, replacing any object there; readers never see a partial object. */
    void upload(String key, Path source) throws IOException;

    void put(String key, byte[] content) throws IOException;

    /**
     * Stores a local file under the key only if no object is there, atomically with respect to other writers:
     * {@link ObjectExistsException} otherwise. Readers never see a partial object.
     */
    void create(String key, Path source) throws IOException;

    void create(String key, byte[] content) throws IOException;

    byte[] get(String key) throws IOException;

    void delete(String key) throws IOException;

    /** The folder holding the objects when the store is on this host (so mounts can be kept out of it). */
    default Optional<Path> localRoot() {
        return Optional.empty();
    }

    /**
     * Removes what writes under {@code folder} left half done when their process died (a local store's temp files;
     * an object store's unfinished uploads are invisible and expire by its lifecycle rules). Idempotent.
     */
    default void removeUnfinishedWrites(String folder) throws IOException {
    }

    /** The keys of the objects directly in {@code folder} (no deeper), as full keys, sorted; none when it has none. */
    List<String> keys(String folder) throws IOException;

    /** The names of the folders directly in {@code folder}, sorted; none when it has none. */
    List<String> folders(String folder) throws IOException;

    /** The top-level folders (one per build), sorted. */
    List<String> folders() throws IOException;

    @Override
    default void close() throws IOException {
    }
}
