package io.tmount.store;

/**
 * One step of a template build as its final build records it: the step's number and text, and the build that holds
 * the root after it (null for a step that changes only the build's state: ENV, USER, a read-only MOUNT, UNMOUNT),
 * and whether it came from the build cache instead of running.
 */
public record StepBuild(int number, String step, BuildId build, boolean cached) {
}
