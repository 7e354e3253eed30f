package io.tmount.os;

import io.tmount.TmountException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Mounts ext4 from a block device through e2fsprogs' {@code fuse2fs}, so that the host kernel parses only FUSE
 * requests and never the image's metadata; fuse2fs runs with the least it needs.
 * <p>
 * The FUSE mount itself is made by root ({@code mount -t fuse.fuse2fs -o fd=3,...} on an open {@code /dev/fuse}),
 * and fuse2fs gets the connection through the {@code _FUSE_COMMFD} hand-over libfuse uses with {@code fusermount}:
 * a stand-in {@code fusermount} passes the already mounted descriptor. So fuse2fs needs no privilege at all: it runs
 * as a user of its own (no groups, no capabilities, {@code no_new_privs}), in mount, network, IPC and UTS namespaces
 * of its own (no network; a {@code /dev} with only the image's device, {@code /dev/fuse} and {@code /dev/null}; an
 * empty {@code /tmp}), with limits on address space, descriptors, processes and file size (its log is the only file it writes).
 * <p>
 * fuse2fs 1.47 writes without the journal (it says so on start): a writable mount is consistent on its device only
 * after fuse2fs has flushed and exited, which {@link #awaitExit} waits for after the unmount.
 */
public final class UserspaceExt4 {

    private static final Logger log = LoggerFactory.getLogger(UserspaceExt4.class);

    /** The file in a mount's work dir that names the fuse2fs process serving it: pid and start time. */
    private static final String PID_FILE = "fuse2fs.pid";
    private static final String LOG_FILE = "fuse2fs.log";
    /** The largest file fuse2fs may write: its log (a device is not a file), so a hostile image cannot fill a disk. */
    private static final long LOG_LIMIT = 1 << 20;

    /**
     * Runs as root, first process of fresh pid, mount, network, IPC and UTS namespaces: mounts the connection on the
     * host (through the daemon's mount namespace, fd 5, and root, fd 6), builds a root of its own (read-only /usr and the top-level
     * links or folders into it, a /dev of five nodes, a /proc of its own pid namespace, nothing writable), and
     * becomes fuse2fs there as the sandbox user.
     */
    private static final String SANDBOX = """
            set -eu
            device=$1 target=$2 uid=$3 mode=$4 fake=$5 limits=$6 seccomp=$7
            options=fd=3,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions,nosuid,nodev
            fuse_options=fakeroot
            if [ "$mode" = ro ]; then options=$options,ro; fuse_options=$fuse_options,ro; fi
            # into the daemon's mount namespace, and its root (entering a mount namespace resets the root to the
            # namespace's: a daemon that runs chrooted would find no $target there)
            nsenter --mount=/proc/self/fd/5 --root=/proc/self/fd/6 mount -i -t fuse.fuse2fs -o "$options" \\
                "$device" "$target"
            exec 5<&- 6<&-
            set -- $(stat -L -c '%t %T' "$device")
            r=/tmp
            mount -t tmpfs -o mode=0755,size=4m tmpfs "$r"
            mkdir "$r/usr" "$r/dev" "$r/proc" "$r/etc" "$r/fake" "$r/mnt"
            mount --bind /usr "$r/usr"
            mount -o remount,bind,ro,nosuid,nodev "$r/usr"
            for d in bin sbin lib lib32 lib64 libx32; do
                if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$r/$d"
                elif [ -d "/$d" ]; then
                    mkdir "$r/$d"; mount --bind "/$d" "$r/$d"; mount -o remount,bind,ro,nosuid,nodev "$r/$d"
                fi
            done
            if [ -e /etc/ld.so.cache ]; then touch "$r/etc/ld.so.cache"; mount --bind /etc/ld.so.cache "$r/etc/ld.so.cache"; fi
            ln -s /proc/self/mounts "$r/etc/mtab"
            mount -t tmpfs -o mode=0755,size=64k,nosuid,noexec tmpfs "$r/dev"
            mknod -m 666 "$r/dev/null" c 1 3
            mknod -m 666 "$r/dev/zero" c 1 5
            mknod -m 444 "$r/dev/urandom" c 1 9
            mknod -m 666 "$r/dev/fuse" c 10 229
            mknod -m 600 "$r/dev/image" b "0x$1" "0x$2"
            chown "$uid:$uid" "$r/dev/image" "$r/mnt"
            mount -t proc -o nosuid,nodev,noexec proc "$r/proc"
            printf '%s\\n' "$fake" > "$r/fake/fusermount"
            chmod 0755 "$r/fake/fusermount"
            printf '%s\\n' "$seccomp" > "$r/fake/seccomp.py"
            # libfuse runs /bin/fusermount before it looks on PATH: the real one must not answer
            for real in "$r/usr/bin/fusermount" "$r/usr/bin/fusermount3" "$r/bin/fusermount" "$r/bin/fusermount3"; do
                if [ -e "$real" ]; then mount --bind "$r/fake/fusermount" "$real"; fi
            done
            mount -o remount,ro "$r"
            # --pdeathsig after the uid change (a change of uid clears the one unshare --kill-child set): when
            # the unshare that tmount holds is killed, so is fuse2fs, and with it its whole pid namespace
            exec chroot "$r" prlimit $limits -- setpriv --reuid="$uid" --regid="$uid" --clear-groups \\
                --no-new-privs --inh-caps=-all --bounding-set=-all --pdeathsig=KILL -- \\
                /usr/bin/python3 -I /fake/seccomp.py /usr/bin/env -i PATH=/fake:/usr/sbin:/usr/bin \\
                fuse2fs /dev/image /mnt -f -o "$fuse_options"
            """;

    /**
     * Installs a seccomp filter and execs the rest of its arguments (Python's ctypes: no compiler, no libseccomp): a
     * deny list of what a filesystem server never needs and an attacker would.
     */
    static final String SECCOMP = """
            import ctypes, os, platform, struct, sys

            # A deny list for fuse2fs: what a filesystem server never needs and an attacker would (mounts, namespaces, tracing,
            # modules, keys, bpf, io_uring, the new mount API); x86-64 numbers. clone3 says ENOSYS (glibc then uses clone), and
            # clone is refused any namespace flag. Other architectures run without the filter (tmount's log says so).
            DENY = [101, 310, 311, 165, 166, 155, 161, 167, 168, 169, 170, 171, 175, 176, 313, 246, 320, 163, 164, 227, 159,
                    305, 179, 272, 308, 321, 298, 323, 250, 248, 249, 304, 303, 135, 212, 425, 426, 427, 428, 429, 430, 431, 432,
                    433, 442]
            ALLOW, KILL, EPERM, ENOSYS = 0x7FFF0000, 0x80000000, 0x00050001, 0x00050026
            NEW_NAMESPACES = 0x7E020000
            if platform.machine() != "x86_64":
                sys.stderr.write("tmount: no seccomp filter on " + platform.machine() + "\\n")
                os.execv(sys.argv[1], sys.argv[1:])
            prog = []  # (code, jt-label, jf-label, k)
            def stmt(code, k): prog.append((code, None, None, k))
            def jump(code, k, jt, jf): prog.append((code, jt, jf, k))
            stmt(0x20, 4)                               # A = arch
            jump(0x15, 0xC000003E, "nr", "kill")        # x86-64?
            prog.append("kill"); stmt(0x06, KILL)
            prog.append("nr"); stmt(0x20, 0)            # A = syscall number
            jump(0x35, 0x40000000, "eperm", None)       # x32: refused
            for n in DENY:
                jump(0x15, n, "eperm", None)
            jump(0x15, 435, "enosys", None)             # clone3
            jump(0x15, 56, "clone", None)               # clone
            stmt(0x06, ALLOW)
            prog.append("clone"); stmt(0x20, 16)        # A = low half of clone's flags
            jump(0x45, NEW_NAMESPACES, "eperm", None)   # any new namespace: refused
            stmt(0x06, ALLOW)
            prog.append("eperm"); stmt(0x06, EPERM)
            prog.append("enosys"); stmt(0x06, ENOSYS)
            labels, code = {}, []
            for item in prog:
                if isinstance(item, str): labels[item] = len(code)
                else: code.append(item)
            def offset(at, label): return 0 if label is None else labels[label] - at - 1
            packed = b"".join(struct.pack("HBBI", c, offset(i, jt), offset(i, jf), k) for i, (c, jt, jf, k) in enumerate(code))
            class Prog(ctypes.Structure):
                _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]
            libc = ctypes.CDLL(None, use_errno=True)
            buffer = ctypes.create_string_buffer(packed, len(packed))
            fprog = Prog(len(code), ctypes.cast(buffer, ctypes.c_char_p))
            if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:
                sys.stderr.write("tmount: cannot install the seccomp filter: " + os.strerror(ctypes.get_errno()) + "\\n")
                sys.exit(126)
            os.execv(sys.argv[1], sys.argv[1:])
            """;

    /** libfuse runs this as {@code fusermount}: it hands over the connection mounted on fd 3; unmounting is ours. */
    private static final String FAKE_FUSERMOUNT = """
            #!/usr/bin/python3
            import os, socket, sys
            if '-u' in sys.argv[1:]:
                sys.exit(0)
            socket.send_fds(socket.socket(fileno=int(os.environ['_FUSE_COMMFD'])), [b'\\0'], [3])
            """;

    private final MountTable mountTable;
    private final SandboxUsers users;
    private final Limits limits;
    private final Duration readyTimeout;

    /**
     * @param addressSpaceBytes fuse2fs's address space limit (RLIMIT_AS): its bitmaps and caches, its threads' stacks
     *                          and malloc arenas
     */
    public record Limits(long addressSpaceBytes, int descriptors, int processes) {

        public static Limits defaults() {
            return new Limits(2L << 30, 64, 64);
        }

        String prlimitArguments() {
            return "--as=" + addressSpaceBytes + " --nofile=" + descriptors + " --nproc=" + processes
                    + " --fsize=" + LOG_LIMIT + " --core=0";
        }
    }

    public UserspaceExt4(MountTable mountTable, SandboxUsers users, Limits limits, Duration readyTimeout) {
        this.mountTable = mountTable;
        this.users = users;
        this.limits = limits;
        this.readyTimeout = readyTimeout;
    }

    public static List<String> missingTools() {
        List<String> missing = new ArrayList<>(HostTools.missing("fuse2fs", "fuse2fs", "nsenter", "util-linux",
                "unshare", "util-linux", "prlimit", "util-linux", "setpriv", "util-linux", "chroot", "coreutils"));
        if (!Files.isExecutable(Path.of("/usr/bin/python3"))) { // the stand-in fusermount runs in a root of /usr only
            missing.add("/usr/bin/python3 (python3-minimal)");
        }
        return missing;
    }

    /**
     * Mounts the ext4 filesystem on {@code device} at {@code target} through a sandboxed fuse2fs whose log and pid
     * file go to {@code workDir}; returns once fuse2fs answers for the mount's root. On failure nothing is left
     * mounted or running, and the error holds what fuse2fs said.
     */
    public void mount(Path device, Path target, boolean readOnly, Path workDir) throws IOException {
        List<String> missing = missingTools();
        if (!missing.isEmpty()) {
            throw new TmountException(TmountException.Kind.UNAVAILABLE, "the userspace filesystem mode needs "
                    + String.join(", ", missing) + ", which are not installed");
        }
        Files.createDirectories(workDir);
        Path logFile = workDir.resolve(LOG_FILE);
        int uid = users.allocate();
        List<String> command = new ArrayList<>(List.of("sh", "-c",
                "exec 3<>/dev/fuse 5</proc/self/ns/mnt 6</; exec unshare --mount --net --ipc --uts --pid --fork "
                        + "--kill-child -- sh -c \"$0\" tmount-fuse2fs \"$@\"",
                SANDBOX, device.toString(), target.toString(), Integer.toString(uid), readOnly ? "ro" : "rw",
                FAKE_FUSERMOUNT, limits.prlimitArguments(), SECCOMP));
        Process process;
        try {
            process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null")
                            .toFile())).redirectErrorStream(true).redirectOutput(logFile.toFile()).start();
        } catch (IOException e) {
            users.release(uid);
            throw e;
        }
        process.onExit().thenRun(() -> users.release(uid));
        try {
            awaitServing(process, target, logFile);
        } catch (IOException | RuntimeException e) {
            kill(process.toHandle());
            unmountLazilyIfFuse(target);
            throw e;
        }
        ProcessHandle handle = process.toHandle();
        AtomicFiles.replace(workDir.resolve(PID_FILE), java.nio.ByteBuffer.wrap((handle.pid() + " "
                + handle.info().startInstant().map(Object::toString).orElse("-")).getBytes(StandardCharsets.UTF_8)));
        log.info("{} mounted through fuse2fs (pid {}, uid {}, {})", target, handle.pid(), uid,
                readOnly ? "read-only" : "writable");
    }

    private void awaitServing(Process process, Path target, Path logFile) throws IOException {
        long deadline = System.nanoTime() + readyTimeout.toNanos();
        while (!isFuseMountAt(target)) {
            if (!process.isAlive()) {
                throw failure("fuse2fs could not mount " + target, process, logFile);
            }
            if (System.nanoTime() > deadline) {
                throw failure("fuse2fs did not mount " + target + " within " + readyTimeout.toSeconds() + " s",
                        process, logFile);
            }
            pause(20);
        }
        // the root's attributes come from fuse2fs itself: it answers once it has opened the filesystem, and the
        // request fails at once if it died first (its descriptor of the connection closes). Asked from a platform
        // thread: the request goes through the loop device to this process's NBD server, whose virtual threads a
        // virtual thread blocked in the kernel would keep from their carrier.
        java.util.concurrent.CompletableFuture<Void> stat = new java.util.concurrent.CompletableFuture<>();
        Thread.ofPlatform().daemon().name("fuse2fs-ready").start(() -> {
            try {
                Files.readAttributes(target, java.nio.file.attribute.BasicFileAttributes.class);
                stat.complete(null);
            } catch (IOException | RuntimeException e) {
                stat.completeExceptionally(e);
            }
        });
        try {
            stat.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            pause(200); // let fuse2fs finish saying why
            IOException failed = failure("fuse2fs could not open the filesystem for " + target, process, logFile);
            failed.initCause(e.getCause()); // (suppressed ones are taken for failed clean-ups)
            throw failed;
        } catch (TimeoutException e) {
            kill(process.toHandle()); // its connection closes, and the stat returns
            throw failure("fuse2fs did not answer for " + target + " within " + readyTimeout.toSeconds() + " s",
                    process, logFile);
        } catch (InterruptedException e) {
            kill(process.toHandle());
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while mounting " + target, e);
        }
    }

    /** Kills the unshare tmount holds and what runs under it (fuse2fs and anything it started). */
    private static void kill(ProcessHandle process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    private static IOException failure(String what, Process process, Path logFile) {
        String said = tail(logFile);
        String status = process.isAlive() ? "" : " (exit status " + process.exitValue() + ")";
        return new IOException(what + status + (said.isEmpty() ? "" : ": " + said));
    }

    /** The last lines fuse2fs wrote, without its note that it does not write the journal. */
    static String tail(Path logFile) {
        try {
            List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8).stream()
                    .filter(l -> !l.isBlank() && !l.contains("Writing to the journal is not supported")).toList();
            // printable characters only: what a hostile fuse2fs says reaches API clients and terminals
            String text = String.join("; ", lines.subList(Math.max(0, lines.size() - 5), lines.size()))
                    .replaceAll("[\\p{Cntrl}&&[^\\t]]", "?");
            return text.length() > 2000 ? text.substring(text.length() - 2000) : text;
        } catch (IOException | java.io.UncheckedIOException e) {
            return "";
        }
    }

    private boolean isFuseMountAt(Path target) {
        return mountTable.mountAt(target).filter(m -> m.fsType().startsWith("fuse")).isPresent();
    }

    private void unmountLazilyIfFuse(Path target) {
        if (isFuseMountAt(target)) {
            try {
                Commands.check(Duration.ofSeconds(60), "umount", "--lazy", target.toString());
            } catch (IOException e) {
                log.warn("cannot detach the failed fuse2fs mount at {}: {}", target, e.getMessage());
            }
        }
    }

    /**
     * After the unmount: waits for the fuse2fs that served the mount to flush and exit; one still running after
     * {@code timeout} is killed, and the result says so (its last writes may not have reached the device).
     */
    public boolean awaitExit(Path workDir, Duration timeout) {
        Optional<ProcessHandle> process = serving(workDir);
        if (process.isEmpty()) {
            return true;
        }
        try {
            process.get().onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            log.error("fuse2fs (pid {}) did not exit within {} s of its unmount; killing it", process.get().pid(),
                    timeout.toSeconds());
            kill(process.get());
            try {
                process.get().onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception gone) {
                // killed all the same: nothing more to wait for
            }
            return false;
        } catch (ExecutionException e) {
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Why the fuse2fs serving the mount whose work dir this is is not running, if it is not. */
    public Optional<String> problem(Path workDir) {
        if (serving(workDir).isPresent()) {
            return Optional.empty();
        }
        String said = tail(workDir.resolve(LOG_FILE));
        return Optional.of("fuse2fs serving its filesystem exited" + (said.isEmpty() ? "" : " (" + said + ")")
                + "; unmount it");
    }

    /** The fuse2fs process named by the work dir's pid file, if it still runs (the same process: start time). */
    private static Optional<ProcessHandle> serving(Path workDir) {
        String[] recorded;
        try {
            recorded = Files.readString(workDir.resolve(PID_FILE)).trim().split(" ");
        } catch (IOException e) {
            return Optional.empty();
        }
        return ProcessHandle.of(Long.parseLong(recorded[0])).filter(ProcessHandle::isAlive)
                .filter(p -> p.info().startInstant().map(Object::toString).orElse("-").equals(recorded[1]));
    }

    private static void pause(long millis) throws IOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while mounting", e);
        }
    }
}
