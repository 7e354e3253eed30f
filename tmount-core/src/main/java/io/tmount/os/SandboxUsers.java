package io.tmount.os;

import io.tmount.TmountException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Hands out user ids for sandboxed helpers, one per process, so that one compromised helper cannot signal, trace or
 * read another: ids of a range (by default the upper half of the range systemd keeps for dynamic users) that no
 * account or group of the host has (the passwd and group files, and NSS through getent: LDAP or sssd users too), no
 * running process has, and systemd has not handed to a service of its own (/run/systemd/dynamic-uid). The helper's
 * group id is the same number, so it is checked as a group too.
 */
public final class SandboxUsers {

    private final int first;
    private final int last;
    private final Path passwd;
    private final Path group;
    private final Path proc;
    private final Path systemdDynamic;
    private final Set<Integer> handedOut = new HashSet<>();
    private final Set<Integer> knownToNss = new HashSet<>();

    public SandboxUsers(int first, int last, Path passwd, Path group, Path proc, Path systemdDynamic) {
        if (first <= 0 || last < first) {
            throw new IllegalArgumentException("bad sandbox uid range " + first + "-" + last);
        }
        this.first = first;
        this.last = last;
        this.passwd = passwd;
        this.group = group;
        this.proc = proc;
        this.systemdDynamic = systemdDynamic;
    }

    public static SandboxUsers ofThisHost() {
        return new SandboxUsers(63_488, 65_519, Path.of("/etc/passwd"), Path.of("/etc/group"), Path.of("/proc"),
                Path.of("/run/systemd/dynamic-uid"));
    }

    /**
     * An id no account, group, running process, systemd service or earlier allocation still held uses. NSS is asked
     * outside the lock; if it cannot answer, no id is handed out (a guess could be a directory user's).
     */
    public int allocate() {
        while (true) {
            int candidate = candidate();
            boolean known;
            try {
                known = knownToNss(candidate);
            } catch (IOException e) {
                release(candidate);
                throw new TmountException(TmountException.Kind.UNAVAILABLE, "cannot tell whether user id "
                        + candidate + " belongs to someone (getent failed: " + e.getMessage() + "); the sandbox "
                        + "needs an id nobody has");
            }
            if (!known) {
                return candidate;
            }
            synchronized (this) {
                knownToNss.add(candidate); // stays handed out: never offered again in this process
            }
        }
    }

    private synchronized int candidate() {
        Set<Integer> taken = new HashSet<>(handedOut);
        taken.addAll(knownToNss);
        taken.addAll(ids(passwd, 2, 3));
        taken.addAll(ids(group, 2, 2));
        taken.addAll(runningUsers());
        for (int uid = last; uid >= first; uid--) {
            if (!taken.contains(uid) && !Files.exists(systemdDynamic.resolve(Integer.toString(uid)))) {
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

    /** The numeric fields {@code from}..{@code to} of a passwd- or group-style file. */
    private static Set<Integer> ids(Path file, int from, int to) {
        Set<Integer> ids = new HashSet<>();
        try (Stream<String> lines = Files.lines(file)) {
            lines.map(l -> l.split(":")).filter(f -> f.length > to).forEach(f -> {
                for (int i = from; i <= to; i++) {
                    parse(f[i], ids);
                }
            });
        } catch (IOException | java.io.UncheckedIOException e) {
            // no such file: the other sources still count
        }
        return ids;
    }

    /** Whether NSS knows the id as a user or a group: getent exits 0 when found, 2 when not; else it failed. */
    private static boolean knownToNss(int id) throws IOException {
        Optional<Path> getent = HostTools.find("getent");
        if (getent.isEmpty()) {
            return false;
        }
        for (String database : new String[]{"passwd", "group"}) {
            int status = Commands.run(java.time.Duration.ofSeconds(5), java.util.List.of(getent.get().toString(),
                    database, Integer.toString(id))).exitCode();
            if (status == 0) {
                return true;
            }
            if (status != 2) {
                throw new IOException("getent " + database + " " + id + " exited with " + status);
            }
        }
        return false;
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
