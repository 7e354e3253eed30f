package io.tmount.cli;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.core.OutputStreamAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tmount.os.CommandResult;
import io.tmount.testing.Run;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Man pages, shell completion and JSON logs, all generated from what the program itself knows. */
class CliOperatorDocsTest {

    @TempDir
    Path dir;

    private String tmount(String... args) {
        StringWriter out = new StringWriter();
        int status = Main.run(args, new PrintWriter(out), new PrintWriter(new StringWriter()), Map.of());
        assertThat(status).isZero();
        return out.toString();
    }

    @Test
    void manPages_coverEveryCommand_andRenderWithoutWarnings() throws Exception {
        Path man = dir.resolve("man1");
        assertThat(tmount("man", "--dir", man.toString())).startsWith("wrote ");
        List<String> pages;
        try (var files = Files.list(man)) {
            pages = files.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertThat(pages).contains("tmount.1", "tmount-mount.1", "tmount-export.1", "tmount-doctor.1",
                "tmount-serve.1").doesNotContain("tmount-help.1");
        assertThat(Files.readString(man.resolve("tmount-mount.1"))).contains("\\-\\-fs").contains(".SH OPTIONS");
        for (String page : pages) {
            CommandResult rendered = Run.any("groff", "-man", "-Tutf8", "-ww", "-z", man.resolve(page).toString());
            assertThat(rendered.succeeded()).as(page).isTrue();
            assertThat(rendered.stderr()).as(page).isEmpty();
        }
        assertThat(Run.ok("man", "-l", man.resolve("tmount-export.1").toString()).stdout())
                .contains("TMOUNT-EXPORT(1)", "OPTIONS", "STARTTLS");
    }

    @Test
    void completion_isAValidBashScript_thatCompletesCommandsAndOptions() throws Exception {
        Path script = dir.resolve("tmount.bash");
        Files.writeString(script, tmount("completion"));
        Run.ok("bash", "-n", script.toString());
        assertThat(complete(script, "tmount doc")).containsExactly("doctor");
        assertThat(complete(script, "tmount mount --f")).containsExactlyInAnyOrder("--fs", "--fsck");
        assertThat(complete(script, "tmount export x y --tls")).contains("--tls", "--tls-cert", "--tls-key");
    }

    /** What bash offers for the last word of {@code line}, through the function the script registers. */
    private static List<String> complete(Path script, String line) {
        String[] words = line.split(" ");
        String out = Run.ok("bash", "-c", "source " + script + " 2>/dev/null; COMP_WORDS=(" + line + "); COMP_CWORD="
                + (words.length - 1) + "; COMP_LINE='" + line + "'; COMP_POINT=${#COMP_LINE}; "
                + "_complete_tmount 2>/dev/null; printf '%s\\n' \"${COMPREPLY[@]}\"").stdout().strip();
        return out.isEmpty() ? List.of() : List.of(out.split("\n"));
    }

    @Test
    void jsonLogs_areOneObjectPerLine_andTextComesBack() throws Exception {
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        try {
            Logging.format(true);
            @SuppressWarnings("unchecked")
            var appender = (OutputStreamAppender<ch.qos.logback.classic.spi.ILoggingEvent>) root.getAppender("STDERR");
            ByteArrayOutputStream captured = new ByteArrayOutputStream();
            appender.setOutputStream(captured);
            LoggerFactory.getLogger("io.tmount.test").warn("mounted {} at {}", "base", "/mnt/\"quoted\"\nnext");
            String[] lines = captured.toString(StandardCharsets.UTF_8).strip().split("\n");
            assertThat(lines).hasSize(1);
            JsonNode line = new ObjectMapper().readTree(lines[0]);
            assertThat(line.path("level").asText()).isEqualTo("WARN");
            assertThat(line.path("loggerName").asText()).isEqualTo("io.tmount.test");
            assertThat(line.path("formattedMessage").asText()).isEqualTo("mounted base at /mnt/\"quoted\"\nnext");
            assertThat(line.path("timestamp").asLong()).isPositive();
        } finally {
            Logging.format(false);
        }
        assertThat(root.getAppender("STDERR")).isInstanceOf(OutputStreamAppender.class);
        StringWriter err = new StringWriter();
        assertThat(Main.run(new String[]{"serve", "--log-format", "xml"}, new PrintWriter(new StringWriter()),
                new PrintWriter(err), Map.of("TMOUNT_STATE_DIR", dir.resolve("s").toString(),
                        "TMOUNT_RUNTIME_DIR", dir.resolve("r").toString()))).isEqualTo(1);
        assertThat(err.toString()).contains("--log-format takes text or json");
        for (String[] bad : new String[][] {{"--prefetch", "no-build"}, {"--prefetch", "t="},
                {"--prefetch", "t=b", "--prefetch-rate", "-1"}}) {
            StringWriter refused = new StringWriter();
            String[] args = new String[bad.length + 1];
            args[0] = "serve";
            System.arraycopy(bad, 0, args, 1, bad.length);
            assertThat(Main.run(args, new PrintWriter(new StringWriter()), new PrintWriter(refused),
                    Map.of("TMOUNT_STATE_DIR", dir.resolve("s").toString(), "TMOUNT_RUNTIME_DIR",
                            dir.resolve("r").toString()))).as(String.join(" ", bad)).isEqualTo(1);
            assertThat(refused.toString()).containsPattern("--prefetch takes TEMPLATE=BUILD|--prefetch-rate takes");
        }
        assertThat(dir.resolve("s")).doesNotExist(); // refused before anything started
    }
}
