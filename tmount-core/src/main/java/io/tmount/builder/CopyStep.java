package io.tmount.builder;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;

/** COPY: a file or folder of the build context into the build root, keeping modes; symlinks are copied as links. */
final class CopyStep {

    private CopyStep() {
    }

    static void copy(Path context, Path root, String cwd, String source, String destination) throws IOException {
        Path from = CopySource.resolve(context, source);
        Path target = RootPaths.resolve(root, cwd, destination);
        if (destination.endsWith("/") || Files.isDirectory(target)) {
            target = target.resolve(from.getFileName().toString());
        }
        Files.createDirectories(target.getParent());
        // Every path written is resolved again as the build sees it: a symlink already in the root (say /app/conf
        // -> /etc) must lead to the root's /etc, never to the host's.
        String inRoot = RootPaths.inRoot(root, target);
        Files.walkFileTree(from, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                Path to = RootPaths.resolve(root, "/", inRoot + "/" + from.relativize(dir));
                if (!Files.isDirectory(to)) {
                    Files.copy(dir, to, StandardCopyOption.COPY_ATTRIBUTES);
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Path to = RootPaths.resolve(root, "/", inRoot + "/" + from.relativize(file));
                Files.copy(file, to, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES,
                        LinkOption.NOFOLLOW_LINKS);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
