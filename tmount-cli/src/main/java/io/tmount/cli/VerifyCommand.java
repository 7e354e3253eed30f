package io.tmount.cli;

import io.tmount.ByteSize;
import io.tmount.image.BuildVerifier;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.BuildCheck;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;

@Command(name = "verify", description = {
        "Check a build and every build of its chain, read again from the store (no daemon, no cache): each header, "
                + "that every mapped byte is in a data object or frame, each object's size, each frame's decoding "
                + "and the SHA-256 of each build's data where a header records one.",
        "With --fsck, also e2fsck -fn on the composed image."},
        exitCodeListHeading = "%nExit status:%n", exitCodeList = {"0:intact", "3:damaged", "1:could not check"})
final class VerifyCommand implements Callable<Integer> {

    static final int DAMAGED = 3;

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "TEMPLATE", description = "Template id.")
    String template;

    @Parameters(index = "1", paramLabel = "BUILD", description = "Build id.")
    String build;

    @Option(names = "--fsck", description = "Also run e2fsck -fn on the composed image (written sparse to STATE_DIR/tmp).")
    boolean fsck;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    /** What verifying reads: every layer's stored object (0 when the chain cannot be read: verify says why). */
    private long storedBytes(TemplateStore store) {
        try {
            return io.tmount.image.BuildLayout.read(store, BuildId.of(build)).storedBytes();
        } catch (RuntimeException unreadable) {
            return 0;
        }
    }

    @Override
    public Integer call() throws IOException {
        Settings settings = main.settings();
        BuildCheck.Result result;
        try (TemplateStore store = settings.openStore()) {
            store.resolve(TemplateId.of(template), BuildId.of(build));
            long total = storedBytes(store);
            try (ProgressDisplay.Task task = main.progress(spec.commandLine().getErr())
                    .start("verifying " + build, total).followReads(ProcessHandle.current().pid())) {
                result = Tasks.failing(task, () -> BuildCheck.run(store, BuildId.of(build), fsck,
                        settings.stateDir().resolve("tmp")));
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Output.json(out, result);
            return result.intact() ? 0 : DAMAGED;
        }
        for (BuildVerifier.LayerCheck layer : result.layers()) {
            String what = layer.object() == null ? "" : String.format(" %s (%s, %s stored, %s of data%s)",
                    layer.object(), layer.compression(), ByteSize.format(layer.storedBytes()),
                    ByteSize.format(layer.uncompressedBytes()), layer.frames() > 0 ? ", " + layer.frames() + " frames" : "");
            String sha = (layer.expectedSha256() == null ? "SHA-256 not recorded"
                    : layer.intact() ? "SHA-256 matches" : "SHA-256 recorded")
                    + (layer.digestBlocks() > 0 ? ", " + layer.digestBlocks() + " block digests match" : "");
            out.printf("%s  build %s%s: %s%n", layer.intact() ? "ok " : "BAD", layer.build(), what,
                    layer.intact() ? sha : String.join("; ", layer.problems()));
        }
        if (result.fsck() != null) {
            out.printf("%s  e2fsck -fn: %s%n", result.fsck().clean() ? "ok " : "BAD",
                    result.fsck().clean() ? "clean" : "exit status " + result.fsck().exitCode() + "\n"
                            + result.fsck().output().indent(5).stripTrailing());
        } else if (fsck) {
            out.println("-    e2fsck -fn: not run, the chain is damaged");
        }
        out.println(result.intact() ? "build " + build + " is intact" : "build " + build + " is DAMAGED");
        return result.intact() ? 0 : DAMAGED;
    }
}
