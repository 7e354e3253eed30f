package io.tmount.os;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class SandboxUsersTest {

    @TempDir
    Path dir;

    @Test
    void idsOfAccountsGroupsProcessesAndSystemdsDynamicUsers_areNeverHandedOut() throws IOException {
        Files.writeString(dir.resolve("passwd"), "root:x:0:0::/root:/bin/sh\nsvc:x:65519:100::/:/bin/false\n");
        Files.writeString(dir.resolve("group"), "root:x:0:\nsome:x:65518:\n");
        Files.createDirectories(dir.resolve("proc/4242"));
        Files.writeString(dir.resolve("proc/4242/status"), "Name:\tx\nUid:\t65517\t65517\t65517\t65517\n");
        Files.createDirectories(dir.resolve("proc/self")); // not a process: ignored
        Files.createDirectories(dir.resolve("dynamic"));
        Files.writeString(dir.resolve("dynamic/65516"), "");
        SandboxUsers users = new SandboxUsers(65_500, 65_519, dir.resolve("passwd"), dir.resolve("group"),
                dir.resolve("proc"), dir.resolve("dynamic"));
        int first = users.allocate();
        assertThat(first).isEqualTo(65_515);
        assertThat(users.allocate()).isEqualTo(65_514); // the first is still held
        users.release(first);
        assertThat(users.allocate()).isEqualTo(65_515);
    }
}
