package io.tmount.template;

import io.tmount.TmountException;
import io.tmount.os.Commands;
import io.tmount.os.HostTools;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Makes ext4 images from folders (mkfs.ext4 -d) and recognizes them. */
public final class Ext4Images {

    private static final long MIB = 1 << 20;
    private static final long MIN_SIZE = 32 * MIB;
    private static final int SUPERBLOCK_MAGIC_OFFSET = 1024 + 0x38;

    private Ext4Images() {
    }

    /** Writes a new ext4 image of {@code size} bytes at {@code image} holding a copy of {@code dir}. */
    public static void makeFromDirectory(Path dir, long size, Path image) throws IOException {
        make(size, image, List.of("-d", dir.toString()));
    }

    /** Writes a new, empty ext4 image of {@code size} bytes at {@code image}, its root owned by root. */
    public static void makeEmpty(long size, Path image) throws IOException {
        make(size, image, List.of());
    }

    private static void make(long size, Path image, List<String> extra) throws IOException {
        String mkfs = HostTools.require("mkfs.ext4", "e2fsprogs", "creating templates and builds").toString();
        Files.deleteIfExists(image);
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "rw")) {
            file.setLength(size);
        }
        try {
            // 4 KiB blocks as e2b makes them (ext4 cannot use blocks smaller than the device's); no reserved blocks.
            List<String> command = new ArrayList<>(List.of(mkfs, "-q", "-F", "-t", "ext4", "-b", "4096",
                    "-m", "0", "-E", "root_owner=0:0"));
            command.addAll(extra);
            command.add(image.toString());
            Commands.check(Duration.ofMinutes(10), command);
        } catch (IOException e) {
            Files.deleteIfExists(image);
            throw e;
        }
    }

    /**
     * A size that fits the folder with room to spare: its bytes (rounded up to blocks) plus a quarter, plus
     * 16 MiB for the journal and metadata, at least 32 MiB, rounded up to whole MiB.
     */
    public static long defaultSizeFor(Path dir) throws IOException {
        long[] total = {0};
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                total[0] += ((attrs.size() + 4095) / 4096 + 1) * 4096;
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                total[0] += 4096;
                return FileVisitResult.CONTINUE;
            }
        });
        long size = Math.max(MIN_SIZE, total[0] + total[0] / 4 + 16 * MIB);
        return (size + MIB - 1) / MIB * MIB;
    }

    /** Whether the file starts with an ext2/3/4 superblock. */
    public static boolean isExt4(Path image) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(image.toFile(), "r")) {
            if (file.length() < SUPERBLOCK_MAGIC_OFFSET + 2) {
                return false;
            }
            file.seek(SUPERBLOCK_MAGIC_OFFSET);
            int magic = file.read() | (file.read() << 8);
            return magic == 0xEF53;
        }
    }

    static void requireExt4(Path image) throws IOException {
        if (!isExt4(image)) {
            throw TmountException.invalid("%s is not an ext4 image (no ext2/3/4 superblock at offset 1024)", image);
        }
    }
}
