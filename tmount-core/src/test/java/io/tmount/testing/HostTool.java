package io.tmount.testing;

import io.tmount.os.HostTools;

import java.nio.file.Path;

/** Host programs the tests drive. A missing one fails the test (never skips it): scripts/test installs them. */
public final class HostTool {

    private HostTool() {
    }

    public static Path require(String program, String debianPackage) {
        return HostTools.find(program).orElseThrow(() -> new AssertionError(
                "test needs `" + program + "` (Debian package " + debianPackage + "); run scripts/test, which installs it"));
    }
}
