package io.tmount.testing;

import io.tmount.os.Commands;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Fails a test class that leaves a mount, loop device or helper process behind, after taking the leftovers
 * apart so the next class starts clean.
 */
public final class NoLeftovers implements BeforeAllCallback, AfterAllCallback {

    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(NoLeftovers.class);

    @Override
    public void beforeAll(ExtensionContext context) {
        context.getStore(NS).put("before", HostState.snapshot());
    }

    @Override
    @SuppressWarnings("unchecked")
    public void afterAll(ExtensionContext context) {
        Set<String> before = (Set<String>) context.getStore(NS).get("before");
        Set<String> left = new TreeSet<>(HostState.snapshot());
        left.removeAll(before);
        if (left.isEmpty()) {
            return;
        }
        for (String item : left) {
            cleanUp(item);
        }
        throw new AssertionError(context.getDisplayName() + " left behind: " + String.join("; ", left));
    }

    private static void cleanUp(String item) {
        String[] words = item.split(" ");
        try {
            switch (words[0]) {
                case "mount" -> Commands.run(Duration.ofSeconds(30), List.of("umount", "--lazy", words[1]));
                case "loop" -> Commands.run(Duration.ofSeconds(30), List.of("losetup", "-d", "/dev/" + words[1]));
                case "process" -> ProcessHandle.of(Long.parseLong(words[1])).ifPresent(ProcessHandle::destroyForcibly);
                default -> { }
            }
        } catch (Exception e) {
            System.err.println("cannot clean up " + item + ": " + e);
        }
    }

}
