package io.tmount.os;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Finds the processes that keep a mount busy: their cwd, root, executable, open files or mapped files lie under it. */
public final class PathHolders {

    /** A process holding the path, and how (cwd, root, exe, fd, mmap). */
    public record Holder(long pid, String command, String how) {
        @Override
        public String toString() {
            return pid + " (" + command + ", " + how + ")";
        }
    }

    private final Path proc;

    public PathHolders(Path proc) {
        this.proc = proc;
    }

    public static PathHolders ofThisHost() {
        return new PathHolders(Path.of("/proc"));
    }

    public List<Holder> holding(Path path) {
        Map<Long, Holder> holders = new LinkedHashMap<>();
        try (DirectoryStream<Path> pids = Files.newDirectoryStream(proc, p -> p.getFileName().toString().matches("\\d+"))) {
            for (Path pidDir : pids) {
                long pid = Long.parseLong(pidDir.getFileName().toString());
                String how = howHeld(pidDir, path);
                if (how != null) {
                    holders.put(pid, new Holder(pid, command(pidDir), how));
                }
            }
        } catch (IOException e) {
            // /proc unreadable: report what was found so far
        }
        return new ArrayList<>(holders.values());
    }

    private static String howHeld(Path pidDir, Path path) {
        for (String link : List.of("cwd", "root", "exe")) {
            if (under(readLink(pidDir.resolve(link)), path)) {
                return link;
            }
        }
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(pidDir.resolve("fd"))) {
            for (Path fd : fds) {
                if (under(readLink(fd), path)) {
                    return "open file";
                }
            }
        } catch (IOException e) {
            // process gone or not ours to read
        }
        try {
            for (String line : Files.readAllLines(pidDir.resolve("maps"))) {
                int slash = line.indexOf('/');
                if (slash >= 0 && under(line.substring(slash), path)) {
                    return "mapped file";
                }
            }
        } catch (IOException e) {
            // process gone
        }
        return null;
    }

    private static String readLink(Path link) {
        try {
            return Files.readSymbolicLink(link).toString();
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    private static boolean under(String target, Path path) {
        if (target == null) {
            return false;
        }
        String p = path.toString();
        return target.equals(p) || target.startsWith(p.endsWith("/") ? p : p + "/");
    }

    private static String command(Path pidDir) {
        try {
            return Files.readString(pidDir.resolve("comm")).strip();
        } catch (IOException e) {
            return "?";
        }
    }
}
