package io.tmount.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Sample folders for template images, and their contents as checksums for byte-for-byte comparison. */
public final class Trees {

    private Trees() {
    }

    /** A small root tree: text files, nested folders, an empty file, a symlink, and some binary data. */
    public static Path sample(Path root, long seed) {
        try {
            Random random = new Random(seed);
            write(root.resolve("etc/hostname"), "template-" + seed + "\n");
            write(root.resolve("etc/app/app.conf"), "port = " + (8000 + seed) + "\n");
            write(root.resolve("current-build/config/.keep"), "");
            write(root.resolve("usr/share/doc/readme.txt"), "tmount test template " + seed + "\n".repeat(3));
            for (int i = 0; i < 5; i++) {
                byte[] data = new byte[1 + random.nextInt(300_000)];
                random.nextBytes(data);
                Path file = root.resolve("var/data/blob-" + i + ".bin");
                Files.createDirectories(file.getParent());
                Files.write(file, data);
            }
            Files.createDirectories(root.resolve("empty-dir"));
            Files.createSymbolicLink(root.resolve("etc/hostname-link"), Path.of("hostname"));
            return root;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(Path file, String content) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
    }

    /** Relative path → sha256 of every regular file (symlinks not followed), for comparing two trees. */
    public static Map<String, String> checksums(Path root) {
        Map<String, String> sums = new TreeMap<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path file : files.filter(Files::isRegularFile).filter(p -> !Files.isSymbolicLink(p)).toList()) {
                String relative = root.relativize(file).toString();
                if (!relative.startsWith("lost+found")) {
                    sums.put(relative, sha256(file));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sums;
    }

    public static String sha256(Path file) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
