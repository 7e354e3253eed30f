package io.tmount.os;

import io.tmount.TmountException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Hands out user ids for sandboxed helpers, one per process, so that one compromised helper cannot signal, trace or
 * read another: ids of a range no account of the host uses (by default the upper half of the range systemd keeps for
 * dynamic users) that no running process has, like systemd's DynamicUser.
 */
public final class SandboxUsers {

    private final int first;
    private final int last;
    private final Path passwd;
    private final Path proc;
    private final Set<Integer> handedOut = new HashSet<>();

    public SandboxUsers(int first, int last, Path passwd, Path proc) {
        if (first <= 0 || last < first) {
            throw new IllegalArgumentException("bad sandbox uid range " + first + "-" + last);
        }
        this.first = first;
        this.last = last;
        this.passwd = passwd;
        this.proc = proc;
    }

    public static SandboxUsers ofThisHost() {
        return new SandboxUsers(63_488, 65_519, Path.of("/etc/passwd"), Path.of("/proc"));
    }

    /** An id no account, no running process and no earlier allocation still held uses. */
    public synchronized int allocate() {
        Set<Integer> taken = new HashSet<>(handedOut);
        taken.addAll(accounts());
        taken.addAll(runningUsers());
        for (int uid = last; uid >= first; uid--) {
            if (!taken.contains(uid)) {
                handedOut.add(uid);
                return uid;
            }
        }
        throw new TmountException(TmountException.Kind.UNAVAILABLE,
                "no free sandbox user id in " + first + "-" + last + " (every one is in use)");
    }

    public synchronized void release(int uid) {
        handedOut.remove(uid);
    }

    private Set<Integer> accounts() {
        Set<Integer> ids = new HashSet<>();
        try (Stream<String> lines = Files.lines(passwd)) {
            lines.map(l -> l.split(":")).filter(f -> f.length > 3).forEach(f -> {
                parse(f[2], ids);
                parse(f[3], ids);
            });
        } catch (IOException | java.io.UncheckedIOException e) {
            // no passwd file: only running processes and our own allocations count
        }
        return ids;
    }

    private Set<Integer> runningUsers() {
        Set<Integer> ids = new HashSet<>();
        try (Stream<Path> entries = Files.list(proc)) {
            entries.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit)).forEach(p -> {
                try (Stream<String> status = Files.lines(p.resolve("status"))) {
                    // real, effective, saved and filesystem ids: any of them makes the id taken
                    status.filter(l -> l.startsWith("Uid:")).findFirst()
                            .ifPresent(l -> Stream.of(l.substring(4).trim().split("\\s+")).forEach(f -> parse(f, ids)));
                } catch (IOException | RuntimeException gone) {
                    // the process exited while we looked
                }
            });
        } catch (IOException e) {
            throw new TmountException(TmountException.Kind.UNAVAILABLE, "cannot list processes in " + proc + ": "
                    + e.getMessage());
        }
        return ids;
    }

    private static void parse(String field, Set<Integer> into) {
        try {
            into.add(Integer.parseInt(field));
        } catch (NumberFormatException e) {
            // not an id
        }
    }
}
