package io.tmount.builder;

import io.tmount.TmountException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A COPY step's source in the build context: where it is (refused outside the context, symlinks included), and a
 * SHA-256 of what COPY takes from it, for the step's cache key: every file, folder and symlink under it, in name
 * order, with its path, type, mode, owner, size, content or link target. Modification times are left out, as
 * BuildKit does: touching a file without changing it does not rerun the step. File contents are read once and then
 * remembered while their inodes say they are unchanged ({@link ContentHashes}).
 */
final class CopySource {

    private CopySource() {
    }

    /** The source's path on the host, checked to be inside {@code context}. */
    static Path resolve(Path context, String source) throws IOException {
        if (context == null) {
            throw TmountException.invalid("COPY needs a build context: set context: DIR in the template file");
        }
        Path realContext = context.toRealPath();
        Path from = context.resolve(source).normalize();
        if (!from.startsWith(context) || !Files.exists(from, LinkOption.NOFOLLOW_LINKS)
                || !from.toRealPath().startsWith(realContext)) {
            throw TmountException.invalid("COPY source '%s' is not inside the build context %s", source, context);
        }
        return from;
    }

    static String hash(Path context, String source, ContentHashes contents) throws IOException {
        Path from = resolve(context, source);
        MessageDigest tree = sha256();
        // the source's own name counts: COPY dir/ to a folder makes a folder of that name
        entry(tree, from, from.getFileName() == null ? "" : from.getFileName().toString(), contents);
        if (Files.isDirectory(from, LinkOption.NOFOLLOW_LINKS)) {
            List<Path> all;
            try (Stream<Path> walk = Files.walk(from)) {
                all = walk.filter(p -> !p.equals(from)).sorted().toList();
            }
            for (Path p : all) {
                entry(tree, p, from.relativize(p).toString(), contents);
            }
        }
        return HexFormat.of().formatHex(tree.digest());
    }

    private static void entry(MessageDigest tree, Path p, String name, ContentHashes contents) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,size", LinkOption.NOFOLLOW_LINKS);
        StringBuilder line = new StringBuilder(StepKeys.quote(name));
        line.append(' ').append(Integer.toOctalString((Integer) a.get("mode")))
                .append(' ').append(a.get("uid")).append(':').append(a.get("gid"));
        if (Files.isSymbolicLink(p)) {
            line.append(" link ").append(StepKeys.quote(Files.readSymbolicLink(p).toString()));
        } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
            line.append(" file ").append(a.get("size")).append(' ').append(contents.sha256(p));
        }
        tree.update(line.append('\n').toString().getBytes(StandardCharsets.UTF_8));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
