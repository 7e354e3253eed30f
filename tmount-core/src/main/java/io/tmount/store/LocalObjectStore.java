package io.tmount.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/** A template store in a local folder: one file per object, written through a temp file and an atomic rename. */
final class LocalObjectStore implements ObjectStore {

    private final Path root;

    LocalObjectStore(Path root) {
        this.root = root;
    }

    @Override
    public String url() {
        return StoreLocation.Local.urlOf(root);
    }

    @Override
    public Optional<Path> localRoot() {
        return Optional.of(root);
    }

    @Override
    public boolean exists(String key) {
        return Files.isRegularFile(file(key));
    }

    @Override
    public ObjectInfo info(String key) throws IOException {
        try {
            BasicFileAttributes attributes = Files.readAttributes(file(key), BasicFileAttributes.class);
            // objects are replaced by rename, so a new object is a new inode
            return new ObjectInfo(attributes.size(), attributes.fileKey() + ":" + attributes.lastModifiedTime().toInstant()
                    + ":" + attributes.size());
        } catch (NoSuchFileException e) {
            throw new NoSuchObjectException(url(), key);
        }
    }

    @Override
    public int read(String key, long offset, ByteBuffer dst) throws IOException {
        try (FileChannel channel = FileChannel.open(file(key), StandardOpenOption.READ)) {
            int total = 0;
            while (dst.hasRemaining()) {
                int n = channel.read(dst, offset + total);
                if (n < 0) {
                    return total == 0 ? -1 : total;
                }
                total += n;
            }
            return total;
        } catch (NoSuchFileException e) {
            throw new NoSuchObjectException(url(), key);
        }
    }

    @Override
    public void download(String key, Path target) throws IOException {
        try {
            io.tmount.os.SparseCopy.copy(file(key), target);
        } catch (NoSuchFileException e) {
            if (!exists(key)) {
                throw new NoSuchObjectException(url(), key);
            }
            throw e;
        }
    }

    @Override
    public void upload(String key, Path source) throws IOException {
        write(key, part -> io.tmount.os.SparseCopy.copy(source, part), false);
    }

    @Override
    public void put(String key, byte[] content) throws IOException {
        write(key, part -> Files.write(part, content), false);
    }

    @Override
    public void create(String key, Path source) throws IOException {
        write(key, part -> io.tmount.os.SparseCopy.copy(source, part), true); // holes stay holes
    }

    @Override
    public void create(String key, byte[] content) throws IOException {
        write(key, part -> Files.write(part, content), true);
    }

    private interface PartWriter {
        void write(Path part) throws IOException;
    }

    /**
     * Writes a temp file beside the target and makes it durable, then publishes it under its name in one step: a
     * rename (replacing), or a hard link, which fails if the name is taken (create-only).
     */
    private void write(String key, PartWriter content, boolean createOnly) throws IOException {
        Path target = file(key);
        Files.createDirectories(target.getParent());
        Path part = target.resolveSibling("." + target.getFileName() + ".part-" + UUID.randomUUID());
        try {
            content.write(part);
            try (FileChannel channel = FileChannel.open(part, StandardOpenOption.WRITE)) {
                channel.force(true);
            }
            if (createOnly) {
                try {
                    Files.createLink(target, part);
                } catch (FileAlreadyExistsException e) {
                    throw new ObjectExistsException(url(), key);
                }
            } else {
                Files.move(part, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(part);
        }
    }

    @Override
    public byte[] get(String key) throws IOException {
        try {
            return Files.readAllBytes(file(key));
        } catch (NoSuchFileException e) {
            throw new NoSuchObjectException(url(), key);
        }
    }

    @Override
    public void delete(String key) throws IOException {
        Path file = file(key);
        Files.deleteIfExists(file);
        Path parent = file.getParent();
        while (parent != null && !parent.equals(root) && isEmptyDir(parent)) {
            Files.deleteIfExists(parent);
            parent = parent.getParent();
        }
    }

    @Override
    public void removeUnfinishedWrites(String folder) throws IOException {
        Path dir = file(folder);
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (DirectoryStream<Path> parts = Files.newDirectoryStream(dir,
                p -> p.getFileName().toString().startsWith(".") && p.getFileName().toString().contains(".part-"))) {
            for (Path part : parts) {
                Files.deleteIfExists(part);
            }
        }
        try (DirectoryStream<Path> left = Files.newDirectoryStream(dir)) {
            if (!left.iterator().hasNext()) {
                Files.deleteIfExists(dir);
            }
        }
    }

    @Override
    public List<String> keys(String folder) throws IOException {
        Path dir = file(folder);
        List<String> keys = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return keys;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, Files::isRegularFile)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (!name.startsWith(".")) { // a write in progress, or one that died
                    keys.add(folder + "/" + name);
                }
            }
        }
        keys.sort(null);
        return keys;
    }

    @Override
    public List<String> folders() throws IOException {
        return foldersIn(root);
    }

    @Override
    public List<String> folders(String folder) throws IOException {
        return foldersIn(file(folder));
    }

    private static List<String> foldersIn(Path dir) throws IOException {
        List<String> folders = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return folders;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, Files::isDirectory)) {
            for (Path entry : entries) {
                folders.add(entry.getFileName().toString());
            }
        }
        folders.sort(null);
        return folders;
    }

    private Path file(String key) {
        if (key.isEmpty() || key.startsWith("/") || key.endsWith("/")) {
            throw new IllegalArgumentException("invalid object key '" + key + "'");
        }
        for (String segment : key.split("/")) {
            if (segment.isEmpty() || segment.equals(".") || segment.equals("..")) {
                throw new IllegalArgumentException("invalid object key '" + key + "'");
            }
        }
        return root.resolve(key);
    }

    private static boolean isEmptyDir(Path dir) throws IOException {
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
            return !entries.iterator().hasNext();
        } catch (NoSuchFileException e) {
            return false;
        }
    }
}
