package io.tmount.builder;

import io.tmount.ByteSize;
import io.tmount.buildcache.BuildCache;
import io.tmount.buildcache.CacheEntry;
import io.tmount.buildcache.CachePrune;
import io.tmount.device.Attachers;
import io.tmount.image.BuildLayout;
import io.tmount.mount.MountManager;
import io.tmount.mount.MountManagerConfig;
import io.tmount.mount.MountOptions;
import io.tmount.store.BuildId;
import io.tmount.store.BuildSummary;
import io.tmount.store.StepBuild;
import io.tmount.store.StoreLocation;
import io.tmount.store.TemplateId;
import io.tmount.store.TemplateStore;
import io.tmount.template.TemplateCatalog;
import io.tmount.testing.BusyboxTree;
import io.tmount.testing.NoLeftovers;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The build cache with real builds: a layer per step, cached steps skipped, and each kind of change rerunning exactly
 * the steps that depend on it; entries shared by racing builders and across templates; prune keeping what chains use.
 */
@ExtendWith(NoLeftovers.class)
class BuildCacheTest {

    @TempDir
    Path dir;

    private TemplateStore store;
    private MountManager manager;
    private BuildRunner runner;
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    @BeforeEach
    void templates() throws IOException {
        store = new TemplateStore(new StoreLocation.Local(dir.resolve("store")).open());
        TemplateCatalog catalog = new TemplateCatalog(store, dir.resolve("scratch"));
        catalog.create(TemplateId.of("base"), BuildId.of("base-1"), BusyboxTree.create(dir.resolve("base")),
                ByteSize.parse("48M"));
        for (String build : new String[]{"data-1", "data-2"}) {
            Path data = Files.createDirectories(dir.resolve(build));
            Files.writeString(data.resolve("version"), build + "\n");
            catalog.create(TemplateId.of("data"), BuildId.of(build), data, null);
        }
        Files.createDirectories(dir.resolve("ctx/app"));
        Files.writeString(dir.resolve("ctx/app/main.sh"), "echo one\n");
        manager = MountManager.open(new MountManagerConfig(dir.resolve("state"), dir.resolve("run"), store,
                Attachers.onThisHost(6), Duration.ofMillis(500)));
        runner = new BuildRunner(manager, dir.resolve("builds"));
    }

    @AfterEach
    void close() throws IOException {
        manager.close();
        store.close();
    }

    private static final String APP = """
            template: app
            from: {template: base, build: base-1}
            context: ctx
            steps:
              - {type: RUN, args: ["echo first > /first"]}
              - {type: ENV, args: [GREETING, %s]}
              - {type: COPY, args: [app, /opt/]}
              - {type: MOUNT, args: [data, %s, /mnt/data]}
              - {type: RUN, args: ["cat /mnt/data/version > /data-version"]}
              - {type: UNMOUNT, args: [/mnt/data]}
              - {type: RUN, args: ["echo $GREETING > /greeting"]}
            """;

    private BuildResult build(String yaml, BuildOptions options) {
        log.clear();
        return runner.run(new TemplateFileParser().parse(yaml, dir), null, options, log::add);
    }

    private BuildResult app(String greeting, String data) {
        return build(APP.formatted(greeting, data), BuildOptions.DEFAULTS);
    }

    /** The numbers of the steps that ran (not cached) in the last build, from its log. */
    private Set<Integer> ran() {
        return log.stream().filter(l -> l.matches("step \\d+/\\d+ done in \\d+ ms"))
                .map(l -> Integer.parseInt(l.substring(5, l.indexOf('/')))).collect(Collectors.toSet());
    }

    private String read(BuildId build, String path) throws IOException {
        return BuildFiles.read(manager, TemplateId.of("app"), build, dir.resolve("check"), path);
    }

    @Test
    void anUnchangedTemplate_runsNoStepTheSecondTime_andMakesTheSameContent() throws IOException {
        BuildResult first = app("hello", "data-1");
        assertThat(ran()).containsExactlyInAnyOrder(1, 2, 3, 4, 5, 6, 7); // state steps run too, with a root
        assertThat(first.cachedSteps()).isZero();
        // a layer per RUN and COPY: four builds, each over the one before
        List<BuildId> layers = first.layers().stream().map(StepBuild::build).filter(b -> b != null).toList();
        assertThat(layers).hasSize(4).doesNotHaveDuplicates();
        for (int i = 1; i < layers.size(); i++) {
            assertThat(store.metadata(layers.get(i)).orElseThrow().parentBuildId()).isEqualTo(layers.get(i - 1));
        }

        BuildResult second = app("hello", "data-1");
        assertThat(ran()).isEmpty();
        assertThat(second.cachedSteps()).isEqualTo(4);
        assertThat(log).filteredOn(l -> l.contains(": cached, build ")).hasSize(4);
        assertThat(second.parent()).isEqualTo(first.parent());
        // nothing of its own over the same chain: the same mappings, so the same bytes
        assertThat(BuildLayout.read(store, second.build()).mappings())
                .isEqualTo(BuildLayout.read(store, first.build()).mappings());
        assertThat(read(second.build(), "/greeting")).isEqualTo("hello\n");
        assertThat(read(second.build(), "/data-version")).isEqualTo("data-1\n");
        assertThat(store.metadata(second.build()).orElseThrow().steps()).filteredOn(StepBuild::cached).hasSize(7);
    }

    @Test
    void eachChange_rerunsTheStepsThatDependOnIt_andNoOthers() throws IOException {
        app("hello", "data-1");

        Files.writeString(dir.resolve("ctx/app/main.sh"), "echo two\n"); // the COPY's source
        BuildResult copyChanged = app("hello", "data-1");
        assertThat(ran()).containsExactlyInAnyOrder(3, 4, 5, 6, 7);
        assertThat(read(copyChanged.build(), "/opt/app/main.sh")).isEqualTo("echo two\n");

        // a file's time alone is not a change (as in BuildKit)
        Files.setLastModifiedTime(dir.resolve("ctx/app/main.sh"), java.nio.file.attribute.FileTime.fromMillis(0));
        app("hello", "data-1");
        assertThat(ran()).isEmpty();
        // its mode is
        Files.setPosixFilePermissions(dir.resolve("ctx/app/main.sh"),
                java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        app("hello", "data-1");
        assertThat(ran()).containsExactlyInAnyOrder(3, 4, 5, 6, 7);

        BuildResult envChanged = app("bonjour", "data-1"); // ENV: the steps after it
        assertThat(ran()).containsExactlyInAnyOrder(3, 4, 5, 6, 7);
        assertThat(read(envChanged.build(), "/greeting")).isEqualTo("bonjour\n");

        BuildResult mountChanged = app("bonjour", "data-2"); // the mounted template's build: the steps while mounted
        assertThat(ran()).containsExactlyInAnyOrder(4, 5, 6, 7);
        assertThat(read(mountChanged.build(), "/data-version")).isEqualTo("data-2\n");
        assertThat(read(mountChanged.build(), "/opt/app/main.sh")).isEqualTo("echo two\n");

        BuildResult noCache = build(APP.formatted("bonjour", "data-2"), new BuildOptions(null, true, List.of(), false));
        assertThat(ran()).containsExactlyInAnyOrder(1, 2, 3, 4, 5, 6, 7);
        assertThat(read(noCache.build(), "/data-version")).isEqualTo("data-2\n");
    }

    @Test
    void stepsAfterAWritableMount_runAgainFromTheMount_whenOneOfThemChanges() throws IOException {
        String yaml = """
                template: app
                from: {template: base, build: base-1}
                steps:
                  - {type: MOUNT, args: [data, data-1, /mnt/w, --rw]}
                  - {type: RUN, args: ["echo written > /mnt/w/note"]}
                  - {type: RUN, args: ["cat /mnt/w/note > /note; echo %s > /tag"]}
                  - {type: UNMOUNT, args: [/mnt/w]}
                """;
        build(yaml.formatted("a"), BuildOptions.DEFAULTS);
        BuildResult again = build(yaml.formatted("b"), BuildOptions.DEFAULTS);
        // step 2 wrote into the mounted template, which no build keeps: it has to run again for step 3 to see it,
        // on the template mounted afresh (the MOUNT's own layer, its mount folder, comes from the cache)
        assertThat(ran()).containsExactlyInAnyOrder(2, 3, 4);
        assertThat(log).anyMatch(l -> l.contains("mounted writable by step 1 is still mounted: running again from there"));
        assertThat(read(again.build(), "/note")).isEqualTo("written\n");
        assertThat(read(again.build(), "/tag")).isEqualTo("b\n");
    }

    @Test
    void aStepThatOnlyWroteIntoAWritableMount_changes_theKeysOfTheStepsAfterIt() throws IOException {
        String yaml = """
                template: app
                from: {template: base, build: base-1}
                steps:
                  - {type: MOUNT, args: [data, data-1, /mnt/w, --rw]}
                  - {type: RUN, args: ["echo %s > /mnt/w/f"]}
                  - {type: RUN, args: ["cp /mnt/w/f /out"]}
                  - {type: UNMOUNT, args: [/mnt/w]}
                """;
        build(yaml.formatted("x"), BuildOptions.DEFAULTS);
        assertThat(read(build(yaml.formatted("y"), BuildOptions.DEFAULTS).build(), "/out")).isEqualTo("y\n");
        // every step of the second version is cached now, and the cache gives its content, not the first's
        BuildResult third = build(yaml.formatted("y"), BuildOptions.DEFAULTS);
        assertThat(ran()).isEmpty();
        assertThat(read(third.build(), "/out")).isEqualTo("y\n");
        assertThat(read(build(yaml.formatted("x"), BuildOptions.DEFAULTS).build(), "/out")).isEqualTo("x\n");
    }

    @Test
    void noCache_keepsItsOwnResults_evenWhereTheCacheHasOthers() throws IOException {
        String yaml = """
                template: app
                from: {template: base, build: base-1}
                steps:
                  - {type: RUN, args: ["cat /proc/sys/kernel/random/uuid > /stamp"]}
                  - {type: RUN, args: ["cp /stamp /stamp2"]}
                """;
        BuildResult first = build(yaml, BuildOptions.DEFAULTS);
        BuildResult fresh = build(yaml, new BuildOptions(null, true, List.of(), false));
        assertThat(ran()).containsExactlyInAnyOrder(1, 2);
        String stamp = read(fresh.build(), "/stamp");
        assertThat(stamp).isNotEqualTo(read(first.build(), "/stamp"));
        assertThat(read(fresh.build(), "/stamp2")).isEqualTo(stamp);
        assertThat(read(build(yaml, BuildOptions.DEFAULTS).build(), "/stamp")).isEqualTo(read(first.build(), "/stamp"));
    }

    @Test
    void anEntryWhoseBuildWasDeleted_isRunAgainAndReplaced() throws IOException {
        BuildResult first = app("hello", "data-1");
        BuildId firstStep = first.layers().getFirst().build();
        store.deleteBuild(first.build());
        store.deleteBuild(first.parent()); // the last layer, what the UNMOUNT left
        for (StepBuild step : first.layers().reversed()) {
            if (step.build() != null && store.exists(step.build())) {
                store.deleteBuild(step.build()); // as a retention job outside tmount would
            }
        }
        BuildResult again = app("hello", "data-1");
        assertThat(ran()).containsExactlyInAnyOrder(1, 2, 3, 4, 5, 6, 7);
        assertThat(again.layers().getFirst().build()).isNotEqualTo(firstStep);
        assertThat(read(again.build(), "/greeting")).isEqualTo("hello\n");
        app("hello", "data-1");
        assertThat(ran()).isEmpty(); // the entries name the new builds
    }

    @Test
    void aBadUser_isNotTakenAsValid_byAHitThatRanWithAnotherUser() throws IOException {
        build("""
                template: app
                from: {template: base, build: base-1}
                steps:
                  - {type: USER, args: [root]}
                  - {type: RUN, args: ["id -u > /uid"]}
                """, BuildOptions.DEFAULTS);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> build("""
                template: app
                from: {template: base, build: base-1}
                steps:
                  - {type: USER, args: [ghost]}
                  - {type: USER, args: [root]}
                  - {type: RUN, args: ["id -u > /uid"]}
                """, BuildOptions.DEFAULTS)).hasMessageContaining("step 1 (USER ghost): no user 'ghost'");
        assertThat(manager.listMounts()).isEmpty();
    }

    @Test
    void twoBuildsAtOnce_shareOneEntryPerStep_andBothSucceed() throws Exception {
        String yaml = APP.formatted("hello", "data-1");
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Callable<BuildResult> one = () -> runner.run(new TemplateFileParser().parse(yaml, dir), null,
                    BuildOptions.DEFAULTS, BuildLog.NONE);
            List<Future<BuildResult>> both = List.of(pool.submit(one), pool.submit(one));
            for (Future<BuildResult> f : both) {
                assertThat(read(f.get().build(), "/greeting")).isEqualTo("hello\n");
            }
        } finally {
            pool.shutdownNow();
        }
        // an entry per layer step, and one for the end of the steps (the folder the UNMOUNT removed)
        assertThat(new BuildCache(store).list(TemplateId.of("app"))).hasSize(5);
        app("hello", "data-1");
        assertThat(ran()).isEmpty();
    }

    @Test
    void cacheFrom_reusesAnotherTemplatesSteps() throws IOException {
        app("hello", "data-1");
        String other = APP.formatted("hello", "data-1").replace("template: app", "template: other");
        build(other, BuildOptions.DEFAULTS);
        assertThat(ran()).hasSize(7); // its own cache is empty
        String third = APP.formatted("hello", "data-1").replace("template: app", "template: third");
        BuildResult reused = build(third, new BuildOptions(null, false, List.of(TemplateId.of("app")), false));
        assertThat(ran()).isEmpty();
        assertThat(store.metadata(reused.build()).orElseThrow().templateId()).isEqualTo(TemplateId.of("third"));
    }

    @Test
    void squash_writesTheWholeChainAsOneLayer() throws IOException {
        BuildResult layered = app("hello", "data-1");
        BuildResult squashed = build(APP.formatted("hello", "data-1"), new BuildOptions(null, false, List.of(), true));
        assertThat(ran()).isEmpty(); // the steps came from the cache; only the squash wrote anything
        BuildLayout layout = BuildLayout.read(store, squashed.build());
        assertThat(layout.header().generation()).isZero();
        assertThat(layout.folders().values()).containsExactly(squashed.build());
        assertThat(BuildLayout.read(store, layered.build()).folders()).hasSizeGreaterThan(3);
        assertThat(read(squashed.build(), "/greeting")).isEqualTo("hello\n");
        assertThat(read(squashed.build(), "/opt/app/main.sh")).isEqualTo("echo one\n");
        assertThat(read(squashed.build(), "/first")).isEqualTo("first\n");
        assertThat(squashed.parent()).isNull();
    }

    @Test
    void aPruneCutShort_isFinishedByTheNext_butNotForABuildUsedSince() throws IOException {
        BuildResult built = app("hello", "data-1");
        BuildId unused = built.build(); // nothing is over the new build
        BuildId used = built.layers().getFirst().build(); // the next steps are over it
        // what a prune cut short after noting its builds leaves
        store.objects().put("tmount-build-cache/.pruning/" + unused.value(), new byte[0]);
        store.objects().put("tmount-build-cache/.pruning/" + used.value(), new byte[0]);
        CachePrune.Result result = new CachePrune(new BuildCache(store)).prune(new CachePrune.Rule(Duration.ofDays(1), null));
        assertThat(result.removed()).isEmpty();
        assertThat(store.exists(unused)).isFalse();
        assertThat(store.exists(used)).isTrue();
        assertThat(store.objects().keys("tmount-build-cache/.pruning")).isEmpty();
        assertThat(new BuildCache(store).list(TemplateId.of("app"))).extracting(CacheEntry::build).doesNotContain(used);
    }

    @Test
    void prune_removesOnlyWhatNoChainUses() throws IOException {
        BuildResult kept = app("hello", "data-1");
        BuildResult dropped = app("bonjour", "data-1"); // shares step 1 (RUN) with the first
        BuildCache cache = new BuildCache(store);
        List<CacheEntry> entries = cache.list(null);
        // 4 layer steps and the end of the steps of the first build; steps 3, 5 and 7 and the end of the second
        assertThat(entries).hasSize(9);
        assertThat(entries).filteredOn(CacheEntry::ownBuild).hasSize(7).allSatisfy(e -> assertThat(e.bytes()).isPositive());

        // every entry is old, and every build is still in a chain: only the two ends go, which hold no build
        CachePrune.Result none = new CachePrune(cache).prune(new CachePrune.Rule(Duration.ZERO, null));
        assertThat(none.removed()).hasSize(2).noneMatch(CacheEntry::ownBuild);
        assertThat(none.deletedBuilds()).isEmpty();
        assertThat(none.inUse()).hasSize(7);

        store.deleteBuild(dropped.build()); // the second build is gone: its own steps' builds are free
        CachePrune.Result some = new CachePrune(cache).prune(new CachePrune.Rule(Duration.ZERO, null));
        List<BuildId> own = dropped.layers().stream().filter(s -> !s.cached() && s.build() != null)
                .map(StepBuild::build).toList();
        assertThat(own).hasSize(3);
        assertThat(some.deletedBuilds()).containsExactlyInAnyOrderElementsOf(own);
        assertThat(some.freedBytes()).isPositive();
        for (BuildId build : own) {
            assertThat(store.exists(build)).isFalse();
        }
        assertThat(store.list()).extracting(BuildSummary::buildId).doesNotContainAnyElementsOf(own);
        assertThat(read(kept.build(), "/greeting")).isEqualTo("hello\n"); // still whole
        assertThat(cache.list(null)).hasSize(4);

        // by size: keeping 0 bytes removes every entry whose build nothing else uses
        store.deleteBuild(kept.build());
        CachePrune.Result all = new CachePrune(cache).prune(new CachePrune.Rule(null, 0L));
        assertThat(all.removed()).hasSize(4);
        assertThat(cache.list(null)).isEmpty();
        assertThat(store.list()).extracting(BuildSummary::buildId)
                .containsExactlyInAnyOrder(BuildId.of("base-1"), BuildId.of("data-1"), BuildId.of("data-2"));
        app("hello", "data-1"); // and building again works from nothing
        assertThat(ran()).hasSize(7);
    }
}
