package io.tmount.cli;

import io.tmount.ByteSize;
import io.tmount.image.BuildWriter;
import io.tmount.image.WriteFormat;
import io.tmount.store.BuildId;
import io.tmount.store.BuildSummary;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.TemplateCatalog;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "template", description = "Put templates into the template store and list its builds.",
        subcommands = {TemplateCommand.Create.class, TemplateCommand.Import.class, TemplateCommand.ListBuilds.class})
final class TemplateCommand {

    @ParentCommand
    Main main;

    /** Runs an action against the configured store, closing it afterwards. */
    <T> T withCatalog(CatalogAction<T> action) throws IOException {
        Settings settings = main.settings();
        try (TemplateStore store = settings.openStore()) {
            return action.run(new TemplateCatalog(store, settings.stateDir().resolve("tmp")));
        }
    }

    interface CatalogAction<T> {
        T run(TemplateCatalog catalog) throws IOException;
    }

    /** The ids of a build being added: its template, and its own id unless a new UUID will do. */
    static final class NewBuild {
        @Option(names = "--template", required = true, paramLabel = "T", description = "Template id.")
        String template;
        @Option(names = "--build", paramLabel = "B", description = "Build id (default: a new UUID).")
        String build;
        @Mixin
        FormatOptions format;

        TemplateId template() {
            return TemplateId.of(template);
        }

        BuildId build() {
            return build == null ? null : BuildId.of(build);
        }
    }

    @Command(name = "create", description = "Make an ext4 image from a folder (mkfs.ext4 -d) and store it as a new build; prints the build id.")
    static final class Create implements Callable<Integer> {
        @ParentCommand
        TemplateCommand parent;
        @Spec
        CommandSpec spec;
        @Mixin
        NewBuild ids;
        @Option(names = "--from-dir", required = true, paramLabel = "DIR", description = "Folder to copy into the image.")
        Path fromDir;
        @Option(names = "--size", paramLabel = "SIZE",
                description = "Image size, e.g. 512M or 2G (default: the folder's size plus a quarter plus 16 MiB, at least 32 MiB).")
        String size;

        @Override
        public Integer call() throws IOException {
            TemplateId templateId = ids.template();
            BuildId buildId = ids.build();
            ByteSize bytes = size == null ? null : ByteSize.parse(size);
            Output.warnIfNotUuid(spec.commandLine().getErr(), ids.build);
            WriteFormat writeFormat = ids.format.over(parent.main.settings().writeFormat());
            // the image's size is known only once mkfs made it: bytes and rate, no bar
            BuildId created;
            try (ProgressDisplay.Task task = parent.main.progress(spec.commandLine().getErr())
                    .start("creating " + templateId, 0).followReads(ProcessHandle.current().pid())) {
                created = Tasks.failing(task, () -> parent.withCatalog(c -> c.create(templateId, buildId,
                        fromDir.toAbsolutePath(), bytes, writeFormat)));
            }
            spec.commandLine().getOut().println(created);
            return 0;
        }
    }

    @Command(name = "import", description = "Store an existing ext4 image as a new build; prints the build id.")
    static final class Import implements Callable<Integer> {
        @ParentCommand
        TemplateCommand parent;
        @Spec
        CommandSpec spec;
        @Mixin
        NewBuild ids;
        @Parameters(index = "0", paramLabel = "IMAGE", description = "The ext4 image file.")
        Path image;

        @Override
        public Integer call() throws IOException {
            TemplateId templateId = ids.template();
            BuildId buildId = ids.build();
            Output.warnIfNotUuid(spec.commandLine().getErr(), ids.build);
            WriteFormat writeFormat = ids.format.over(parent.main.settings().writeFormat());
            long total = java.nio.file.Files.size(image) * BuildWriter.readPasses(writeFormat);
            BuildId created;
            try (ProgressDisplay.Task task = parent.main.progress(spec.commandLine().getErr())
                    .start("importing " + image.getFileName(), total).followReads(ProcessHandle.current().pid())) {
                created = Tasks.failing(task, () -> parent.withCatalog(c -> c.importImage(templateId, buildId,
                        image.toAbsolutePath(), writeFormat)));
            }
            spec.commandLine().getOut().println(created);
            return 0;
        }
    }

    @Command(name = "list", aliases = "ls", description = "List the builds in the template store.")
    static final class ListBuilds implements Callable<Integer> {
        @ParentCommand
        TemplateCommand parent;
        @Spec
        CommandSpec spec;
        @Option(names = "--json", description = "Print JSON.")
        boolean json;

        @Override
        public Integer call() throws IOException {
            List<BuildSummary> builds = parent.withCatalog(TemplateCatalog::list);
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                Output.json(out, builds);
            } else if (builds.isEmpty()) {
                out.println("no builds in the store");
            } else {
                Output.table(out, List.of("BUILD", "TEMPLATE", "STORED", "COMPRESSION", "HEADER", "CREATED"),
                        builds.stream().map(b -> List.of(b.buildId().value(), Output.orDash(b.templateId()),
                                ByteSize.format(b.storedBytes()), b.compression().label(), b.layered() ? "yes" : "no",
                                Output.orDash(b.createdAt()))).toList());
            }
            return 0;
        }
    }
}
