package io.tmount.os;

import io.tmount.TmountException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Finds the host programs tmount drives, and says which Debian package brings a missing one. */
public final class HostTools {

    private HostTools() {
    }

    /** Looks a program up on PATH and in the sbin folders root's PATH sometimes lacks. */
    public static Optional<Path> find(String program) {
        Set<String> dirs = new LinkedHashSet<>();
        String path = System.getenv("PATH");
        if (path != null) {
            dirs.addAll(List.of(path.split(":")));
        }
        dirs.addAll(List.of("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"));
        for (String dir : dirs) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, program);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** The program's path, or an UNAVAILABLE error naming the package to install. */
    public static Path require(String program, String debianPackage, String purpose) {
        return find(program).orElseThrow(() -> new TmountException(TmountException.Kind.UNAVAILABLE,
                String.format("%s needs `%s`, which is not installed: apt-get install %s", purpose, program, debianPackage)));
    }

    /** The programs of {@code programAndPackage} (pairs: program, package) that are missing, as "program (package)". */
    public static List<String> missing(String... programAndPackage) {
        List<String> missing = new ArrayList<>();
        for (int i = 0; i + 1 < programAndPackage.length; i += 2) {
            if (find(programAndPackage[i]).isEmpty()) {
                missing.add(programAndPackage[i] + " (" + programAndPackage[i + 1] + ")");
            }
        }
        return missing;
    }
}
