package io.tmount.builder;

import io.tmount.store.BuildId;
import io.tmount.store.TemplateId;

/** One step of a template build, as parsed from the template file; {@code number} counts from 1. */
public sealed interface Step {

    int number();

    /** How the step reads in logs and errors: {@code step 3 (RUN cp -r /mnt/source/app /current-build/)}. */
    String describe();

    /** The step's keyword as written in template files: RUN, COPY, MOUNT, ... (each record is named after it). */
    default String type() {
        return getClass().getSimpleName().toUpperCase(java.util.Locale.ROOT);
    }

    /** A shell command run inside the build root; with {@code network}, in the host's network, else in none. */
    record Run(int number, String command, boolean network) implements Step {
        public String describe() {
            return "RUN " + (network ? "--network " : "") + command;
        }
    }

    /** Copies a file or folder of the build context into the build root. */
    record Copy(int number, String source, String destination) implements Step {
        public String describe() {
            return "COPY " + source + " " + destination;
        }
    }

    record Env(int number, String key, String value) implements Step {
        public String describe() {
            return "ENV " + key + " " + value;
        }
    }

    record Workdir(int number, String path) implements Step {
        public String describe() {
            return "WORKDIR " + path;
        }
    }

    record User(int number, String name) implements Step {
        public String describe() {
            return "USER " + name;
        }
    }

    /** Mounts another template's build at a path inside the build root; read-only unless {@code writable}. */
    record Mount(int number, TemplateId template, BuildId build, String path, boolean writable) implements Step {
        public String describe() {
            return "MOUNT " + template + " " + build + " " + path + (writable ? " --rw" : "");
        }
    }

    record Unmount(int number, String path) implements Step {
        public String describe() {
            return "UNMOUNT " + path;
        }
    }
}
