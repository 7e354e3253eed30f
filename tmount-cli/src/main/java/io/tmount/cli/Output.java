package io.tmount.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.tmount.json.TmountJson;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** Tables and JSON for command output. */
final class Output {

    private Output() {
    }

    static void json(PrintWriter out, Object value) {
        try {
            out.println(TmountJson.newMapper().writerWithDefaultPrettyPrinter().writeValueAsString(value));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Prints rows under a header, columns padded to their widest cell. */
    static void table(PrintWriter out, List<String> header, List<List<String>> rows) {
        List<List<String>> all = new ArrayList<>();
        all.add(header);
        all.addAll(rows);
        int[] widths = new int[header.size()];
        for (List<String> row : all) {
            for (int i = 0; i < row.size(); i++) {
                widths[i] = Math.max(widths[i], row.get(i).length());
            }
        }
        for (List<String> row : all) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.size(); i++) {
                line.append(i == row.size() - 1 ? row.get(i) : String.format("%-" + widths[i] + "s  ", row.get(i)));
            }
            out.println(line.toString().stripTrailing());
        }
    }

    /** Says on stderr that e2b cannot read a build stored under a non-UUID id (the daemon logs it too). */
    static void warnIfNotUuid(PrintWriter err, String build) {
        if (build != null && !io.tmount.store.BuildId.of(build).isUuid()) {
            err.println("tmount: warning: build id '" + build + "' is not a lower-case UUID: e2b cannot read this "
                    + "build (tmount can); --strict-build-ids refuses such ids");
            err.flush();
        }
    }

    /** The text cut to {@code max} characters, an ellipsis marking the cut. */
    static String shorten(String text, int max) {
        return text.length() <= max ? text : text.substring(0, max - 1) + "…";
    }

    static String orDash(Object value) {
        return value == null ? "-" : value.toString();
    }
}
