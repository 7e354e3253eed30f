package io.tmount.builder;

/** Where a build reports its progress, a line at a time (step numbers, timings, RUN output). */
@FunctionalInterface
public interface BuildLog {

    void line(String text);

    BuildLog NONE = text -> { };
}
