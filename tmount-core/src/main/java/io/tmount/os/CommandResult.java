package io.tmount.os;

import java.util.List;

/** What a finished command printed and how it exited. */
public record CommandResult(List<String> command, int exitCode, String stdout, String stderr) {

    public boolean succeeded() {
        return exitCode == 0;
    }

    /** The first non-blank line of stderr (or stdout), for one-line error messages. */
    public String firstErrorLine() {
        for (String text : List.of(stderr, stdout)) {
            for (String line : text.split("\n")) {
                if (!line.isBlank()) {
                    return line.strip();
                }
            }
        }
        return "(no output)";
    }
}
