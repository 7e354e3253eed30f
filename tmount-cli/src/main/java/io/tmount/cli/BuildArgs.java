package io.tmount.cli;

import picocli.CommandLine.Parameters;

/** TEMPLATE BUILD, the first two parameters of the file commands that read one build. */
final class BuildArgs {

    @Parameters(index = "0", paramLabel = "TEMPLATE", description = "Template id.")
    String template;

    @Parameters(index = "1", paramLabel = "BUILD", description = "Build id.")
    String build;
}
