package io.tmount.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

import java.time.LocalDate;
import java.util.List;
import java.util.Map;

/**
 * Manual pages in roff (man(7)) from the command definitions, so they never drift from {@code --help}: one for
 * tmount listing its commands, and one per command ({@code tmount-mount(1)}, ...).
 */
final class ManPages {

    private ManPages() {
    }

    /** The page's file name and its text, for the root command and every visible subcommand. */
    static Map<String, String> all(CommandLine root, String version) {
        Map<String, String> pages = new java.util.LinkedHashMap<>();
        pages.put("tmount.1", page(root, version));
        for (Map.Entry<String, CommandLine> sub : root.getSubcommands().entrySet()) {
            if (!sub.getValue().getCommandSpec().usageMessage().hidden() && !sub.getKey().equals("help")) {
                pages.put("tmount-" + sub.getKey() + ".1", page(sub.getValue(), version));
            }
        }
        return pages;
    }

    static String page(CommandLine command, String version) {
        CommandSpec spec = command.getCommandSpec();
        String name = spec.qualifiedName("-");
        StringBuilder roff = new StringBuilder();
        roff.append(".TH ").append(quote(name.toUpperCase(java.util.Locale.ROOT))).append(" 1 ")
                .append(quote(LocalDate.now().toString())).append(' ').append(quote("tmount " + version))
                .append(' ').append(quote("tmount manual")).append('\n');
        roff.append(".SH NAME\n").append(escape(name)).append(" \\- ")
                .append(escape(first(spec.usageMessage().description()))).append('\n');
        roff.append(".SH SYNOPSIS\n.nf\n")
                .append(escape(new CommandLine.Help(spec, CommandLine.Help.defaultColorScheme(CommandLine.Help.Ansi.OFF))
                        .synopsis(0).strip().replaceFirst("^Usage: ", ""))).append("\n.fi\n");
        roff.append(".SH DESCRIPTION\n");
        for (String line : spec.usageMessage().description()) {
            roff.append(escape(line)).append('\n');
        }
        List<PositionalParamSpec> parameters = spec.positionalParameters().stream()
                .filter(p -> !p.hidden()).toList();
        if (!parameters.isEmpty()) {
            roff.append(".SH ARGUMENTS\n");
            for (PositionalParamSpec p : parameters) {
                roff.append(".TP\n\\fI").append(escape(p.paramLabel())).append("\\fR\n")
                        .append(escape(String.join(" ", p.description()))).append('\n');
            }
        }
        List<OptionSpec> options = spec.options().stream().filter(o -> !o.hidden()).toList();
        if (!options.isEmpty()) {
            roff.append(".SH OPTIONS\n");
            for (OptionSpec o : options) {
                roff.append(".TP\n\\fB").append(escape(String.join(", ", o.names()))).append("\\fR");
                if (o.arity().max() > 0) {
                    roff.append(" \\fI").append(escape(o.paramLabel())).append("\\fR");
                }
                roff.append('\n').append(escape(String.join(" ", o.description())
                        .replace("${DEFAULT-VALUE}", String.valueOf(o.defaultValue())))).append('\n');
            }
        }
        if (!command.getSubcommands().isEmpty()) {
            roff.append(".SH COMMANDS\n");
            command.getSubcommands().forEach((sub, line) -> {
                if (!line.getCommandSpec().usageMessage().hidden() && !sub.equals("help")) {
                    roff.append(".TP\n\\fB").append(escape(sub)).append("\\fR\n")
                            .append(escape(first(line.getCommandSpec().usageMessage().description())))
                            .append(" See \\fBtmount-").append(escape(sub)).append("\\fR(1).\n");
                }
            });
        }
        roff.append(".SH SEE ALSO\n").append(spec.parent() == null ? "The README of the tmount repository."
                : "\\fBtmount\\fR(1)").append('\n');
        return roff.toString();
    }

    private static String first(String[] lines) {
        return lines.length == 0 ? "" : lines[0];
    }

    private static String quote(String text) {
        return "\"" + escape(text).replace("\"", "\\(dq") + "\"";
    }

    /** Text as roff shows it: backslashes doubled, hyphens as such, and no line starting a request. */
    private static String escape(String text) {
        String escaped = text.replace("\\", "\\e").replace("-", "\\-");
        return escaped.lines().map(l -> l.startsWith(".") || l.startsWith("'") ? "\\&" + l : l)
                .reduce((a, b) -> a + "\n" + b).orElse("");
    }
}
