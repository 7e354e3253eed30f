package io.tmount.builder;

import io.tmount.TmountException;
import io.tmount.buildcache.BuildCache;
import io.tmount.buildcache.CacheEntry;
import io.tmount.buildcache.StepKey;
import io.tmount.store.BuildId;
import io.tmount.store.StepBuild;
import io.tmount.store.TemplateId;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The first part of a build: the steps the build cache answers, in order, without a root. Each step that can change
 * the root is looked up by its key; a hit moves the build on to the cached build, a miss ends the cached part there.
 * Steps that change only the build's state (ENV, USER, a read-only MOUNT, UNMOUNT) are applied to it as they come;
 * a USER or MOUNT counts as valid once a later hit ran with what it set (its key holds it), else the build resumes at
 * it, so that a bad one fails as it does when run. If a writable MOUNT is still mounted where the cached part ends,
 * the build resumes at that MOUNT instead: what the steps since wrote into the mounted template is not in any build,
 * so they run again. When every step is cached, so may the end be (what unmounting leaves, see
 * {@link StepKeys#end}).
 */
final class CachedSteps {

    /**
     * Where the build goes on running steps: the step's index, the state and build before it, the steps so far, and
     * whether the end of the steps is cached too (only when every step is): then nothing is left to run.
     */
    record Resume(int index, BuildContext state, BuildId build, List<StepBuild> done, boolean endCached) {
    }

    private final BuildCache cache;
    private final StepKeys keys;
    private final TemplateId template;
    private final BuildOptions options;

    CachedSteps(BuildCache cache, StepKeys keys, TemplateId template, BuildOptions options) {
        this.cache = cache;
        this.keys = keys;
        this.template = template;
        this.options = options;
    }

    /** Whether a step can change the root, and so ends in a layer of its own when it did. */
    static boolean makesLayer(Step step) {
        return switch (step) {
            case Step.Run run -> true;
            case Step.Copy copy -> true;
            case Step.Workdir workdir -> true;
            case Step.Mount mount -> mount.writable();
            case Step.Env env -> false;
            case Step.User user -> false;
            case Step.Unmount unmount -> false;
        };
    }

    Resume replay(List<Step> steps, BuildId base, BuildLog out) throws IOException {
        List<BuildContext> stateBefore = new ArrayList<>();
        List<BuildId> buildBefore = new ArrayList<>();
        List<StepBuild> done = new ArrayList<>();
        BuildContext state = new BuildContext();
        BuildId build = base;
        // USER and read-only MOUNT steps only a root, or a later hit that ran with what they set, shows valid
        List<Integer> unverified = new ArrayList<>();
        int index = 0;
        for (; index < steps.size(); index++) {
            Step step = steps.get(index);
            stateBefore.add(state.copy());
            buildBefore.add(build);
            if (!makesLayer(step)) {
                if (step instanceof Step.User || step instanceof Step.Mount) {
                    unverified.add(index);
                }
                apply(step, state);
                state.stepDone(StepKeys.quote(step.describe()));
                done.add(new StepBuild(step.number(), step.describe(), null, true));
                continue;
            }
            StepKey key = key(keys, build, step, state);
            Optional<CacheEntry> hit = find(key);
            if (hit.isEmpty()) {
                break;
            }
            int at = index;
            BuildContext now = state;
            unverified.removeIf(i -> ranWith(steps, i, at, now));
            cache.used(hit.get());
            build = hit.get().build();
            apply(step, state);
            state.stepDone(key.hash());
            done.add(new StepBuild(step.number(), step.describe(), build, true));
            out.line("step " + step.number() + "/" + steps.size() + " " + step.describe() + ": cached, build " + build);
        }
        int resume = unverified.isEmpty() ? index : unverified.getFirst(); // so a bad USER or MOUNT fails as when run
        if (resume < steps.size()) {
            // back to the start of the window: a writable mount may have been up when the one found was mounted
            int first = resume;
            for (int mountedAt = firstWritableMount(resume == index ? state : stateBefore.get(resume), steps);
                 mountedAt >= 0 && mountedAt < first; mountedAt = firstWritableMount(stateBefore.get(first), steps)) {
                first = mountedAt;
            }
            if (first < resume) {
                out.line("step " + steps.get(resume).number() + " is not cached, and the template mounted writable by "
                        + "step " + steps.get(first).number() + " is still mounted: running again from there");
                resume = first;
            }
        }
        if (resume != index) {
            state = stateBefore.get(resume);
            build = buildBefore.get(resume);
            done = new ArrayList<>(done.subList(0, resume));
        }
        boolean endCached = false;
        if (resume == steps.size()) {
            Optional<CacheEntry> end = find(keys.end(build, state));
            if (end.isPresent()) {
                cache.used(end.get());
                build = end.get().build();
                endCached = true;
            }
        }
        return new Resume(resume, state, build, done, endCached);
    }

    /** Whether what the USER or MOUNT step at {@code index} set is in effect for the step at {@code hit}. */
    private static boolean ranWith(List<Step> steps, int index, int hit, BuildContext state) {
        return switch (steps.get(index)) {
            case Step.User user -> steps.subList(index + 1, hit).stream().noneMatch(Step.User.class::isInstance);
            case Step.Mount mount -> state.mounts().stream().anyMatch(m -> m.step() == mount.number());
            default -> false;
        };
    }

    /** The step's cache key; what keeps it from being made (a COPY source outside the context) fails the step. */
    static StepKey key(StepKeys keys, BuildId build, Step step, BuildContext state) throws IOException {
        try {
            return keys.of(build, step, state);
        } catch (IOException | RuntimeException e) {
            TmountException.Kind kind = e instanceof TmountException te ? te.kind() : TmountException.Kind.FAILED;
            throw new TmountException(kind, "step " + step.number() + " (" + step.describe() + "): " + e.getMessage(), e);
        }
    }

    /**
     * The entry in the template's own cache, else in the first template of --cache-from that has one; none with
     * --no-cache.
     */
    Optional<CacheEntry> find(StepKey key) {
        if (options.noCache()) {
            return Optional.empty();
        }
        Optional<CacheEntry> own = cache.find(template, key);
        if (own.isPresent()) {
            return own;
        }
        for (TemplateId other : options.cacheFrom()) {
            Optional<CacheEntry> theirs = cache.find(other, key);
            if (theirs.isPresent()) {
                return theirs;
            }
        }
        return Optional.empty();
    }

    /** What a step does to the build's state (a cached step's effect on the root is its build). */
    static void apply(Step step, BuildContext state) {
        switch (step) {
            case Step.Env env -> state.env(env.key(), env.value());
            case Step.Workdir workdir -> state.changeWorkdir(workdir.path());
            case Step.User user -> state.userNamed(user.name());
            case Step.Mount mount -> state.mounted(new BuildContext.Mounted(mount.number(), state.workdir(),
                    mount.path(), mount.template(), mount.build(), mount.writable()));
            case Step.Unmount unmount -> {
                List<String> mounted = state.mounts().stream().map(BuildContext.Mounted::inRoot).toList();
                state.unmounted(unmount.path());
                if (state.mounts().size() == mounted.size()) { // as StepMounts says it, for a run that is not cached
                    throw TmountException.invalid("step %d (%s): %s is not mounted by this build%s", unmount.number(),
                            unmount.describe(), unmount.path(),
                            mounted.isEmpty() ? "" : " (mounted: " + String.join(", ", mounted) + ")");
                }
            }
            case Step.Run run -> { }
            case Step.Copy copy -> { }
        }
    }

    /** The index of the MOUNT step of the earliest writable mount still mounted, or -1. */
    private static int firstWritableMount(BuildContext state, List<Step> steps) {
        for (BuildContext.Mounted m : state.mounts()) {
            if (m.writable()) {
                for (int i = 0; i < steps.size(); i++) {
                    if (steps.get(i).number() == m.step()) {
                        return i;
                    }
                }
            }
        }
        return -1;
    }
}
