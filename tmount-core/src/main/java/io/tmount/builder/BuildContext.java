package io.tmount.builder;

import io.tmount.TmountException;
import io.tmount.buildcache.StepKey;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What ENV, WORKDIR, USER and MOUNT have set so far, for the steps after them: what a RUN runs with, and what a
 * step's cache key covers. A cached step is not run, so this state is kept without a root too: the working folder as
 * written (made absolute and normalised; the root resolves it, symlinks included, where it is used), the user as
 * named until a root is there to look the name up in, the mounts by their path as written.
 */
final class BuildContext {

    static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /** A user as the build root's /etc/passwd knows it. */
    record RunAs(String name, int uid, int gid, String home) {
        static final RunAs ROOT = new RunAs("root", 0, 0, "/root");
    }

    /** A template a MOUNT step mounted, by its step, the working folder then and the path as written. */
    record Mounted(int step, String workdir, String path, TemplateId template, BuildId build, boolean writable) {
        /** The path in the root, normalised without the root (the key's view; see the class comment). */
        String inRoot() {
            return absolute(workdir, path);
        }
    }

    private final Map<String, String> env = new LinkedHashMap<>();
    private String workdir = "/";
    private RunAs user = RunAs.ROOT;
    private String userSpec = "root";
    private boolean userPending;
    private final Map<String, Mounted> mounts = new LinkedHashMap<>();
    /**
     * While a template is mounted writable: what each step since its MOUNT did (its key, or its text), in order. A
     * writable mount's content is in no build, so a step's key covers the steps that may have written to it.
     */
    private final List<String> window = new ArrayList<>();

    BuildContext copy() {
        BuildContext copy = new BuildContext();
        copy.env.putAll(env);
        copy.workdir = workdir;
        copy.user = user;
        copy.userSpec = userSpec;
        copy.userPending = userPending;
        copy.mounts.putAll(mounts);
        copy.window.addAll(window);
        return copy;
    }

    /** A step is done ({@code what}: its key's hash, or its text for a step without a key), after its effect. */
    void stepDone(String what) {
        if (mounts.values().stream().anyMatch(Mounted::writable)) {
            window.add(what);
        } else {
            window.clear();
        }
    }

    /** The user as named by the last USER step (root before any). */
    String userSpec() {
        return userSpec;
    }

    void env(String key, String value) {
        env.put(key, value);
    }

    String workdir() {
        return workdir;
    }

    /** WORKDIR {@code path}: relative to the current one. */
    void changeWorkdir(String path) {
        this.workdir = absolute(workdir, path);
    }

    RunAs user() {
        if (userPending) {
            throw new IllegalStateException("USER " + userSpec + " was not looked up in a build root");
        }
        return user;
    }

    /** USER without a root (a cached step): looked up once there is one ({@link #resolveUser}). */
    void userNamed(String spec) {
        this.userSpec = spec;
        this.userPending = true;
    }

    /** Looks up a user named while there was no root. */
    void resolveUser(Path root) throws IOException {
        if (userPending) {
            user(root, userSpec);
        }
    }

    /** Sets the user by name or {@code uid[:gid]}, looked up in the build root's /etc/passwd. */
    void user(Path root, String spec) throws IOException {
        userSpec = spec;
        userPending = false;
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

    void mounted(Mounted mount) {
        mounts.put(mount.inRoot(), mount);
    }

    void unmounted(String path) {
        mounts.remove(absolute(workdir, path));
    }

    /** What MOUNT steps have mounted and no UNMOUNT took down, in mount order. */
    List<Mounted> mounts() {
        return List.copyOf(mounts.values());
    }

    /** The environment of a RUN: a default PATH and HOME, then what ENV set. */
    Map<String, String> environment() {
        Map<String, String> all = new LinkedHashMap<>();
        all.put("PATH", DEFAULT_PATH);
        all.put("HOME", user().home());
        all.put("USER", user().name());
        all.putAll(env);
        return all;
    }

    /** The facts a step's result depends on besides the step itself, one per line (see {@link StepKeys}). */
    String describeForKey() {
        StringBuilder text = new StringBuilder();
        text.append("workdir ").append(StepKeys.quote(workdir)).append('\n');
        text.append("user ").append(StepKeys.quote(userSpec)).append('\n');
        env.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> text.append("env ")
                .append(StepKeys.quote(e.getKey())).append('=').append(StepKeys.quote(e.getValue())).append('\n'));
        for (Mounted m : mounts.values()) {
            text.append("mount ").append(StepKeys.quote(m.inRoot())).append(' ').append(m.template()).append(' ')
                    .append(m.build()).append(m.writable() ? " rw" : " ro").append('\n');
        }
        if (!window.isEmpty()) {
            text.append("since the writable mount ").append(StepKey.of(String.join("\n", window)).hash()).append('\n');
        }
        return text.toString();
    }

    private static String absolute(String cwd, String path) {
        return Path.of("/").resolve(cwd).resolve(path).normalize().toString();
    }
}
