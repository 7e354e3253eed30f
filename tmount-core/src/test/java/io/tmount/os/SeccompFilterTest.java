package io.tmount.os;

import io.tmount.testing.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The seccomp filter fuse2fs runs under refuses what it names and leaves a program's ordinary work alone. */
class SeccompFilterTest {

    @TempDir
    Path dir;

    private CommandResult underFilter(String... command) throws Exception {
        Path script = Files.writeString(dir.resolve("seccomp.py"), UserspaceExt4.SECCOMP);
        String[] argv = new String[command.length + 3];
        argv[0] = "/usr/bin/python3";
        argv[1] = "-I";
        argv[2] = script.toString();
        System.arraycopy(command, 0, argv, 3, command.length);
        return Run.any(argv);
    }

    @Test
    void namespacesMountsAndTracingAreRefused_filesAndThreadsWork() throws Exception {
        CommandResult ordinary = underFilter("/bin/sh", "-c", "grep Seccomp: /proc/self/status; ls / >/dev/null; "
                + "/usr/bin/python3 -c 'import threading; t = threading.Thread(target=print, args=(\"thread\",)); "
                + "t.start(); t.join()'");
        assertThat(ordinary.succeeded()).as(ordinary.stderr()).isTrue();
        assertThat(ordinary.stdout()).contains("Seccomp:\t2").contains("thread");
        for (String[] refused : new String[][]{{"/usr/bin/unshare", "--user", "true"},
                {"/usr/bin/unshare", "--mount", "true"}, {"/usr/bin/mount", "-t", "tmpfs", "x", dir.toString()},
                {"/usr/sbin/chroot", "/", "true"}}) {
            CommandResult result = underFilter(refused);
            assertThat(result.succeeded()).as(String.join(" ", refused)).isFalse();
        }
        assertThat(Run.any("findmnt", dir.toString()).stdout()).doesNotContain("tmpfs");
    }
}
