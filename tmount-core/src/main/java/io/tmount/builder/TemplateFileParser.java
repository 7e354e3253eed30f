package io.tmount.builder;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.tmount.ByteSize;
import io.tmount.TmountException;
import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Reads template files (YAML; JSON is YAML too). Every mistake is refused here, before anything is mounted, with a
 * message naming the field or the step number.
 */
public final class TemplateFileParser {

    private static final Set<String> TOP_LEVEL = Set.of("template", "from", "fromEmpty", "context", "network", "steps");
    private static final String STEP_TYPES = "RUN, COPY, ENV, WORKDIR, USER, MOUNT, UNMOUNT";

    private final ObjectMapper yaml = new ObjectMapper(new YAMLFactory());

    /**
     * The build context: inside the template file's folder (itself, or below it, symlinks followed). A template file
     * is often someone else's text; a context it could point anywhere would let its COPY steps put host files (say
     * /etc/shadow) into a build in the store, although its RUN steps are confined to the build root.
     */
    private static Path confined(Path baseDir, String context) {
        Path base = baseDir.toAbsolutePath().normalize();
        Path resolved = base.resolve(context).normalize();
        try {
            Path real = resolved.toRealPath();
            Path realBase = base.toRealPath();
            if (!real.startsWith(realBase)) {
                throw TmountException.invalid("context '%s' is outside the template file's folder %s (it is %s); a build "
                        + "copies only from its own folder: move the template file, or the files, there", context,
                        base, real);
            }
            return real;
        } catch (java.io.IOException e) {
            throw TmountException.invalid("context '%s' (%s) cannot be read: %s", context, resolved, e.getMessage());
        }
    }

    /** Parses {@code text}; {@code baseDir} is where a relative {@code context} is resolved (the file's folder). */
    public TemplateFile parse(String text, Path baseDir) {
        JsonNode root;
        try {
            root = yaml.readTree(text);
        } catch (JsonProcessingException e) {
            throw TmountException.invalid("template file is not valid YAML or JSON: %s", e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw TmountException.invalid("template file must be a mapping with template, from or fromEmpty, and steps");
        }
        for (Iterator<String> names = root.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!TOP_LEVEL.contains(name)) {
                throw TmountException.invalid("template file has an unknown field '%s'; fields: template, from, "
                        + "fromEmpty, context, network, steps", name);
            }
        }
        TemplateId template = TemplateId.of(text(root, "template", "template"));
        JsonNode from = root.get("from");
        JsonNode empty = root.get("fromEmpty");
        if ((from == null) == (empty == null)) {
            throw TmountException.invalid("template file needs exactly one of from: {template, build} and fromEmpty: {size}");
        }
        TemplateFile.Base base;
        if (from != null) {
            base = new TemplateFile.FromBuild(TemplateId.of(text(from, "template", "from.template")),
                    BuildId.of(text(from, "build", "from.build")));
        } else {
            ByteSize size = ByteSize.parse(text(empty, "size", "fromEmpty.size"));
            if (size.bytes() < 16L << 20) {
                throw TmountException.invalid("fromEmpty.size %s is too small (at least 16M)", size);
            }
            base = new TemplateFile.Empty(size);
        }
        Path context = null;
        if (root.hasNonNull("context")) {
            context = confined(baseDir, root.get("context").asText());
        }
        JsonNode networkNode = root.get("network");
        if (networkNode != null && !networkNode.isBoolean()) {
            throw TmountException.invalid("network must be true or false");
        }
        boolean network = networkNode != null && networkNode.asBoolean(); // every RUN step's default
        JsonNode stepsNode = root.get("steps");
        if (stepsNode != null && !stepsNode.isArray()) {
            throw TmountException.invalid("steps must be a list of {type, args}");
        }
        List<Step> steps = new ArrayList<>();
        if (stepsNode != null) {
            int number = 0;
            for (JsonNode node : stepsNode) {
                steps.add(step(++number, node, network));
            }
        }
        return new TemplateFile(template, base, context, steps);
    }

    private static Step step(int number, JsonNode node, boolean network) {
        String where = "step " + number;
        if (!node.isObject() || !node.hasNonNull("type")) {
            throw TmountException.invalid("%s must be {type, args}", where);
        }
        String type = node.get("type").asText().toUpperCase(Locale.ROOT);
        JsonNode argsNode = node.get("args");
        List<String> args = new ArrayList<>();
        if (argsNode != null) {
            if (!argsNode.isArray()) {
                throw TmountException.invalid("%s (%s): args must be a list of strings", where, type);
            }
            argsNode.forEach(arg -> args.add(arg.asText()));
        }
        try {
            return switch (type) {
                case "RUN" -> {
                    count(args, 1, 2, "[--network] and a command");
                    if (args.size() == 2 && !args.getFirst().equals("--network")) {
                        throw TmountException.invalid("the first of two arguments may only be --network, not '%s'",
                                args.getFirst());
                    }
                    yield new Step.Run(number, args.getLast(), network || args.size() == 2);
                }
                case "COPY" -> {
                    count(args, 2, 2, "a source in the context and a destination");
                    yield new Step.Copy(number, args.get(0), args.get(1));
                }
                case "ENV" -> {
                    count(args, 2, 2, "a name and a value");
                    if (!args.get(0).matches("[A-Za-z_][A-Za-z0-9_]*")) {
                        throw TmountException.invalid("'%s' is not a valid variable name", args.get(0));
                    }
                    yield new Step.Env(number, args.get(0), args.get(1));
                }
                case "WORKDIR" -> new Step.Workdir(number, count(args, 1, 1, "a path").getFirst());
                case "USER" -> new Step.User(number, count(args, 1, 1, "a user name or uid[:gid]").getFirst());
                case "MOUNT" -> {
                    count(args, 3, 4, "template_id build_id mount_path [--rw]");
                    boolean writable = args.size() == 4;
                    if (writable && !args.get(3).equals("--rw")) {
                        throw TmountException.invalid("the fourth argument may only be --rw, not '%s'", args.get(3));
                    }
                    yield new Step.Mount(number, TemplateId.of(args.get(0)), BuildId.of(args.get(1)), args.get(2), writable);
                }
                case "UNMOUNT" -> new Step.Unmount(number, count(args, 1, 1, "a mount_path").getFirst());
                default -> throw TmountException.invalid("unknown step type '%s'; types: %s", type, STEP_TYPES);
            };
        } catch (TmountException e) {
            throw new TmountException(e.kind(), where + " (" + type + "): " + e.getMessage(), e);
        }
    }

    private static List<String> count(List<String> args, int min, int max, String what) {
        if (args.size() < min || args.size() > max) {
            throw TmountException.invalid("takes %s (%s), got %d argument(s)",
                    min == max ? min + " argument(s)" : min + " to " + max + " arguments", what, args.size());
        }
        for (String arg : args) {
            if (arg.isEmpty() || arg.indexOf('\0') >= 0) {
                throw TmountException.invalid("arguments must not be empty or contain NUL");
            }
        }
        return args;
    }

    private static String text(JsonNode node, String field, String name) {
        JsonNode value = node == null ? null : node.get(field);
        if (value == null || value.isNull() || value.asText().isBlank()) {
            throw TmountException.invalid("template file needs %s", name);
        }
        return value.asText();
    }
}
