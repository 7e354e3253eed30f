package io.tmount.builder;

import io.tmount.TmountException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What ENV, WORKDIR and USER have set so far, for the RUN steps after them. */
final class BuildContext {

    static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /** A user as the build root's /etc/passwd knows it. */
    record RunAs(String name, int uid, int gid, String home) {
        static final RunAs ROOT = new RunAs("root", 0, 0, "/root");
    }

    private final Map<String, String> env = new LinkedHashMap<>();
    private String workdir = "/";
    private RunAs user = RunAs.ROOT;

    void env(String key, String value) {
        env.put(key, value);
    }

    String workdir() {
        return workdir;
    }

    void workdir(String path) {
        this.workdir = path;
    }

    RunAs user() {
        return user;
    }

    /** Sets the user by name or {@code uid[:gid]}, looked up in the build root's /etc/passwd. */
    void user(Path root, String spec) throws IOException {
        if (spec.matches("\\d+(:\\d+)?")) {
            String[] ids = spec.split(":");
            int uid = Integer.parseInt(ids[0]);
            user = new RunAs(spec, uid, ids.length > 1 ? Integer.parseInt(ids[1]) : uid, "/");
            return;
        }
        Path passwd = RootPaths.resolve(root, "/", "/etc/passwd");
        List<String> lines = Files.exists(passwd) ? Files.readAllLines(passwd) : List.of();
        for (String line : lines) {
            String[] f = line.split(":", -1);
            if (f.length >= 7 && f[0].equals(spec)) {
                user = new RunAs(spec, Integer.parseInt(f[2]), Integer.parseInt(f[3]), f[5].isEmpty() ? "/" : f[5]);
                return;
            }
        }
        throw TmountException.invalid("no user '%s' in the build root's /etc/passwd (use a name from it, or uid[:gid])", spec);
    }

    /** The environment of a RUN: a default PATH and HOME, then what ENV set. */
    Map<String, String> environment() {
        Map<String, String> all = new LinkedHashMap<>();
        all.put("PATH", DEFAULT_PATH);
        all.put("HOME", user.home());
        all.put("USER", user.name());
        all.putAll(env);
        return all;
    }
}
