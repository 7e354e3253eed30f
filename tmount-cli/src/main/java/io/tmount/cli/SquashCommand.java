package io.tmount.cli;

import io.tmount.TmountException;
import io.tmount.image.BuildImages;
import io.tmount.image.CacheBudget;
import io.tmount.image.ChainWriter;
import io.tmount.image.WriteFormat;
import io.tmount.mount.MountManagerConfig;
import io.tmount.os.Folders;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "squash", description = {
        "Store a build's whole content, however deep its chain of layers, as a new build of one layer (no parent);",
        "prints the new build's id. Reads the chain from the store (no daemon needed), through a temporary chunk",
        "cache and a scratch copy of the device in a temporary folder of the state dir, both removed at the end."})
final class SquashCommand implements Callable<Integer> {

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "TEMPLATE", description = "The template of the build and of the new build.")
    String template;

    @Parameters(index = "1", paramLabel = "BUILD", description = "The build to squash.")
    String build;

    @Option(names = "--build", required = true, paramLabel = "NEW", description = "The new build's id.")
    String newBuild;

    @Mixin
    FormatOptions format;

    @Override
    public Integer call() throws IOException {
        TemplateId templateId = TemplateId.of(template);
        BuildId source = BuildId.of(build);
        BuildId target = BuildId.of(newBuild);
        Output.warnIfNotUuid(spec.commandLine().getErr(), newBuild);
        Settings settings = main.settings();
        WriteFormat writeFormat = format.over(settings.writeFormat());
        try (TemplateStore store = settings.openStore()) {
            store.resolve(templateId, source);
            if (store.exists(target)) {
                throw TmountException.conflict("build '%s' already exists in template store %s", target, store.url());
            }
            store.checkNewBuildId(target);
            Files.createDirectories(settings.stateDir());
            Path work = Files.createTempDirectory(settings.stateDir(), "squash-");
            try (BuildImages images = new BuildImages(store, work.resolve("cache"), MountManagerConfig.DEFAULT_CHUNK_SIZE,
                    new CacheBudget(Long.MAX_VALUE), settings.fetch())) {
                new ChainWriter(images, work.resolve("scratch")).squash(source, target, templateId, writeFormat, m -> m);
            } finally {
                Folders.deleteTree(work);
            }
        }
        spec.commandLine().getOut().println(target);
        return 0;
    }
}
